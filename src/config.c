/* config.c — tocsin.lua: located, run in its own sandboxed state (env and
 * secret, no I/O), validated, and read into engine settings. */
#include "config.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static char **strv_add(char **v, const char *s)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i], s))
            return v;
    char **nv = realloc(v, (n + 2) * sizeof *nv);
    if (!nv)
        return v;
    nv[n] = strdup(s);
    nv[n + 1] = NULL;
    return nv;
}

static void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static char *join_dir(const char *dir, const char *p)
{
    if (!dir || p[0] == '/')
        return strdup(p);
    size_t n = strlen(dir) + strlen(p) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", dir, p);
    return s;
}

static tn_config *secret_config; /* the config whose `secrets` secret() reads */

static const char *config_secret(const char *name, size_t *len)
{
    tn_config *c = secret_config;
    if (!c || !c->st)
        return NULL;
    lua_State *L = c->st->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);
    lua_getfield(L, -1, "secrets");
    const char *v = NULL;
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, name);
        if (lua_type(L, -1) == LUA_TSTRING)
            v = lua_tolstring(L, -1, len);
        lua_pop(L, 1);
    }
    lua_pop(L, 2); /* the string stays alive in the config table */
    return v;
}

void config_add_lib_path(tn_config *c, const char *dir)
{
    c->lib_paths = strv_add(c->lib_paths, dir);
    c->settings.lib_paths = (const char **)c->lib_paths;
}

