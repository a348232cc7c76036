/* sql_lua.h — the `sql` Lua module: PostgreSQL through libpq's asynchronous API
 * on the loop, one process-wide pool per DSN (sql_pool.h), typed results,
 * server-side cancel on timeout, READ ONLY transactions for dry runs.
 *
 *   sql.open(dsn [, {max=4, timeout=10, max_result="64MiB", statement_cache=64}])
 *                                                 -> db  (connects on first use)
 *   sql.query(dsn, sql, ...)                      one-shot through dsn's pool
 *   db:query(sql, ...)  -> rows | nil, err        rows[i].col, rows.columns
 *   db:exec(sql, ...)   -> affected | nil, err
 *   db:one(sql, ...)    -> row | nil  (nil, err on error)
 *   db:tx(function(tx) ... end) -> fn's results | nil, err
 *       BEGIN on a dedicated connection; COMMIT when fn returns; ROLLBACK and
 *       re-raise when fn raises; ROLLBACK and return nil, err when fn returns
 *       nil, err.  tx has query/exec/one.  (src/sql_tx.lua)
 *   db:stats() -> {max=, total=, idle=, busy=, waiting=, statement_cache=}
 *
 * Errors: every failure a call returns is nil, err with err an error value
 * (never a string): err.kind connect | auth | query | timeout | canceled |
 * limit, with err.sqlstate, err.message, err.detail, err.hint from the server.
 * Misuse (bad arguments, a tx used after its function) raises instead.
 *
 * timeout (seconds or "500ms"; 0: none) bounds each call, waiting for a
 * connection included; past it the call returns kind "timeout" and the
 * statement is cancelled on the server.  Pools are process-wide, one per DSN
 * string; db handles on the same DSN share it (a larger max raises it).  A
 * statement that fails because its pooled connection had died (server
 * restart) is retried on another connection, ending on a fresh one.
 *
 * max_result (bytes or "64MiB"; sql.query: 64 MiB) bounds a result as it
 * arrives: rows come one at a time (libpq's single-row mode) into a compact
 * buffer (each value plus 5 bytes), so libpq never holds the whole result.
 * Past the limit the call returns kind "limit", the buffer is freed and the
 * statement is cancelled on the server (its connection drained and reused,
 * as after a timeout; inside db:tx the transaction is then aborted).  Rows
 * that fit max_result but not the runbook's Lua memory cap: kind "limit" too.
 *
 * statement_cache (0..1000, false: 0) is the pool's bound on the prepared
 * statements each connection keeps (sql_stmt.h, sql_pool.h): a statement
 * run again on a connection is sent by name (Bind+Execute).  A cached
 * statement the server dropped (26000) or whose plan went stale (0A000) is
 * retried once, unnamed, outside transactions; inside db:tx its error is
 * returned.  false is for transaction-mode poolers without prepared
 * statement support, and stays once given for a DSN.
 *
 * Each finished call is reported with tn_run_call(run, "sql", "host/db",
 * seconds, "ok" | err.kind) — never the DSN or its password.
 *
 * Dry run (--dry-run): a statement is sent only when Tocsin can show it has
 * no effect outside the transaction; the rest is listed as an action (its
 * text with secrets replaced first, then made one line of at most 200
 * characters, and why it was not sent) and returns a success-shaped value:
 * exec 0, one nil, query an empty rows table with dry_run = true.  On a
 * connection of its own (or inside db:tx, in a savepoint of db:tx's own
 * transaction) in a BEGIN READ ONLY transaction, each statement is
 *   1. parsed only, with debug_print_rewritten on for the moment: the server
 *      sends its rewritten parse tree (views expanded, row security policies
 *      applied) and nothing is planned or run — a planner would already run
 *      IMMUTABLE functions, so EXPLAIN is no safe first step;
 *   2. checked (sql_dry.c): every query in the tree must be a SELECT without
 *      a data-modifying WITH or FOR UPDATE/SHARE (the only other statement
 *      sent is `SHOW name`; COPY, DO, CALL, EXPLAIN, SET... are not);
 *      then every function in it by OID against pg_proc (sql_tx.lua):
 *      refused are built-in volatile functions except a short list of
 *      readers (pg_database_size, pg_stat_get_*, pg_lock_status, random,
 *      clock_timestamp...), built-in SQL-running ones (table_to_xml...),
 *      every function that is not built in (OID >= 16384: its body may do
 *      anything, whatever volatility it declares; extension readers such as
 *      pg_stat_statements are listed), operators that are not built in, and
 *      domains whose checks call such functions.  Spelling cannot matter:
 *      U&"..." names, views and SQL functions are resolved by the server;
 *   3. sent, in a savepoint, with the same parameters; a write the server
 *      still refuses (25006, 25001) is listed too.  The transaction is
 *      rolled back.
 * What remains trusted: C code installed by a superuser (type input and
 * output functions, table sampling, foreign-data wrappers; extension
 * operators are refused, their types are not), and no concurrent session
 * replacing a view or function between the check and the send.  No role is
 * switched (SET LOCAL ROLE needs a role we are a member of; none can be
 * assumed).  Costs: about five round trips per statement (each bounded by
 * timeout), and the server writes each parse tree with the statement text
 * (not its parameters: pass secrets as $1) to its log at LOG level.
 * A SQL error found while parsing (unknown table...) is returned as such;
 * the result of a sent statement is reported once (tn_run_call). */
#ifndef TOCSIN_SQL_LUA_H
#define TOCSIN_SQL_LUA_H

#include <lua.h>

int sql_lua_open(lua_State *L);
/* Closes every pooled connection (process exit). */
void sql_lua_shutdown(void);

#endif
