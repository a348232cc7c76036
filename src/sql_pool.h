/* sql_pool.h — PostgreSQL connections on the libuv loop (libpq's asynchronous
 * API only) and the process-wide pool per DSN: lazy connect, FIFO waiters,
 * broken connections replaced, timeouts that cancel on the server.  No Lua
 * here: sql_lua.c turns operations into Lua values. */
#ifndef TOCSIN_SQL_POOL_H
#define TOCSIN_SQL_POOL_H

#include <libpq-fe.h>
#include <uv.h>

typedef struct sql_pool sql_pool;
typedef struct sql_conn sql_conn;
typedef struct sql_op sql_op;

/* How an operation failed; SQL_FAIL_QUERY carries the server's PGresult. */
enum sql_fail {
    SQL_OK = 0,
    SQL_FAIL_CONNECT,
    SQL_FAIL_AUTH,
    SQL_FAIL_TIMEOUT,
    SQL_FAIL_QUERY,
};

/* One statement (or one connection grab) on behalf of a caller.  The caller
 * fills the public part, calls sql_op_start, and is told once through done()
 * — unless it calls sql_op_abandon first.  Either way it ends with
 * sql_op_free, which frees the op's memory (asynchronously: the op embeds a
 * libuv timer), so the op must come from malloc. */
struct sql_op {
    /* in */
    sql_pool *pool;
    sql_conn *held;       /* a transaction's own connection, or NULL: use the pool */
    int acquire;          /* just take a connection and hold it (db:tx) */
    const char *pre;      /* run first on the same connection (dry run: BEGIN READ ONLY) */
    const char *post_ok;  /* run after the statement succeeded, */
    const char *post_err; /* or failed (dry run: ROLLBACK) */
    const char *sql;
    int nparams;
    const char *const *params; /* text; NULL entries are SQL NULL */
    double timeout;            /* seconds, <= 0: none */
    void (*done)(sql_op *op);
    /* out */
    int fail;       /* enum sql_fail */
    char msg[320];  /* why, when fail is set and there is no result */
    PGresult *res;  /* the statement's result (ok or error), freed by sql_op_free */
    sql_conn *conn; /* acquire: the connection now held */
    /* private */
    int state;
    int retried;
    int first_sent;        /* the op's first statement went out on a reused connection */
    sql_conn *on;          /* connection running it */
    sql_op *qprev, *qnext; /* waiting queue links */
    uv_timer_t timer;
};

/* The pool for dsn, created on first use (*created is then set) with max
 * connections (0: the default, 4); a larger max raises an existing pool's
 * limit.  Returns NULL on OOM. */
sql_pool *sql_pool_get(const char *dsn, int max, int *created);
/* Counts for db:stats(). */
void sql_pool_stats(const sql_pool *p, int *max, int *total, int *idle, int *busy, int *waiting);

void sql_op_start(sql_op *op);
/* The task gave up: the statement is cancelled on the server, its connection
 * drained and recycled; done() is never called. */
void sql_op_abandon(sql_op *op);
void sql_op_free(sql_op *op);

/* Gives a held connection back to its pool (a transaction still open on it
 * is rolled back first). */
void sql_conn_release(sql_conn *c);
/* Non-zero when a held connection is still usable. */
int sql_conn_ok(const sql_conn *c);

/* Closes every connection and frees the pools (process exit). */
void sql_pool_shutdown(void);

#endif
