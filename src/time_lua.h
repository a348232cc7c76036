/* time_lua.h — the `time` module: sleep, wall clock and monotonic clock. */
#ifndef TOCSIN_TIME_LUA_H
#define TOCSIN_TIME_LUA_H

#include <lua.h>

int time_lua_open(lua_State *L);

#endif
