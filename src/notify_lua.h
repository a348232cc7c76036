/* notify_lua.h — the global notify(channel_or_list, message_or_table). */
#ifndef TOCSIN_NOTIFY_LUA_H
#define TOCSIN_NOTIFY_LUA_H

#include <lua.h>

/* Pushes the notify function (notify.lua given the C helpers below). */
int notify_lua_open(lua_State *L);

#endif
