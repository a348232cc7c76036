/* sql_pool.c — PostgreSQL connections driven by the libuv loop through
 * libpq's asynchronous API, and the process-wide pool per DSN that hands them
 * to operations in FIFO order.  Nothing here blocks and no Lua runs here. */
#include "sql_pool.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql_net.h"
#include "sql_stmt.h"
#include "task.h"

/* How long a cancelled statement may take to end before its connection is
 * thrown away instead of recycled. */
#define SQL_DRAIN_MS 5000
#define SQL_CONNECT_DEFAULT_S 10.0
#define SQL_DEFAULT_MAX 4
/* Cached statements found gone before a pool stops caching (a pooler). */
#define SQL_STMT_GONE_MAX 3

/* Connection states.  CONNECTING -> IDLE | CLOSED; IDLE -> IDLE | BUSY |
 * CLOSED; BUSY -> BUSY | IDLE | CLOSED; CLOSED is final.  (IDLE -> IDLE and
 * BUSY -> BUSY: a connection handed straight from one op to the next.) */
enum { C_CONNECTING, C_IDLE, C_BUSY, C_CLOSED };
/* The statement in flight on a connection: one at a time, so every send
 * starts from S_NONE and every end returns to it.  A caller's statement not
 * in the connection's cache yet goes S_DEALLOC (evicted names, when any) ->
 * S_PARSE (named) -> S_MAIN (by name); a cached one is S_MAIN alone. */
enum { S_NONE, S_PRE, S_DEALLOC, S_PARSE, S_MAIN, S_POST, S_RESET };
/* Op states.  NEW -> WAITING (start); WAITING -> RUNNING | DONE | ABANDONED;
 * RUNNING -> DONE | ABANDONED | WAITING (retried on another connection);
 * DONE and ABANDONED are final. */
enum { OP_NEW, OP_WAITING, OP_RUNNING, OP_DONE, OP_ABANDONED };

typedef struct sql_queue {
    list_node h; /* of sql_op.qlink */
    int n;
} sql_queue;

struct sql_conn {
    sql_pool *pool;
    PGconn *pg;
    uv_poll_t *poll; /* replaced when PQsocket changes while connecting */
    int fd;
    int events;       /* what poll watches */
    uv_timer_t timer; /* connect deadline, then drain deadline */
    int state;        /* C_* */
    int step;         /* S_* */
    int held;         /* dedicated to a transaction (db:tx) */
    int used;         /* a statement completed on it: it has been reused */
    int doomed;       /* broken or in an unknown state: discard, never reuse */
    int reset_tried;  /* a ROLLBACK was sent to clean it before reuse */
    int cancel_sent;
    int refused;           /* a statement we do not run (COPY): its failure is a query error */
    sql_op *op;            /* owner of the statement in flight; NULL when orphaned */
    PGresult *res;         /* result being collected */
    sql_queue queue;       /* held: statements of the transaction waiting their turn */
    sql_conn *prev, *next; /* pool->conns */
    sql_conn *inext;       /* pool->idle */
    sql_resolve *gai;      /* name lookup in progress */
    sql_cancel *cancel;    /* server-side cancel in progress */
    int await_cancel;      /* drained; reused only once the cancel was delivered */
    sql_stmt_cache stmts;  /* prepared statements this connection's server holds */
    sql_stmt *stmt;        /* the cached statement of the step in flight, or NULL */
    int first_step;        /* the step in flight is its op's first */
    int tx_idle;           /* S_MAIN was sent outside any transaction */
};

struct sql_pool {
    char *dsn;
    char *target; /* "host/db" for reports */
    char *host;   /* a host name we resolve ourselves, or NULL */
    int max, total, connecting, nidle;
    int stmt_max;  /* prepared statements cached per connection; 0: none */
    int stmt_off;  /* statement_cache = false was given, or a pooler seen: stays off */
    int stmt_gone; /* cached statements the server did not have (26000) */
    double connect_timeout;
    sql_conn *conns, *idle;
    sql_queue waiters;
    sql_pool *next;
};

static sql_pool *pools;
static int shut_down;

static void conn_poll_cb(uv_poll_t *h, int status, int events);
static void conn_run(sql_conn *c, sql_op *op);
static void conn_put(sql_conn *c);
static void pool_dispatch(sql_pool *p);
static void op_detach(sql_op *op);

/* ---- state machines ----------------------------------------------------- */

#ifndef NDEBUG
static int conn_transition_ok(int from, int to)
{
    switch (from) {
    case C_CONNECTING:
        return to == C_IDLE || to == C_CLOSED;
    case C_IDLE:
    case C_BUSY:
        return to == C_IDLE || to == C_BUSY || to == C_CLOSED;
    default:
        return 0;
    }
}
#endif

static void conn_set_state(sql_conn *c, int to)
{
    assert(conn_transition_ok(c->state, to));
    c->state = to;
}

#ifndef NDEBUG
static int op_transition_ok(int from, int to)
{
    switch (from) {
    case OP_NEW:
        return to == OP_WAITING;
    case OP_WAITING:
        return to == OP_RUNNING || to == OP_DONE || to == OP_ABANDONED;
    case OP_RUNNING:
        return to == OP_DONE || to == OP_ABANDONED || to == OP_WAITING;
    default:
        return 0;
    }
}
#endif

static void op_set_state(sql_op *op, int to)
{
    assert(op_transition_ok(op->state, to));
    op->state = to;
}

/* ---- small helpers ------------------------------------------------------ */

