/* util.c — error values, option fields, durations and sizes (JSON is json.c): the small vocabulary
 * every primitive shares. */
#include "util.h"

#include <lauxlib.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Registry keys (their addresses are unique). */
static const char err_mt_key = 'e';

static int err_tostring(lua_State *L)
{
    lua_getfield(L, 1, "kind");
    lua_getfield(L, 1, "message");
    const char *kind = lua_tostring(L, -2), *msg = lua_tostring(L, -1);
    lua_pushfstring(L, "%s: %s", kind ? kind : "error", msg ? msg : "(no message)");
    return 1;
}

static void push_err_mt(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &err_mt_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_createtable(L, 0, 2);
        lua_pushcfunction(L, err_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushliteral(L, "error");
        lua_setfield(L, -2, "__name");
        /* Shared by every error of the state: a runbook may not rewrite it. */
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &err_mt_key);
    }
}

static void err_vpush(lua_State *L, const char *kind, const char *fmt, va_list ap)
{
    lua_createtable(L, 0, 4);
    lua_pushstring(L, kind);
    lua_setfield(L, -2, "kind");
    /* printf formats (not lua_pushfstring's subset): %g, %.1f, %zu all work. */
    char small[1024];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n >= (int)sizeof small) {
        char *big = malloc((size_t)n + 1);
        if (big) {
            vsnprintf(big, (size_t)n + 1, fmt, ap2);
            lua_pushlstring(L, big, (size_t)n);
            free(big);
        } else {
            lua_pushstring(L, small);
        }
    } else {
        lua_pushstring(L, n >= 0 ? small : fmt);
    }
    va_end(ap2);
    lua_setfield(L, -2, "message");
    push_err_mt(L);
    lua_setmetatable(L, -2);
}

void tn_err_push(lua_State *L, const char *kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vpush(L, kind, fmt, ap);
    va_end(ap);
}

int tn_err_fail(lua_State *L, const char *kind, const char *fmt, ...)
{
    va_list ap;
    lua_pushnil(L);
    va_start(ap, fmt);
    err_vpush(L, kind, fmt, ap);
    va_end(ap);
    return 2;
}

int tn_err_lua(lua_State *L)
{
    const char *kind = luaL_checkstring(L, 1);
    const char *msg = luaL_optstring(L, 2, kind);
    tn_err_push(L, kind, "%s", msg);
    return 1;
}

/* Lua: __errmt() — gives the prelude the same metatable. */
int tn_util_errmt(lua_State *L)
{
    push_err_mt(L);
    return 1;
}

double tn_opt_number(lua_State *L, int idx, const char *name, double def)
{
    if (!lua_istable(L, idx))
        return def;
    lua_getfield(L, idx, name);
    double v = def;
    if (!lua_isnil(L, -1)) {
        int ok;
        v = lua_tonumberx(L, -1, &ok);
        if (!ok) {
            if (lua_type(L, -1) == LUA_TSTRING && (v = tn_parse_duration(lua_tostring(L, -1))) >= 0)
                ok = 1;
            else
                luaL_error(L, "option '%s' must be a number (got %s)", name, luaL_typename(L, -1));
        }
    }
    lua_pop(L, 1);
    return v;
}

double tn_opt_duration(lua_State *L, int idx, const char *name, double def)
{
    if (!idx || !lua_istable(L, idx))
        return def;
    double v;
    switch (lua_getfield(L, idx, name)) {
    case LUA_TNIL:
        lua_pop(L, 1);
        return def;
    case LUA_TBOOLEAN:
        v = lua_toboolean(L, -1) ? -1 : 0;
        break;
    case LUA_TNUMBER:
        v = lua_tonumber(L, -1);
        break;
    case LUA_TSTRING:
        v = tn_parse_duration(lua_tostring(L, -1));
        break;
    default:
        v = -1;
    }
    lua_pop(L, 1);
    if (!(v >= 0))
        luaL_error(L,
                   "option '%s' must be a number of seconds, a duration such as \"90s\", "
                   "or false",
                   name);
    return v;
}

