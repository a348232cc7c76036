/* confirm_lua.h — confirm(question [, {default=, timeout=}]): an operator's
 * approval, asked on the terminal (`--yes` answers yes; without a terminal the
 * default is taken). */
#ifndef TOCSIN_CONFIRM_LUA_H
#define TOCSIN_CONFIRM_LUA_H

#include <lua.h>

int confirm_lua_confirm(lua_State *L);
void confirm_lua_shutdown(void);

#endif
