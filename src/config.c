/* config.c — tocsin.lua: located, run in its own sandboxed state (env and
 * secret, no I/O), validated, and read into engine settings. */
#include "config.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_multi.h"
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

/* http = { max_per_host = N }: requests in flight to one host; more wait in
 * a queue (0: no cap).  Applied by config_load for every later request. */
static int read_http(lua_State *L, tn_config *c, char *err, size_t errlen)
{
    c->http_max_per_host = HTTP_MULTI_HOST_MAX_DEFAULT;
    lua_pushliteral(L, "http");
    int t = lua_rawget(L, -2);
    if (t == LUA_TTABLE) {
        lua_pushliteral(L, "max_per_host");
        t = lua_rawget(L, -2);
        int isint = 0;
        lua_Integer n = lua_tointegerx(L, -1, &isint);
        if (t != LUA_TNIL && (t != LUA_TNUMBER || !isint || n < 0 || n > 1000000)) {
            snprintf(err, errlen,
                     "config: http.max_per_host must be a whole number >= 0 (0: no cap)");
            lua_pop(L, 2);
            return -1;
        }
        if (t != LUA_TNIL)
            c->http_max_per_host = (int)n;
        lua_pop(L, 1);
    } else if (t != LUA_TNIL) {
        snprintf(err, errlen, "config: 'http' must be a table such as { max_per_host = 64 }");
        lua_pop(L, 1);
        return -1;
    }
    lua_pop(L, 1);
    return 0;
}

/* A duration field of the severity table: a number of seconds, a string
 * such as "15m", or false (none).  1 when present, 0 absent, -1 bad. */
static int sla_value(lua_State *L, const char *sev, const char *field, double *out, char *err,
                     size_t errlen)
{
    lua_pushstring(L, field);
    int t = lua_rawget(L, -2);
    double v = -1;
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    if (t == LUA_TBOOLEAN && !lua_toboolean(L, -1))
        v = 0;
    else if (t == LUA_TNUMBER)
        v = lua_tonumber(L, -1);
    else if (t == LUA_TSTRING)
        v = tn_parse_duration(lua_tostring(L, -1));
    lua_pop(L, 1);
    if (!(v >= 0) || v > 1e9) {
        snprintf(err, errlen,
                 "config: severity.%s.%s must be a duration such as \"15m\", a number of seconds "
                 "or false",
                 sev, field);
        return -1;
    }
    *out = v;
    return 1;
}

/* severity = { P0 = { respond = "15m", escalate = "30m", commander = "60m",
 * update = "30m" }, ... }: the SLA, over the playbook's table.  A severity
 * that sets only respond gets escalate at 2x and commander at 4x (the
 * playbook's rule); update is the status update interval. */
