/* lpattern.h — string.find, match, gmatch and gsub bounded by the running
 * run's CPU budget: Lua 5.4.4's pattern matching, counting its steps (the
 * stock ones run in C, where the count hook never fires). */
#ifndef TOCSIN_LPATTERN_H
#define TOCSIN_LPATTERN_H

#include <lua.h>

/* Sets find, match, gmatch and gsub in the table on top of L's stack. */
void lpattern_register(lua_State *L);

#endif
