/* engine.h — runbook states: one sandboxed Lua state per loaded runbook, its
 * memory cap and CPU budget, and the runs (trees of tasks) started in it. */
#ifndef TOCSIN_ENGINE_H
#define TOCSIN_ENGINE_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

#include "task.h"

typedef struct tn_out tn_out;

/* Engine-wide settings, filled from the config (config.c) and the CLI. */
typedef struct tn_settings {
    double cpu_limit;          /* seconds of Lua execution per run */
    uint64_t mem_limit;        /* bytes per Lua state */
    const char **lib_paths;    /* NULL-terminated folders searched by require */
    int dry_run;
    int assume_yes;
    /* Configured secrets (config `secrets` table); NULL when unset. */
    const char *(*secret_lookup)(const char *name, size_t *len);
} tn_settings;

struct tn_state {
    lua_State *L;              /* main thread: loads the file, runs push trampolines */
    size_t mem_used, mem_limit;
    int mem_exceeded;
    tn_task *current;          /* the task whose Lua code is running, if any */
    uint64_t slice_start;      /* uv_hrtime() when current was resumed */
    uint64_t load_deadline;    /* CPU deadline while loading the file (hrtime), 0 otherwise */
    double cpu_limit;          /* per run, seconds */
    int env_ref;               /* the sandbox environment table */
    int runbook_ref;           /* the table the file returned, or LUA_NOREF (ad-hoc script) */
    int chunk_ref;             /* the compiled file */
    char *path;
    char *name;
    int nruns;
    const tn_settings *settings;
};

/* Creates a state for the runbook file at path and compiles it (no I/O runs).
 * On failure returns NULL and writes a message ("file:line: ...") to err. */
tn_state *engine_state_new(const char *path, const tn_settings *s, char *err, size_t errlen);
/* Executes the file's top level with primitives disabled, keeping the table it
 * returns.  0 when it returned a runbook table, 1 when it is an ad-hoc script
 * (returned no table), <0 on error with the message in err. */
int engine_state_load(tn_state *st, char *err, size_t errlen);
void engine_state_free(tn_state *st);

/* Field of the runbook table as a string (NULL when absent or not a string). */
const char *engine_runbook_string(tn_state *st, const char *field);

/* The state a thread belongs to (any thread of it). */
tn_state *engine_state_of(lua_State *L);

/* Builds a sandbox environment table on top of L's stack. */
void engine_register_globals(lua_State *L, int unused);

#endif
