/* lua_runs_unhooked_in_sessions.c — Lua the scheduler runs (a file's top
 * level, a task's slices, coroutines they resume) has no hook, so it runs at
 * the interpreter's full speed; code outside those sessions keeps the count
 * hook; and a run spinning without a hook is still stopped by its CPU budget,
 * soon after the budget is spent (the watchdog armed the hook). */
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "modules.h"
#include "run.h"

#include "check.h"

#define NPROBES 16
static int masks[NPROBES];
static int nprobes;

/* probe(): the hook mask of the thread that calls it, recorded in order. */
static int probe(lua_State *L)
{
    if (nprobes < NPROBES)
        masks[nprobes++] = lua_gethookmask(L);
    return 0;
}

static int ndone;
static void on_done(tn_run *r, void *ud)
{
    (void)r;
    (void)ud;
    ndone++;
    uv_stop(tn_loop());
}

static char *write_file(const char *text)
{
    char *path = strdup("/tmp/tocsin-unhooked-XXXXXX.lua");
    int fd = mkstemps(path, 4);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        abort();
    close(fd);
    return path;
}

static const char probes[] =
    "probe()                                                  -- 1 top level\n"
    "coroutine.wrap(function() probe() end)()                 -- 2 its coroutine\n"
    "local later = coroutine.create(function() probe() end)\n"
    "return { name = 'probes', run = function()\n"
    "  probe()                                                -- 3 the task\n"
    "  coroutine.wrap(function()\n"
    "    coroutine.wrap(function() probe() end)()             -- 4 two deep\n"
    "    probe()                                              -- 5 back one\n"
    "  end)()\n"
    "  probe()                                                -- 6 back in the task\n"
    "  assert(coroutine.resume(later))                        -- 7 made at load\n"
    "  time.sleep(0)\n"
    "  probe()                                                -- 8 a later slice\n"
    "  task.spawn(probe):wait()                               -- 9 another task\n"
    "  local ok = pcall(error, 'x')\n"
    "  probe()                                                -- 10 after an error\n"
    "  return not ok\n"
    "end }\n";

static const char spin[] = "return { name = 'spin', limits = { cpu = 0.3 }, run = function()\n"
                           "  local co = coroutine.wrap(function() while true do end end)\n"
                           "  while true do pcall(co) end\n"
                           "end }\n";

static tn_state *load(const char *path, const tn_settings *s)
{
    char err[512];
    tn_state *st = tn_state_new(path, s, err, sizeof err);
    if (!st) {
        fprintf(stderr, "new %s: %s\n", path, err);
        exit(1);
    }
    lua_rawgeti(st->L, LUA_REGISTRYINDEX, st->env_ref);
    lua_pushcfunction(st->L, probe);
    lua_setfield(st->L, -2, "probe");
    lua_pop(st->L, 1);
    if (tn_state_load(st, err, sizeof err) != 0) {
        fprintf(stderr, "load %s: %s\n", path, err);
        exit(1);
    }
    return st;
}

static tn_run *launch(tn_state *st)
{
    char err[512];
    tn_run *r = NULL;
    run_launch_opts lo = {.trigger = "cli"};
    tn_run_opts ro = {.on_done = on_done};
    if (run_launch(st, &lo, &ro, &r, err, sizeof err) != 0) {
        fprintf(stderr, "launch: %s\n", err);
        exit(1);
    }
    uv_run(tn_loop(), UV_RUN_DEFAULT);
    return r;
}

int main(void)
{
    tn_settings settings = {.cpu_limit = 10, .mem_limit = 64u << 20};
    char *pp = write_file(probes), *ps = write_file(spin);

    tn_state *st = load(pp, &settings);
    CHECK(nprobes == 2);
    /* Outside a session the state's threads keep the count hook. */
    CHECK(lua_gethookmask(st->L) == LUA_MASKCOUNT);
    tn_run *r = launch(st);
    CHECK(ndone == 1 && tn_run_done(r) && tn_run_ok(r));
    CHECK(nprobes == 10);
    for (int i = 0; i < nprobes; i++) {
        if (masks[i] != 0)
            fprintf(stderr, "probe %d ran with hook mask %d\n", i + 1, masks[i]);
        CHECK(masks[i] == 0);
    }
    CHECK(lua_gethookmask(st->L) == LUA_MASKCOUNT);
    tn_run_free(r);

    /* No hook while it spins: only the watchdog can stop it, and does,
     * within a generous bound of the 0.3 s budget (a loaded machine can
     * delay the watchdog's thread). */
    tn_state *ss = load(ps, &settings);
    uint64_t t0 = uv_hrtime();
    r = launch(ss);
    double secs = (uv_hrtime() - t0) / 1e9;
    CHECK(ndone == 2 && tn_run_done(r) && !tn_run_ok(r));
    CHECK(r->limit && r->cpu_exceeded);
    CHECK(r->error && strstr(r->error, "CPU limit of 0.3s") != NULL);
    CHECK(secs >= 0.3 && secs < 5);
    printf("spin stopped after %.3f s (budget 0.3 s)\n", secs);
    tn_run_free(r);

    modules_shutdown();
    tn_state_free(st);
    tn_state_free(ss);
    unlink(pp);
    unlink(ps);
    free(pp);
    free(ps);
    return check_report();
}
