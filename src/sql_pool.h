/* sql_pool.h — PostgreSQL connections on the libuv loop (libpq's asynchronous
 * API only) and the process-wide pool per DSN: lazy connect, FIFO waiters,
 * broken connections replaced, timeouts that cancel on the server.  No Lua
 * here: sql_lua.c turns operations into Lua values. */
#ifndef TOCSIN_SQL_POOL_H
#define TOCSIN_SQL_POOL_H

#include <libpq-fe.h>
#include <uv.h>

#include "buf.h"
#include "list.h"

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
    SQL_FAIL_LIMIT, /* the result passed max_result: the statement was cancelled */
};

/* One statement (or one connection grab) on behalf of a caller.  The caller
 * fills the public part, calls sql_op_start, and is told once through done()
 * — unless it calls sql_op_abandon first.  Either way it ends with
 * sql_op_free, which frees the op's memory (asynchronously: the op embeds a
 * libuv timer), so the op must come from malloc. */
struct sql_op {
    /* in */
    sql_pool *pool;
    sql_conn *held; /* a transaction's own connection, or NULL: use the pool */
    int acquire;    /* just take a connection and hold it (db:tx) */
    /* pre, post_ok, post_err and simple go out through the simple query
     * protocol (they may hold several statements); sql otherwise goes out as
     * exactly one statement (extended protocol). */
    const char *pre;      /* run first on the same connection */
    const char *post_ok;  /* run after the statement succeeded, */
    const char *post_err; /* or failed */
    const char *sql;
    int simple;       /* sql is ours: simple protocol, no parameters */
    int prepare_only; /* only Parse sql (unnamed statement): analysed, never planned or run */
    buf_t *capture;   /* collects the DETAIL of the server's "rewritten parse tree:" LOG
                       * messages (debug_print_rewritten) that arrive during sql */
    int nparams;
    const char *const *params; /* text; NULL entries are SQL NULL */
    double timeout;            /* seconds, <= 0: none */
    size_t max_result;         /* bytes of row data kept at most; 0: no limit */
    void (*done)(sql_op *op);
    /* out */
    int fail;      /* enum sql_fail */
    char msg[320]; /* why, when fail is set and there is no result */
    PGresult *res; /* the statement's result (ok or error), freed by sql_op_free; its rows
                    * arrived one by one (single-row mode) and are in rows instead */
    buf_t rows;    /* per row, per column: a 4-byte length (UINT32_MAX: NULL), bytes, a NUL */
    int nrows;
    sql_conn *conn; /* acquire: the connection now held */
    /* private */
    int state;
    int retried;
    int unnamed;     /* its cached statement went stale: sent unnamed, past the cache */
    int first_sent;  /* the op's first statement went out on a reused connection */
    sql_conn *on;    /* connection running it */
    list_node qlink; /* in a waiting queue */
    uv_timer_t timer;
};

/* The pool for dsn, created on first use (*created is then set) with max
 * connections (0: the default, 4); a larger max raises an existing pool's
 * limit.  Returns NULL on OOM. */
sql_pool *sql_pool_get(const char *dsn, int max, int *created);
/* "host/db" of the pool's DSN, for reports (never the password). */
const char *sql_pool_target(const sql_pool *p);
/* Prepared statements: each connection keeps the last max statements it
 * ran (extended protocol, by name: Bind+Execute instead of Parse+Bind+...)
 * in an LRU cache keyed by their text (sql_stmt.h).  max <= 0 turns the
 * cache off for good (a pooler in transaction mode cannot keep named
 * statements; a pool turns it off itself after 3 cached statements were
 * found gone, the mark of one); otherwise the last max given holds (default 64).  A smaller
 * max shrinks each connection's cache as it next adds a statement. */
void sql_pool_set_stmt_cache(sql_pool *p, int max);
int sql_pool_stmt_cache(const sql_pool *p);
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
