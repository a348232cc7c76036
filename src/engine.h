/* engine.h — runbook states: one sandboxed Lua state per loaded runbook, its
 * memory cap and CPU budget, and the runs (trees of tasks) started in it. */
#ifndef TOCSIN_ENGINE_H
#define TOCSIN_ENGINE_H

#include <lua.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <tocsin/tocsin.h>
#include <uv.h>

#include "task.h"

struct tn_state {
    lua_State *L; /* main thread: loads the file, runs push trampolines */
    size_t mem_used, mem_limit;
    int mem_exceeded;
    tn_task *current;       /* the task whose Lua code is running, if any */
    uint64_t slice_start;   /* uv_hrtime() when current was resumed */
    uint64_t load_deadline; /* CPU deadline while loading the file (hrtime), 0 otherwise */
    unsigned outside_hooks; /* count hooks outside any task since the last slice */
    double cpu_limit;       /* per run, seconds */
    int env_ref;            /* the sandbox environment table */
    int runbook_ref;        /* the table the file returned, or LUA_NOREF (ad-hoc script) */
    int chunk_ref;          /* the compiled file */
    char *path;
    char *name;
    int nruns;
    int loading;    /* tn_state_load is running the file's top level */
    int io_at_load; /* ... and it called a primitive (an ad-hoc script) */
    int quiet_load; /* prints at load time are dropped (the run prints them) */
    const tn_settings *settings;
};

/* Field of the runbook table as a string (NULL when absent or not a string). */
const char *engine_runbook_string(tn_state *st, const char *field);

/* Set (to the signal number) by the frontend's SIGINT/SIGTERM handler: every
 * Lua instruction then raises err.kind "canceled", so a spinning runbook
 * unwinds and the loop gets to cancel the run. */
extern volatile sig_atomic_t engine_interrupted;

/* The state a thread belongs to (any thread of it). */
tn_state *engine_state_of(lua_State *L);

/* ---- the CPU budget (engine_cpu.c) ---- */

/* Nonzero when the Lua code running in L is over its CPU budget (the running
 * run's, the load-time deadline, or the cap on code run outside any task). For
 * C code that runs long without the hook firing (pattern matching). */
int engine_cpu_exceeded(lua_State *L);

/* Raises the err {kind="limit"} of the budget engine_cpu_exceeded found spent. */
int engine_cpu_raise(lua_State *L);

/* Gives thread L the count hook that bounds code run outside a session. Every
 * thread of a state has it, except while it runs in a session. */
void engine_cpu_hook(lua_State *L);

/* A session: the scheduler running Lua on thread L (a task's slice after
 * st->current and st->slice_start are set, or a file's top level under
 * st->load_deadline). Inside it L runs without a hook, at full speed, until
 * the budget's deadline passes or a signal interrupts: then the watchdog
 * (watchdog.c) arms the hook. Outside any budget, or when the watchdog cannot
 * run, L keeps the count hook. Sessions nest; leave each one entered. */
typedef struct engine_cpu_session {
    lua_State *L, *prev_L;
    tn_state *prev_st;
    uint64_t prev_deadline;
    int fast;
} engine_cpu_session;
void engine_cpu_enter(tn_state *st, lua_State *L, engine_cpu_session *s);
void engine_cpu_leave(engine_cpu_session *s);

/* The running run's cpu_limit_ns changed: moves the session's deadline. */
void engine_cpu_limit_changed(tn_state *st);

/* Sets create and resume in the coroutine table on top of L's stack: a
 * coroutine a session's thread resumes runs in the session while it runs. */
void engine_cpu_register_coroutine(lua_State *L);

/* Builds a sandbox environment table on top of L's stack. */
void engine_register_globals(lua_State *L, int unused);

#endif
