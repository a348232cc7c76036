/* run.c — runs: starting one (the root task of a tree), what it reports
 * (tn_run_action/log/call/prompt become events), how it ends, and the
 * assembly of a run from a loaded runbook, its params and its trigger — the
 * one path the CLI and the daemon both take. */
#include "run.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "events.h"
#include "redact.h"
#include "util.h"

static void run_new_id(char *out, size_t n)
{
    static unsigned seq;
    snprintf(out, n, "run-%lx-%x-%u", (unsigned long)time(NULL), (unsigned)getpid(), ++seq);
}

tn_run *tn_run_start(tn_state *st, int nargs, const tn_run_opts *o)
{
    tn_run *r = calloc(1, sizeof *r);
    if (!r) {
        lua_pop(st->L, nargs + 1);
        return NULL;
    }
    r->st = st;
    list_init(&r->tasks);
    r->dry_run = o->dry_run;
    r->assume_yes = o->assume_yes;
    r->on_event = o->on_event;
    r->event_ud = o->event_ud;
    r->on_done = o->on_done;
    r->ud = o->ud;
    r->cpu_limit_ns = (uint64_t)(st->cpu_limit * 1e9);
    r->started_ns = uv_hrtime();
    if (o->id)
        snprintf(r->id, sizeof r->id, "%s", o->id);
    else
        run_new_id(r->id, sizeof r->id);
    r->trigger = o->trigger ? strdup(o->trigger) : NULL;
    r->params_json = o->params ? strdup(o->params) : NULL;
    if (task_start_root(r, nargs) < 0) {
        free(r->trigger);
        free(r->params_json);
        free(r);
        return NULL;
    }
    st->nruns++;
    tn_event ev = {.type = TN_EV_RUN_START, .run = r, .dry_run = r->dry_run};
    ev.trigger = r->trigger;
    ev.params = r->params_json;
    events_emit(&ev);
    return r;
}

void run_finish(tn_run *r)
{
    r->done = 1;
    task_release_root(r);
    r->ended_ns = uv_hrtime();
    r->st->nruns--;
    tn_event ev = {.type = TN_EV_RUN_END, .run = r};
    ev.ok = r->ok;
    ev.duration = (double)(r->ended_ns - r->started_ns) / 1e9;
    ev.error = r->error;
    ev.limit = r->limit;
    ev.canceled = r->canceled;
    ev.steps_failed = r->steps_failed;
    ev.dry_run = r->dry_run;
    ev.nactions = r->nactions;
    ev.actions = (const char *const *)r->actions;
    events_emit(&ev);
    if (r->on_done)
        r->on_done(r, r->ud);
}

void tn_run_cancel(tn_run *r)
{
    if (!r->done)
        task_cancel(r->root);
}

int tn_run_done(const tn_run *r)
{
    return r->done;
}

int tn_run_ok(const tn_run *r)
{
    return r->ok;
}

void tn_run_free(tn_run *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->nactions; i++)
        free(r->actions[i]);
    free(r->actions);
    free(r->error);
    free(r->trigger);
    free(r->params_json);
    free(r);
}

int tn_run_is_dry(const tn_run *r)
{
    return r->dry_run;
}

/* ---- what primitives report ------------------------------------------- */

void tn_run_action(tn_run *r, const char *what, const char *text)
{
    /* Kept for the run's summary (and its record), redacted now: the list
     * outlives this call and is handed around. */
    buf_t b = BUF_INIT;
    buf_fmt(&b, "%s: %s", what, text);
    size_t n;
    char *line = buf_take(&b, &n);
    char *red = line ? redact_dup(line, n, NULL) : NULL;
    free(line);
    char **a = red ? realloc(r->actions, (size_t)(r->nactions + 1) * sizeof *a) : NULL;
    if (a) {
        r->actions = a;
        a[r->nactions++] = red;
    } else {
        free(red);
        tn_run_log(r, "error", "out of memory recording a dry-run action", NULL, NULL);
    }
    tn_event ev = {.type = TN_EV_ACTION, .run = r, .kind = what, .text = text};
    ev.len = strlen(text);
    events_emit(&ev);
}

void tn_run_log(tn_run *r, const char *level, const char *msg, const char *key, const char *value)
{
    if (!key) {
        events_log(r, level, msg, NULL, NULL);
        return;
    }
    /* One field as a JSON object; both strings are plain text here. */
    buf_t b = BUF_INIT;
    buf_addc(&b, '{');
    buf_add_json(&b, key, strlen(key));
    buf_addc(&b, ':');
    buf_add_json(&b, value ? value : "", value ? strlen(value) : 0);
    buf_addc(&b, '}');
    buf_t t = BUF_INIT;
    buf_fmt(&t, "%s=", key);
    if (value && (!*value || strpbrk(value, " \t\n\"=")))
        buf_add_json(&t, value, strlen(value));
    else
        buf_addstr(&t, value ? value : "");
    events_log(r, level, msg, b.failed ? NULL : buf_str(&b), t.failed ? NULL : buf_str(&t));
    buf_free(&b);
    buf_free(&t);
}