static int read_severity(lua_State *L, tn_config *c, char *err, size_t errlen)
{
    c->policy = store_policy_default;
    lua_pushliteral(L, "severity");
    int t = lua_rawget(L, -2);
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    if (t != LUA_TTABLE) {
        snprintf(err, errlen,
                 "config: 'severity' must be a table such as { P0 = { respond = "
                 "\"15m\" } }");
        lua_pop(L, 1);
        return -1;
    }
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        const char *sev = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        int i = sev && strlen(sev) == 2 && sev[0] == 'P' && sev[1] >= '0' && sev[1] <= '3'
                    ? sev[1] - '0'
                    : -1;
        if (i < 0 || !lua_istable(L, -1)) {
            snprintf(err, errlen,
                     i < 0 ? "config: severity has a key '%s': expected P0, P1, P2 or P3"
                           : "config: severity.%s must be a table { respond =, escalate =, "
                             "commander =, update = }",
                     sev ? sev : luaL_typename(L, -2));
            lua_pop(L, 3);
            return -1;
        }
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
            lua_pop(L, 1);
            if (strcmp(k, "respond") && strcmp(k, "escalate") && strcmp(k, "commander") &&
                strcmp(k, "update")) {
                snprintf(err, errlen,
                         "config: severity.%s has a field '%s' (respond, escalate, commander, "
                         "update)",
                         sev, k);
                lua_pop(L, 4);
                return -1;
            }
        }
        double respond = 0;
        int r = sla_value(L, sev, "respond", &respond, err, errlen);
        if (r == 1) {
            c->policy.respond[i] = respond;
            c->policy.escalate[i] = 2 * respond;
            c->policy.commander[i] = i == 3 ? 0 : 4 * respond;
        }
        if (r < 0 || sla_value(L, sev, "escalate", &c->policy.escalate[i], err, errlen) < 0 ||
            sla_value(L, sev, "commander", &c->policy.commander[i], err, errlen) < 0 ||
            sla_value(L, sev, "update", &c->policy.update[i], err, errlen) < 0) {
            lua_pop(L, 3);
            return -1;
        }
        /* A status update every millisecond would flood the stakeholders. */
        if (c->policy.update[i] > 0 && c->policy.update[i] < 1) {
            snprintf(err, errlen, "config: severity.%s.update must be at least 1 s (or false)",
                     sev);
            lua_pop(L, 3);
            return -1;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return 0;
}

/* Bounds on the config's values.  The config is snapshotted into plain
 * tables, and params are copied again into every runbook state: a table
 * reached twice is copied twice, so a few lines of shared subtables expand
 * exponentially.  The bounds count copies (values, string bytes), and a
 * table containing itself is refused by depth. */
#define CONFIG_MAX_VALUES 100000
#define CONFIG_MAX_BYTES ((size_t)16 << 20)
#define CONFIG_MAX_DEPTH 32

typedef struct config_budget {
    size_t values, bytes;
} config_budget;

/* Pushes a plain copy of the value at idx (same state): tables are copied
 * with raw access and without their metatables, strings counted by size;
 * functions and userdata are kept as they are (they cannot be copied to a
 * runbook state anyway).  Raises when over a bound: call it protected. */
static void config_snapshot(lua_State *L, int idx, int depth, config_budget *b)
{
    idx = lua_absindex(L, idx);
    luaL_checkstack(L, 6, "config values nested too deep");
    if (++b->values > CONFIG_MAX_VALUES)
        luaL_error(L, "more than %d values (a table used in several places counts once per use)",
                   CONFIG_MAX_VALUES);
    switch (lua_type(L, idx)) {
    case LUA_TSTRING:
        b->bytes += lua_rawlen(L, idx);
        if (b->bytes > CONFIG_MAX_BYTES)
            luaL_error(L,
                       "more than %d MiB of strings (a string used in several places counts "
                       "once per use)",
                       (int)(CONFIG_MAX_BYTES >> 20));
        lua_pushvalue(L, idx);
        break;
    case LUA_TTABLE:
        if (depth >= CONFIG_MAX_DEPTH)
            luaL_error(L, "tables nested more than %d deep (a table containing itself?)",
                       CONFIG_MAX_DEPTH);
        lua_newtable(L);
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            config_snapshot(L, -2, depth + 1, b); /* the key */
            config_snapshot(L, -2, depth + 1, b); /* the value */
            lua_rawset(L, -5);
            lua_pop(L, 1);
        }
        break;
    default:
        lua_pushvalue(L, idx);
        break;
    }
}

/* What the protected reading of a config's table needs and reports. */
typedef struct config_reader {
    tn_config *c;
    const char *base;
    char *err;
    size_t errlen;
    int failed; /* err holds a complete message */
} config_reader;

/* Protected: (reader, the table the config returned) -> its plain snapshot.
 * The known fields are read with ordinary access (a config may supply them
 * through __index), which may run the config's code: any error it raises is
 * this call's error. */