static void q_init(sql_queue *q)
{
    list_init(&q->h);
    q->n = 0;
}

static void q_push(sql_queue *q, sql_op *op)
{
    list_push_back(&q->h, &op->qlink);
    q->n++;
}

static void q_push_front(sql_queue *q, sql_op *op)
{
    list_push_front(&q->h, &op->qlink);
    q->n++;
}

static void q_remove(sql_queue *q, sql_op *op)
{
    list_remove(&op->qlink);
    q->n--;
}

static sql_op *q_pop(sql_queue *q)
{
    list_node *first = list_first(&q->h);
    if (!first)
        return NULL;
    sql_op *op = LIST_ENTRY(first, sql_op, qlink);
    q_remove(q, op);
    return op;
}

/* libpq messages span lines ("...failed: FATAL:  password...\n"); errors are
 * one sentence, so whitespace runs become one space. */
static void copy_msg(char *dst, size_t n, const char *src)
{
    size_t j = 0;
    int space = 0;
    if (!src)
        src = "";
    for (; *src && j + 1 < n; src++) {
        if (*src == '\n' || *src == '\t' || *src == '\r' || *src == ' ') {
            space = j > 0;
            continue;
        }
        if (space && j + 2 < n)
            dst[j++] = ' ';
        space = 0;
        dst[j++] = *src;
    }
    dst[j] = '\0';
}

/* libpq does not expose the SQLSTATE of a failed connection attempt, so the
 * server's (or libpq's) words decide whether it was the credentials. */
static int connect_fail_kind(const char *msg)
{
    static const char *const auth[] = {
        "authentication failed", "no password supplied", "pg_hba.conf", "SCRAM", "password",
        "authentication method", "does not exist",       NULL,
    };
    for (int i = 0; auth[i]; i++) {
        if (strstr(msg, auth[i])) {
            /* "database "x" does not exist" is not about credentials. */
            if (i == 6 && !strstr(msg, "role \""))
                continue;
            return SQL_FAIL_AUTH;
        }
    }
    return SQL_FAIL_CONNECT;
}

static int res_is_error(const PGresult *r)
{
    ExecStatusType s = PQresultStatus(r);
    return s == PGRES_FATAL_ERROR || s == PGRES_NONFATAL_ERROR || s == PGRES_BAD_RESPONSE;
}

/* Notices (and the FATAL a server sends an idle connection before it
 * closes it) would go to stderr by default: dropped, except the parse tree
 * an op asked for (a dry run's analysis of its statement). */
static void conn_notice(void *arg, const PGresult *r)
{
    sql_conn *c = arg;
    if (!c->op || !c->op->capture || c->step != S_MAIN)
        return;
    const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    const char *d = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
    if (m && d && !strcmp(m, "rewritten parse tree:")) {
        buf_addstr(c->op->capture, d);
        buf_addc(c->op->capture, '\n');
    }
}

static void free_handle_cb(uv_handle_t *h)
{
    free(h);
}

/* ---- operations --------------------------------------------------------- */

static void op_complete(sql_op *op)
{
    op_set_state(op, OP_DONE);
    op->on = NULL;
    uv_timer_stop(&op->timer);
    op->done(op);
}

static void op_fail(sql_op *op, int kind, const char *msg)
{
    op->fail = kind;
    copy_msg(op->msg, sizeof op->msg, msg);
}

/* The statement finished: keep its result in op, classified. */
static void op_set_result(sql_op *op, PGresult *res, const char *fail_msg, int broken)
{
    if (fail_msg || !res) {
        op_fail(op, broken ? SQL_FAIL_CONNECT : SQL_FAIL_QUERY,
                fail_msg ? fail_msg : "connection lost");
        PQclear(res);
        return;
    }
    if (res_is_error(res) && !PQresultErrorField(res, PG_DIAG_SQLSTATE)) {
        /* Generated by libpq itself: the connection went away under us. */
        op_fail(op, broken ? SQL_FAIL_CONNECT : SQL_FAIL_QUERY, PQresultErrorMessage(res));
        PQclear(res);
        return;
    }
    if (res_is_error(res))
        op->fail = SQL_FAIL_QUERY;
    PQclear(op->res);
    op->res = res;
}

/* ---- connections -------------------------------------------------------- */

static void conn_free_cb(uv_handle_t *h)
{
    free(h->data);
}

