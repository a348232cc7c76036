/* confirm.h — confirm(question [, {default=, timeout=}]): an operator's
 * approval, asked on the terminal (`--yes` answers yes; without a terminal the
 * default is taken). */
#ifndef TOCSIN_CONFIRM_H
#define TOCSIN_CONFIRM_H

#include <lua.h>

int tn_lua_confirm(lua_State *L);
void confirm_shutdown(void);

#endif
