/* task.c — the scheduler: tasks (one coroutine each), the ready queue that
 * resumes them outside library callbacks, runs (trees of tasks with a CPU
 * budget), and the `task` module (spawn, wait, cancel). */
#include "task.h"

#include <assert.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "list.h"
#include "run.h"
#include "util.h"

char task_suspend_token;

enum { T_NEW, T_RUNNING, T_SUSPENDED, T_QUEUED, T_DONE };
enum { OUT_NONE, OUT_OK, OUT_ERROR, OUT_CANCELED, OUT_MEMLIMIT };

typedef struct waiter waiter;

struct tn_task {
    lua_State *co;
    int co_ref;   /* anchors the thread (kept after the end: it holds the results) */
    int self_ref; /* anchors the userdata while the task is alive */
    tn_run *run;
    tn_task *parent;
    list_node run_node; /* in run->tasks while alive */
    list_node children; /* live tasks it spawned (and those of its ended children) */
    list_node sibling;  /* in parent->children */
    list_node ready;    /* in the ready queue while T_QUEUED */
    int status;
    tn_cancel_fn cancel;
    void *op;
    tn_push_fn push;
    int nargs; /* before the first resume: arguments on co's stack */
    int started;
    int step_depth; /* steps open in this task (children start at the parent's) */
    int outcome;
    int cancel_requested; /* cancelled while its Lua code was running */
    int ending;           /* task_cancel is closing its thread */
    int res_base, nres;   /* results on co's stack (OUT_OK), error value at res_base (OUT_ERROR) */
    waiter *waiters;
};

static const char task_mt[] = "tocsin.task";

/* ---- the ready queue --------------------------------------------------- */

static uv_loop_t *loop;
static uv_idle_t idle;
static list_node ready_q = {&ready_q, &ready_q};

uv_loop_t *tn_loop(void)
{
    if (!loop)
        loop = uv_default_loop();
    return loop;
}

static void drain(uv_idle_t *h);

static void enqueue(tn_task *t)
{
    assert(t->status == T_RUNNING || t->status == T_SUSPENDED || t->status == T_NEW);
    assert(!list_linked(&t->ready));
    t->status = T_QUEUED;
    list_push_back(&ready_q, &t->ready);
    if (!uv_is_active((uv_handle_t *)&idle)) {
        if (!idle.loop)
            uv_idle_init(tn_loop(), &idle);
        uv_idle_start(&idle, drain);
    }
}

static void dequeue(tn_task *t)
{
    assert(t->status == T_QUEUED && list_linked(&t->ready));
    list_remove(&t->ready);
}

/* ---- bridge ------------------------------------------------------------ */

tn_task *tn_task_current(lua_State *L)
{
    tn_state *st = engine_state_of(L);
    if (!st->current && st->loading)
        st->io_at_load = 1; /* tells tn_state_load this is an ad-hoc script */
    if (!st->current)
        luaL_error(L, "this primitive performs I/O and cannot run while a runbook file is "
                      "loaded; call it from run(ctx)");
    return st->current;
}

int tn_task_suspend(lua_State *L, tn_task *t, tn_cancel_fn cancel, void *op)
{
    if (!lua_isyieldable(L)) {
        /* Inside a metamethod, a table.sort comparator, a __close handler...:
         * lua_yield would raise and leave the task marked suspended on an op
         * that will wake it later. Release the op and raise instead. */
        if (t->status == T_QUEUED) {
            dequeue(t);
            if (t->push)
                t->push(NULL, t->op);
        } else if (cancel) {
            cancel(op);
        }
        t->status = T_RUNNING;
        t->cancel = NULL;
        t->push = NULL;
        t->op = NULL;
        return luaL_error(L, "cannot wait for I/O here: this code runs inside a metamethod, "
                             "a table.sort comparator or another call from C");
    }
    /* RUNNING: the operation is pending; QUEUED: it already completed
     * (task_wake ran before this yield). */
    assert(t->status == T_RUNNING || t->status == T_QUEUED);
    if (t->status == T_RUNNING) {
        t->status = T_SUSPENDED;
        t->cancel = cancel;
        t->op = op;
    }
    /* else the operation already completed (tn_task_wake ran): just yield. */
    lua_pushlightuserdata(L, &task_suspend_token);
    return lua_yield(L, 1);
}

