/* clock.c — the incident clock (clock.h).  A look is one CLAIM request to
 * the store; what it claims becomes one run of clock.lua, which notifies and
 * prints one line per deadline ("done ID TEXT", or "draft ID INCIDENT" for a
 * post-mortem draft, written here); each line becomes a DONE request. */
#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "json.h"
#include "list.h"
#include "postmortem.h"
#include "run.h"

#define LEASE_SECS 300.0 /* longer than a notify's retries with their timeouts */
#define MAX_FIRING 8

typedef struct firing {
    list_node node;
    tn_run *run;
    int done;
} firing;

typedef struct draft {
    list_node node;
    long long deadline, incident;
    int started;
} draft;

static struct {
    int on, stopping, draining;
    clock_opts o;
    tn_settings settings;
    tn_state *st;
    uv_timer_t look, reap, drain;
    int claiming, again;
    int failing;      /* the last claim failed (said once) */
    char failed[256]; /* why, while failing */
    list_node firing, drafts;
    int nfiring, ndrafts;
    char owner[160];
} clk;

static void look(uv_timer_t *t);

/* A problem of the clock's own: the daemon's JSON log, or stderr. */
static void say(const char *what, const char *err)
{
    char msg[1400];
    snprintf(msg, sizeof msg, "the incident clock %s: %s", what, err);
    if (clk.o.error)
        clk.o.error(msg, clk.o.report_ud);
    else
        fprintf(stderr, "tocsin: %s\n", msg);
}

const char *clock_failing(void)
{
    return clk.on && clk.failing ? clk.failed : NULL;
}

static double now_secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void look_in(double secs)
{
    if (!clk.on || clk.stopping)
        return;
    uint64_t ms = secs <= 0 ? 0 : (uint64_t)(secs * 1000) + 1;
    uv_timer_start(&clk.look, look, ms, 0);
}

static int busy(void)
{
    return clk.claiming || clk.nfiring || clk.ndrafts;
}

/* ---- done: what a deadline did goes on the timeline ---------------------- */

static void done_answered(store_req *r)
{
    free(r->text);
    free(r);
}

static void mark_done(long long deadline, const char *text)
{
    if (clk.o.report && text)
        clk.o.report(text, clk.o.report_ud);
    store_req *r = calloc(1, sizeof *r);
    if (!r)
        return; /* its lease ends and it fires again: better twice than never */
    r->type = STORE_DL_DONE;
    r->id = deadline;
    r->text = text ? strdup(text) : NULL;
    r->done = done_answered;
    if (store_submit(clk.o.db, r) < 0)
        done_answered(r);
}

/* ---- post-mortem drafts --------------------------------------------------- */

static void draft_rendered(int ok, const char *text, size_t len, const char *err, void *ud)
{
    draft *d = ud;
    char msg[4600];
    buf_t path = BUF_INIT;
    char werr[512];
    if (ok &&
        postmortem_write_draft(clk.o.cfg, d->incident, text, len, &path, werr, sizeof werr) == 0)
        snprintf(msg, sizeof msg, "post-mortem draft: %s", buf_str(&path));
    else
        snprintf(msg, sizeof msg, "post-mortem draft failed: %.4000s", ok ? werr : err);
    mark_done(d->deadline, msg);
    buf_free(&path);
    list_remove(&d->node);
    free(d);
    clk.ndrafts--;
    look_in(0);
}

static void start_drafts(void)
{
    list_node *n, *nx;
    LIST_FOREACH_SAFE(n, nx, &clk.drafts)
    {
        draft *d = LIST_ENTRY(n, draft, node);
        if (d->started)
            continue;
        d->started = 1;
        char err[512];
        int rc =
            postmortem_render(clk.o.cfg, clk.o.db, d->incident, draft_rendered, d, err, sizeof err);
        if (rc != 0) {
            char msg[600];
            snprintf(msg, sizeof msg, "post-mortem draft failed: %s",
                     rc > 0 ? "no such incident" : err);
            mark_done(d->deadline, msg);
            list_remove(&d->node);
            free(d);
            clk.ndrafts--;
        }
    }
}

/* ---- firing runs ----------------------------------------------------------- */

static void reap(uv_timer_t *t);

