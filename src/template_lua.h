/* template_lua.h — the `template` module (template.render): the Mustache
 * engine is src/template.lua; this C part reads template files, and only from
 * the configured template folders (tn_settings.template_paths). */
#ifndef TOCSIN_TEMPLATE_LUA_H
#define TOCSIN_TEMPLATE_LUA_H

#include <lua.h>

/* Largest template file read, in bytes. */
#define TEMPLATE_MAX_BYTES ((size_t)1 << 20)

/* Pushes the module table {render=}. */
int template_lua_open(lua_State *L);

#endif
