/* engine.c — runbook states: a sandboxed Lua state per runbook file, built
 * from an allow-list, with a counting allocator (memory cap) and a CPU budget
 * per run (engine_cpu.c); loading a file without letting it perform I/O. */
#include "engine.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"
#include "log_lua.h"
#include "lpattern.h"
#include "lstdlib.h"
#include "modules.h"
#include "redact.h"
#include "run.h"
#include "util.h"

int tn_util_errmt(lua_State *L);
void tn_push_cjson(lua_State *L);

static const char loaded_key = 'l';

tn_state *engine_state_of(lua_State *L)
{
    return *(tn_state **)lua_getextraspace(L);
}

/* ---- memory ------------------------------------------------------------ */

static void *l_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    tn_state *st = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        st->mem_used -= old;
        free(ptr);
        return NULL;
    }
    if (nsize > old && st->mem_used + (nsize - old) > st->mem_limit) {
        st->mem_exceeded = 1;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p)
        st->mem_used = st->mem_used - old + nsize;
    return p;
}

/* ---- sandbox functions ------------------------------------------------- */

static int l_env(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const char *v = getenv(name);
    if (v)
        lua_pushstring(L, v);
    else
        lua_settop(L, 2);
    return 1;
}

/* secret(name): the value of an environment variable or configured secret,
 * marked for redaction.  secret(name, value): marks a value the runbook
 * made itself (a rotated password, a generated key) and returns it. */
static int l_secret(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    tn_state *st = engine_state_of(L);
    if (!lua_isnoneornil(L, 2)) {
        size_t vn;
        const char *val = luaL_checklstring(L, 2, &vn);
        if (vn && redact_add(val, vn) < 0)
            return luaL_error(L, "secret('%s', value): out of memory registering it for redaction",
                              name);
        lua_settop(L, 2);
        return 1;
    }
    const char *v = getenv(name);
    size_t n = v ? strlen(v) : 0;
    if (!v && st->settings && st->settings->secret_lookup)
        v = st->settings->secret_lookup(name, &n);
    if (!v)
        return 0;
    if (redact_add(v, n) < 0)
        return luaL_error(L, "secret('%s'): out of memory registering it for redaction", name);
    lua_pushlstring(L, v, n);
    return 1;
}