void tn_run_call(tn_run *r, const char *kind, const char *target, double secs, const char *outcome)
{
    tn_event ev = {.type = TN_EV_CALL, .run = r, .kind = kind, .target = target};
    ev.duration = secs;
    ev.outcome = outcome;
    events_emit(&ev);
}

void tn_run_prompt(tn_run *r, int begin)
{
    tn_event ev = {.type = TN_EV_PROMPT, .run = r, .begin = begin};
    events_emit(&ev);
}

/* ---- assembly ----------------------------------------------------------- */

typedef struct {
    tn_state *st;
    const run_launch_opts *lo;
    const char *run_id;
    int dry_run;
    int script;
} launch_args;

/* On the state's main thread, protected: internals.prepare(target, params,
 * sets, run_id, dry_run, trigger, alert) returns the root function. */
static int launch_protected(lua_State *L)
{
    launch_args *a = lua_touserdata(L, 1);
    const run_launch_opts *lo = a->lo;
    lua_getfield(L, LUA_REGISTRYINDEX, "tocsin.internals");
    lua_getfield(L, -1, a->script ? "prepare_script" : "prepare");
    lua_rawgeti(L, LUA_REGISTRYINDEX, a->script ? a->st->chunk_ref : a->st->runbook_ref);
    if (lo && lo->push_params)
        lo->push_params(L, lo->params_ud);
    else
        lua_newtable(L);
    lua_newtable(L);
    for (int i = 0; lo && lo->sets && lo->sets[i]; i++) {
        const char *kv = lo->sets[i], *eq = strchr(kv, '=');
        if (!eq)
            return luaL_error(L, "--set takes key=value (got '%s')", kv);
        lua_pushlstring(L, kv, (size_t)(eq - kv));
        lua_pushstring(L, eq + 1);
        lua_settable(L, -3);
    }
    lua_pushstring(L, a->run_id);
    lua_pushboolean(L, a->dry_run);
    lua_pushstring(L, lo && lo->trigger ? lo->trigger : "cli");
    if (lo && lo->alert_json) {
        if (tn_json_decode(L, lo->alert_json, strlen(lo->alert_json)) < 0)
            return luaL_error(L, "the alert is not valid JSON: %s", lua_tostring(L, -1));
    } else {
        lua_pushnil(L);
    }
    lua_call(L, 7, 2);
    return 2;
}

static int launch(tn_state *st, int script, const run_launch_opts *lo, const tn_run_opts *o,
                  tn_run **out, char *err, size_t errlen)
{
    lua_State *M = st->L;
    char id[40];
    if (o->id)
        snprintf(id, sizeof id, "%s", o->id);
    else
        run_new_id(id, sizeof id);
    launch_args a = {st, lo, id, o->dry_run, script};
    lua_pushcfunction(M, launch_protected);
    lua_pushlightuserdata(M, &a);
    if (lua_pcall(M, 1, 2, 0) != LUA_OK) {
        const char *m = lua_tostring(M, -1);
        char *red = redact_dup(m ? m : "invalid params", strlen(m ? m : "invalid params"), NULL);
        snprintf(err, errlen, "%s", red ? red : "invalid params");
        free(red);
        lua_pop(M, 1);
        st->mem_exceeded = 0;
        return RUN_EUSAGE;
    }
    /* Stack: the root function, ctx.params as JSON (or nil). */
    char *params = lua_type(M, -1) == LUA_TSTRING ? strdup(lua_tostring(M, -1)) : NULL;
    lua_pop(M, 1);
    tn_run_opts o2 = *o;
    o2.id = id;
    o2.trigger = lo && lo->trigger ? lo->trigger : "cli";
    o2.params = params;
    *out = tn_run_start(st, 0, &o2);
    free(params);
    if (!*out) {
        snprintf(err, errlen, "out of memory starting a run of %s", st->name);
        return -1;
    }
    return 0;
}

int run_launch(tn_state *st, const run_launch_opts *lo, const tn_run_opts *o, tn_run **out,
               char *err, size_t errlen)
{
    if (st->runbook_ref == LUA_NOREF) {
        snprintf(err, errlen, "%s: not a loaded runbook", st->path);
        return -1;
    }
    return launch(st, 0, lo, o, out, err, errlen);
}

int run_launch_script(tn_state *st, const run_launch_opts *lo, const tn_run_opts *o, tn_run **out,
                      char *err, size_t errlen)
{
    return launch(st, 1, lo, o, out, err, errlen);
}
