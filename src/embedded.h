/* embedded.h — the engine's own Lua code (the .lua files in src/), compiled into the
 * binary at build time (cmake/embed.cmake) so start-up reads no file and
 * luacheck sees the sources. */
#ifndef TOCSIN_EMBEDDED_H
#define TOCSIN_EMBEDDED_H

#include <lua.h>
#include <stddef.h>

typedef struct embedded_file {
    const char *name; /* "prelude" for src/prelude.lua */
    const char *text;
    size_t len;
} embedded_file;

extern const embedded_file embedded_lua_files[]; /* ends with {NULL} */

/* Compiles the embedded src/NAME.lua onto L's stack (chunk name "@NAME.lua",
 * so errors and tracebacks say where); LUA_OK, or an error code with the
 * message pushed instead.  Raises nothing. */
int embedded_lua_load(lua_State *L, const char *name);

#endif
