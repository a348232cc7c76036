/* config.h — tocsin.lua: found (--config, $TOCSIN_CONFIG, ./tocsin.lua), run
 * in a sandbox that has env and secret and no I/O, and read into settings. */
#ifndef TOCSIN_CONFIG_H
#define TOCSIN_CONFIG_H

#include "engine.h"
#include "store.h"

typedef struct tn_config {
    tn_state *st;        /* the config's own Lua state (NULL without a file) */
    int ref;             /* a plain snapshot of the table it returned: no metatables,
                            bounded (config.c CONFIG_MAX_*), readable without pcall */
    char *path;          /* NULL when running on defaults */
    char **runbook_dirs; /* NULL-terminated, absolute or relative to cwd */
    char **lib_paths;    /* NULL-terminated */
    char *state;         /* the state store: "sqlite:PATH" (default .tocsin/state.db) */
    char **templates;    /* NULL-terminated: config `templates`, or scripts/templates */
    double cpu_limit;
    uint64_t mem_limit;
    int http_max_per_host; /* http.max_per_host: requests in flight per host, 0: no cap */
    tn_settings settings;
    store_policy policy; /* the SLA (config `severity`, over the playbook's table) */
} tn_config;

/* path: --config value or NULL. Returns 0, or -1 with a message in err
 * ("config FILE: ..."): whatever the file does (raising errors that cannot be
 * printed, __index that raises, tables shared thousands of times) ends here. */
int config_load(tn_config *c, const char *path, char *err, size_t errlen);
void config_free(tn_config *c);
/* Adds a folder to the require path (kept if not already there). */
void config_add_lib_path(tn_config *c, const char *dir);
/* Pushes a copy of config.params (or an empty table) onto L. */
void config_push_params(tn_config *c, lua_State *L);

/* Copies a plain value (nil, boolean, number, string, json.null, tables of
 * those) from one Lua state to another; functions and userdata become nil.
 * Raw access, no bound on the total: give it a snapshot (c->ref's values).
 * Raises only in `to` (memory). */
void config_copy_value(lua_State *from, int idx, lua_State *to, int depth);

/* notify's view of the loaded config (the one secret() reads): a Lua
 * function () -> channels, contacts (copies, or nil); and the resolved path of
 * a "file" channel (0, or -1 when name is not one). */
int config_lua_notify(lua_State *L);
int config_notify_file(const char *name, char *out, size_t n);

#endif
