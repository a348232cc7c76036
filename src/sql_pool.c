/* sql_pool.c — PostgreSQL connections driven by the libuv loop through
 * libpq's asynchronous API, and the process-wide pool per DSN that hands them
 * to operations in FIFO order.  Nothing here blocks and no Lua runs here. */
#include "sql_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql_net.h"
#include "task.h"

/* How long a cancelled statement may take to end before its connection is
 * thrown away instead of recycled. */
#define SQL_DRAIN_MS 5000
#define SQL_CONNECT_DEFAULT_S 10.0
#define SQL_DEFAULT_MAX 4

enum { C_CONNECTING, C_IDLE, C_BUSY, C_CLOSED };
/* The statement in flight on a connection. */
enum { S_NONE, S_PRE, S_MAIN, S_POST, S_RESET };
enum { OP_NEW, OP_WAITING, OP_RUNNING, OP_DONE, OP_ABANDONED };

typedef struct sql_queue {
    sql_op *head, *tail;
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
    sql_op *op;            /* owner of the statement in flight; NULL when orphaned */
    PGresult *res;         /* result being collected */
    sql_queue queue;       /* held: statements of the transaction waiting their turn */
    sql_conn *prev, *next; /* pool->conns */
    sql_conn *inext;       /* pool->idle */
    sql_resolve *gai;      /* name lookup in progress */
    sql_cancel *cancel;    /* server-side cancel in progress */
    int await_cancel;      /* drained; reused only once the cancel was delivered */
};