static void conn_discard(sql_conn *c)
{
    sql_pool *p = c->pool;
    if (c->state == C_CLOSED)
        return;
    if (c->state == C_IDLE && !c->held) {
        sql_conn **pp = &p->idle;
        while (*pp && *pp != c)
            pp = &(*pp)->inext;
        if (*pp) {
            *pp = c->inext;
            p->nidle--;
        }
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        p->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    p->total--;
    if (c->state == C_CONNECTING)
        p->connecting--;
    conn_set_state(c, C_CLOSED);
    if (c->gai) {
        sql_net_resolve_detach(c->gai);
        c->gai = NULL;
    }
    if (c->cancel) {
        sql_net_cancel_detach(c->cancel);
        c->cancel = NULL;
    }
    PQclear(c->res);
    c->res = NULL;
    sql_stmt_clear(&c->stmts); /* the server's statements end with its session */
    c->stmt = NULL;
    /* uv_close unregisters the fd synchronously, so closing the socket
     * (PQfinish) right after is safe. */
    if (c->poll) {
        uv_close((uv_handle_t *)c->poll, free_handle_cb);
        c->poll = NULL;
    }
    PQfinish(c->pg);
    c->pg = NULL;
    uv_close((uv_handle_t *)&c->timer, conn_free_cb);
}

/* Watches the connection's current socket.  While connecting the socket may
 * change (libpq tries the next address on a new one, possibly under the same
 * number), so this is called after every PQconnectPoll step: uv_poll_start
 * re-registers the fd with epoll, and a new number gets a new handle. */
static int conn_watch(sql_conn *c, int events)
{
    int fd = PQsocket(c->pg);
    if (fd < 0)
        return -1;
    if (c->poll && fd != c->fd) {
        uv_close((uv_handle_t *)c->poll, free_handle_cb);
        c->poll = NULL;
    }
    if (!c->poll) {
        c->poll = malloc(sizeof *c->poll);
        if (!c->poll)
            return -1;
        if (uv_poll_init(tn_loop(), c->poll, fd) < 0) {
            free(c->poll);
            c->poll = NULL;
            return -1;
        }
        c->poll->data = c;
        c->fd = fd;
    }
    c->events = events;
    return uv_poll_start(c->poll, events, conn_poll_cb);
}

static void pool_fail_head(sql_pool *p, int kind, const char *msg)
{
    sql_op *op = q_pop(&p->waiters);
    if (op) {
        op_fail(op, kind, msg);
        op_complete(op);
    }
}

static void conn_connect_failed(sql_conn *c, int kind, const char *msg)
{
    sql_pool *p = c->pool;
    char why[320];
    copy_msg(why, sizeof why, msg); /* msg may live in the PGconn */
    if (kind == SQL_FAIL_CONNECT)
        kind = connect_fail_kind(why);
    conn_discard(c);
    pool_fail_head(p, kind, why);
    pool_dispatch(p);
}

static void conn_connected(sql_conn *c)
{
    sql_pool *p = c->pool;
    uv_timer_stop(&c->timer);
    p->connecting--;
    conn_set_state(c, C_IDLE);
    PQsetNoticeReceiver(c->pg, conn_notice, c);
    if (PQsetnonblocking(c->pg, 1) != 0 || conn_watch(c, UV_READABLE) < 0) {
        c->doomed = 1;
        conn_discard(c);
        pool_fail_head(p, SQL_FAIL_CONNECT, "could not set up the connection");
        pool_dispatch(p);
        return;
    }
    conn_put(c);
}

static void conn_connect_step(sql_conn *c)
{
    switch (PQconnectPoll(c->pg)) {
    case PGRES_POLLING_READING:
        if (conn_watch(c, UV_READABLE) == 0)
            return;
        break;
    case PGRES_POLLING_WRITING:
        if (conn_watch(c, UV_WRITABLE) == 0)
            return;
        break;
    case PGRES_POLLING_OK:
        conn_connected(c);
        return;
    default:
        break;
    }
    conn_connect_failed(c, SQL_FAIL_CONNECT, PQerrorMessage(c->pg));
}

static void conn_timer_cb(uv_timer_t *t);

/* Starts a connection attempt for the pool.  Returns SQL_OK, or a failure
 * kind with the reason in why (nothing was added to the pool then). */
/* Starts libpq's connection attempt; with host and hostaddr set (resolved by
 * us) libpq does no DNS lookup of its own, which would block the loop.
 * Returns SQL_OK or a failure kind with the reason in why. */
static int conn_start_pg(sql_conn *c, const char *host, const char *hostaddr, char *why,
                         size_t whylen)
{
    /* client_encoding first so that the DSN may override it; dbname carries
     * the whole DSN (expand_dbname), keyword=value or URI; host and hostaddr
     * after it override the DSN's. */
    const char *kw[] = {
        "client_encoding", "fallback_application_name", "dbname", "host", "hostaddr", NULL};
    const char *val[] = {"UTF8", "tocsin", c->pool->dsn, host, hostaddr, NULL};
    if (!host)
        kw[3] = NULL;
    c->pg = PQconnectStartParams(kw, val, 1);
    if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD) {
        copy_msg(why, whylen, c->pg ? PQerrorMessage(c->pg) : "out of memory");
        return connect_fail_kind(why);
    }
    /* libpq: "at the beginning, consider PQconnectPoll to have returned
     * PGRES_POLLING_WRITING". */
    if (conn_watch(c, UV_WRITABLE) < 0) {
        copy_msg(why, whylen, PQerrorMessage(c->pg));
        if (!why[0])
            snprintf(why, whylen, "could not watch the connection's socket");
        return SQL_FAIL_CONNECT;
    }
    return SQL_OK;
}

static void conn_resolved(void *arg, const char *hosts, const char *addrs, const char *err)
{
    sql_conn *c = arg;
    char why[320];
    c->gai = NULL;
    int kind = err ? SQL_FAIL_CONNECT : conn_start_pg(c, hosts, addrs, why, sizeof why);
    if (kind != SQL_OK)
        conn_connect_failed(c, kind, err ? err : why);
}

/* Starts a connection attempt for the pool.  Returns SQL_OK, or a failure
 * kind with the reason in why (nothing was added to the pool then). */