/* load(chunk [, name [, mode [, env]]]): text only; the sandbox by default. */
static int l_load(lua_State *L)
{
    tn_state *st = engine_state_of(L);
    int has_env = !lua_isnone(L, 4);
    size_t len;
    const char *name = luaL_optstring(L, 2, "=(load)");
    if (lua_type(L, 1) != LUA_TSTRING)
        return luaL_argerror(L, 1, "load takes a string of Lua source");
    const char *s = lua_tolstring(L, 1, &len);
    if (lstdlib_load(L, s, len, name, "t") != LUA_OK) { /* bounded: compiling runs in C */
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    if (has_env)
        lua_pushvalue(L, 4);
    else
        lua_rawgeti(L, LUA_REGISTRYINDEX, st->env_ref);
    if (!lua_setupvalue(L, -2, 1))
        lua_pop(L, 1);
    return 1;
}

static int l_collectgarbage(lua_State *L)
{
    static const char *const opts[] = {"collect", "count", "step", NULL};
    int o = luaL_checkoption(L, 1, "collect", opts);
    switch (o) {
    case 1: {
        int k = lua_gc(L, LUA_GCCOUNT, 0), b = lua_gc(L, LUA_GCCOUNTB, 0);
        lua_pushnumber(L, k + b / 1024.0);
        return 1;
    }
    case 2:
        lua_pushboolean(L, lua_gc(L, LUA_GCSTEP, 0));
        return 1;
    default:
        lua_gc(L, LUA_GCCOLLECT);
        lua_pushinteger(L, 0);
        return 1;
    }
}

static int valid_module_name(const char *s)
{
    if (!*s || *s == '.')
        return 0;
    for (const char *p = s; *p; p++) {
        if (*p == '.' && (p[1] == '.' || p[1] == 0))
            return 0;
        if (!(*p == '.' || *p == '_' || *p == '-' || (*p >= 'a' && *p <= 'z') ||
              (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return 0;
    }
    return 1;
}

/* require(name): Lua source from scripts/lib and the configured paths only,
 * run in the runbook's sandbox, cached per state. */
static int l_require(lua_State *L)
{
    tn_state *st = engine_state_of(L);
    const char *name = luaL_checkstring(L, 1);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &loaded_key);
    if (lua_getfield(L, -1, name) != LUA_TNIL)
        return 1;
    lua_pop(L, 1);
    if (!valid_module_name(name))
        return luaL_error(L, "require: invalid module name '%s'", name);
    char rel[512];
    snprintf(rel, sizeof rel, "%s", name);
    for (char *p = rel; *p; p++)
        if (*p == '.')
            *p = '/';
    luaL_Buffer tried;
    luaL_buffinit(L, &tried);
    const char *const *paths = st->settings ? st->settings->lib_paths : NULL;
    for (int i = 0; paths && paths[i]; i++) {
        char file[1024];
        snprintf(file, sizeof file, "%s/%s.lua", paths[i], rel);
        FILE *f = fopen(file, "r");
        if (!f) {
            luaL_addstring(&tried, "\n\tno file '");
            luaL_addstring(&tried, file);
            luaL_addstring(&tried, "'");
            continue;
        }
        fclose(f);
        luaL_pushresult(&tried);
        lua_pop(L, 1);
        lua_pushfstring(L, "@%s", file);
        if (luaL_loadfilex(L, file, "t") != LUA_OK)
            return luaL_error(L, "require '%s': %s", name, lua_tostring(L, -1));
        lua_rawgeti(L, LUA_REGISTRYINDEX, st->env_ref);
        lua_setupvalue(L, -2, 1);
        lua_pushstring(L, name);
        lua_pushstring(L, file);
        lua_call(L, 2, 1);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_pushboolean(L, 1);
        }
        lua_pushvalue(L, -1);
        lua_setfield(L, -4, name);
        return 1;
    }
    luaL_pushresult(&tried);
    return luaL_error(L, "module '%s' not found:%s", name, lua_tostring(L, -1));
}

/* __set_limits(limits): a runbook's own `limits = {cpu=, memory=}`. */
static int l_set_limits(lua_State *L)
{
    tn_state *st = engine_state_of(L);
    double cpu = st->cpu_limit;
    uint64_t mem = st->mem_limit;
    char msg[256];
    if (tn_read_limits(L, 1, &cpu, &mem, msg, sizeof msg) < 0)
        return luaL_error(L, "%s", msg);
    st->cpu_limit = cpu;
    st->mem_limit = mem;
    if (st->current) {
        tn_task_run(st->current)->cpu_limit_ns = (uint64_t)(cpu * 1e9);
        engine_cpu_limit_changed(st);
    }
    return 0;
}

/* setmetatable(t, mt) as in lbaselib, without __gc: finalizers run with
 * debug hooks off, so nothing could bound one that spins. */
static int l_setmetatable(lua_State *L)
{
    int t = lua_type(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
    if (t == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "setmetatable: __gc metamethods are not available in runbooks "
                                 "(use a to-be-closed variable or step cleanup)");
        lua_pop(L, 1);
    }
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
        return luaL_error(L, "cannot change a protected metatable");
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

/* __run_id(): the running task's run id (nil outside a run). */
static int l_run_id(lua_State *L)
{
    tn_state *st = engine_state_of(L);
    if (!st->current)
        return 0;
    lua_pushstring(L, tn_task_run(st->current)->id);
    return 1;
}

/* ---- the environment --------------------------------------------------- */

static void copy_fields(lua_State *L, const char *lib, const char *const *names)
{
    /* Copies lib.<names> from the real globals into the table on top. */
    lua_getglobal(L, lib);
    lua_newtable(L);
    for (int i = 0; names[i]; i++) {
        lua_getfield(L, -2, names[i]);
        lua_setfield(L, -2, names[i]);
    }
    lua_setfield(L, -3, lib);
    lua_pop(L, 1);
}

static void copy_all_but(lua_State *L, const char *lib, const char *except)
{
    lua_getglobal(L, lib);
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, -3)) {
        if (except && lua_type(L, -2) == LUA_TSTRING && !strcmp(lua_tostring(L, -2), except)) {
            lua_pop(L, 1);
            continue;
        }
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_settable(L, -4);
    }
    lua_setfield(L, -3, lib);
    lua_pop(L, 1);
}

/* Builds the sandbox environment (left on top of the stack). */
void engine_register_globals(lua_State *L, int unused)
{
    (void)unused;
    static const char *const base[] = {"assert", "error",        "ipairs",   "next",     "pairs",
                                       "pcall",  "xpcall",       "select",   "tonumber", "tostring",
                                       "type",   "getmetatable", "rawequal", "rawget",   "rawset",
                                       "rawlen", "_VERSION",     NULL};
    static const char *const os_safe[] = {"time", "date", "clock", "getenv", "difftime", NULL};
    lua_newtable(L);
    for (int i = 0; base[i]; i++) {
        lua_getglobal(L, base[i]);
        lua_setfield(L, -2, base[i]);
    }
    copy_all_but(L, "string", NULL);
    copy_all_but(L, "table", NULL);
    copy_all_but(L, "math", NULL);
    copy_all_but(L, "utf8", NULL);
    copy_all_but(L, "coroutine", NULL);
    copy_fields(L, "os", os_safe);
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "_G");

    static const luaL_Reg fns[] = {
        {"load", l_load}, {"require", l_require}, {"collectgarbage", l_collectgarbage},
        {"env", l_env},   {"secret", l_secret},   {"setmetatable", l_setmetatable},
        {NULL, NULL}};
    luaL_setfuncs(L, fns, 0);

    /* json: encode/decode/null (json.c). */
    tn_push_cjson(L);
    lua_newtable(L);
    lua_getfield(L, -2, "encode");
    lua_setfield(L, -2, "encode");
    lua_getfield(L, -2, "decode");
    lua_setfield(L, -2, "decode");
    lua_getfield(L, -2, "null");
    lua_setfield(L, -2, "null");
    lua_setfield(L, -3, "json");
    lua_pop(L, 1);

    modules_open_all(L);
}

