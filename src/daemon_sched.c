/* daemon_sched.c — the daemon's schedules (config `schedules`):
 *   { every = "30s", runbook = "health_check" }
 *   { cron = "*\/5 * * * *", tz = "America/Sao_Paulo", runbook = ... }
 * with overlap = "skip" (default: a tick while the previous run is alive is
 * dropped) | "queue" (it runs when that one ends; one waits at most) |
 * "allow", and missed = "skip" (default) | "once" (after downtime, a tick
 * that fell due while the daemon was down runs once at start), and params. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

#include "cron.h"
#include "daemon.h"
#include "json.h"
#include "tz.h"
#include "util.h"

typedef struct sched {
    uv_timer_t timer;
    char *runbook, *params, *what;
    double every; /* seconds, or 0 for cron */
    int has_cron;
    cron_expr cron;
    tz_zone *zone;
    int overlap; /* 0 skip, 1 queue, 2 allow */
    int missed;  /* 0 skip, 1 once */
    int running, queued;
    int64_t next_at; /* cron: the fire time the timer is armed for */
    long fired;
    int index; /* as d_run.schedule: unique across SIGHUPs, so the end of a
                  run started by a replaced schedule is not counted here */
} sched;

static sched **scheds;
static int nscheds;

static double now_secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void tick(uv_timer_t *t);

static void fire(sched *s, const char *why)
{
    if (s->running && s->overlap == 0) {
        daemon_log("info", "schedule tick skipped: the previous run is still going", "runbook",
                   s->runbook, "schedule", s->what, NULL);
        return;
    }
    if (s->running && s->overlap == 1) {
        s->queued = 1;
        return;
    }
    char id[40], err[512];
    int rc = daemon_start_run(s->runbook, "schedule", s->params, NULL, NULL, s->index, id,
                              sizeof id, err, sizeof err);
    if (rc != 0) {
        daemon_log("error", "scheduled run not started", "runbook", s->runbook, "schedule", s->what,
                   "error", err, NULL);
        return;
    }
    s->running++;
    s->fired++;
    (void)why;
}

/* Arms the timer for the next cron fire time (UTC seconds from now). */
static void arm_cron(sched *s)
{
    double now = now_secs();
    int64_t next, from = (int64_t)now;
    if (s->cron.reboot)
        return; /* @reboot: once at start, no times */
    if (from < s->next_at)
        from = s->next_at; /* never the fire time just served again */
    if (cron_next(&s->cron, s->zone, from, &next) < 0) {
        daemon_log("error", "schedule has no next fire time", "schedule", s->what, NULL);
        return;
    }
    s->next_at = next;
    /* The timer counts from the loop's clock, stale by whatever ran since
     * the loop last read it (a slow load, a reload): refreshed first. */
    uv_update_time(tn_loop());
    double wait = (double)next - now_secs();
    uv_timer_start(&s->timer, tick, tn_secs_to_ms(wait > 0 ? wait : 0), 0);
}

static void tick(uv_timer_t *t)
{
    sched *s = t->data;
    double early = s->has_cron ? (double)s->next_at - now_secs() : 0;
    if (early > 0) { /* the loop's clock ran ahead of the wall clock: not yet */
        uv_update_time(tn_loop());
        uv_timer_start(&s->timer, tick, tn_secs_to_ms(early), 0);
        return;
    }
    fire(s, "tick");
    if (s->has_cron)
        arm_cron(s);
}

static sched *sched_by_index(int index)
{
    for (int i = 0; index > 0 && i < nscheds; i++)
        if (scheds[i] && scheds[i]->index == index)
            return scheds[i];
    return NULL;
}

void daemon_sched_run_ended(int index)
{
    sched *s = sched_by_index(index);
    if (!s)
        return;
    s->running--;
    if (s->queued && s->running == 0) {
        s->queued = 0;
        fire(s, "queued");
    }
}

/* The last scheduled run of a runbook (its start, Unix seconds), from the
 * store; 0 when none. */
