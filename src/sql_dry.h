/* sql_dry.h — reading PostgreSQL's own analysis of a statement for a dry run
 * (see sql_lua.h, "Dry run"): the "rewritten parse tree" the server prints
 * with debug_print_rewritten (views expanded, row security applied, nothing
 * planned or run) is scanned for what the statement is and which functions
 * and user objects it would use.  No libpq, no Lua: unit-tested. */
#ifndef TOCSIN_SQL_DRY_H
#define TOCSIN_SQL_DRY_H

#include <stddef.h>

#include "buf.h"

/* Scans tree (the DETAIL texts of the server's LOG messages, n bytes) for
 * the statement sql.  Returns NULL when it is a plain read — every query in
 * it a SELECT with no data-modifying WITH and no FOR UPDATE/SHARE, or the
 * statement is `SHOW name` — with funcs set to a PostgreSQL array literal of
 * every function OID it names (FuncExpr, operators' functions, aggregates,
 * window functions...) and objs to one of every number in the tree that may
 * be a user object's OID (>= 16384: functions, operators, types...).
 * Otherwise returns why it is not (a static string). */
const char *sql_dry_scan(const char *tree, size_t n, const char *sql, buf_t *funcs, buf_t *objs);

#endif