/* The script's lines: "done ID TEXT" and "draft ID INCIDENT". */
static void on_event(const tn_event *ev, void *ud)
{
    (void)ud;
    if (ev->type != TN_EV_PRINT) {
        if (clk.o.on_event)
            clk.o.on_event(ev, clk.o.event_ud);
        return;
    }
    char line[4096];
    snprintf(line, sizeof line, "%.*s", (int)(ev->len < 4000 ? ev->len : 4000), ev->text);
    long long id = 0, inc = 0;
    int off = 0;
    if (sscanf(line, "done %lld %n", &id, &off) == 1 && off > 0) {
        mark_done(id, line + off);
    } else if (sscanf(line, "draft %lld %lld", &id, &inc) == 2) {
        draft *d = calloc(1, sizeof *d);
        if (!d)
            return;
        d->deadline = id;
        d->incident = inc;
        list_push_back(&clk.drafts, &d->node);
        clk.ndrafts++;
        uv_timer_start(&clk.reap, reap, 0, 0); /* started outside the Lua that printed */
    }
}

static void reap(uv_timer_t *t)
{
    (void)t;
    list_node *n, *nx;
    LIST_FOREACH_SAFE(n, nx, &clk.firing)
    {
        firing *f = LIST_ENTRY(n, firing, node);
        if (!f->done)
            continue;
        list_remove(n);
        tn_run_free(f->run);
        free(f);
        clk.nfiring--;
    }
    if (!clk.stopping)
        start_drafts();
    look_in(0);
}

static void run_done(tn_run *r, void *ud)
{
    (void)r;
    firing *f = ud;
    f->done = 1;
    uv_timer_start(&clk.reap, reap, 0, 0); /* the run is freed after this returns */
}

static void push_deadlines(lua_State *L, void *ud)
{
    const char *json = ud;
    lua_createtable(L, 0, 1);
    if (tn_json_decode(L, json, strlen(json)) < 0) {
        lua_pop(L, 1);
        lua_newtable(L);
    }
    lua_setfield(L, -2, "deadlines");
}

static void fire(const char *json)
{
    char err[1024];
    /* The firing state is made on the first firing: most CLI runs have
     * nothing due and pay nothing for it. */
    if (!clk.st) {
        clk.st = tn_state_new("embedded:clock", &clk.settings, err, sizeof err);
        if (clk.st && tn_state_load(clk.st, err, sizeof err) != 0) {
            tn_state_free(clk.st);
            clk.st = NULL;
        }
        if (!clk.st) {
            say("cannot fire", err);
            return;
        }
    }
    firing *f = calloc(1, sizeof *f);
    if (!f)
        return;
    tn_run_opts o = {.on_event = on_event, .on_done = run_done, .ud = f, .trigger = "clock"};
    run_launch_opts lo = {
        .push_params = push_deadlines, .params_ud = (void *)json, .trigger = "clock"};
    if (run_launch(clk.st, &lo, &o, &f->run, err, sizeof err) < 0) {
        say("cannot fire", err);
        free(f);
        return;
    }
    list_push_back(&clk.firing, &f->node);
    clk.nfiring++;
}

/* ---- looking -------------------------------------------------------------- */

static void claimed(store_req *r)
{
    char *json = r->json;
    int rc = r->rc;
    double next = r->next_due;
    char err[256];
    snprintf(err, sizeof err, "%s", r->err);
    free(r);
    if (!clk.on || clk.stopping) {
        free(json);
        if (clk.on)
            clk.claiming = 0;
        return;
    }
    clk.claiming = 0;
    int rows = rc == 0 && json && strcmp(json, "[]") != 0;
    /* Said once while it lasts: the clock looks again every second. */
    if (rc != 0 && !clk.failing)
        say("cannot read its deadlines", err);
    clk.failing = rc != 0;
    snprintf(clk.failed, sizeof clk.failed, "%s", rc != 0 ? err : "");
    if (rows)
        fire(json);
    free(json);
    if (rows || clk.again) {
        clk.again = 0;
        look_in(0); /* there may be more than one claim's worth */
        return;
    }
    if (clk.draining && !busy()) {
        uv_stop(tn_loop());
        return;
    }
    double poll = clk.o.poll > 0 ? clk.o.poll : 1;
    double wait = next > 0 ? next - now_secs() : poll;
    look_in(wait < poll ? wait : poll);
}

