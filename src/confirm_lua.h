/* confirm_lua.h — confirm(question [, {default=, timeout=}]): an operator's
 * approval, asked on the terminal (`--yes` answers yes; without a terminal the
 * default is taken). */
#ifndef TOCSIN_CONFIRM_LUA_H
#define TOCSIN_CONFIRM_LUA_H

#include <lua.h>

#include "engine.h"

int confirm_lua_confirm(lua_State *L);
void confirm_lua_shutdown(void);

/* The daemon: questions wait for an answer over the API (or their timeout,
 * then the default) instead of a terminal. */
void confirm_lua_set_remote(int on);
/* The question run r waits on, or NULL. */
const char *confirm_pending(const tn_run *r);
/* Answers it: 0, or -1 when r waits on none. */
int confirm_answer(const tn_run *r, int yes);

#endif
