/* sql_lua.h — the `sql` Lua module: PostgreSQL through libpq's asynchronous API
 * on the loop, one process-wide pool per DSN (sql_pool.h), typed results,
 * server-side cancel on timeout, READ ONLY transactions for dry runs.
 *
 *   sql.open(dsn [, {max=4, timeout=10}]) -> db   (lazy: connects on first use)
 *   sql.query(dsn, sql, ...)                      one-shot through dsn's pool
 *   db:query(sql, ...)  -> rows | nil, err        rows[i].col, rows.columns
 *   db:exec(sql, ...)   -> affected | nil, err
 *   db:one(sql, ...)    -> row | nil  (nil, err on error)
 *   db:tx(function(tx) ... end) -> fn's results | nil, err
 *       BEGIN on a dedicated connection; COMMIT when fn returns; ROLLBACK and
 *       re-raise when fn raises; ROLLBACK and return nil, err when fn returns
 *       nil, err.  tx has query/exec/one.
 *   db:stats() -> {max=, total=, idle=, busy=, waiting=}
 *
 * Errors: err.kind connect | auth | query | timeout | canceled, with
 * err.sqlstate, err.message, err.detail, err.hint from the server.
 *
 * timeout (seconds or "500ms"; 0: none) bounds each call, waiting for a
 * connection included; past it the call returns kind "timeout" and the
 * statement is cancelled on the server.  Pools are process-wide, one per DSN
 * string; db handles on the same DSN share it (a larger max raises it).  A
 * statement that fails because its pooled connection had died (server
 * restart) is retried on another connection, ending on a fresh one.
 * Dry run: each statement runs inside BEGIN READ ONLY ... ROLLBACK (in db:tx,
 * a savepoint of its READ ONLY transaction); a refused write (25006, 25001)
 * is recorded as an action and returns 0 / empty rows (dry_run = true) / nil. */
#ifndef TOCSIN_SQL_LUA_H
#define TOCSIN_SQL_LUA_H

#include <lua.h>

int sql_lua_open(lua_State *L);
/* Closes every pooled connection (process exit). */
void sql_lua_shutdown(void);

#endif
