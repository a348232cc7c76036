/* sql.h — the `sql` Lua module: PostgreSQL through libpq's asynchronous API
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
 * err.sqlstate, err.message, err.detail, err.hint from the server. */
#ifndef TOCSIN_SQL_H
#define TOCSIN_SQL_H

#include <lua.h>

int luaopen_tn_sql(lua_State *L);
/* Closes every pooled connection (process exit). */
void sql_shutdown(void);

#endif
