/* tocsin/tocsin.h — the embedding API of libtocsin: load a runbook into its
 * own sandboxed Lua state, start runs in it, receive what the runs report
 * (events), drive the loop.  Primitives added by an embedder use
 * tocsin/primitive.h. */
#ifndef TOCSIN_TOCSIN_H
#define TOCSIN_TOCSIN_H

#include <stddef.h>
#include <stdint.h>

#include <tocsin/primitive.h>

/* Engine-wide settings, filled from the config and the CLI. */
typedef struct tn_settings {
    double cpu_limit;       /* seconds of Lua execution per run */
    uint64_t mem_limit;     /* bytes per Lua state */
    const char **lib_paths; /* NULL-terminated folders searched by require */
    /* NULL-terminated folders template.render reads templates from, or NULL. */
    const char **template_paths;
    int dry_run;
    int assume_yes;
    /* Configured secrets (config `secrets` table); NULL when unset. */
    const char *(*secret_lookup)(const char *name, size_t *len);
} tn_settings;

/* ---- events: what a run reports ----------------------------------------- */

typedef enum tn_event_type {
    TN_EV_RUN_START,  /* dry_run, trigger, params */
    TN_EV_RUN_END,    /* ok, duration, error, limit, canceled, steps_failed, actions */
    TN_EV_STEP_START, /* step, depth, title */
    TN_EV_STEP_END,   /* step, depth, title, ok, duration, error */
    TN_EV_LOG,        /* level, text (the message), fields */
    TN_EV_PRINT,      /* text, len */
    TN_EV_ACTION,     /* kind, text: what a dry run did not do */
    TN_EV_CALL,       /* kind, target, duration, outcome: a primitive call finished */
    TN_EV_PROMPT      /* begin: an operator question is (1) / was (0) on the terminal */
} tn_event_type;

/* Every string is already redacted: no consumer sees a secret.  Pointers are
 * valid during the callback only. */
typedef struct tn_event {
    tn_event_type type;
    tn_run *run;         /* NULL for a log or print outside any run (load time) */
    const char *run_id;  /* "" outside a run */
    const char *runbook; /* the runbook's name */
    double ts;           /* wall clock, Unix seconds */
    int step, depth;
    const char *title;
    int ok;
    double duration; /* seconds */
    const char *error;
    const char *level;
    const char *text;
    size_t len;
    const char *fields;      /* TN_EV_LOG: a JSON object, or NULL */
    const char *fields_text; /* the same as key=value pairs, for people */
    const char *kind;
    const char *target;
    const char *outcome;
    int begin;
    int dry_run;
    const char *trigger; /* "cli", "schedule", "alert", "api" */
    const char *params;  /* ctx.params as JSON, or NULL */
    long long incident;  /* the incident the run opened or joined (0: none) */
    int limit, canceled, steps_failed;
    int nactions;
    const char *const *actions; /* "kind: text" */
} tn_event;

typedef void (*tn_event_fn)(const tn_event *ev, void *ud);

/* Every run's events, in the order they happen (the store, metrics).  0, or
 * -1 when the table of consumers is full. */
int tn_events_subscribe(tn_event_fn fn, void *ud);
void tn_events_unsubscribe(tn_event_fn fn, void *ud);

/* ---- states and runs ---------------------------------------------------- */

typedef struct tn_run_opts {
    int dry_run;
    int assume_yes;
    const char *id;       /* run id shown in events; generated when NULL */
    const char *trigger;  /* why it runs ("cli", "schedule", "alert", "api"), or NULL */
    const char *params;   /* ctx.params as JSON for the record, or NULL */
    tn_event_fn on_event; /* this run's own consumer (a terminal), or NULL */
    void *event_ud;
    void (*on_done)(tn_run *r, void *ud); /* must not free the run synchronously */
    void *ud;
} tn_run_opts;

/* Creates a state for the runbook file at path and compiles it (no I/O runs).
 * On failure returns NULL and writes a message ("file:line: ...") to err. */
tn_state *tn_state_new(const char *path, const tn_settings *s, char *err, size_t errlen);
/* Executes the file's top level with primitives disabled, keeping the table it
 * returns.  0 when it returned a runbook table, 1 when it is an ad-hoc script
 * (returned no table, or called a primitive at its top level), <0 on error
 * with the message in err: TN_LOAD_RAISED when its top level raised an error
 * (run as a script it fails the same way, with a traceback), -1 when it is
 * not a valid runbook (no run function, bad limits, I/O at load). */
#define TN_LOAD_RAISED (-2)
int tn_state_load(tn_state *st, char *err, size_t errlen);
/* The runbook's name: its `name` field, else the file name without .lua. */
const char *tn_state_name(const tn_state *st);
void tn_state_free(tn_state *st);

/* Starts a run: the function and nargs arguments on top of the state's main
 * thread become its root task (popped). The task starts at the next loop turn.
 * NULL when out of memory (the arguments are popped all the same). */
tn_run *tn_run_start(tn_state *st, int nargs, const tn_run_opts *o);
/* Cancels every task of the run; on_done follows. */
void tn_run_cancel(tn_run *r);
/* Non-zero once the run has ended (on_done was called). */
int tn_run_done(const tn_run *r);
/* Non-zero when the run succeeded: run() returned normally and not
 * `false` or `nil, err`. */
int tn_run_ok(const tn_run *r);
void tn_run_free(tn_run *r);

/* The command line, as `tocsin` runs it. */
int tn_cli_main(int argc, char **argv);

#endif