void tn_task_wake(tn_task *t, tn_push_fn push, void *op)
{
    /* One wake-up per suspension: waking a queued or ended task is a bug in
     * the primitive (it would resume the task twice). */
    assert(t->status == T_SUSPENDED || t->status == T_RUNNING);
    t->cancel = NULL;
    t->push = push;
    t->op = op;
    enqueue(t);
}

tn_run *tn_task_run(tn_task *t)
{
    return t->run;
}
int *task_step_depth(tn_task *t)
{
    return &t->step_depth;
}
/* ---- finishing --------------------------------------------------------- */

struct waiter {
    tn_task *task;   /* who waits */
    tn_task *target; /* for whom */
    waiter *next;
    uv_timer_t timer;
    int timed;
    int timed_out;
};

static void waiter_wake_all(tn_task *t);

#define TASK_OF(q, field) LIST_ENTRY(q, tn_task, field)

/* Takes t out of its run and its parent; its live children move to its
 * parent (or become top-level tasks of the run): O(1) plus its children. */
static void task_unlink(tn_task *t)
{
    tn_run *r = t->run;
    list_remove(&t->run_node);
    r->ntasks--;
    list_remove(&t->sibling);
    list_node *q, *n;
    LIST_FOREACH_SAFE(q, n, &t->children)
    {
        tn_task *c = TASK_OF(q, sibling);
        list_remove(&c->sibling);
        c->parent = t->parent;
        if (t->parent)
            list_push_back(&t->parent->children, &c->sibling);
    }
}

/* Protected helpers run on the state's main thread, which is idle whenever the
 * scheduler runs: an allocation failure there is an error, never a panic. */
static int traceback_fn(lua_State *L)
{
    lua_State *co = lua_touserdata(L, 1);
    /* tostring() of the error value may run the runbook's __tostring. */
    const char *msg = luaL_tolstring(L, 2, NULL);
    if (co)
        luaL_traceback(L, co, msg, 0);
    return 1;
}

/* tostring(v) (v at the top of co, left there), with any metamethod run
 * protected on the main thread; with co_tb, the traceback of co_tb too. */
static char *describe(tn_state *st, lua_State *co, lua_State *co_tb)
{
    lua_State *M = st->L;
    int top = lua_gettop(M);
    char *out = NULL;
    if (lua_checkstack(M, 3)) {
        lua_pushcfunction(M, traceback_fn);
        lua_pushlightuserdata(M, co_tb);
        lua_pushvalue(co, -1);
        lua_xmove(co, M, 1);
        if (lua_pcall(M, 2, 1, 0) == LUA_OK)
            out = strdup(lua_tostring(M, -1));
        else
            out = strdup("error (its message could not be converted to a string)");
    }
    lua_settop(M, top);
    st->mem_exceeded = 0;
    return out;
}

static char *error_text(tn_task *t, int memlimit)
{
    tn_state *st = t->run->st;
    if (memlimit) {
        char buf[256];
        snprintf(buf, sizeof buf, "limit: memory limit of %zu MiB exceeded in runbook %s",
                 st->mem_limit >> 20, st->name);
        return strdup(buf);
    }
    return describe(st, t->co, t->co);
}

