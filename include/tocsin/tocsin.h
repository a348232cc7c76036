/* tocsin/tocsin.h — the embedding API of libtocsin: load a runbook into its
 * own sandboxed Lua state, start runs in it, drive the loop.  Primitives added
 * by an embedder use tocsin/primitive.h. */
#ifndef TOCSIN_TOCSIN_H
#define TOCSIN_TOCSIN_H

#include <stddef.h>
#include <stdint.h>

#include <tocsin/primitive.h>

typedef struct tn_out tn_out;

/* Engine-wide settings, filled from the config and the CLI. */
typedef struct tn_settings {
    double cpu_limit;       /* seconds of Lua execution per run */
    uint64_t mem_limit;     /* bytes per Lua state */
    const char **lib_paths; /* NULL-terminated folders searched by require */
    int dry_run;
    int assume_yes;
    /* Configured secrets (config `secrets` table); NULL when unset. */
    const char *(*secret_lookup)(const char *name, size_t *len);
} tn_settings;

typedef struct tn_run_opts {
    int dry_run;
    int assume_yes;
    const char *id;                       /* run id shown in events; generated when NULL */
    tn_out *out;                          /* where steps, logs and prints go */
    void (*on_done)(tn_run *r, void *ud); /* must not free the run synchronously */
    void *ud;
} tn_run_opts;

/* Creates a state for the runbook file at path and compiles it (no I/O runs).
 * On failure returns NULL and writes a message ("file:line: ...") to err. */
tn_state *tn_state_new(const char *path, const tn_settings *s, char *err, size_t errlen);
/* Executes the file's top level with primitives disabled, keeping the table it
 * returns.  0 when it returned a runbook table, 1 when it is an ad-hoc script
 * (returned no table), <0 on error with the message in err. */
int tn_state_load(tn_state *st, char *err, size_t errlen);
void tn_state_free(tn_state *st);

/* Starts a run: the function and nargs arguments on top of the state's main
 * thread become its root task (popped). The task starts at the next loop turn. */
tn_run *tn_run_start(tn_state *st, int nargs, const tn_run_opts *o);
/* Cancels every task of the run; on_done follows. */
void tn_run_cancel(tn_run *r);
void tn_run_free(tn_run *r);

/* The command line, as `tocsin` runs it. */
int tn_cli_main(int argc, char **argv);

#endif
