/* fuzz_json_decode.c — libFuzzer target for json.decode (src/json.c): any
 * input either decodes or fails with a "json.decode: " message (never a
 * crash, a leak or undefined behaviour); what decodes encodes again without
 * error, to valid JSON that decodes to an equal value (same integer/float
 * subtypes, -0.0 kept), and encoding that value gives the same text again.
 *
 * Build (tests/fuzz/fuzz.cmake does it with libtocsin), by hand:
 *   clang-14 -fsanitize=fuzzer,address,undefined -g -O1 -Iinclude -Isrc \
 *     tests/fuzz/fuzz_json_decode.c src/!(main).c build/embedded_lua.c \
 *     $(pkg-config --cflags --libs lua5.4 libuv libcurl libpq) -lhttp_parser -lm */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* Deep equality of the values at a and b (absolute indices). */
static int same(lua_State *L, int a, int b)
{
    int t = lua_type(L, a);
    if (t != lua_type(L, b))
        return 0;
    switch (t) {
    case LUA_TNUMBER:
        if (lua_isinteger(L, a) != lua_isinteger(L, b))
            return 0;
        if (lua_isinteger(L, a))
            return lua_tointeger(L, a) == lua_tointeger(L, b);
        else {
            lua_Number x = lua_tonumber(L, a), y = lua_tonumber(L, b);
            return x == y && signbit(x) == signbit(y);
        }
    case LUA_TSTRING: {
        size_t n, m;
        const char *x = lua_tolstring(L, a, &n), *y = lua_tolstring(L, b, &m);
        return n == m && memcmp(x, y, n) == 0;
    }
    case LUA_TTABLE: {
        luaL_checkstack(L, 8, "deep");
        lua_pushnil(L);
        while (lua_next(L, a)) {
            lua_pushvalue(L, -2);
            lua_rawget(L, b);
            int ok = same(L, lua_gettop(L) - 1, lua_gettop(L));
            lua_pop(L, 2);
            if (!ok) {
                lua_pop(L, 1);
                return 0;
            }
        }
        lua_pushnil(L);
        while (lua_next(L, b)) {
            lua_pop(L, 1);
            lua_pushvalue(L, -1);
            if (lua_rawget(L, a) == LUA_TNIL) {
                lua_pop(L, 2);
                return 0;
            }
            lua_pop(L, 1);
        }
        return 1;
    }
    default: /* booleans, json.null */
        return lua_rawequal(L, a, b);
    }
}

static int encode(lua_State *L)
{
    tn_json_encode(L, 1);
    return 1;
}

/* Encodes the value at idx, protected; pushes the text or aborts. */
static void must_encode(lua_State *L, int idx, const char *what)
{
    lua_pushcfunction(L, encode);
    lua_pushvalue(L, idx);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        fprintf(stderr, "%s: encode failed: %s\n", what, lua_tostring(L, -1));
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lua_State *L = luaL_newstate();
    if (!L)
        return 0;
    *(void **)lua_getextraspace(L) = NULL; /* no engine state: no CPU budget */
    if (tn_json_decode(L, (const char *)data, size) != 0) {
        const char *msg = lua_tostring(L, -1);
        if (!msg || (strncmp(msg, "json.decode: ", 13) && strcmp(msg, "not enough memory"))) {
            fprintf(stderr, "decode failed without a message: %s\n", msg ? msg : "(not a string)");
            abort();
        }
        lua_close(L);
        return 0;
    }
    int v = lua_gettop(L);
    must_encode(L, v, "decoded value");
    int text = lua_gettop(L);
    size_t n;
    const char *s = lua_tolstring(L, text, &n);
    if (tn_json_decode(L, s, n) != 0) {
        fprintf(stderr, "re-decoding %.*s failed: %s\n", (int)(n < 200 ? n : 200), s,
                lua_tostring(L, -1));
        abort();
    }
    int v2 = lua_gettop(L);
    if (!same(L, v, v2)) {
        fprintf(stderr, "round trip changed the value: %.*s\n", (int)(n < 200 ? n : 200), s);
        abort();
    }
    /* A scalar's text is canonical (tables may list their keys in another order). */
    if (lua_type(L, v) != LUA_TTABLE) {
        must_encode(L, v2, "re-decoded value");
        size_t m;
        const char *s2 = lua_tolstring(L, -1, &m);
        if (m != n || memcmp(s, s2, n)) {
            fprintf(stderr, "encoding not stable: %.*s vs %.*s\n", (int)n, s, (int)m, s2);
            abort();
        }
    }
    lua_close(L);
    return 0;
}