static int conn_new(sql_pool *p, char *why, size_t whylen)
{
    sql_conn *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(why, whylen, "out of memory");
        return SQL_FAIL_CONNECT;
    }
    c->pool = p;
    c->fd = -1;
    q_init(&c->queue);
    sql_stmt_init(&c->stmts);
    c->state = C_CONNECTING; /* the initial state */
    uv_timer_init(tn_loop(), &c->timer);
    c->timer.data = c;
    c->next = p->conns;
    if (p->conns)
        p->conns->prev = c;
    p->conns = c;
    p->total++;
    p->connecting++;
    uv_timer_start(&c->timer, conn_timer_cb, (uint64_t)(p->connect_timeout * 1000), 0);
    int kind = SQL_OK;
    if (p->host) {
        c->gai = sql_net_resolve(p->host, conn_resolved, c, why, whylen);
        if (!c->gai)
            kind = SQL_FAIL_CONNECT;
    } else {
        kind = conn_start_pg(c, NULL, NULL, why, whylen);
    }
    if (kind != SQL_OK)
        conn_discard(c);
    return kind;
}

/* ---- statements --------------------------------------------------------- */

static void conn_stmt_done(sql_conn *c, const char *fail_msg);

static void conn_flush(sql_conn *c)
{
    int r = PQflush(c->pg);
    if (r == 1 && !(c->events & UV_WRITABLE)) {
        c->events = UV_READABLE | UV_WRITABLE;
        uv_poll_start(c->poll, c->events, conn_poll_cb);
    } else if (r == 0 && (c->events & UV_WRITABLE)) {
        c->events = UV_READABLE;
        uv_poll_start(c->poll, c->events, conn_poll_cb);
    } else if (r < 0) {
        c->doomed = 1;
    }
}

/* How a statement goes out: ours (simple protocol, may hold several
 * statements), the caller's (extended protocol: exactly one statement, rows
 * one by one so that max_result holds), or the caller's parsed only. */
enum { SEND_SIMPLE, SEND_ROWS, SEND_PARSE };

static void conn_send(sql_conn *c, int step, int how, const char *sql, int n,
                      const char *const *params)
{
    assert(c->step == S_NONE && step != S_NONE);
    c->step = step;
    c->cancel_sent = 0;
    c->refused = 0;
    int sent;
    if (how == SEND_SIMPLE)
        sent = PQsendQuery(c->pg, sql);
    else if (how == SEND_PARSE) /* named for the cache (S_PARSE), else unnamed */
        sent = PQsendPrepare(c->pg, step == S_PARSE ? c->stmt->name : "", sql, n, NULL);
    else if ((sent = c->stmt ? PQsendQueryPrepared(c->pg, c->stmt->name, n, params, NULL, NULL, 0)
                             : PQsendQueryParams(c->pg, sql, n, NULL, params, NULL, NULL, 0)))
        PQsetSingleRowMode(c->pg); /* cannot fail right after the send; if it did,
                                    * the rows would come in one result (below) */
    if (!sent) {
        char why[320];
        if (PQstatus(c->pg) != CONNECTION_OK)
            c->doomed = 1;
        copy_msg(why, sizeof why, PQerrorMessage(c->pg));
        conn_stmt_done(c, why[0] ? why : "could not send the statement");
        return;
    }
    conn_flush(c);
    if (c->doomed)
        conn_stmt_done(c, PQerrorMessage(c->pg));
}

/* Sends the op's statement by the name of its cached prepared statement s
 * (NULL: unnamed, Parse with it). */
static void conn_send_main(sql_conn *c, sql_stmt *s)
{
    sql_op *op = c->op;
    c->stmt = s;
    c->tx_idle = PQtransactionStatus(c->pg) == PQTRANS_IDLE;
    conn_send(c, S_MAIN, SEND_ROWS, op->sql, op->nparams, op->params);
}

/* The caller's statement through the connection's cache: by name when the
 * server holds it; else parsed under a new name first (the least recently
 * used one evicted), after the DEALLOCATE of names evicted so far — sent
 * only outside a transaction, where its failure (a name a pooler or DISCARD
 * ALL already dropped) cannot abort anything. */
static void conn_send_cached(sql_conn *c)
{
    sql_op *op = c->op;
    if (c->pool->stmt_max <= 0 || op->unnamed) {
        conn_send_main(c, NULL);
        return;
    }
    sql_stmt *s = sql_stmt_find(&c->stmts, op->sql);
    if (s) {
        assert(s->ready); /* a Parse in flight ends before the next step starts */
        conn_send_main(c, s);
        return;
    }
    s = sql_stmt_add(&c->stmts, op->sql, c->pool->stmt_max);
    if (!s) { /* out of memory: unnamed, as without a cache */
        conn_send_main(c, NULL);
        return;
    }
    c->stmt = s;
    char *dealloc = NULL;
    if (PQtransactionStatus(c->pg) == PQTRANS_IDLE)
        dealloc = sql_stmt_dealloc_take(&c->stmts);
    if (dealloc) {
        conn_send(c, S_DEALLOC, SEND_SIMPLE, dealloc, 0, NULL);
        free(dealloc); /* libpq copied it into its output buffer */
        return;
    }
    conn_send(c, S_PARSE, SEND_PARSE, op->sql, op->nparams, NULL);
}

static void conn_step(sql_conn *c, int step)
{
    sql_op *op = c->op;
    c->stmt = NULL;
    switch (step) {
    case S_PRE:
        conn_send(c, step, SEND_SIMPLE, op->pre, 0, NULL);
        break;
    case S_MAIN:
        if (op->simple || op->prepare_only)
            conn_send(c, step, op->simple ? SEND_SIMPLE : SEND_PARSE, op->sql, op->nparams,
                      op->params);
        else
            conn_send_cached(c);
        break;
    default: /* S_POST */
        conn_send(c, step, SEND_SIMPLE, op->fail ? op->post_err : op->post_ok, 0, NULL);
        break;
    }
}