typedef struct {
    double last;
} last_run;

static void last_row(void *ud, const char *json)
{
    last_run *l = ud;
    if (l->last > 0 || !strstr(json, "\"trigger\":\"schedule\""))
        return;
    const char *p = strstr(json, "\"started\":");
    if (p)
        l->last = strtod(p + 10, NULL);
}

static double last_scheduled(const char *runbook)
{
    last_run l = {0};
    char err[256];
    daemon_g.db->be->runs(daemon_g.db, runbook, 50, last_row, &l, err, sizeof err);
    return l.last;
}

static void sched_closed(uv_handle_t *h)
{
    sched *s = h->data;
    free(s->runbook);
    free(s->params);
    free(s->what);
    tz_close(s->zone);
    free(s);
}

void daemon_sched_stop(void)
{
    for (int i = 0; i < nscheds; i++) {
        if (!scheds[i])
            continue;
        uv_timer_stop(&scheds[i]->timer);
        uv_close((uv_handle_t *)&scheds[i]->timer, sched_closed);
    }
    free(scheds);
    scheds = NULL;
    nscheds = 0;
}

static int encode_params(lua_State *L)
{
    tn_json_encode(L, 1);
    return 1;
}

/* One entry of `schedules` (the table on top of L): a schedule, or NULL
 * with err naming what is wrong. */