static int config_read(lua_State *L)
{
    config_reader *rd = lua_touserdata(L, 1);
    tn_config *c = rd->c;
    config_budget b = {0, 0};
    const char *path = c->path;
    if (!lua_istable(L, 2)) {
        snprintf(rd->err, rd->errlen, "config %s must return a table (got %s)", path,
                 luaL_typename(L, 2));
        rd->failed = 1;
        return 0;
    }
    lua_settop(L, 2);
    lua_newtable(L); /* 3: the snapshot */
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        config_snapshot(L, -2, 1, &b);
        config_snapshot(L, -2, 1, &b);
        lua_rawset(L, 3);
        lua_pop(L, 1);
    }
    static const char *const known[] = {"runbooks", "lib_paths", "templates", "limits",
                                        "params",   "secrets",   "state",     "channels",
                                        "contacts", "severity",  "http",      NULL};
    for (int i = 0; known[i]; i++) {
        lua_pushstring(L, known[i]);
        if (lua_rawget(L, 3) == LUA_TNIL) {
            if (lua_getfield(L, 2, known[i]) != LUA_TNIL) {
                config_snapshot(L, -1, 1, &b);
                lua_setfield(L, 3, known[i]);
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_settop(L, 3);
    lua_pushliteral(L, "state");
    int st_type = lua_rawget(L, 3);
    if (st_type == LUA_TSTRING) {
        c->state = strdup(lua_tostring(L, -1));
    } else if (st_type != LUA_TNIL) {
        snprintf(rd->err, rd->errlen,
                 "config %s: 'state' must be a string such as \"sqlite:.tocsin/state.db\"", path);
        rd->failed = 1;
        return 0;
    }
    lua_pop(L, 1);
    if (read_dirs(L, "runbooks", rd->base, &c->runbook_dirs, rd->err, rd->errlen) < 0 ||
        read_dirs(L, "lib_paths", rd->base, &c->lib_paths, rd->err, rd->errlen) < 0 ||
        read_dirs(L, "templates", rd->base, &c->templates, rd->err, rd->errlen) < 0 ||
        read_limits(L, c, rd->err, rd->errlen) < 0 || read_http(L, c, rd->err, rd->errlen) < 0 ||
        read_severity(L, c, rd->err, rd->errlen) < 0) {
        rd->failed = 1;
        return 0;
    }
    static const char *const tables[] = {"params", "secrets", "channels", "contacts", NULL};
    for (int i = 0; tables[i]; i++) {
        lua_pushstring(L, tables[i]);
        int t = lua_rawget(L, 3);
        lua_pop(L, 1);
        if (t != LUA_TNIL && t != LUA_TTABLE) {
            snprintf(rd->err, rd->errlen, "config %s: '%s' must be a table", path, tables[i]);
            rd->failed = 1;
            return 0;
        }
    }
    lua_settop(L, 3);
    c->ref = luaL_ref(L, LUA_REGISTRYINDEX); /* may raise (memory): done here, protected */
    return 0;
}

static int config_tostring(lua_State *L)
{
    luaL_tolstring(L, 1, NULL);
    return 1;
}

/* The error on top of L as text, in err; the conversion may run the config's
 * __tostring, so it is protected too. */
static void config_error_text(lua_State *L, const char *path, char *err, size_t errlen)
{
    lua_pushcfunction(L, config_tostring);
    lua_pushvalue(L, -2);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING)
        snprintf(err, errlen, "config %s: %s", path, lua_tostring(L, -1));
    else
        snprintf(err, errlen, "config %s: an error whose message cannot be shown (a %s)", path,
                 luaL_typename(L, -2));
    lua_pop(L, 1);
}

int config_load(tn_config *c, const char *path, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->cpu_limit = 30;
    c->mem_limit = (uint64_t)256 << 20;
    c->http_max_per_host = HTTP_MULTI_HOST_MAX_DEFAULT;
    c->policy = store_policy_default;
    c->ref = LUA_NOREF;
    if (!path)
        path = getenv("TOCSIN_CONFIG");
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
        if (!c->path || (slash && !base)) {
            snprintf(err, errlen, "config %s: out of memory", path);
            goto fail;
        }
        static tn_settings cfg_settings = {.cpu_limit = 5, .mem_limit = 64u << 20};
        c->st = tn_state_new(path, &cfg_settings, err, errlen);
        if (!c->st)
            goto fail;
        lua_State *L = c->st->L;
        config_reader rd = {c, base, err, errlen, 0};
        /* Everything that touches the config's values runs protected and
         * under the load deadline: its chunk, then the reading of what it
         * returned (__index), then the error's __tostring. */
        c->st->load_deadline = uv_hrtime() + (uint64_t)(cfg_settings.cpu_limit * 1e9);
        lua_pushcfunction(L, config_read);
        lua_pushlightuserdata(L, &rd);
        lua_rawgeti(L, LUA_REGISTRYINDEX, c->st->chunk_ref);
        int rc = lua_pcall(L, 0, 1, 0);
        if (rc == LUA_OK)
            rc = lua_pcall(L, 2, 0, 0);
        if (rc != LUA_OK)
            config_error_text(L, path, err, errlen);
        c->st->load_deadline = 0;
        if (rc != LUA_OK || rd.failed)
            goto fail;
    }
    if (!c->runbook_dirs) {
        char *p = join_dir(base, "runbooks");
        c->runbook_dirs = strv_add(c->runbook_dirs, p);
        free(p);
        p = join_dir(base, "scripts/runbooks");
        c->runbook_dirs = strv_add(c->runbook_dirs, p);
        free(p);
    }
    if (!c->templates) {
        char *p = join_dir(base, "scripts/templates");
        c->templates = strv_add(c->templates, p);
        free(p);
    }
    char *lib = join_dir(base, "scripts/lib");
    c->lib_paths = strv_add(c->lib_paths, lib);
    free(lib);
    if (!c->state) {
        char *db = join_dir(base, ".tocsin/state.db");
        size_t n = db ? strlen(db) + 8 : 0;
        c->state = db ? malloc(n) : NULL;
        if (c->state)
            snprintf(c->state, n, "sqlite:%s", db);
        free(db);
    } else if (!strncmp(c->state, "sqlite:", 7) && c->state[7] != '/' && base) {
        /* A relative path is relative to the config file, as runbooks are. */
        char *db = join_dir(base, c->state + 7);
        size_t n = db ? strlen(db) + 8 : 0;
        char *s2 = db ? malloc(n) : NULL;
        if (s2) {
            snprintf(s2, n, "sqlite:%s", db);
            free(c->state);
            c->state = s2;
        }
        free(db);
    }
    free(base);
    http_multi_set_host_max(c->http_max_per_host);
    c->settings.cpu_limit = c->cpu_limit;
    c->settings.mem_limit = c->mem_limit;
    c->settings.lib_paths = (const char **)c->lib_paths;
    c->settings.template_paths = (const char **)c->templates;
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
    free(c->state);
    c->state = NULL;
    if (secret_config == c)
        secret_config = NULL;
    tn_state_free(c->st);
    c->st = NULL;
    free(c->path);
    c->path = NULL;
    strv_free(c->runbook_dirs);
    strv_free(c->lib_paths);
    strv_free(c->templates);
    c->runbook_dirs = c->lib_paths = c->templates = NULL;
}