/* Runs op on c (from the pool, or c is op's transaction connection). */
static void conn_run(sql_conn *c, sql_op *op)
{
    op_set_state(op, OP_RUNNING);
    op->on = c;
    if (op->acquire) {
        c->held = 1;
        conn_set_state(c, C_IDLE);
        uv_unref((uv_handle_t *)c->poll);
        op->conn = c;
        op_complete(op);
        return;
    }
    if (c->doomed || PQstatus(c->pg) != CONNECTION_OK) {
        /* Only a held connection gets here: the pool drops broken ones. */
        op_fail(op, SQL_FAIL_CONNECT, "the transaction's connection was lost");
        op_complete(op);
        return;
    }
    c->op = op;
    conn_set_state(c, C_BUSY);
    uv_ref((uv_handle_t *)c->poll);
    op->first_sent = c->used;
    c->first_step = 1;
    conn_step(c, op->pre ? S_PRE : S_MAIN);
}

/* A connection whose statement ended and that nobody owns now. */
static void conn_idle(sql_conn *c)
{
    if (!c->held) {
        conn_put(c);
        return;
    }
    conn_set_state(c, C_IDLE);
    sql_op *op = q_pop(&c->queue);
    if (op) {
        conn_run(c, op);
        return;
    }
    uv_unref((uv_handle_t *)c->poll);
}

/* A pooled connection is free: to the first waiter, else to the idle list.
 * One left inside a transaction (a timed-out statement of a dry run, an
 * abandoned db:tx) is rolled back first; one in doubt is closed. */
static void conn_put(sql_conn *c)
{
    sql_pool *p = c->pool;
    if (c->doomed || PQstatus(c->pg) != CONNECTION_OK)
        goto discard;
    switch (PQtransactionStatus(c->pg)) {
    case PQTRANS_IDLE:
        break;
    case PQTRANS_INTRANS:
    case PQTRANS_INERROR:
        if (c->reset_tried)
            goto discard;
        c->reset_tried = 1;
        c->op = NULL;
        conn_set_state(c, C_BUSY);
        uv_ref((uv_handle_t *)c->poll);
        conn_send(c, S_RESET, SEND_SIMPLE, "ROLLBACK", 0, NULL);
        return;
    default:
        goto discard;
    }
    c->reset_tried = 0;
    sql_op *op = q_pop(&p->waiters);
    if (op) {
        conn_run(c, op);
        return;
    }
    conn_set_state(c, C_IDLE);
    c->inext = p->idle;
    p->idle = c;
    p->nidle++;
    /* An idle connection does not keep the process alive. */
    uv_unref((uv_handle_t *)c->poll);
    return;
discard:
    conn_discard(c);
    pool_dispatch(p);
}

/* The first statement of op failed on a connection that had sat in the pool
 * and is now dead (server restart, terminated backend): the statement never
 * reached a live server, so it is tried again on another connection.  After
 * a restart every idle connection may be dead, so this repeats (at most
 * max + 1 times) until a fresh connection — which is never retried — or a
 * live one takes it. */
static int stale_failure(const sql_conn *c, const sql_op *op, int first, const PGresult *res,
                         const char *fail_msg)
{
    if (!c->doomed || !op->first_sent || op->retried > c->pool->max || op->held || !first)
        return 0;
    if (fail_msg || !res)
        return 1;
    if (!res_is_error(res))
        return 0;
    const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return !st || !strncmp(st, "57P0", 4) || !strncmp(st, "08", 2);
}

/* One dead pooled connection hints at a restart: drop the idle ones whose
 * end has already arrived (the rest are caught by stale_failure). */
static void pool_probe_idle(sql_pool *p)
{
    sql_conn **pp = &p->idle;
    while (*pp) {
        sql_conn *c = *pp;
        if (PQconsumeInput(c->pg) && PQstatus(c->pg) == CONNECTION_OK) {
            pp = &c->inext;
            continue;
        }
        *pp = c->inext;
        p->nidle--;
        conn_set_state(c, C_BUSY); /* off the idle list: conn_discard must not look for it */
        conn_discard(c);
    }
}

/* The op's cached statement s failed: when the server says the statement is
 * gone (26000: DISCARD ALL, DEALLOCATE, a pooler that moved us to another
 * backend) or its plan went stale (0A000: "cached plan must not change
 * result type" after an ALTER TABLE), s leaves the cache (the next use
 * parses it anew) and, outside a transaction and before any row arrived
 * — where the failed statement changed nothing and a retry is safe — the
 * op is sent once more, unnamed, as it would be without a cache.  Returns 1
 * when it is to be retried.  Inside a transaction the failure has aborted
 * it: the error is the caller's, as any other. */
static int stmt_stale(sql_conn *c, sql_op *op, sql_stmt *s, const PGresult *res)
{
    const char *st = res && res_is_error(res) ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (!st || c->doomed)
        return 0;
    int gone = !strcmp(st, "26000");
    if (!gone && strcmp(st, "0A000"))
        return 0;
    sql_stmt_drop(&c->stmts, s, !gone);
    /* A server forgets our statements only when told to (by name: ALL is
     * seen above); again and again, it is a pooler in transaction mode
     * handing us another server connection: the cache only costs there
     * (and leaves statements behind on every server), so it goes off. */
    if (gone && ++c->pool->stmt_gone >= SQL_STMT_GONE_MAX)
        sql_pool_set_stmt_cache(c->pool, 0);
    return !op->held && !op->pre && !op->unnamed && c->tx_idle && op->nrows == 0 &&
           PQtransactionStatus(c->pg) == PQTRANS_IDLE;
}