/* Runs the prelude with the environment at the top of the stack. */
static int run_prelude(lua_State *L)
{
    int env = lua_gettop(L);
    if (embedded_lua_load(L, "prelude") != LUA_OK)
        return lua_error(L);
    lua_pushvalue(L, env);
    lua_newtable(L); /* C internals */
    lua_pushlightuserdata(L, &task_suspend_token);
    lua_setfield(L, -2, "suspend_token");
    lua_getfield(L, LUA_REGISTRYINDEX, TASK_THREADS);
    lua_setfield(L, -2, "task_threads");
    lua_pushcfunction(L, tn_err_lua);
    lua_setfield(L, -2, "err");
    lua_pushcfunction(L, l_set_limits);
    lua_setfield(L, -2, "set_limits");
    lua_pushcfunction(L, l_run_id);
    lua_setfield(L, -2, "run_id");
    lua_pushcfunction(L, log_lua_step_begin);
    lua_setfield(L, -2, "step_begin");
    lua_pushcfunction(L, log_lua_step_end);
    lua_setfield(L, -2, "step_end");
    luaL_getmetatable(L, "tocsin.task");
    lua_getfield(L, -1, "__index");
    lua_setfield(L, -3, "task_methods");
    lua_pop(L, 1);
    luaL_getmetatable(L, "tocsin.incident");
    lua_getfield(L, -1, "__index");
    lua_setfield(L, -3, "incident_methods");
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "tocsin.internals");
    lua_call(L, 2, 0);
    return 0;
}

static int state_setup(lua_State *L)
{
    tn_state *st = lua_touserdata(L, 1);
    luaL_openlibs(L);
    /* The string metatable is shared by every string: hide it. */
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
    /* Coroutines a task resumes run at full speed with it (engine_cpu.c);
     * the prelude wraps these. */
    lua_getglobal(L, "coroutine");
    engine_cpu_register_coroutine(L);
    lua_pop(L, 1);
    /* Its __index is the real string table: ("").dump must not be there. */
    lua_getglobal(L, "string");
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    /* Pattern matching runs in C, out of the count hook's reach: these
     * versions count their steps against the CPU budget. */
    lpattern_register(L);
    lua_pop(L, 1);
    /* So do the other functions that loop in C (string.rep, table.move...). */
    lstdlib_register(L);
    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &loaded_key);
    engine_register_globals(L, 0);
    lua_pushvalue(L, -1);
    st->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    run_prelude(L);
    return 0;
}

static const char *base_name(const char *path, char *out, size_t n)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(out, n, "%s", b);
    char *dot = strrchr(out, '.');
    if (dot && !strcmp(dot, ".lua"))
        *dot = 0;
    return out;
}

tn_state *tn_state_new(const char *path, const tn_settings *s, char *err, size_t errlen)
{
    tn_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->settings = s;
    st->mem_limit = s && s->mem_limit ? s->mem_limit : (uint64_t)256 << 20;
    st->cpu_limit = s && s->cpu_limit > 0 ? s->cpu_limit : 30;
    st->path = strdup(path);
    char name[256];
    st->name = strdup(base_name(path, name, sizeof name));
    st->env_ref = st->runbook_ref = st->chunk_ref = LUA_NOREF;
    lua_State *L = lua_newstate(l_alloc, st);
    if (!L) {
        snprintf(err, errlen, "cannot create a Lua state");
        goto fail;
    }
    st->L = L;
    *(tn_state **)lua_getextraspace(L) = st;
    engine_cpu_hook(L); /* threads made from it inherit the hook */
    lua_pushcfunction(L, state_setup);
    lua_pushlightuserdata(L, st);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        snprintf(err, errlen, "engine set-up failed: %s", lua_tostring(L, -1));
        goto fail;
    }
    /* "embedded:NAME" is one of the engine's own scripts (src/NAME.lua). */
    int rc = !strncmp(path, "embedded:", 9) ? embedded_lua_load(L, path + 9)
                                            : luaL_loadfilex(L, path, "t");
    if (rc != LUA_OK) {
        const char *m = lua_tostring(L, -1);
        /* luaL_loadfile says "cannot open <path>"; syntax errors are "path:line: msg". */
        snprintf(err, errlen, "%s", m ? m : "cannot load");
        goto fail;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, st->env_ref);
    lua_setupvalue(L, -2, 1);
    st->chunk_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return st;