static sched *parse_one(lua_State *L, int i, char *err, size_t errlen)
{
    sched *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->index = i;
    lua_getfield(L, -1, "runbook");
    if (lua_type(L, -1) != LUA_TSTRING) {
        snprintf(err, errlen, "schedules[%d]: runbook must be a runbook's name", i);
        goto fail;
    }
    s->runbook = strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
    lua_getfield(L, -1, "every");
    lua_getfield(L, -2, "cron");
    lua_getfield(L, -3, "tz");
    int has_every = !lua_isnil(L, -3), has_cron = !lua_isnil(L, -2);
    if (has_every == has_cron) {
        snprintf(err, errlen,
                 "schedules[%d] (%s): give either every = \"30s\" or cron = \"*/5 * * * *\"", i,
                 s->runbook);
        lua_pop(L, 3);
        goto fail;
    }
    if (has_every) {
        s->every = lua_type(L, -3) == LUA_TNUMBER   ? lua_tonumber(L, -3)
                   : lua_type(L, -3) == LUA_TSTRING ? tn_parse_duration(lua_tostring(L, -3))
                                                    : -1;
        if (!(s->every >= 0.01) || s->every > 1e9) {
            snprintf(err, errlen, "schedules[%d] (%s): every must be a duration such as \"30s\"", i,
                     s->runbook);
            lua_pop(L, 3);
            goto fail;
        }
        char w[64];
        snprintf(w, sizeof w, "every %gs", s->every);
        s->what = strdup(w);
    } else {
        const char *expr = lua_tostring(L, -2);
        const char *zone = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        char cerr[256];
        if (!expr || cron_parse(&s->cron, expr, cerr, sizeof cerr) != 0) {
            snprintf(err, errlen, "schedules[%d] (%s): %s", i, s->runbook,
                     expr ? cerr : "cron must be a string");
            lua_pop(L, 3);
            goto fail;
        }
        s->has_cron = 1;
        if (tz_open(&s->zone, zone, cerr, sizeof cerr) != 0) {
            snprintf(err, errlen, "schedules[%d] (%s): %s", i, s->runbook, cerr);
            lua_pop(L, 3);
            goto fail;
        }
        char w[300];
        snprintf(w, sizeof w, "cron %s%s%s", expr, zone ? " " : "", zone ? zone : "");
        s->what = strdup(w);
    }
    lua_pop(L, 3);
    static const char *const overlap[] = {"skip", "queue", "allow", NULL};
    static const char *const missed[] = {"skip", "once", NULL};
    lua_getfield(L, -1, "overlap");
    lua_getfield(L, -2, "missed");
    if ((!lua_isnil(L, -2) && lua_type(L, -2) != LUA_TSTRING) ||
        (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)) {
        snprintf(err, errlen, "schedules[%d] (%s): overlap and missed must be strings", i,
                 s->runbook);
        lua_pop(L, 2);
        goto fail;
    }
    const char *o = lua_tostring(L, -2), *m = lua_tostring(L, -1);
    s->overlap = s->missed = -1;
    for (int k = 0; overlap[k]; k++)
        if (!o || !strcmp(o, overlap[k]))
            s->overlap = o ? k : 0;
    for (int k = 0; missed[k]; k++)
        if (!m || !strcmp(m, missed[k]))
            s->missed = m ? k : 0;
    lua_pop(L, 2);
    if (s->overlap < 0 || s->missed < 0) {
        snprintf(err, errlen,
                 s->overlap < 0 ? "schedules[%d] (%s): overlap must be skip, queue or allow"
                                : "schedules[%d] (%s): missed must be skip or once",
                 i, s->runbook);
        goto fail;
    }
    lua_getfield(L, -1, "params");
    if (lua_istable(L, -1)) {
        lua_pushcfunction(L, encode_params);
        lua_insert(L, -2);
        if (lua_pcall(L, 1, 1, 0) != LUA_OK || lua_type(L, -1) != LUA_TSTRING) {
            snprintf(err, errlen, "schedules[%d] (%s): params cannot be encoded: %s", i, s->runbook,
                     lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
            lua_pop(L, 1);
            goto fail;
        }
        s->params = strdup(lua_tostring(L, -1));
    } else if (!lua_isnil(L, -1)) {
        snprintf(err, errlen, "schedules[%d] (%s): params must be a table", i, s->runbook);
        lua_pop(L, 1);
        goto fail;
    }
    lua_pop(L, 1);
    return s;
fail:
    free(s->runbook);
    free(s->what);
    tz_close(s->zone);
    free(s);
    return NULL;
}

static int booted;
static int serial; /* sched.index */

/* Runs started by the schedules a SIGHUP replaced and still alive count for
 * the new schedule of the same runbook (its overlap policy sees them; their
 * end is counted there). */
static void adopt_runs(void)
{
    list_node *n;
    LIST_FOREACH(n, &daemon_g.runs)
    {
        d_run *d = LIST_ENTRY(n, d_run, node);
        if (!d->schedule || d->run->done || sched_by_index(d->schedule))
            continue;
        for (int i = 0; i < nscheds; i++)
            if (scheds[i] && !strcmp(scheds[i]->runbook, d->runbook)) {
                d->schedule = scheds[i]->index;
                scheds[i]->running++;
                break;
            }
    }
}

int daemon_sched_start(d_gen *g, char *err, size_t errlen)
{
    tn_config *c = &g->cfg;
    if (!c->st || c->ref == LUA_NOREF)
        return 0;
    lua_State *L = c->st->L;
    int top = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);
    lua_getfield(L, -1, "schedules");
    if (lua_isnil(L, -1)) {
        lua_settop(L, top);
        return 0;
    }
    if (!lua_istable(L, -1)) {
        snprintf(err, errlen, "config: schedules must be a list of { every =, runbook = }");
        lua_settop(L, top);
        return -1;
    }
    int n = (int)lua_rawlen(L, -1), bad = 0;
    scheds = calloc((size_t)n + 1, sizeof *scheds);
    if (!scheds) {
        lua_settop(L, top);
        return -1;
    }
    nscheds = n;
    double now = now_secs();
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        char e[512];
        snprintf(e, sizeof e, "schedules[%d] must be a table { every = or cron =, runbook = }", i);
        sched *s = lua_istable(L, -1) ? parse_one(L, i, e, sizeof e) : NULL;
        lua_pop(L, 1);
        if (!s) {
            if (!bad)
                snprintf(err, errlen, "%s", e);
            bad++;
            daemon_log("error", "schedule not started", "error", e, NULL);
            continue;
        }
        s->index = ++serial;
        scheds[i - 1] = s;
        adopt_runs();
        uv_timer_init(tn_loop(), &s->timer);
        s->timer.data = s;
        if (s->missed == 1) {
            /* Downtime: was a tick due between the last scheduled run and
             * now?  Then once, now. */
            double last = last_scheduled(s->runbook);
            int64_t next = 0;
            int due = last > 0 &&
                      (s->every > 0 ? last + s->every <= now
                                    : cron_next(&s->cron, s->zone, (int64_t)last, &next) == 0 &&
                                          (double)next <= now);
            if (due) {
                daemon_log("info", "a scheduled run was missed while the daemon was down: once now",
                           "runbook", s->runbook, "schedule", s->what, NULL);
                fire(s, "missed");
            }
        }
        if (s->every > 0) {
            uint64_t ms = tn_secs_to_ms(s->every);
            uv_timer_start(&s->timer, tick, ms, ms);
        } else if (s->cron.reboot) {
            if (!booted) /* at the daemon's start, not at each SIGHUP */
                fire(s, "reboot");
        } else {
            arm_cron(s);
        }
    }
    lua_settop(L, top);
    booted = 1;
    return bad ? -1 : 0;
}