static int read_dirs(lua_State *L, const char *field, const char *base, char ***out, char *err,
                     size_t errlen)
{
    int t = lua_getfield(L, -1, field);
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    if (t == LUA_TSTRING) {
        char *p = join_dir(base, lua_tostring(L, -1));
        *out = strv_add(*out, p);
        free(p);
        lua_pop(L, 1);
        return 1;
    }
    if (t != LUA_TTABLE) {
        snprintf(err, errlen, "config: '%s' must be a folder or a list of folders", field);
        return -1;
    }
    int n = 0;
    for (lua_Integer i = 1;; i++, n++) {
        if (lua_rawgeti(L, -1, i) == LUA_TNIL) {
            lua_pop(L, 1);
            break;
        }
        if (lua_type(L, -1) != LUA_TSTRING) {
            snprintf(err, errlen, "config: %s[%lld] must be a string", field, (long long)i);
            return -1;
        }
        char *p = join_dir(base, lua_tostring(L, -1));
        *out = strv_add(*out, p);
        free(p);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return n;
}

static int read_limits(lua_State *L, tn_config *c, char *err, size_t errlen)
{
    char msg[256];
    lua_pushliteral(L, "limits");
    lua_rawget(L, -2);
    int rc = tn_read_limits(L, -1, &c->cpu_limit, &c->mem_limit, msg, sizeof msg);
    lua_pop(L, 1);
    if (rc < 0)
        snprintf(err, errlen, "config: %s", msg);
    return rc;
}

int config_load(tn_config *c, const char *path, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->cpu_limit = 30;
    c->mem_limit = (uint64_t)256 << 20;
    c->ref = LUA_NOREF;
    if (!path)
        path = getenv("TOCSIN_CONFIG");
    int explicit_path = path != NULL;
    if (!path && access("tocsin.lua", R_OK) == 0)
        path = "tocsin.lua";
    char *base = NULL;
    if (path) {
        if (access(path, R_OK) != 0) {
            snprintf(err, errlen, "config file %s cannot be read", path);
            return -1;
        }
        c->path = strdup(path);
        const char *slash = strrchr(path, '/');
        base = slash ? strndup(path, (size_t)(slash - path)) : NULL;
        static tn_settings cfg_settings = {.cpu_limit = 5, .mem_limit = 64u << 20};
        c->st = tn_state_new(path, &cfg_settings, err, errlen);
        if (!c->st)
            goto fail;
        lua_State *L = c->st->L;
        lua_rawgeti(L, LUA_REGISTRYINDEX, c->st->chunk_ref);
        c->st->load_deadline = uv_hrtime() + (uint64_t)(cfg_settings.cpu_limit * 1e9);
        int rc = lua_pcall(L, 0, 1, 0);
        c->st->load_deadline = 0;
        if (rc != LUA_OK) {
            snprintf(err, errlen, "config %s: %s", path, luaL_tolstring(L, -1, NULL));
            goto fail;
        }
        if (!lua_istable(L, -1)) {
            snprintf(err, errlen, "config %s must return a table (got %s)", path,
                     luaL_typename(L, -1));
            goto fail;
        }
        if (read_dirs(L, "runbooks", base, &c->runbook_dirs, err, errlen) < 0 ||
            read_dirs(L, "lib_paths", base, &c->lib_paths, err, errlen) < 0 ||
            read_limits(L, c, err, errlen) < 0)
            goto fail;
        lua_getfield(L, -1, "params");
        if (!lua_isnil(L, -1) && !lua_istable(L, -1)) {
            snprintf(err, errlen, "config %s: 'params' must be a table", path);
            goto fail;
        }
        lua_pop(L, 1);
        c->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    (void)explicit_path;
    if (!c->runbook_dirs) {
        char *p = join_dir(base, "runbooks");
        c->runbook_dirs = strv_add(c->runbook_dirs, p);
        free(p);
        p = join_dir(base, "scripts/runbooks");
        c->runbook_dirs = strv_add(c->runbook_dirs, p);
        free(p);
    }
    char *lib = join_dir(base, "scripts/lib");
    c->lib_paths = strv_add(c->lib_paths, lib);
    free(lib);
    free(base);
    c->settings.cpu_limit = c->cpu_limit;
    c->settings.mem_limit = c->mem_limit;
    c->settings.lib_paths = (const char **)c->lib_paths;
    c->settings.secret_lookup = config_secret;
    secret_config = c;
    return 0;
fail:
    free(base);
    config_free(c);
    return -1;
}

void config_free(tn_config *c)
{
    if (secret_config == c)
        secret_config = NULL;
    tn_state_free(c->st);
    c->st = NULL;
    free(c->path);
    c->path = NULL;
    strv_free(c->runbook_dirs);
    strv_free(c->lib_paths);
    c->runbook_dirs = c->lib_paths = NULL;
}

void config_copy_value(lua_State *from, int idx, lua_State *to, int depth)
{
    idx = lua_absindex(from, idx);
    luaL_checkstack(to, 3, "copying a value");
    switch (lua_type(from, idx)) {
    case LUA_TBOOLEAN:
        lua_pushboolean(to, lua_toboolean(from, idx));
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(from, idx))
            lua_pushinteger(to, lua_tointeger(from, idx));
        else
            lua_pushnumber(to, lua_tonumber(from, idx));
        break;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(from, idx, &n);
        lua_pushlstring(to, s, n);
        break;
    }
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(from, idx) == NULL) {
            lua_pushlightuserdata(to, NULL);
            break;
        }
        lua_pushnil(to);
        break;
    case LUA_TTABLE:
        if (depth > 32) {
            lua_pushnil(to);
            break;
        }
        lua_newtable(to);
        lua_pushnil(from);
        while (lua_next(from, idx)) {
            config_copy_value(from, -2, to, depth + 1);
            config_copy_value(from, -1, to, depth + 1);
            if (lua_isnil(to, -2))
                lua_pop(to, 2);
            else
                lua_rawset(to, -3);
            lua_pop(from, 1);
        }
        break;
    default:
        lua_pushnil(to);
        break;
    }
}

void config_push_params(tn_config *c, lua_State *L)
{
    if (!c->st || c->ref == LUA_NOREF) {
        lua_newtable(L);
        return;
    }
    lua_State *F = c->st->L;
    lua_rawgeti(F, LUA_REGISTRYINDEX, c->ref);
    lua_getfield(F, -1, "params");
    if (lua_istable(F, -1))
        config_copy_value(F, -1, L, 0);
    else
        lua_newtable(L);
    lua_pop(F, 2);
}