static void task_end(tn_task *t, int outcome)
{
    tn_run *r = t->run;
    assert(t->status != T_DONE && !list_linked(&t->ready));
    t->outcome = outcome;
    t->status = T_DONE;
    task_unlink(t);
    if (t == r->root) {
        r->ok = outcome == OUT_OK;
        if (outcome == OUT_OK && t->nres > 0) {
            /* `return false` or `return nil, err` from run() is a failure too. */
            lua_State *co = t->co;
            int first = t->res_base + 1;
            if (lua_type(co, first) == LUA_TBOOLEAN && !lua_toboolean(co, first))
                r->ok = 0;
            else if (lua_isnil(co, first) && t->nres >= 2) {
                r->ok = 0;
                lua_pushvalue(co, first + 1);
                r->error = describe(r->st, co, NULL);
                lua_pop(co, 1);
            }
        }
        if (outcome == OUT_CANCELED && !r->stalled)
            r->canceled = 1;
        if (r->failed_apart)
            r->ok = 0; /* r->error says what failed */
        if (r->cpu_exceeded && r->ok) {
            /* The limit error was raised where nothing reported it (a
             * __close handler, another task's pcall): the run still failed. */
            r->ok = 0;
            r->limit = 1;
            if (!r->error) {
                char buf[160];
                snprintf(buf, sizeof buf,
                         "limit: CPU limit of %gs of Lua execution exceeded in "
                         "runbook %s",
                         r->cpu_limit_ns / 1e9, r->st->name);
                r->error = strdup(buf);
            }
        }
    }
    waiter_wake_all(t);
    /* The run points at its root until it finishes: keep that one anchored. */
    if (t != r->root) {
        luaL_unref(t->co, LUA_REGISTRYINDEX, t->self_ref);
        t->self_ref = LUA_NOREF;
    }
    if (t == r->root) {
        /* Whatever the root left running ends with it.  Each cancel removes
         * at least the task it cancels, so restarting from the head after
         * one stays linear: only a task whose Lua code is on the C stack
         * (at most one) is skipped. */
        list_node *q = r->tasks.next;
        while (q != &r->tasks) {
            tn_task *c = TASK_OF(q, run_node);
            if (c->status == T_RUNNING || c->cancel_requested) {
                c->cancel_requested = 1;
                q = q->next;
            } else {
                task_cancel(c);
                q = r->tasks.next;
            }
        }
    }
    if (r->root->status == T_DONE && list_empty(&r->tasks) && !r->done)
        run_finish(r);
}

/* A task ran to its end (rc from lua_resume). */
static void task_finished(tn_task *t, int rc, int nres)
{
    tn_run *r = t->run;
    tn_state *st = r->st;
    lua_State *co = t->co;
    if (rc == LUA_OK) {
        t->nres = nres;
        t->res_base = lua_gettop(co) - nres;
        task_end(t, OUT_OK);
        return;
    }
    /* An allocation failure a pcall caught earlier is not this error; the
     * memory error re-raised as a value still is. */
    int memlimit = rc == LUA_ERRMEM || (lua_type(co, -1) == LUA_TSTRING &&
                                        !strcmp(lua_tostring(co, -1), "not enough memory"));
    st->mem_exceeded = 0;
    if (lua_istable(co, -1)) {
        /* Raw: the error value's own __index is the runbook's code. */
        lua_pushliteral(co, "kind");
        lua_rawget(co, -2);
        if (lua_type(co, -1) == LUA_TSTRING && !strcmp(lua_tostring(co, -1), "limit"))
            r->limit = 1;
        lua_pop(co, 1);
    }
    if (memlimit)
        r->limit = 1;
    if (t == r->root && !r->error)
        r->error = error_text(t, memlimit);
    else if (!t->waiters) {
        char *e = error_text(t, memlimit);
        if (e) {
            tn_run_log(r, "debug", "a spawned task failed (nobody waits for it yet)", "error", e);
            free(e);
        }
    }
    lua_resetthread(co); /* closes to-be-closed variables; the error stays at index 1 */
    t->res_base = 0;
    t->nres = 1;
    task_end(t, memlimit ? OUT_MEMLIMIT : OUT_ERROR);
}

void task_cancel(tn_task *t)
{
    if (t->status == T_DONE || t->ending)
        return;
    if (t->status == T_RUNNING) {
        /* Its Lua code is on the C stack: cancel it when it yields. */
        t->cancel_requested = 1;
        return;
    }
    /* Children first: what a task started ends with it.  A cancelled child
     * leaves the list (its own children join it): start over after each. */
    list_node *q = t->children.next;
    while (q != &t->children) {
        tn_task *c = TASK_OF(q, sibling);
        if (c->cancel_requested) {
            q = q->next;
        } else {
            task_cancel(c);
            q = t->children.next;
        }
    }
    switch (t->status) {
    case T_SUSPENDED:
        if (t->cancel)
            t->cancel(t->op);
        break;
    case T_QUEUED:
        dequeue(t);
        if (t->push)
            t->push(NULL, t->op);
        break;
    default:
        break;
    }
    t->cancel = NULL;
    t->push = NULL;
    t->op = NULL;
    /* Closing its to-be-closed variables runs runbook code, which may try to
     * cancel this task again. */
    t->ending = 1;
    lua_resetthread(t->co);
    t->res_base = lua_gettop(t->co);
    t->nres = 0;
    task_end(t, OUT_CANCELED);
}

