/* embedded.c — finds and compiles the Lua files built into the binary. */
#include "embedded.h"

#include <lauxlib.h>
#include <string.h>

int embedded_lua_load(lua_State *L, const char *name)
{
    for (const embedded_file *f = embedded_lua_files; f->name; f++)
        if (!strcmp(f->name, name)) {
            char chunk[64];
            lua_pushfstring(L, "@%s.lua", name);
            const char *cn = lua_tostring(L, -1);
            size_t n = strlen(cn);
            memcpy(chunk, cn, n < sizeof chunk ? n + 1 : sizeof chunk);
            chunk[sizeof chunk - 1] = 0;
            lua_pop(L, 1);
            return luaL_loadbufferx(L, f->text, f->len, chunk, "t");
        }
    lua_pushfstring(L, "no embedded Lua file '%s'", name);
    return LUA_ERRFILE;
}
