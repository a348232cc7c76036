/* engine_cpu.c — the CPU budget of runbook code. Where the scheduler runs
 * Lua (a task's slice, a file's top level) it runs at full speed, with no
 * hook, and the watchdog arms the hook when the slice's deadline passes;
 * everywhere else (code the host calls outside a slice) a count hook looks
 * at the clock every HOOK_COUNT instructions, as it used to everywhere.
 *
 * Why not the count hook everywhere: once a thread has a count hook, Lua 5.4
 * calls into the debug interface before every instruction (luaG_traceexec),
 * whatever the count, which halves the speed of plain Lua loops.
 * lua_sethook is safe to call asynchronously (lua.c does it from its SIGINT
 * handler): the watchdog's signal handler, on the loop thread, does it to the
 * thread running at full speed. */
#include <lauxlib.h>
#include <stdatomic.h>
#include <stdio.h>

#include "engine.h"
#include "run.h"
#include "util.h"
#include "watchdog.h"

#define HOOK_COUNT 1000
#define OUTSIDE_HOOKS 100000 /* x HOOK_COUNT instructions: about a second */

volatile sig_atomic_t engine_interrupted;

/* The thread running at full speed (no hook), or NULL. Written on the loop
 * thread only; read by the watchdog's handler, which interrupts the loop
 * thread: whenever the loop thread changes a fast thread's hook it sets this
 * to NULL first, so the handler never writes a hook that is being changed,
 * and it looks at fast_armed afterwards, so a signal that came meanwhile is
 * not lost. */
static lua_State *volatile fast_L;
static volatile sig_atomic_t fast_armed; /* the handler ran during this session */
static tn_state *fast_st;                /* the session's state and deadline */
static uint64_t fast_deadline;

static void cpu_hook(lua_State *L, lua_Debug *ar);

static void fence(void)
{
    atomic_signal_fence(memory_order_seq_cst); /* the handler runs on this thread */
}

static void arm(lua_State *L)
{
    lua_sethook(L, cpu_hook, LUA_MASKCOUNT, 1);
}

static void on_due(void) /* in the watchdog's signal handler */
{
    fast_armed = 1;
    fence();
    lua_State *L = fast_L;
    if (L)
        arm(L);
}

/* Makes `to` (or nothing) the thread that runs at full speed. */
static void fast_set(lua_State *to)
{
    fast_L = NULL;
    fence();
    if (to)
        lua_sethook(to, NULL, 0, 0);
    fence();
    fast_L = to;
    fence();
    if (to && fast_armed)
        arm(to);
}

void engine_cpu_hook(lua_State *L)
{
    lua_sethook(L, cpu_hook, LUA_MASKCOUNT, HOOK_COUNT);
}

/* The hrtime at which st's running code is over its budget; 0 when it
 * already is, or when nothing but the count hook bounds it. */
static uint64_t deadline_of(tn_state *st)
{
    if (st->current) {
        tn_run *r = tn_task_run(st->current);
        if (r->cpu_exceeded || r->cpu_ns >= r->cpu_limit_ns)
            return 0;
        uint64_t left = r->cpu_limit_ns - r->cpu_ns;
        return left < UINT64_MAX - st->slice_start ? st->slice_start + left : UINT64_MAX;
    }
    return st->load_deadline;
}

void engine_cpu_enter(tn_state *st, lua_State *L, engine_cpu_session *s)
{
    s->L = L;
    s->fast = 0;
    s->prev_L = fast_L;
    s->prev_st = fast_st;
    s->prev_deadline = fast_deadline;
    uint64_t d = deadline_of(st);
    /* Without the watchdog, the count hook L has stays on. */
    if (!d || engine_interrupted || watchdog_start(on_due, &engine_interrupted) < 0)
        return;
    s->fast = 1;
    fast_st = st;
    fast_deadline = d;
    fast_armed = 0;
    watchdog_set(d);
    fast_set(L);
}

void engine_cpu_leave(engine_cpu_session *s)
{
    if (!s->fast)
        return;
    fast_set(NULL);
    engine_cpu_hook(s->L); /* outside the session, code on L is counted again */
    fast_st = s->prev_st;
    fast_deadline = s->prev_deadline;
    if (s->prev_L) {
        watchdog_set(fast_deadline);
        fast_set(s->prev_L);
    } else {
        watchdog_clear();
    }
}

void engine_cpu_limit_changed(tn_state *st)
{
    if (!fast_L || fast_st != st)
        return;
    uint64_t d = deadline_of(st);
    fast_deadline = d ? d : 1; /* already spent: the watchdog's next tick */
    watchdog_set(fast_deadline);
}

