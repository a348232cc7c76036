/* daemon_hooks.c — the daemon's alert intake (POST /hooks/SOURCE, through
 * alerts.h: parse, route, dedup, cooldown, ctx.alert) and its /metrics
 * (metrics.h, with the gauges only the daemon can read: open incidents,
 * runs alive, tasks alive, Lua memory). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts.h"
#include "buf.h"
#include "clock.h"
#include "daemon.h"
#include "metrics.h"

static alerts_router *router;

static double mono(void)
{
    return (double)uv_hrtime() / 1e9;
}

static void alert_ended(const char *runbook, const char *key)
{
    if (router)
        alerts_run_ended(router, runbook, key);
}

int daemon_hooks_configure(d_gen *g, char *err, size_t errlen)
{
    if (!router && !(router = alerts_router_new(0))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    daemon_set_alert_ended_hook(alert_ended);
    if (alerts_router_configure_from(router, &g->cfg, err, errlen) < 0)
        return -1;
    /* A route to a runbook that is not loaded would fail at 3 a.m.: said now. */
    for (int i = 0; i < alerts_router_nroutes(router); i++) {
        const alerts_route *rt = alerts_router_route(router, i);
        if (!daemon_has_runbook(g, rt->runbook)) {
            char n[16];
            snprintf(n, sizeof n, "%d", i + 1);
            daemon_log("warn", "alert route names a runbook that is not loaded", "route", n,
                       "runbook", rt->runbook, NULL);
        }
    }
    return 0;
}

void daemon_hooks_free(void)
{
    alerts_router_free(router);
    router = NULL;
}

static void noted(store_req *r)
{
    free(r->text);
    free(r->dedup_key);
    free(r);
}

/* A resolved alert goes on the open incident whose dedup_key is its key. */
static void note_resolved(const alerts_alert *a, const char *key)
{
    store_req *r = calloc(1, sizeof *r);
    if (!r)
        return;
    const char *name = alerts_label(a, "alertname");
    buf_t t = BUF_INIT;
    buf_fmt(&t, "alert resolved: %s (fingerprint %s)", name ? name : "?",
            a->fingerprint ? a->fingerprint : "?");
    r->type = STORE_INC_NOTE;
    r->kind = "alert_resolved";
    r->text = buf_take(&t, NULL);
    r->dedup_key = strdup(key);
    r->actor = "alert intake";
    r->done = noted;
    if (!r->text || !r->dedup_key || store_submit(daemon_g.db, r) < 0)
        noted(r);
}

int daemon_api_hook(server_req *rq, const char *source);

int daemon_api_hook(server_req *rq, const char *source)
{
    int src = alerts_source_from_name(source);
    if (src < 0) {
        server_respond_error(rq, 404, "POST /hooks/alertmanager, /hooks/grafana or /hooks/generic");
        return 0;
    }
    alerts_batch *b = NULL;
    char err[512];
    if (alerts_receive(router, (alerts_source)src, rq->body ? rq->body : "", rq->body_len, &b, err,
                       sizeof err) < 0) {
        server_respond_error(rq, 400, err);
        return 0;
    }
    buf_t out = BUF_INIT;
    int started = 0, dedup = 0, cooling = 0, resolved = 0, unrouted = 0, failed = 0;
    buf_addstr(&out, "{\"runs\":[");
    double now = mono();
    for (int i = 0; i < b->n; i++) {
        const alerts_alert *a = &b->alerts[i];
        metrics_alert_received(source);
        alerts_decision d[ALERTS_MAX_MATCHES];
        int nd = alerts_admit(router, a, now, d, ALERTS_MAX_MATCHES);
        if (nd == 0)
            unrouted++;
        for (int j = 0; j < nd; j++) {
            switch (d[j].verdict) {
            case ALERTS_START: {
                char *json = alerts_alert_json(b, a, &d[j]);
                char id[40], rerr[512];
                int rc = json ? daemon_start_run(d[j].runbook, "alert", NULL, json, d[j].key, 0, id,
                                                 sizeof id, rerr, sizeof rerr)
                              : -1;
                free(json);
                if (rc != 0) {
                    alerts_run_not_started(router, d[j].runbook, d[j].key);
                    daemon_log("error", "alert: run not started", "runbook", d[j].runbook, "error",
                               json ? rerr : "out of memory", NULL);
                    failed++;
                    break;
                }
                buf_addstr(&out, started++ ? ",\"" : "\"");
                buf_addstr(&out, id);
                buf_addc(&out, '"');
                break;
            }
            case ALERTS_DEDUPLICATED:
                metrics_alert_deduplicated(source, "running");
                dedup++;
                break;
            case ALERTS_COOLING:
                metrics_alert_deduplicated(source, "cooldown");
                cooling++;
                break;
            case ALERTS_RESOLVED:
                note_resolved(a, d[j].key);
                resolved++;
                break;
            case ALERTS_THROTTLED:
                failed++;
                break;
            }
        }
    }
    buf_fmt(&out,
            "],\"received\":%d,\"started\":%d,\"deduplicated\":%d,\"cooling\":%d,\"resolved\":%d,"
            "\"unrouted\":%d,\"failed\":%d}\n",
            b->n, started, dedup, cooling, resolved, unrouted, failed);
    alerts_batch_free(b);
    static const char *const h[] = {"Content-Type", "application/json"};
    if (out.failed)
        server_respond_error(rq, 500, "out of memory");
    else
        server_respond(rq, 202, h, 1, buf_str(&out), out.n);
    buf_free(&out);
    return 0;
}

