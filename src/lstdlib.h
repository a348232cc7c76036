/* lstdlib.h — the standard functions that loop in C (string.rep, upper,
 * lower, reverse; table.concat, insert, remove, move, sort; utf8.len,
 * offset) bounded by the running run's CPU budget: Lua 5.4.4's code counting
 * its steps (the stock ones run in C, where the count hook never fires); and
 * load's compiling likewise. */
#ifndef TOCSIN_LSTDLIB_H
#define TOCSIN_LSTDLIB_H

#include <lua.h>

/* Replaces those functions in the global string, table and utf8 tables. */
void lstdlib_register(lua_State *L);

/* luaL_loadbufferx with the CPU budget looked at between 64 KiB pieces of
 * source: compiling runs in C too (a 200 MB chunk took seconds). */
int lstdlib_load(lua_State *L, const char *s, size_t len, const char *name, const char *mode);

#endif
