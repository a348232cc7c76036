/* log_lua.c — print, log.* and step hooks: runbook values become text here
 * (every conversion that can run runbook code or raise happens on the Lua
 * stack first, so nothing C-allocated leaks when it raises), then one event. */
#include "log_lua.h"

#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "engine.h"
#include "events.h"
#include "run.h"
#include "util.h"

static tn_run *current_run(lua_State *L)
{
    tn_state *st = engine_state_of(L);
    return st->current ? tn_task_run(st->current) : NULL;
}

/* print(...): tab-separated tostring() of the arguments, to the run's output. */
int log_lua_print(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        if (i > 1)
            luaL_addchar(&b, '\t');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    tn_state *st = engine_state_of(L);
    tn_run *r = current_run(L);
    if (!r && st->quiet_load)
        return 0; /* the file is loaded again as a run: it prints then */
    tn_event ev = {.type = TN_EV_PRINT, .run = r};
    ev.text = lua_tolstring(L, -1, &ev.len);
    events_emit(&ev);
    return 0;
}

static int encode_protected(lua_State *L)
{
    tn_json_encode(L, 1);
    return 1;
}

/* Pushes the JSON text of the value at idx: never raises for the value's
 * sake — what JSON cannot say (a function, NaN, a cycle) becomes a string. */
static void push_json_value(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    int t = lua_type(L, idx);
    buf_t b = BUF_INIT;
    if (t == LUA_TNUMBER) {
        if (lua_isinteger(L, idx)) {
            buf_fmt(&b, "%lld", (long long)lua_tointeger(L, idx));
        } else {
            double d = lua_tonumber(L, idx);
            if (isfinite(d))
                buf_fmt(&b, "%.17g", d);
            else
                buf_add_json(&b,
                             isnan(d) ? "nan"
                             : d > 0  ? "inf"
                                      : "-inf",
                             isnan(d) ? 3 : 3 + (d < 0));
        }
    } else if (t == LUA_TBOOLEAN) {
        buf_addstr(&b, lua_toboolean(L, idx) ? "true" : "false");
    } else if (t == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        buf_add_json(&b, s, n);
    } else if (t == LUA_TTABLE) {
        lua_pushcfunction(L, encode_protected);
        lua_pushvalue(L, idx);
        if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING) {
            size_t n;
            const char *s = lua_tolstring(L, -1, &n);
            buf_add(&b, s, n);
        }
        lua_pop(L, 1);
    } else if (tn_is_null(L, idx)) {
        buf_addstr(&b, "null");
    }
    if (!b.n && !b.failed) {
        /* A function, a table JSON cannot encode, ...: its tostring(). */
        size_t n;
        const char *s = luaL_tolstring(L, idx, &n);
        buf_add_json(&b, s, n);
        lua_pop(L, 1);
    }
    if (b.failed) {
        buf_free(&b);
        luaL_error(L, "log: out of memory");
    }
    lua_pushlstring(L, buf_str(&b), b.n);
    buf_free(&b);
}

/* Human log lines show a field as key=value: strings bare unless they need
 * quotes, everything else as its JSON text. */
static void add_text_field(buf_t *t, const char *k, size_t kn, lua_State *L, int vidx,
                           const char *json, size_t jn)
{
    if (t->n)
        buf_addc(t, ' ');
    buf_add(t, k, kn);
    buf_addc(t, '=');
    if (lua_type(L, vidx) == LUA_TSTRING) {
        size_t n;
        const char *v = lua_tolstring(L, vidx, &n);
        if (n && !strpbrk(v, " \t\n\"=") && memchr(v, 0, n) == NULL)
            buf_add(t, v, n);
        else
            buf_add(t, json, jn);
    } else {
        buf_add(t, json, jn);
    }
}