static void conn_stmt_done(sql_conn *c, const char *fail_msg)
{
    sql_pool *p = c->pool;
    PGresult *res = c->res;
    sql_op *op = c->op;
    int step = c->step;
    int first = c->first_step;
    sql_stmt *stmt = c->stmt;
    assert(step != S_NONE);
    c->res = NULL;
    c->step = S_NONE;
    c->first_step = 0;
    c->stmt = NULL;
    if (PQstatus(c->pg) != CONNECTION_OK)
        c->doomed = 1;
    int failed = fail_msg || !res || res_is_error(res);
    if (step == S_DEALLOC && !c->doomed)
        failed = 0; /* a name already gone (DISCARD ALL, a pooler) is no failure */
    /* A new cache entry is ready once its Parse succeeded; forgotten when
     * that failed or will not happen (the op is gone). */
    if (stmt && !stmt->ready) {
        if (step == S_PARSE && !failed) {
            stmt->ready = 1;
        } else if (step == S_PARSE || failed || !op) {
            sql_stmt_drop(&c->stmts, stmt, 0);
            stmt = NULL;
        }
    }
    if (!op) { /* orphaned by a timeout or cancel, or our own ROLLBACK */
        PQclear(res);
        if (c->cancel) {
            /* A cancel still on its way could hit the next statement run on
             * this connection: wait for it (the drain deadline still runs). */
            c->await_cancel = 1;
            return;
        }
        uv_timer_stop(&c->timer);
        conn_idle(c);
        return;
    }
    if (failed && stale_failure(c, op, first, res, fail_msg)) {
        PQclear(res);
        op->retried++;
        op->on = NULL;
        buf_reset(&op->rows);
        op->nrows = 0;
        op_set_state(op, OP_WAITING);
        c->op = NULL;
        q_push_front(&p->waiters, op);
        conn_discard(c);
        pool_probe_idle(p);
        pool_dispatch(p);
        return;
    }
    /* The caller's DEALLOCATE ALL or DISCARD ALL (command tags, from the
     * protocol) dropped every prepared statement, the cache's too. */
    if (step == S_MAIN && !failed && !op->simple &&
        (!strcmp(PQcmdStatus(res), "DEALLOCATE ALL") || !strcmp(PQcmdStatus(res), "DISCARD ALL")))
        sql_stmt_clear(&c->stmts);
    if (failed && step == S_MAIN && stmt && stmt_stale(c, op, stmt, res)) {
        PQclear(res);
        c->used = 1;
        op->unnamed = 1;
        conn_step(c, S_MAIN);
        return;
    }
    if (!failed || step != S_POST)
        c->used = 1;
    switch (step) {
    case S_DEALLOC:
        if (!failed) { /* its result does not matter */
            PQclear(res);
            c->stmt = stmt;
            conn_send(c, S_PARSE, SEND_PARSE, op->sql, op->nparams, NULL);
            return;
        }
        op_set_result(op, res, fail_msg, c->doomed && !c->refused);
        break;
    case S_PRE:
        if (!failed) {
            PQclear(res);
            conn_step(c, S_MAIN);
            return;
        }
        op_set_result(op, res, fail_msg, c->doomed && !c->refused);
        break;
    case S_PARSE:
        if (!failed) {
            PQclear(res);
            conn_send_main(c, stmt);
            return;
        }
        /* Its failure (a syntax error...) is the statement's. */
        /* fall through */
    case S_MAIN:
        op_set_result(op, res, fail_msg, c->doomed && !c->refused);
        if (!c->doomed && (op->fail ? op->post_err : op->post_ok)) {
            conn_step(c, S_POST);
            return;
        }
        break;
    default: /* S_POST: a failed ROLLBACK leaves a state conn_put sorts out */
        PQclear(res);
        break;
    }
    c->op = NULL;
    op->on = NULL;
    conn_idle(c);
    op_complete(op);
}

/* Appends row i of r to op->rows; -1 when it would pass max_result (or
 * memory ran out): nothing is added then. */
static int op_add_row(sql_op *op, const PGresult *r, int i)
{
    int ncols = PQnfields(r);
    size_t need = 0;
    for (int j = 0; j < ncols; j++)
        need += 4 + (size_t)PQgetlength(r, i, j) + 1;
    if (op->max_result && op->rows.n + need > op->max_result)
        return -1;
    op->rows.max = SIZE_MAX; /* max_result is the limit: the buffer fails only without memory */
    for (int j = 0; j < ncols; j++) {
        uint32_t len = PQgetisnull(r, i, j) ? UINT32_MAX : (uint32_t)PQgetlength(r, i, j);
        buf_add(&op->rows, &len, sizeof len);
        if (len != UINT32_MAX) /* with its NUL: values are read as C strings */
            buf_add(&op->rows, PQgetvalue(r, i, j), (size_t)len + 1);
    }
    if (op->rows.failed)
        return -1;
    op->nrows++;
    return 0;
}

/* The op's result outgrew max_result: it ends now with SQL_FAIL_LIMIT and
 * what it held is freed; the statement is cancelled on the server and the
 * rest of its rows are read and dropped (as after a timeout). */
static void conn_over_limit(sql_conn *c)
{
    sql_op *op = c->op;
    char msg[160];
    if (op->rows.failed)
        snprintf(msg, sizeof msg, "out of memory while reading the result");
    else
        snprintf(msg, sizeof msg, "the result is larger than max_result (%zu bytes)",
                 op->max_result);
    op_detach(op);
    buf_free(&op->rows);
    op->nrows = 0;
    op_fail(op, SQL_FAIL_LIMIT, msg);
    op_complete(op);
}