struct sql_pool {
    char *dsn;
    char *host; /* a host name we resolve ourselves, or NULL */
    int max, total, connecting, nidle;
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

/* ---- small helpers ------------------------------------------------------ */

static void q_push(sql_queue *q, sql_op *op)
{
    op->qnext = NULL;
    op->qprev = q->tail;
    if (q->tail)
        q->tail->qnext = op;
    else
        q->head = op;
    q->tail = op;
    q->n++;
}

static void q_push_front(sql_queue *q, sql_op *op)
{
    op->qprev = NULL;
    op->qnext = q->head;
    if (q->head)
        q->head->qprev = op;
    else
        q->tail = op;
    q->head = op;
    q->n++;
}

static void q_remove(sql_queue *q, sql_op *op)
{
    if (op->qprev)
        op->qprev->qnext = op->qnext;
    else
        q->head = op->qnext;
    if (op->qnext)
        op->qnext->qprev = op->qprev;
    else
        q->tail = op->qprev;
    op->qprev = op->qnext = NULL;
    q->n--;
}

static sql_op *q_pop(sql_queue *q)
{
    sql_op *op = q->head;
    if (op)
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

static void notice_ignore(void *arg, const char *message)
{
    /* Notices (and the FATAL a server sends an idle connection before it
     * closes it) would go to stderr by default. */
    (void)arg;
    (void)message;
}

static void free_handle_cb(uv_handle_t *h)
{
    free(h);
}

/* ---- operations --------------------------------------------------------- */

static void op_complete(sql_op *op)
{
    op->state = OP_DONE;
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
    c->state = C_CLOSED;
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
    char buf[320];
    copy_msg(buf, sizeof buf, msg); /* msg may live in the PGconn */
    if (kind == SQL_FAIL_CONNECT)
        kind = connect_fail_kind(buf);
    conn_discard(c);
    pool_fail_head(p, kind, buf);
    pool_dispatch(p);
}

static void conn_connected(sql_conn *c)
{
    sql_pool *p = c->pool;
    uv_timer_stop(&c->timer);
    p->connecting--;
    c->state = C_IDLE;
    PQsetNoticeProcessor(c->pg, notice_ignore, NULL);
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
    c->state = C_CONNECTING;
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

static void conn_send(sql_conn *c, int step, const char *sql, int n, const char *const *params)
{
    c->step = step;
    c->cancel_sent = 0;
    if (!PQsendQueryParams(c->pg, sql, n, NULL, params, NULL, NULL, 0)) {
        char buf[320];
        if (PQstatus(c->pg) != CONNECTION_OK)
            c->doomed = 1;
        copy_msg(buf, sizeof buf, PQerrorMessage(c->pg));
        conn_stmt_done(c, buf[0] ? buf : "could not send the statement");
        return;
    }
    conn_flush(c);
    if (c->doomed)
        conn_stmt_done(c, PQerrorMessage(c->pg));
}

static void conn_step(sql_conn *c, int step)
{
    sql_op *op = c->op;
    switch (step) {
    case S_PRE:
        conn_send(c, step, op->pre, 0, NULL);
        break;
    case S_MAIN:
        conn_send(c, step, op->sql, op->nparams, op->params);
        break;
    default: /* S_POST */
        conn_send(c, step, op->fail ? op->post_err : op->post_ok, 0, NULL);
        break;
    }
}

/* Runs op on c (from the pool, or c is op's transaction connection). */
static void conn_run(sql_conn *c, sql_op *op)
{
    op->state = OP_RUNNING;
    op->on = c;
    if (op->acquire) {
        c->held = 1;
        c->state = C_IDLE;
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
    c->state = C_BUSY;
    uv_ref((uv_handle_t *)c->poll);
    op->first_sent = c->used;
    conn_step(c, op->pre ? S_PRE : S_MAIN);
}

/* A connection whose statement ended and that nobody owns now. */
static void conn_idle(sql_conn *c)
{
    if (!c->held) {
        conn_put(c);
        return;
    }
    c->state = C_IDLE;
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
        c->state = C_BUSY;
        uv_ref((uv_handle_t *)c->poll);
        conn_send(c, S_RESET, "ROLLBACK", 0, NULL);
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
    c->state = C_IDLE;
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
static int stale_failure(const sql_conn *c, const sql_op *op, int step, const PGresult *res,
                         const char *fail_msg)
{
    if (!c->doomed || !op->first_sent || op->retried > c->pool->max || op->held)
        return 0;
    if (!(step == S_PRE || (step == S_MAIN && !op->pre)))
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
        c->state = C_BUSY; /* off the idle list: conn_discard must not look for it */
        conn_discard(c);
    }
}

static void conn_stmt_done(sql_conn *c, const char *fail_msg)
{
    sql_pool *p = c->pool;
    PGresult *res = c->res;
    sql_op *op = c->op;
    int step = c->step;
    c->res = NULL;
    c->step = S_NONE;
    if (PQstatus(c->pg) != CONNECTION_OK)
        c->doomed = 1;
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
    int failed = fail_msg || !res || res_is_error(res);
    if (failed && stale_failure(c, op, step, res, fail_msg)) {
        PQclear(res);
        op->retried++;
        op->on = NULL;
        op->state = OP_WAITING;
        c->op = NULL;
        q_push_front(&p->waiters, op);
        conn_discard(c);
        pool_probe_idle(p);
        pool_dispatch(p);
        return;
    }
    if (!failed || step != S_POST)
        c->used = 1;
    switch (step) {
    case S_PRE:
        if (!failed) {
            PQclear(res);
            conn_step(c, S_MAIN);
            return;
        }
        op_set_result(op, res, fail_msg, c->doomed);
        break;
    case S_MAIN:
        op_set_result(op, res, fail_msg, c->doomed);
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
            conn_stmt_done(c, "COPY FROM STDIN / TO STDOUT is not supported");
            return 1;
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
    p->host = sql_net_host_to_resolve(dsn);
    p->connect_timeout = SQL_CONNECT_DEFAULT_S;
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
    op->state = OP_WAITING;
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
    op_complete(op);
}

void sql_op_abandon(sql_op *op)
{
    if (op->state == OP_WAITING || op->state == OP_RUNNING)
        op_detach(op);
    op->state = OP_ABANDONED;
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
            op->state = OP_ABANDONED;
        while (p->conns) {
            sql_conn *c = p->conns;
            while ((op = q_pop(&c->queue)))
                op->state = OP_ABANDONED;
            if (c->op)
                c->op->on = NULL;
            c->op = NULL;
            conn_discard(c);
        }
        free(p->dsn);
        free(p->host);
        free(p);
    }
}
