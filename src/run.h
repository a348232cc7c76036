/* run.h — a run: one execution of a runbook (or ad-hoc script) in a state,
 * the tree of tasks it spawns, its CPU budget, what it reports (events) and
 * how it ended.  Also the assembly of a run from a loaded runbook, params and
 * a trigger (run_launch), which the CLI and the daemon share. */
#ifndef TOCSIN_RUN_H
#define TOCSIN_RUN_H

#include <stdint.h>

#include "engine.h"
#include "list.h"
#include "task.h"

struct tn_run {
    tn_state *st;
    tn_task *root;
    list_node tasks; /* live tasks of the run (task.c's run_node) */
    int ntasks;
    uint64_t cpu_ns, cpu_limit_ns;
    int cpu_exceeded;
    int dry_run, assume_yes;
    char id[40];
    char *trigger;      /* why it runs: "cli", "schedule", "alert", "api" */
    char *params_json;  /* ctx.params as JSON (the run_start event; the record) */
    long long incident; /* the incident this run opened or joined: its steps go on the timeline */
    tn_event_fn on_event;
    void *event_ud;
    uint64_t started_ns, ended_ns;
    int done;
    int ok;    /* root returned normally and not `false`/`nil, err` */
    int limit; /* failed on the CPU or memory limit */
    int canceled;
    int stalled; /* cancelled because nothing could ever wake it: a failure */
    /* A part of the run its root does not see failed (a server's dispatcher). */
    int failed_apart;
    char *error;   /* "file:line: message\nstack traceback:..." when failed */
    int next_step; /* step ids */
    unsigned long recorded,
        unrecorded; /* transcript entries stored, and past the limit (store.c) */
    int steps_failed;
    char **actions; /* dry run: actions that would have been taken (redacted) */
    int nactions;
    void (*on_done)(tn_run *r, void *ud);
    void *ud;
};

/* Called by the scheduler once the root and every other task have ended:
 * emits run_end and calls on_done. */
void run_finish(tn_run *r);

/* How a run is assembled from a loaded runbook (tn_state_load returned 0):
 * ctx.params = the runbook's declared params < push_params's table (the
 * config's) < sets ("key=value", converted to the declared default's type);
 * ctx.trigger and ctx.alert (alert_json decoded) say why it runs. */
typedef struct run_launch_opts {
    void (*push_params)(lua_State *L, void *ud); /* pushes a table; NULL: none */
    void *params_ud;
    const char *const *sets; /* NULL-terminated, or NULL */
    const char *trigger;     /* "cli", "schedule", "alert", "api"; NULL: "cli" */
    const char *alert_json;  /* or NULL */
} run_launch_opts;

#define RUN_EUSAGE (-2) /* bad --set: unknown key, or a value of the wrong type */

/* Starts a run of the runbook: 0 and *out, RUN_EUSAGE with a message naming
 * the key in err, or -1 (err says why). */
int run_launch(tn_state *st, const run_launch_opts *lo, const tn_run_opts *o, tn_run **out,
               char *err, size_t errlen);

/* Starts the top level of an ad-hoc script (tn_state_load returned 1, on a
 * fresh state) as the run's root task, ctx as its `...`. */
int run_launch_script(tn_state *st, const run_launch_opts *lo, const tn_run_opts *o, tn_run **out,
                      char *err, size_t errlen);

#endif
