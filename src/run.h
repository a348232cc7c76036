/* run.h — a run: one execution of a runbook (or ad-hoc script) in a state, the
 * tree of tasks it spawns, its CPU budget, and how it ended. */
#ifndef TOCSIN_RUN_H
#define TOCSIN_RUN_H

#include <stdint.h>

#include "engine.h"
#include "task.h"

struct tn_run {
    tn_state *st;
    tn_task *root;
    tn_task *tasks; /* live tasks of the run (doubly linked) */
    uint64_t cpu_ns, cpu_limit_ns;
    int cpu_exceeded;
    int dry_run, assume_yes;
    char id[40];
    tn_out *out;
    uint64_t started_ns, ended_ns;
    int done;
    int ok;    /* root returned normally and not `false`/`nil, err` */
    int limit; /* failed on the CPU or memory limit */
    int canceled;
    /* A part of the run its root does not see failed (a server's dispatcher). */
    int failed_apart;
    char *error;   /* "file:line: message\nstack traceback:..." when failed */
    int next_step; /* step ids */
    int steps_failed;
    char **actions; /* dry run: actions that would have been taken */
    int nactions;
    void (*on_done)(tn_run *r, void *ud);
    void *ud;
};

/* Lua functions of the `task` module and the scheduler's internals. */
int luaopen_tn_task(lua_State *L);
void task_cancel(tn_task *t);
/* Steps currently open in the task: the depth its next step is shown at. */
int *task_step_depth(tn_task *t);

/* The lightuserdata a primitive's yield carries, so the prelude's coroutine
 * wrappers can tell scheduler yields from a runbook's own. */
extern char task_suspend_token;

/* Registry field: the set (weak keys) of every task's thread. */
#define TASK_THREADS "tocsin.task_threads"

#endif