/* ---- resuming ---------------------------------------------------------- */

static int push_trampoline(lua_State *M)
{
    tn_task *t = lua_touserdata(M, 1);
    tn_push_fn push = t->push;
    void *op = t->op;
    t->push = NULL;
    t->op = NULL;
    lua_settop(M, 0);
    return push(M, op);
}

static void task_step(tn_task *t)
{
    tn_run *r = t->run;
    tn_state *st = r->st;
    lua_State *co = t->co, *M = st->L;
    int nargs = 0;
    assert(t->status == T_QUEUED && !list_linked(&t->ready) && st->current == NULL);
    if (!t->started) {
        t->started = 1;
        nargs = t->nargs;
    } else if (t->push) {
        int top = lua_gettop(M);
        lua_pushcfunction(M, push_trampoline);
        lua_pushlightuserdata(M, t);
        if (lua_pcall(M, 1, LUA_MULTRET, 0) != LUA_OK) {
            lua_settop(M, top);
            st->mem_exceeded = 0;
            lua_pushnil(M);
            lua_pushliteral(M, "out of memory while delivering a result");
        }
        nargs = lua_gettop(M) - top;
        if (!lua_checkstack(co, nargs + LUA_MINSTACK)) {
            lua_settop(M, top);
            nargs = 0;
        } else {
            lua_xmove(M, co, nargs);
        }
    }
    t->status = T_RUNNING;
    st->current = t;
    st->mem_exceeded = 0;
    st->outside_hooks = 0;
    st->slice_start = uv_hrtime();
    int nres = 0;
    engine_cpu_session cpu; /* the slice runs at full speed, watched */
    engine_cpu_enter(st, co, &cpu);
    int rc = lua_resume(co, NULL, nargs, &nres);
    engine_cpu_leave(&cpu);
    r->cpu_ns += uv_hrtime() - st->slice_start;
    st->current = NULL;
    if (rc == LUA_YIELD) {
        lua_pop(co, nres);
        if (t->status == T_RUNNING) {
            /* The runbook's own coroutine.yield at a task's top level: a
             * cooperative yield; resume it at the next turn with no values. */
            t->push = NULL;
            enqueue(t);
        }
        if (t->cancel_requested)
            task_cancel(t);
        return;
    }
    task_finished(t, rc, nres);
}

static void drain(uv_idle_t *h)
{
    /* Only what is queued now: tasks woken meanwhile wait for the next turn,
     * so I/O completions are polled between batches. */
    list_node *last = ready_q.prev;
    list_node *q;
    while ((q = list_first(&ready_q))) {
        tn_task *t = TASK_OF(q, ready);
        dequeue(t);
        task_step(t);
        if (q == last)
            break;
    }
    if (list_empty(&ready_q))
        uv_idle_stop(h);
}

/* ---- tasks from Lua ---------------------------------------------------- */