static void look(uv_timer_t *t)
{
    (void)t;
    if (!clk.on || clk.stopping)
        return;
    if (clk.claiming || clk.nfiring >= MAX_FIRING) {
        clk.again = 1; /* looked at again when the claim or a run ends */
        return;
    }
    store_req *r = calloc(1, sizeof *r);
    if (!r) {
        look_in(1);
        return;
    }
    r->type = STORE_DL_CLAIM;
    r->owner = clk.owner;
    r->lease = LEASE_SECS;
    r->done = claimed;
    clk.claiming = 1;
    if (store_submit(clk.o.db, r) < 0) {
        clk.claiming = 0;
        free(r);
        look_in(1);
    }
}

int clock_start(const clock_opts *o, char *err, size_t errlen)
{
    if (clk.on) {
        snprintf(err, errlen, "the incident clock is already running");
        return -1;
    }
    memset(&clk, 0, sizeof clk);
    clk.o = *o;
    clk.settings = o->cfg->settings;
    clk.settings.dry_run = 0;
    clk.settings.assume_yes = 0;
    list_init(&clk.firing);
    list_init(&clk.drafts);
    char host[128] = "?";
    gethostname(host, sizeof host - 1);
    snprintf(clk.owner, sizeof clk.owner, "%s:%d", host, (int)getpid());
    uv_timer_init(tn_loop(), &clk.look);
    uv_timer_init(tn_loop(), &clk.reap);
    uv_timer_init(tn_loop(), &clk.drain);
    /* The clock never keeps a process alive by itself: the daemon has its
     * server, the CLI drains before it exits. */
    uv_unref((uv_handle_t *)&clk.look);
    uv_unref((uv_handle_t *)&clk.reap);
    uv_unref((uv_handle_t *)&clk.drain);
    clk.on = 1;
    look_in(0);
    return 0;
}

void clock_set_config(const tn_config *cfg)
{
    if (!clk.on)
        return;
    /* The firing state reads its library and template folders through
     * &clk.settings: they now point into cfg (the old config may be freed). */
    clk.o.cfg = cfg;
    clk.settings = cfg->settings;
    clk.settings.dry_run = 0;
    clk.settings.assume_yes = 0;
}

void clock_kick(void)
{
    look_in(0);
}

static void drain_over(uv_timer_t *t)
{
    (void)t;
    uv_stop(tn_loop());
}

void clock_drain(double max_secs)
{
    if (!clk.on)
        return;
    clk.draining = 1;
    /* The bound is what keeps the loop running: the clock's own timer never
     * does (claimed() stops the loop once nothing is due). */
    uv_ref((uv_handle_t *)&clk.drain);
    uv_timer_start(&clk.drain, drain_over, (uint64_t)(max_secs * 1000), 0);
    look_in(0);
    uv_run(tn_loop(), UV_RUN_DEFAULT);
    uv_timer_stop(&clk.drain);
    uv_unref((uv_handle_t *)&clk.drain);
    clk.draining = 0;
}

static void guard_over(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

void clock_stop(void)
{
    if (!clk.on)
        return;
    clk.stopping = 1;
    uv_timer_stop(&clk.look);
    list_node *n;
    LIST_FOREACH(n, &clk.firing)
    {
        firing *f = LIST_ENTRY(n, firing, node);
        if (!f->done)
            tn_run_cancel(f->run);
    }
    list_node *nx;
    LIST_FOREACH_SAFE(n, nx, &clk.drafts)
    {
        draft *d = LIST_ENTRY(n, draft, node);
        if (!d->started) { /* its lease ends and another look writes it */
            list_remove(n);
            free(d);
            clk.ndrafts--;
        }
    }
    /* Let the cancelled runs, drafts in progress and an outstanding claim
     * end (bounded: their deadlines are taken over when the lease ends). */
    int over = 0;
    uv_timer_t guard;
    uv_timer_init(tn_loop(), &guard);
    guard.data = &over;
    uv_timer_start(&guard, guard_over, 3000, 0);
    while (!over && busy()) {
        reap(NULL);
        if (!busy())
            break;
        uv_run(tn_loop(), UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&guard, NULL);
    reap(NULL);
    uv_close((uv_handle_t *)&clk.look, NULL);
    uv_close((uv_handle_t *)&clk.reap, NULL);
    uv_close((uv_handle_t *)&clk.drain, NULL);
    uv_run(tn_loop(), UV_RUN_NOWAIT);
    /* Whatever did not end in time is left to the process's exit. */
    if (!clk.nfiring) {
        tn_state_free(clk.st);
        clk.st = NULL;
    }
    clk.on = 0;
}