static int log_at(lua_State *L, const char *level)
{
    lua_settop(L, 2);
    luaL_tolstring(L, 1, NULL);
    lua_replace(L, 1); /* msg text, fields */
    tn_run *r = current_run(L);
    if (!r && engine_state_of(L)->quiet_load)
        return 0; /* the file is loaded again as a run: it logs then */
    if (!lua_istable(L, 2)) {
        events_log(r, level, lua_tostring(L, 1), NULL, NULL);
        return 0;
    }
    /* Stack: msg, fields, then per field: key text, value, value JSON. */
    int base = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        luaL_checkstack(L, 6, "log: too many fields");
        lua_pushvalue(L, -2);        /* key, value, key */
        luaL_tolstring(L, -1, NULL); /* key, value, key, ktext */
        lua_remove(L, -2);           /* key, value, ktext */
        lua_insert(L, -2);           /* key, ktext, value */
        push_json_value(L, -1);      /* key, ktext, value, vjson */
        lua_pushvalue(L, -4);        /* the key goes on top for lua_next */
        lua_remove(L, -5);           /* ktext, value, vjson, key */
    }
    int top = lua_gettop(L);
    buf_t j = BUF_INIT, t = BUF_INIT;
    buf_addc(&j, '{');
    for (int i = base + 1; i <= top; i += 3) {
        size_t kn, jn;
        const char *k = lua_tolstring(L, i, &kn);
        const char *js = lua_tolstring(L, i + 2, &jn);
        if (i > base + 1)
            buf_addc(&j, ',');
        buf_add_json(&j, k, kn);
        buf_addc(&j, ':');
        buf_add(&j, js, jn);
        add_text_field(&t, k, kn, L, i + 1, js, jn);
    }
    buf_addc(&j, '}');
    int failed = j.failed || t.failed;
    if (!failed)
        events_log(r, level, lua_tostring(L, 1), buf_str(&j), buf_str(&t));
    buf_free(&j);
    buf_free(&t);
    if (failed)
        return luaL_error(L, "log: out of memory");
    return 0;
}

static int l_debug(lua_State *L)
{
    return log_at(L, "debug");
}
static int l_info(lua_State *L)
{
    return log_at(L, "info");
}
static int l_warn(lua_State *L)
{
    return log_at(L, "warn");
}
static int l_error(lua_State *L)
{
    return log_at(L, "error");
}

int log_lua_open(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"debug", l_debug}, {"info", l_info}, {"warn", l_warn}, {"error", l_error}, {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}

/* __step_begin(title) -> id, start time */
int log_lua_step_begin(lua_State *L)
{
    const char *title = luaL_checkstring(L, 1);
    tn_task *t = tn_task_current(L);
    tn_run *r = tn_task_run(t);
    int id = ++r->next_step;
    tn_event ev = {.type = TN_EV_STEP_START, .run = r, .step = id, .title = title};
    ev.depth = (*task_step_depth(t))++;
    events_emit(&ev);
    lua_pushinteger(L, id);
    lua_pushnumber(L, (double)uv_hrtime() / 1e9);
    return 2;
}

/* __step_end(id, title, started, ok [, err]) */
int log_lua_step_end(lua_State *L)
{
    int id = (int)luaL_checkinteger(L, 1);
    const char *title = luaL_checkstring(L, 2);
    double started = luaL_checknumber(L, 3);
    int ok = lua_toboolean(L, 4);
    const char *err = NULL;
    if (!lua_isnoneornil(L, 5))
        err = luaL_tolstring(L, 5, NULL);
    tn_task *t = tn_task_current(L);
    tn_run *r = tn_task_run(t);
    int *depth = task_step_depth(t);
    if (*depth > 0)
        (*depth)--;
    if (!ok)
        r->steps_failed++;
    tn_event ev = {.type = TN_EV_STEP_END, .run = r, .step = id, .title = title, .ok = ok};
    ev.depth = *depth;
    ev.duration = (double)uv_hrtime() / 1e9 - started;
    ev.error = err;
    events_emit(&ev);
    return 0;
}