int tn_opt_bool(lua_State *L, int idx, const char *name, int def)
{
    if (!lua_istable(L, idx))
        return def;
    lua_getfield(L, idx, name);
    int v = lua_isnil(L, -1) ? def : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* The string stays valid while the options table holds it. */
const char *tn_opt_string(lua_State *L, int idx, const char *name, const char *def, size_t *len)
{
    const char *v = def;
    if (len)
        *len = def ? strlen(def) : 0;
    if (!lua_istable(L, idx))
        return def;
    lua_getfield(L, idx, name);
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
            luaL_error(L, "option '%s' must be a string (got %s)", name, luaL_typename(L, -1));
        v = lua_tolstring(L, -1, len);
    }
    lua_pop(L, 1);
    return v;
}

double tn_parse_duration(const char *s)
{
    if (!s || !*s)
        return -1;
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || v < 0)
        return -1;
    while (*end == ' ')
        end++;
    double mul;
    if (!*end || !strcmp(end, "s"))
        mul = 1;
    else if (!strcmp(end, "ms"))
        mul = 0.001;
    else if (!strcmp(end, "m") || !strcmp(end, "min"))
        mul = 60;
    else if (!strcmp(end, "h"))
        mul = 3600;
    else if (!strcmp(end, "d"))
        mul = 86400;
    else
        return -1;
    return v * mul;
}

uint64_t tn_parse_size(const char *s)
{
    if (!s || !*s)
        return 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || v <= 0)
        return 0;
    while (*end == ' ')
        end++;
    static const struct {
        const char *suffix;
        double mul;
    } units[] = {
        {"", 1},
        {"b", 1},
        {"k", 1024},
        {"kb", 1000},
        {"kib", 1024},
        {"m", 1048576},
        {"mb", 1e6},
        {"mib", 1048576},
        {"g", 1073741824.0},
        {"gb", 1e9},
        {"gib", 1073741824.0},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcasecmp(end, units[i].suffix))
            return (uint64_t)(v * units[i].mul);
    return 0;
}

uint64_t tn_opt_size(lua_State *L, int idx, const char *name, uint64_t def)
{
    if (!idx || !lua_istable(L, idx))
        return def;
    uint64_t v = 0;
    switch (lua_getfield(L, idx, name)) {
    case LUA_TNIL:
        lua_pop(L, 1);
        return def;
    case LUA_TNUMBER: {
        double d = lua_tonumber(L, -1);
        v = d >= 1 && d < 1.8e19 ? (uint64_t)d : 0;
        break;
    }
    case LUA_TSTRING:
        v = tn_parse_size(lua_tostring(L, -1));
        break;
    default:
        break;
    }
    lua_pop(L, 1);
    if (!v)
        luaL_error(L, "option '%s' must be a size in bytes or a string such as \"64MiB\"", name);
    return v;
}

uint64_t tn_secs_to_ms(double secs)
{
    if (!(secs > 0))
        return 0;
    double ms = ceil(secs * 1000.0);
    if (ms >= 1.8e19)
        return TN_MS_FOREVER;
    return (uint64_t)ms;
}

int tn_read_limits(lua_State *L, int idx, double *cpu, uint64_t *mem, char *err, size_t errlen)
{
    if (lua_isnoneornil(L, idx))
        return 0;
    if (!lua_istable(L, idx)) {
        snprintf(err, errlen, "limits must be a table ({cpu = 30, memory = \"256MiB\"})");
        return -1;
    }
    idx = lua_absindex(L, idx);
    lua_pushliteral(L, "cpu");
    int t = lua_rawget(L, idx);
    if (t != LUA_TNIL) {
        double v = t == LUA_TNUMBER   ? lua_tonumber(L, -1)
                   : t == LUA_TSTRING ? tn_parse_duration(lua_tostring(L, -1))
                                      : -1;
        lua_pop(L, 1);
        if (!(v > 0)) {
            snprintf(err, errlen, "limits.cpu must be a positive number of seconds");
            return -1;
        }
        *cpu = v;
    } else {
        lua_pop(L, 1);
    }
    lua_pushliteral(L, "memory");
    t = lua_rawget(L, idx);
    if (t != LUA_TNIL) {
        double d = t == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
        uint64_t v = t == LUA_TNUMBER   ? (d >= 0 && d < 1.8e19 ? (uint64_t)d : 0)
                     : t == LUA_TSTRING ? tn_parse_size(lua_tostring(L, -1))
                                        : 0;
        lua_pop(L, 1);
        if (v < (1u << 20)) {
            snprintf(err, errlen, "limits.memory must be a size of at least 1MiB (\"256MiB\")");
            return -1;
        }
        *mem = v;
    } else {
        lua_pop(L, 1);
    }
    return 0;
}
