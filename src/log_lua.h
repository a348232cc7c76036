/* log_lua.h — what runbook code reports: print, log.debug/info/warn/error and
 * the prelude's step hooks, turned into run events (events.h). */
#ifndef TOCSIN_LOG_LUA_H
#define TOCSIN_LOG_LUA_H

#include <lua.h>

int log_lua_open(lua_State *L); /* the `log` module */
int log_lua_print(lua_State *L);
int log_lua_step_begin(lua_State *L);
int log_lua_step_end(lua_State *L);

#endif