/* ---- tocsin schedules --------------------------------------------------------- */

static void iso(char *out, size_t len, const tz_zone *z, int64_t t)
{
    int32_t off = z ? tz_offset_at(z, t, NULL) : 0;
    tz_civil c;
    tz_secs_to_civil(t + off, &c);
    int32_t a = off < 0 ? -off : off;
    snprintf(out, len, "%04lld-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", (long long)c.year, c.month,
             c.day, c.hour, c.min, c.sec, off < 0 ? '-' : '+', (int)(a / 3600), (int)(a / 60 % 60));
}

int daemon_sched_list(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            path = argv[++i];
        } else {
            fprintf(stderr, "usage: tocsin schedules [--config FILE]\n\nThe config's schedules, "
                            "each with its next run.\n");
            return !strcmp(argv[i], "--help") ? 0 : 2;
        }
    }
    tn_config cfg;
    char err[2048];
    if (config_load(&cfg, path, err, sizeof err) < 0) {
        fprintf(stderr, "tocsin: %s\n", err);
        return 2;
    }
    int code = 0, shown = 0;
    if (cfg.st && cfg.ref != LUA_NOREF) {
        lua_State *L = cfg.st->L;
        lua_rawgeti(L, LUA_REGISTRYINDEX, cfg.ref);
        lua_getfield(L, -1, "schedules");
        int n = lua_istable(L, -1) ? (int)lua_rawlen(L, -1) : 0;
        double now = now_secs();
        for (int i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, i);
            char e[512];
            snprintf(e, sizeof e, "schedules[%d] must be a table { every = or cron =, runbook = }",
                     i);
            sched *s = lua_istable(L, -1) ? parse_one(L, i, e, sizeof e) : NULL;
            lua_pop(L, 1);
            if (!s) {
                fprintf(stderr, "tocsin: %s\n", e);
                code = 2;
                continue;
            }
            char when[64] = "at start";
            int64_t next;
            if (s->every > 0)
                iso(when, sizeof when, NULL, (int64_t)(now + s->every));
            else if (!s->cron.reboot && cron_next(&s->cron, s->zone, (int64_t)now, &next) == 0)
                iso(when, sizeof when, s->zone, next);
            else if (!s->cron.reboot)
                snprintf(when, sizeof when, "never");
            if (!shown++)
                printf("%-24s %-36s %s\n", "RUNBOOK", "SCHEDULE", "NEXT");
            printf("%-24s %-36s %s\n", s->runbook, s->what, when);
            free(s->runbook);
            free(s->params);
            free(s->what);
            tz_close(s->zone);
            free(s);
        }
        lua_pop(L, 2);
    }
    if (!shown && !code)
        fprintf(stderr, "no schedules in the config\n");
    config_free(&cfg);
    return code;
}
