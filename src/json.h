/* json.h — json.encode, json.decode and json.null for runbooks and the
 * primitives: numbers kept exact (integers stay integers both ways, floats
 * round-trip), invalid UTF-8 and lone surrogates become U+FFFD both ways,
 * nesting capped at 128, tables judged arrays or objects as lua-cjson did.
 * On a Lua state not made by the engine, set *lua_getextraspace(L) = NULL
 * first (no CPU budget then). */
#ifndef TOCSIN_JSON_H
#define TOCSIN_JSON_H

#include <lua.h>
#include <stddef.h>

#define JSON_MAX_DEPTH 128

/* The module table {encode=, decode=, null=}, the same table every call
 * (the name is lua-cjson's, which this replaced). */
void tn_push_cjson(lua_State *L);
/* json.null as a Lua value (a NULL light userdata, as lua-cjson's). */
void tn_push_null(lua_State *L);
int tn_is_null(lua_State *L, int idx);
/* Encodes the value at idx; pushes the string, or raises. */
void tn_json_encode(lua_State *L, int idx);
/* Decodes s; pushes the value and returns 0, or pushes an error message and returns -1. */
int tn_json_decode(lua_State *L, const char *s, size_t n);

#endif