void config_copy_value(lua_State *from, int idx, lua_State *to, int depth)
{
    idx = lua_absindex(from, idx);
    luaL_checkstack(to, 3, "copying a value");
    if (!lua_checkstack(from, 3)) { /* never raise in `from`: nobody protects it */
        lua_pushnil(to);
        return;
    }
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
        if (depth > CONFIG_MAX_DEPTH) {
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

/* Protected in the runbook's state (its memory cap may be hit): (config). */
static int config_push_params_protected(lua_State *L)
{
    tn_config *c = lua_touserdata(L, 1);
    lua_State *F = c->st->L;
    lua_rawgeti(F, LUA_REGISTRYINDEX, c->ref);
    lua_getfield(F, -1, "params");
    if (lua_istable(F, -1))
        config_copy_value(F, -1, L, 0);
    else
        lua_newtable(L);
    /* The config's `platform` (scripts/lib/platform/<name>.lua) reaches the
     * runbooks as ctx.params.platform, unless params names one itself. */
    lua_getfield(F, -2, "platform");
    if (lua_type(F, -1) == LUA_TSTRING && lua_getfield(L, -1, "platform") == LUA_TNIL) {
        lua_pop(L, 1);
        lua_pushstring(L, lua_tostring(F, -1));
        lua_setfield(L, -2, "platform");
    } else if (lua_type(F, -1) == LUA_TSTRING) {
        lua_pop(L, 1);
    }
    lua_pop(F, 1);
    return 1;
}

void config_push_params(tn_config *c, lua_State *L)
{
    if (!c->st || c->ref == LUA_NOREF) {
        lua_newtable(L);
        return;
    }
    /* The snapshot is bounded (CONFIG_MAX_*), so this fits any sane memory
     * limit; if it still fails, say so and run on no params rather than abort. */
    lua_State *F = c->st->L;
    int ftop = lua_gettop(F);
    lua_pushcfunction(L, config_push_params_protected);
    lua_pushlightuserdata(L, c);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        fprintf(stderr, "tocsin: config %s: params could not be copied: %s\n", c->path,
                lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "error");
        lua_pop(L, 1);
        lua_newtable(L);
    }
    lua_settop(F, ftop);
}

/* Lua: () -> copies of the loaded config's channels, contacts (nil when
 * absent).  Called from a runbook's state (notify); may raise (memory). */
int config_lua_notify(lua_State *L)
{
    tn_config *c = secret_config;
    if (!c || !c->st || c->ref == LUA_NOREF) {
        lua_pushnil(L);
        lua_pushnil(L);
        return 2;
    }
    lua_State *F = c->st->L;
    int ftop = lua_gettop(F);
    if (!lua_checkstack(F, 4))
        return luaL_error(L, "config: out of stack");
    lua_rawgeti(F, LUA_REGISTRYINDEX, c->ref);
    lua_getfield(F, -1, "channels");
    lua_getfield(F, -2, "contacts");
    config_copy_value(F, -2, L, 0); /* a raise here leaves F 3 values higher: harmless */
    config_copy_value(F, -1, L, 0);
    lua_settop(F, ftop);
    return 2;
}

/* The file of channel `name` (kind "file"), relative to the config's folder;
 * 0, or -1 when there is no such channel. */
int config_notify_file(const char *name, char *out, size_t n)
{
    tn_config *c = secret_config;
    if (!c || !c->st || c->ref == LUA_NOREF)
        return -1;
    lua_State *F = c->st->L;
    int ftop = lua_gettop(F), rc = -1;
    if (!lua_checkstack(F, 4))
        return -1;
    lua_rawgeti(F, LUA_REGISTRYINDEX, c->ref);
    if (lua_getfield(F, -1, "channels") == LUA_TTABLE && lua_getfield(F, -1, name) == LUA_TTABLE &&
        lua_getfield(F, -1, "kind") == LUA_TSTRING && !strcmp(lua_tostring(F, -1), "file") &&
        lua_getfield(F, -2, "path") == LUA_TSTRING) {
        const char *p = lua_tostring(F, -1);
        const char *slash = c->path ? strrchr(c->path, '/') : NULL;
        int k = p[0] == '/' || !slash
                    ? snprintf(out, n, "%s", p)
                    : snprintf(out, n, "%.*s/%s", (int)(slash - c->path), c->path, p);
        rc = k < 0 || (size_t)k >= n ? -1 : 0;
    }
    lua_settop(F, ftop);
    return rc;
}