static tn_task *task_new(lua_State *L, tn_run *r, tn_task *parent, int nargs)
{
    /* Stack of L: fn, args... (nargs). Leaves the task userdata on L. */
    tn_task *t = lua_newuserdatauv(L, sizeof *t, 0);
    memset(t, 0, sizeof *t);
    luaL_setmetatable(L, task_mt);
    t->run = r;
    t->parent = parent;
    t->step_depth = parent ? parent->step_depth : 0;
    t->status = T_NEW;
    t->co_ref = t->self_ref = LUA_NOREF;
    list_init(&t->children);
    list_init(&t->sibling);
    list_init(&t->ready);
    list_init(&t->run_node);
    lua_pushvalue(L, -1);
    t->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    t->co = lua_newthread(L);
    engine_cpu_hook(t->co); /* L may be running without one (engine_cpu.c) */
    /* The prelude's coroutine.resume/close refuse task threads: only the
     * scheduler resumes them. */
    lua_getfield(L, LUA_REGISTRYINDEX, TASK_THREADS);
    lua_pushvalue(L, -2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    t->co_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_rotate(L, -(nargs + 2), 1); /* userdata below fn and args */
    lua_xmove(L, t->co, nargs + 1);
    t->nargs = nargs;
    list_push_back(&r->tasks, &t->run_node);
    r->ntasks++;
    if (parent)
        list_push_back(&parent->children, &t->sibling);
    enqueue(t);
    return t;
}

static int task_gc(lua_State *L)
{
    tn_task *t = luaL_checkudata(L, 1, task_mt);
    if (t->co_ref != LUA_NOREF) {
        luaL_unref(L, LUA_REGISTRYINDEX, t->co_ref);
        t->co_ref = LUA_NOREF;
    }
    return 0;
}

/* task.spawn(fn, ...) -> t */
static int l_spawn(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    tn_task *cur = tn_task_current(L);
    task_new(L, cur->run, cur, lua_gettop(L) - 1);
    return 1;
}

static void push_outcome(lua_State *L, tn_task *t)
{
    lua_State *co = t->co;
    switch (t->outcome) {
    case OUT_OK:
        lua_pushboolean(L, 1);
        luaL_checkstack(L, t->nres, "too many results");
        for (int i = 1; i <= t->nres; i++)
            lua_pushvalue(co, t->res_base + i);
        lua_xmove(co, L, t->nres);
        break;
    case OUT_ERROR:
        lua_pushboolean(L, 0);
        lua_pushvalue(co, 1);
        lua_xmove(co, L, 1);
        break;
    case OUT_MEMLIMIT:
        lua_pushboolean(L, 0);
        /* t->run may be freed by now (a task kept from an earlier run). */
        tn_err_push(L, "limit", "memory limit of %d MiB exceeded",
                    (int)(engine_state_of(L)->mem_limit >> 20));
        break;
    default:
        lua_pushboolean(L, 0);
        tn_err_push(L, "canceled", "the task was canceled");
        break;
    }
}

static int push_results_count(tn_task *t)
{
    return t->outcome == OUT_OK ? 1 + t->nres : 2;
}

static void waiter_free_cb(uv_handle_t *h)
{
    free(h->data);
}

static void waiter_free(waiter *w)
{
    if (w->timed) {
        w->timer.data = w;
        uv_close((uv_handle_t *)&w->timer, waiter_free_cb);
    } else {
        free(w);
    }
}

static void waiter_unlink(waiter *w)
{
    for (waiter **p = &w->target->waiters; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            break;
        }
}

static int wait_push(lua_State *L, void *op)
{
    waiter *w = op;
    int n = 0;
    if (L) {
        if (w->timed_out) {
            lua_pushliteral(L, "timeout");
            n = 1;
        } else {
            lua_pushliteral(L, "done");
            push_outcome(L, w->target);
            n = 1 + push_results_count(w->target);
        }
    }
    waiter_free(w);
    return n;
}

static void waiter_wake_all(tn_task *t)
{
    waiter *w = t->waiters;
    t->waiters = NULL;
    while (w) {
        waiter *next = w->next;
        if (w->timed)
            uv_timer_stop(&w->timer);
        /* The target's userdata must outlive the hand-off: the waiter's push
         * reads its results; the waiting task holds a reference to it. */
        tn_task_wake(w->task, wait_push, w);
        w = next;
    }
}

static void wait_timeout_cb(uv_timer_t *h)
{
    waiter *w = h->data;
    waiter_unlink(w);
    w->timed_out = 1;
    tn_task_wake(w->task, wait_push, w);
}

static void wait_cancel(void *op)
{
    waiter *w = op;
    waiter_unlink(w);
    if (w->timed)
        uv_timer_stop(&w->timer);
    waiter_free(w);
}

/* t:__wait([timeout]) -> "done", ok, ... | "timeout".  The target stays
 * referenced from the waiting task's stack (argument 1) until it resumes. */
static int l_wait(lua_State *L)
{
    tn_task *t = luaL_checkudata(L, 1, task_mt);
    double timeout = luaL_optnumber(L, 2, -1);
    if (t->status == T_DONE) {
        lua_pushliteral(L, "done");
        push_outcome(L, t);
        return 1 + push_results_count(t);
    }
    tn_task *cur = tn_task_current(L);
    if (cur == t)
        return luaL_error(L, "a task cannot wait for itself");
    waiter *w = calloc(1, sizeof *w);
    if (!w)
        return luaL_error(L, "out of memory");
    w->task = cur;
    w->target = t;
    w->next = t->waiters;
    t->waiters = w;
    /* No timeout, or math.huge: wait as long as it takes. */
    uint64_t ms = timeout >= 0 ? tn_secs_to_ms(timeout) : TN_MS_FOREVER;
    if (ms != TN_MS_FOREVER) {
        w->timed = 1;
        uv_timer_init(tn_loop(), &w->timer);
        w->timer.data = w;
        uv_timer_start(&w->timer, wait_timeout_cb, ms, 0);
    }
    lua_settop(L, 1); /* keep the target alive while waiting */
    return tn_task_suspend(L, cur, wait_cancel, w);
}

static int l_cancel(lua_State *L)
{
    tn_task *t = luaL_checkudata(L, 1, task_mt);
    tn_state *st = engine_state_of(L);
    if (t->status == T_RUNNING || t == st->current) {
        tn_err_push(L, "canceled", "the task canceled itself");
        return lua_error(L);
    }
    task_cancel(t);
    return 0;
}

static int l_status(lua_State *L)
{
    tn_task *t = luaL_checkudata(L, 1, task_mt);
    static const char *const names[] = {"pending", "running", "suspended", "pending", "done"};
    if (t->status == T_DONE) {
        static const char *const outs[] = {"done", "done", "failed", "canceled", "failed"};
        lua_pushstring(L, outs[t->outcome]);
    } else {
        lua_pushstring(L, names[t->status]);
    }
    return 1;
}

static int l_current(lua_State *L)
{
    tn_state *st = engine_state_of(L);
    if (!st->current)
        return 0;
    lua_rawgeti(L, LUA_REGISTRYINDEX, st->current->self_ref);
    return 1;
}

int task_lua_open(lua_State *L)
{
    if (luaL_newmetatable(L, task_mt)) {
        static const luaL_Reg methods[] = {
            {"__wait", l_wait}, {"cancel", l_cancel}, {"status", l_status}, {NULL, NULL}};
        lua_pushcfunction(L, task_gc);
        lua_setfield(L, -2, "__gc");
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushliteral(L, "task");
        lua_setfield(L, -2, "__name");
        /* getmetatable(t) would hand out __gc (unanchoring a live task's
         * thread) and the methods table. */
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
    if (lua_getfield(L, LUA_REGISTRYINDEX, TASK_THREADS) != LUA_TTABLE) {
        lua_newtable(L); /* weak keys: a thread set */
        lua_pushliteral(L, "k");
        lua_setfield(L, -2, "__mode");
        lua_pushvalue(L, -1);
        lua_setmetatable(L, -2);
        lua_setfield(L, LUA_REGISTRYINDEX, TASK_THREADS);
    }
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {{"spawn", l_spawn}, {"current", l_current}, {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}

/* ---- runs ------------------------------------------------------------ */

static int start_root_protected(lua_State *M)
{
    tn_run *r = lua_touserdata(M, lua_upvalueindex(1));
    r->root = task_new(M, r, NULL, lua_gettop(M) - 1);
    return 0;
}

int task_start_root(tn_run *r, int nargs)
{
    lua_State *M = r->st->L;
    lua_pushlightuserdata(M, r);
    lua_pushcclosure(M, start_root_protected, 1);
    lua_insert(M, -(nargs + 2));
    if (lua_pcall(M, nargs + 1, 0, 0) != LUA_OK) {
        lua_pop(M, 1);
        r->st->mem_exceeded = 0;
        return -1;
    }
    return 0;
}

void task_release_root(tn_run *r)
{
    luaL_unref(r->st->L, LUA_REGISTRYINDEX, r->root->self_ref);
    r->root->self_ref = LUA_NOREF;
}
