/* timer.h — the `time` module: sleep, wall clock and monotonic clock. */
#ifndef TOCSIN_TIMER_H
#define TOCSIN_TIMER_H

#include <lua.h>

int luaopen_tn_time(lua_State *L);

#endif