fail:
    tn_state_free(st);
    return NULL;
}

static int tostring_fn(lua_State *L)
{
    luaL_tolstring(L, 1, NULL);
    return 1;
}

/* tostring() of the value at the top, replacing it: protected, as a runbook's
 * __tostring may raise. */
static const char *safe_tostring(lua_State *L)
{
    lua_pushcfunction(L, tostring_fn);
    lua_insert(L, -2);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || lua_type(L, -1) != LUA_TSTRING) {
        lua_pop(L, 1);
        lua_pushliteral(L, "error (its message could not be converted to a string)");
    }
    return lua_tostring(L, -1);
}

/* t[k] without metamethods: the table is the runbook's, read by the host
 * outside any protected call. */
static int rawfield(lua_State *L, int idx, const char *k)
{
    idx = lua_absindex(L, idx);
    lua_pushstring(L, k);
    return lua_rawget(L, idx);
}

int tn_state_load(tn_state *st, char *err, size_t errlen)
{
    lua_State *L = st->L;
    int top = lua_gettop(L);
    st->load_deadline = uv_hrtime() + (uint64_t)(st->cpu_limit * 1e9);
    st->loading = 1;
    st->io_at_load = 0;
    lua_rawgeti(L, LUA_REGISTRYINDEX, st->chunk_ref);
    engine_cpu_session cpu;
    engine_cpu_enter(st, L, &cpu);
    int rc = lua_pcall(L, 0, 1, 0);
    engine_cpu_leave(&cpu);
    st->loading = 0;
    st->load_deadline = 0;
    engine_cpu_hook(L); /* not the every-instruction hook of a spent budget */
    if (st->io_at_load && rc == LUA_OK && lua_istable(L, -1)) {
        /* It returned a runbook table after swallowing the error of a
         * primitive called at its top level: a runbook must not do that. */
        snprintf(err, errlen,
                 "%s: calls an I/O primitive at its top level (loading must not perform "
                 "I/O; call it from run(ctx))",
                 st->path);
        lua_settop(L, top);
        return -1;
    }
    if (rc != LUA_OK) {
        if (st->io_at_load) {
            /* An ad-hoc script: its top level is the task. */
            lua_settop(L, top);
            st->mem_exceeded = 0;
            return 1;
        }
        const char *m = safe_tostring(L);
        snprintf(err, errlen, "%s", m ? m : "error while loading");
        lua_settop(L, top);
        st->mem_exceeded = 0;
        return TN_LOAD_RAISED;
    }
    if (!lua_istable(L, -1)) {
        lua_settop(L, top);
        return 1;
    }
    rawfield(L, -1, "run");
    int has_run = lua_isfunction(L, -1);
    lua_pop(L, 1);
    if (!has_run) {
        snprintf(err, errlen,
                 "%s: the runbook table has no run function (run = function(ctx) ... end)",
                 st->path);
        lua_settop(L, top);
        return -1;
    }
    lua_pushcfunction(L, l_set_limits);
    rawfield(L, -2, "limits");
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        snprintf(err, errlen, "%s: %s", st->path, safe_tostring(L));
        lua_settop(L, top);
        return -1;
    }
    rawfield(L, -1, "name");
    if (lua_type(L, -1) == LUA_TSTRING) {
        free(st->name);
        st->name = strdup(lua_tostring(L, -1));
    }
    lua_pop(L, 1);
    st->runbook_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_settop(L, top);
    return 0;
}

const char *tn_state_name(const tn_state *st)
{
    return st->name;
}

const char *engine_runbook_string(tn_state *st, const char *field)
{
    if (st->runbook_ref == LUA_NOREF)
        return NULL;
    lua_State *L = st->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, st->runbook_ref);
    rawfield(L, -1, field);
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    lua_pop(L, 2); /* the string stays alive: the runbook table holds it */
    return s;
}

void tn_state_free(tn_state *st)
{
    if (!st)
        return;
    if (st->L)
        lua_close(st->L);
    free(st->path);
    free(st->name);
    free(st);
}
