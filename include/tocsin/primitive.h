/* tocsin/primitive.h — the primitive ABI: the bridge every asynchronous
 * primitive (built in or added by an embedder) goes through between a task
 * (a Lua coroutine) and the event loop.
 *
 * A primitive (a lua_CFunction) checks its arguments, starts its operation,
 * then ends with `return tn_task_suspend(L, t, cancel, op);`.  When the operation
 * completes — in a libuv/libcurl/libpq callback — it calls tn_task_wake(t, push,
 * op): that only queues the task.  The scheduler later calls push(L, op) in a
 * protected call on the state's main thread (an allocation failure there is an
 * error, not a panic), moves what it pushed onto the task's coroutine and
 * resumes it with those values: no Lua code runs inside a library callback.
 *
 * Ownership: between tn_task_suspend and tn_task_wake the operation belongs to the
 * primitive; if the task is cancelled first, cancel(op) is called exactly once
 * and tn_task_wake must not be called after it.  After tn_task_wake the scheduler
 * owns the hand-off: it calls push(L, op) exactly once, with L == NULL when the
 * task was cancelled in the meantime (then push only frees op). */
#ifndef TOCSIN_PRIMITIVE_H
#define TOCSIN_PRIMITIVE_H

#include <lua.h>
#include <stdint.h>

typedef struct tn_task tn_task;
typedef struct tn_run tn_run;
typedef struct tn_state tn_state;

typedef int (*tn_push_fn)(lua_State *L, void *op);
typedef void (*tn_cancel_fn)(void *op);

/* The process's one event loop (a uv_loop_t: the struct is named here so
 * this header does not need uv.h). */
struct uv_loop_s;
struct uv_loop_s *tn_loop(void);

/* The task running Lua code in L (possibly a coroutine nested in it).
 * Raises a Lua error when called outside a task, e.g. while a runbook file is
 * being loaded (loading must not perform I/O). */
tn_task *tn_task_current(lua_State *L);

/* Suspends the running task until tn_task_wake; use as `return tn_task_suspend(...)`. */
int tn_task_suspend(lua_State *L, tn_task *t, tn_cancel_fn cancel, void *op);

/* Queues a suspended task to be resumed with push(L, op)'s results. */
void tn_task_wake(tn_task *t, tn_push_fn push, void *op);

tn_run *tn_task_run(tn_task *t);

/* Dry-run support: reads happen, writes don't. */
int tn_run_is_dry(const tn_run *r);
/* Records (and prints) an action a dry run would have taken. `what` is a
 * short kind ("http", "shell", "sql"), text a one-line description. */
void tn_run_action(tn_run *r, const char *what, const char *text);

/* Reports a log line in run r (level "debug", "info", "warn" or "error"),
 * with one optional field key=value; r NULL: outside any run (stderr).
 * Secrets are redacted by the engine before any consumer sees the text. */
void tn_run_log(tn_run *r, const char *level, const char *msg, const char *key, const char *value);

/* Reports that a primitive call finished: kind ("http", "sql", "shell"),
 * target (a URL, "host/db", the program), its duration in seconds, and its
 * outcome: "ok", or the err.kind it returned ("timeout", "connect"...). */
void tn_run_call(tn_run *r, const char *kind, const char *target, double secs, const char *outcome);

/* An operator question (confirm) is being asked on the terminal (begin = 1)
 * or was answered (begin = 0): live renderers stop drawing over it. */
void tn_run_prompt(tn_run *r, int begin);

#endif
