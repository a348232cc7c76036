/* task.h — tasks (one coroutine each) and the bridge primitives use; the
 * bridge itself is public (include/tocsin/primitive.h), the scheduler's
 * internals are in run.h. */
#ifndef TOCSIN_TASK_H
#define TOCSIN_TASK_H

#include <tocsin/primitive.h>
#include <uv.h>

/* The scheduler's face to run.c: the root task of run r from the function
 * and nargs arguments on the state's main thread (popped); 0, or -1 when out
 * of memory.  task_release_root unanchors it once the run has finished. */
int task_start_root(tn_run *r, int nargs);
void task_release_root(tn_run *r);

/* Lua functions of the `task` module and the scheduler's internals. */
int task_lua_open(lua_State *L);
void task_cancel(tn_task *t);
/* Steps currently open in the task: the depth its next step is shown at. */
int *task_step_depth(tn_task *t);

/* The lightuserdata a primitive's yield carries, so the prelude's coroutine
 * wrappers can tell scheduler yields from a runbook's own. */
extern char task_suspend_token;

/* Registry field: the set (weak keys) of every task's thread. */
#define TASK_THREADS "tocsin.task_threads"

#endif