/* Reads what arrived; returns 1 when the statement in flight ended (c may
 * be gone then), 0 while it is still running. */
static int conn_collect(sql_conn *c)
{
    while (!PQisBusy(c->pg)) {
        PGresult *r = PQgetResult(c->pg);
        if (!r) {
            conn_stmt_done(c, NULL);
            return 1;
        }
        switch (PQresultStatus(r)) {
        case PGRES_COPY_IN:
        case PGRES_COPY_OUT:
        case PGRES_COPY_BOTH:
            /* No COPY sub-protocol here; the connection cannot be reused. */
            PQclear(r);
            c->doomed = 1;
            c->refused = 1;
            conn_stmt_done(c, "COPY FROM STDIN / TO STDOUT is not supported");
            return 1;
        case PGRES_SINGLE_TUPLE:
            /* A row: copied into the op's compact buffer (or dropped when
             * nobody wants it any more), never kept as a PGresult. */
            if (c->op && c->step == S_MAIN && !c->res && op_add_row(c->op, r, 0) < 0)
                conn_over_limit(c);
            PQclear(r);
            continue;
        case PGRES_TUPLES_OK:
            /* Rows in the final result: only if single-row mode was not on. */
            for (int i = 0; c->op && c->step == S_MAIN && i < PQntuples(r); i++)
                if (op_add_row(c->op, r, i) < 0)
                    conn_over_limit(c);
            break;
        default:
            break;
        }
        /* Keep the first error, else the last result. */
        if (!c->res) {
            c->res = r;
        } else if (res_is_error(c->res)) {
            PQclear(r);
        } else {
            PQclear(c->res);
            c->res = r;
        }
    }
    return 0;
}

static void conn_poll_cb(uv_poll_t *h, int status, int events)
{
    sql_conn *c = h->data;
    if (c->state == C_CONNECTING) {
        conn_connect_step(c);
        return;
    }
    if (c->state == C_BUSY) {
        if (status < 0 || (events & UV_READABLE)) {
            if (!PQconsumeInput(c->pg))
                c->doomed = 1; /* libpq's results now carry the error */
        }
        if (c->events & UV_WRITABLE)
            conn_flush(c);
        if (conn_collect(c))
            return;
        if (status < 0) {
            /* libuv stopped watching (POLLERR): nothing more will come. */
            c->doomed = 1;
            conn_stmt_done(c, "connection lost");
        }
        return;
    }
    /* Idle: the server may be telling us it closes this connection. */
    if (status < 0 || !PQconsumeInput(c->pg) || PQstatus(c->pg) != CONNECTION_OK) {
        if (c->held) {
            c->doomed = 1;
            uv_poll_stop(c->poll);
            return;
        }
        sql_pool *p = c->pool;
        conn_discard(c);
        pool_dispatch(p);
        return;
    }
    PGnotify *n;
    while ((n = PQnotifies(c->pg)))
        PQfreemem(n);
}

/* ---- server-side cancel ------------------------------------------------- */

static void conn_cancel_delivered(void *arg)
{
    sql_conn *c = arg;
    c->cancel = NULL;
    if (c->await_cancel) {
        /* PQcancel returned once the server had signalled the backend. */
        c->await_cancel = 0;
        uv_timer_stop(&c->timer);
        conn_idle(c);
    }
}

static void conn_cancel_server(sql_conn *c)
{
    if (c->cancel_sent)
        return;
    c->cancel_sent = 1;
    c->cancel = sql_net_cancel(c->pg, conn_cancel_delivered, c);
}

/* The statement in flight on c belongs to nobody now: stop it on the server
 * and let the connection drain, within a deadline. */
static void conn_orphan(sql_conn *c)
{
    c->op = NULL;
    if (c->step == S_NONE)
        return;
    conn_cancel_server(c);
    uv_timer_start(&c->timer, conn_timer_cb, SQL_DRAIN_MS, 0);
}

static void conn_timer_cb(uv_timer_t *t)
{
    sql_conn *c = t->data;
    if (c->state == C_CONNECTING) {
        char msg[96];
        snprintf(msg, sizeof msg, "connecting timed out after %g s", c->pool->connect_timeout);
        sql_pool *p = c->pool;
        conn_discard(c);
        pool_fail_head(p, SQL_FAIL_TIMEOUT, msg);
        pool_dispatch(p);
        return;
    }
    if (c->await_cancel) {
        /* The cancel is stuck (server unreachable): drop the connection. */
        c->await_cancel = 0;
        sql_net_cancel_detach(c->cancel);
        c->cancel = NULL;
        c->doomed = 1;
        conn_idle(c);
        return;
    }
    if (c->step != S_NONE && !c->op) {
        c->doomed = 1;
        conn_stmt_done(c, "the cancelled statement did not end");
    }
}

/* ---- the pool ----------------------------------------------------------- */

static void pool_dispatch(sql_pool *p)
{
    while (p->waiters.n && p->idle) {
        sql_conn *c = p->idle;
        p->idle = c->inext;
        p->nidle--;
        conn_run(c, q_pop(&p->waiters));
    }
    while (p->waiters.n > p->connecting && p->total < p->max) {
        char why[320];
        int kind = conn_new(p, why, sizeof why);
        if (kind != SQL_OK)
            pool_fail_head(p, kind, why);
    }
}

void sql_pool_set_stmt_cache(sql_pool *p, int max)
{
    if (max <= 0)
        p->stmt_off = 1;
    p->stmt_max = p->stmt_off ? 0 : max;
}

