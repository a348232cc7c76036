/* time_lua.c — the `time` module: time.sleep (a uv timer per sleeping task),
 * time.now (Unix seconds) and time.monotonic. */
#include "time_lua.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <time.h>

#include "task.h"
#include "util.h"

typedef struct {
    uv_timer_t timer;
    tn_task *task;
} sleeper;

static void sleeper_free(uv_handle_t *h)
{
    free(h->data);
}

static int sleep_push(lua_State *L, void *op)
{
    sleeper *s = op;
    uv_close((uv_handle_t *)&s->timer, sleeper_free);
    (void)L;
    return 0;
}

static void sleep_done(uv_timer_t *h)
{
    sleeper *s = h->data;
    tn_task_wake(s->task, sleep_push, s);
}

static void sleep_cancel(void *op)
{
    sleeper *s = op;
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, sleeper_free);
}

/* time.sleep(seconds): math.huge (or anything past ~584 million years) means
 * no limit: the task sleeps, with no timer at all, until it is cancelled (a
 * task.timeout around it, ^C). */
static int l_sleep(lua_State *L)
{
    double secs = luaL_checknumber(L, 1);
    if (!(secs >= 0))
        return luaL_argerror(L, 1, "seconds must be a non-negative number");
    uint64_t ms = tn_secs_to_ms(secs);
    tn_task *t = tn_task_current(L);
    sleeper *s = malloc(sizeof *s);
    if (!s)
        return luaL_error(L, "out of memory");
    s->task = t;
    uv_timer_init(tn_loop(), &s->timer);
    s->timer.data = s;
    if (ms != TN_MS_FOREVER)
        uv_timer_start(&s->timer, sleep_done, ms, 0);
    return tn_task_suspend(L, t, sleep_cancel, s);
}

static int l_now(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lua_pushnumber(L, ts.tv_sec + ts.tv_nsec / 1e9);
    return 1;
}

static int l_monotonic(lua_State *L)
{
    lua_pushnumber(L, uv_hrtime() / 1e9);
    return 1;
}

int time_lua_open(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"sleep", l_sleep}, {"now", l_now}, {"monotonic", l_monotonic}, {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}