/* ---- /metrics ---------------------------------------------------------------------- */

static double tasks_alive(void *ud)
{
    (void)ud;
    double n = 0;
    list_node *q;
    LIST_FOREACH(q, &daemon_g.runs)
    {
        d_run *d = LIST_ENTRY(q, d_run, node);
        if (!d->run->done)
            n += d->run->ntasks;
    }
    return n;
}

static double lua_memory(void *ud)
{
    (void)ud;
    double n = 0;
    list_node *q;
    LIST_FOREACH(q, &daemon_g.gen->books)
    n += (double)LIST_ENTRY(q, d_book, node)->st->mem_used;
    LIST_FOREACH(q, &daemon_g.gen->retired)
    n += (double)LIST_ENTRY(q, d_book, node)->st->mem_used;
    return n;
}

static double queue_depth(void *ud)
{
    (void)ud;
    return (double)daemon_g.nruns;
}

int daemon_metrics_init(void)
{
    if (metrics_init(NULL) < 0)
        return -1;
    metrics_family_value(metrics_family_of(METRICS_TASKS_ALIVE), tasks_alive, NULL);
    metrics_family_value(metrics_family_of(METRICS_LUA_MEMORY), lua_memory, NULL);
    metrics_family_value(metrics_family_of(METRICS_QUEUE_DEPTH), queue_depth, NULL);
    return 0;
}

typedef struct {
    int n[4];
    int rc;
} sev_count;

static void count_open(void *ud, const char *json)
{
    sev_count *c = ud;
    const char *p = strstr(json, "\"severity\":\"P");
    if (p && p[13] >= '0' && p[13] <= '3')
        c->n[p[13] - '0']++;
}

void daemon_api_metrics(server_req *rq);

/* The open incidents are counted on the libuv pool (daemon_api_read), the
 * exposition rendered back on the loop. */
static void count_fn(void *ud)
{
    sev_count *c = ud;
    char err[256];
    c->rc = daemon_g.db->be->incidents(daemon_g.db, 0, count_open, c, err, sizeof err);
}

static void metrics_done(server_req *rq, void *ud)
{
    sev_count *c = ud;
    if (c->rc == 0) { /* else the gauges keep their last values */
        static const char *const sev[] = {"P0", "P1", "P2", "P3"};
        for (int i = 0; i < 4; i++)
            metrics_open_incidents(sev[i], c->n[i]);
    }
    free(c);
    buf_t b = BUF_INIT;
    if (metrics_render(&b) < 0) {
        buf_free(&b);
        server_respond_error(rq, 500, "metrics unavailable");
        return;
    }
    static const char *const h[] = {"Content-Type", "text/plain; version=0.0.4; charset=utf-8"};
    server_respond(rq, 200, h, 1, buf_str(&b), b.n);
    buf_free(&b);
}

void daemon_api_metrics(server_req *rq)
{
    sev_count *c = calloc(1, sizeof *c);
    if (!c || daemon_api_read(rq, count_fn, metrics_done, c) < 0) {
        free(c);
        server_respond_error(rq, 500, "out of memory");
    }
}