int engine_cpu_exceeded(lua_State *L)
{
    if (engine_interrupted)
        return 1;
    tn_state *st = engine_state_of(L);
    uint64_t now = uv_hrtime();
    if (st->current) {
        tn_run *r = tn_task_run(st->current);
        return r->cpu_exceeded || r->cpu_ns + (now - st->slice_start) > r->cpu_limit_ns;
    }
    if (st->load_deadline)
        return now > st->load_deadline;
    /* Runbook code the host runs outside any task: a __tostring of an
     * error value, __close handlers of a task cancelled from a callback.
     * Nothing else bounds it. */
    return ++st->outside_hooks > OUTSIDE_HOOKS;
}

int engine_cpu_raise(lua_State *L)
{
    tn_state *st = engine_state_of(L);
    if (engine_interrupted) {
        fast_armed = 1;
        arm(L);
        tn_err_push(L, "canceled", "interrupted by signal %d", (int)engine_interrupted);
    } else if (st->current) {
        tn_run *r = tn_task_run(st->current);
        r->cpu_exceeded = 1;
        /* From now on every instruction raises, so a pcall loop cannot
         * swallow the error and keep spinning; a coroutine the thread
         * resumes, or returns to, gets the same hook (fast_armed). */
        fast_armed = 1;
        arm(L);
        char secs[32];
        snprintf(secs, sizeof secs, "%g", st->cpu_limit);
        tn_err_push(L, "limit", "CPU limit of %ss of Lua execution exceeded in runbook %s", secs,
                    st->name);
    } else if (st->load_deadline) {
        fast_armed = 1;
        arm(L);
        tn_err_push(L, "limit", "CPU limit exceeded while loading %s", st->path);
    } else {
        tn_err_push(L, "limit", "CPU limit exceeded by code running outside a task in runbook %s",
                    st->name);
    }
    return lua_error(L);
}

static void cpu_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    if (engine_cpu_exceeded(L))
        engine_cpu_raise(L);
    if (L == fast_L) {
        /* Armed before the budget was spent: a signal for an earlier
         * deadline, or the limit was raised since. Back to full speed. */
        fast_armed = 0;
        fast_set(L);
    }
}

/* ---- coroutines --------------------------------------------------------
 * A coroutine the fast thread resumes runs at full speed too, in its place,
 * until it yields or ends; at other times it has the count hook, like every
 * thread outside a session. (The prelude's coroutine.resume and wrap go
 * through these; the stock coroutine.wrap, which resumes directly, is not in
 * the sandbox.) */

/* lcorolib.c's auxresume (Lua 5.4.4), unchanged. */
static int auxresume(lua_State *L, lua_State *co, int narg)
{
    int status, nres;
    if (luai_unlikely(!lua_checkstack(co, narg))) {
        lua_pushliteral(L, "too many arguments to resume");
        return -1; /* error flag */
    }
    lua_xmove(L, co, narg);
    status = lua_resume(co, L, narg, &nres);
    if (luai_likely(status == LUA_OK || status == LUA_YIELD)) {
        if (luai_unlikely(!lua_checkstack(L, nres + 1))) {
            lua_pop(co, nres); /* remove results anyway */
            lua_pushliteral(L, "too many results to resume");
            return -1; /* error flag */
        }
        lua_xmove(co, L, nres); /* move yielded values */
        return nres;
    } else {
        lua_xmove(co, L, 1); /* move error message */
        return -1;           /* error flag */
    }
}

static int co_resume(lua_State *L)
{
    lua_State *co = lua_tothread(L, 1);
    luaL_argexpected(L, co, 1, "coroutine");
    int fast = L == fast_L && co != L;
    if (fast)
        fast_set(co);
    int r = auxresume(L, co, lua_gettop(L) - 1);
    if (fast) {
        fast_set(L);
        engine_cpu_hook(co);
    }
    if (luai_unlikely(r < 0)) {
        lua_pushboolean(L, 0);
        lua_insert(L, -2);
        return 2; /* return false + error message */
    }
    lua_pushboolean(L, 1);
    lua_insert(L, -(r + 1));
    return r + 1; /* return true + 'resume' returns */
}

static int co_create(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_State *co = lua_newthread(L);
    engine_cpu_hook(co); /* not the no-hook of a fast creator */
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    return 1;
}

void engine_cpu_register_coroutine(lua_State *L)
{
    lua_pushcfunction(L, co_create);
    lua_setfield(L, -2, "create");
    lua_pushcfunction(L, co_resume);
    lua_setfield(L, -2, "resume");
}