int sql_pool_stmt_cache(const sql_pool *p)
{
    return p->stmt_max;
}

const char *sql_pool_target(const sql_pool *p)
{
    return p->target;
}

sql_pool *sql_pool_get(const char *dsn, int max, int *created)
{
    sql_pool *p;
    *created = 0;
    for (p = pools; p; p = p->next) {
        if (!strcmp(p->dsn, dsn)) {
            if (max > p->max)
                p->max = max;
            return p;
        }
    }
    p = calloc(1, sizeof *p);
    if (!p || !(p->dsn = strdup(dsn))) {
        free(p);
        return NULL;
    }
    p->max = max > 0 ? max : SQL_DEFAULT_MAX;
    p->stmt_max = SQL_STMT_DEFAULT;
    if (!(p->target = sql_net_target(dsn))) {
        free(p->dsn);
        free(p);
        return NULL;
    }
    p->host = sql_net_host_to_resolve(dsn);
    p->connect_timeout = SQL_CONNECT_DEFAULT_S;
    q_init(&p->waiters);
    p->next = pools;
    pools = p;
    *created = 1;
    return p;
}

void sql_pool_stats(const sql_pool *p, int *max, int *total, int *idle, int *busy, int *waiting)
{
    *max = p->max;
    *total = p->total;
    *idle = p->nidle;
    *busy = p->total - p->nidle - p->connecting;
    *waiting = p->waiters.n;
}

/* ---- operations (public) ------------------------------------------------ */

static void op_timeout_cb(uv_timer_t *t);

static void op_detach(sql_op *op)
{
    if (op->state == OP_WAITING) {
        q_remove(op->held ? &op->held->queue : &op->pool->waiters, op);
    } else if (op->state == OP_RUNNING && op->on) {
        sql_conn *c = op->on;
        op->on = NULL;
        if (c->op == op)
            conn_orphan(c);
    }
}

void sql_op_start(sql_op *op)
{
    uv_timer_init(tn_loop(), &op->timer);
    op->timer.data = op;
    op_set_state(op, OP_WAITING);
    if (shut_down) {
        op_fail(op, SQL_FAIL_CONNECT, "the SQL module is shut down");
        op_complete(op);
        return;
    }
    if (op->timeout > 0) {
        uint64_t ms = (uint64_t)(op->timeout * 1000 + 0.5);
        uv_timer_start(&op->timer, op_timeout_cb, ms ? ms : 1, 0);
        if (op->timeout > op->pool->connect_timeout)
            op->pool->connect_timeout = op->timeout;
    }
    if (op->held) {
        sql_conn *c = op->held;
        if (c->state == C_IDLE && !c->queue.n)
            conn_run(c, op);
        else
            q_push(&c->queue, op);
        return;
    }
    q_push(&op->pool->waiters, op);
    pool_dispatch(op->pool);
}

static void op_timeout_cb(uv_timer_t *t)
{
    sql_op *op = t->data;
    char msg[96];
    op_detach(op);
    snprintf(msg, sizeof msg, "timed out after %g s", op->timeout);
    op_fail(op, SQL_FAIL_TIMEOUT, msg);
    PQclear(op->res);
    op->res = NULL;
    buf_free(&op->rows);
    op->nrows = 0;
    op_complete(op);
}

void sql_op_abandon(sql_op *op)
{
    if (op->state != OP_WAITING && op->state != OP_RUNNING)
        return; /* never started, or already done: nothing runs on its behalf */
    op_detach(op);
    op_set_state(op, OP_ABANDONED);
    uv_timer_stop(&op->timer);
}

static void op_free_cb(uv_handle_t *h)
{
    free(h->data);
}

void sql_op_free(sql_op *op)
{
    if (!op)
        return;
    PQclear(op->res);
    op->res = NULL;
    buf_free(&op->rows);
    if (op->state == OP_NEW) {
        free(op);
        return;
    }
    uv_close((uv_handle_t *)&op->timer, op_free_cb);
}

/* ---- held connections --------------------------------------------------- */

int sql_conn_ok(const sql_conn *c)
{
    return c && !c->doomed && c->pg && PQstatus(c->pg) == CONNECTION_OK;
}

void sql_conn_release(sql_conn *c)
{
    if (shut_down || !c || !c->held)
        return;
    c->held = 0;
    /* Anything still queued belongs to tasks that are gone with the tx. */
    sql_op *op;
    while ((op = q_pop(&c->queue))) {
        op_fail(op, SQL_FAIL_CONNECT, "the transaction ended");
        op_complete(op);
    }
    if (c->step != S_NONE || c->await_cancel)
        return; /* draining an orphaned statement: conn_idle puts it back */
    if (c->doomed) {
        sql_pool *p = c->pool;
        conn_discard(c);
        pool_dispatch(p);
        return;
    }
    conn_put(c);
}

void sql_pool_shutdown(void)
{
    shut_down = 1;
    while (pools) {
        sql_pool *p = pools;
        pools = p->next;
        sql_op *op;
        while ((op = q_pop(&p->waiters)))
            op_set_state(op, OP_ABANDONED);
        while (p->conns) {
            sql_conn *c = p->conns;
            while ((op = q_pop(&c->queue)))
                op_set_state(op, OP_ABANDONED);
            if (c->op)
                c->op->on = NULL;
            c->op = NULL;
            conn_discard(c);
        }
        free(p->dsn);
        free(p->target);
        free(p->host);
        free(p);
    }
}
