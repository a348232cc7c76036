/* alerts.h — alert intake without the HTTP: webhook bodies (Prometheus
 * Alertmanager v4, Grafana, generic JSON) parsed into alerts, routed to
 * runbooks by label match, admitted or held back (dedup while a run for the
 * same runbook and key is alive, a cooldown per runbook and key), rendered as
 * the JSON of ctx.alert; counters for /metrics.  The daemon owns the sockets
 * and the runs; this module owns no I/O and no timers.
 *
 * The daemon's side, per request on POST /hooks/NAME:
 *   alerts_receive(r, src, body, n, &b, err, sizeof err)   -> 400 with err when < 0
 *   for each b->alerts[i]:
 *     nd = alerts_admit(r, &b->alerts[i], now, d, ALERTS_MAX_MATCHES)
 *     for each d[j]:  ALERTS_START: json = alerts_alert_json(b, &b->alerts[i], &d[j]);
 *                       run_launch(... .trigger = "alert", .alert_json = json ...);
 *                       keep copies of d[j].runbook and d[j].key with the run;
 *                       when it ends: alerts_run_ended(r, runbook, key);
 *                       if it could not start: alerts_run_not_started(r, runbook, key)
 *                     ALERTS_RESOLVED: note it on the open incident whose dedup_key is d[j].key
 *                     others: nothing to do (counted)
 *   alerts_batch_free(b) */
#ifndef TOCSIN_ALERTS_H
#define TOCSIN_ALERTS_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds on what one body may hold; more is a 400, not a truncation. */
#define ALERTS_MAX_ALERTS 1000 /* alerts in one body */
#define ALERTS_MAX_LABELS 64   /* entries of labels, and of annotations, per alert */
#define ALERTS_MAX_NAME 256    /* bytes of a label or annotation name */
#define ALERTS_MAX_VALUE 4096  /* bytes of a label value, a fingerprint, a time, a status */
#define ALERTS_MAX_TEXT 65536  /* bytes of an annotation value, a URL, a title, a message */

#define ALERTS_MAX_MATCHES 8        /* routes one alert can take (`continue = true`) */
#define ALERTS_MAX_ROUTES 1000      /* entries of the config's `alerts` list */
#define ALERTS_MAX_KEY 512          /* bytes of a dedup key (a longer one is hashed) */
#define ALERTS_MAX_ENTRIES 10000    /* runbook+key entries remembered (default) */
#define ALERTS_DEFAULT_COOLDOWN 300 /* seconds: Alertmanager's default group_interval */

typedef enum alerts_source {
    ALERTS_ALERTMANAGER,
    ALERTS_GRAFANA,
    ALERTS_GENERIC,
    ALERTS_NSOURCES
} alerts_source;

/* "alertmanager", "grafana", "generic" (the hook's path segment). */
const char *alerts_source_name(alerts_source s);
/* The source named so, or -1. */
int alerts_source_from_name(const char *name);

typedef struct alerts_kv {
    const char *name, *value;
} alerts_kv;

/* One alert, normalised.  Strings belong to the batch; NULL when absent. */
typedef struct alerts_alert {
    alerts_source source;
    int resolved;            /* status is "resolved" */
    const char *status;      /* "firing" or "resolved" */
    const alerts_kv *labels; /* sorted by name (bytes), unique, no empty values */
    int nlabels;
    const alerts_kv *annotations; /* sorted by name */
    int nannotations;
    const alerts_kv *extra; /* other text the source sent (Grafana: silenceURL, ...) */
    int nextra;
    const char *starts_at, *ends_at, *generator_url;
    /* As sent, or computed when missing: FNV-1a 64 over the sorted labels as
     * Alertmanager computes its own (so the same labels give the same
     * fingerprint whichever hook they came through), 16 hex digits. */
    const char *fingerprint;
} alerts_alert;

/* One webhook body: the group's fields and its alerts. */
typedef struct alerts_batch {
    alerts_source source;
    const char *receiver, *group_key, *status, *external_url; /* NULL when absent */
    const char *title, *message;                              /* Grafana's */
    alerts_alert *alerts;
    int n;
    void *arena; /* private: where the strings live */
} alerts_batch;

/* Parses a body sent to the hook of source src.  0 and *out (free with
 * alerts_batch_free), or -1 with a message naming what is wrong and where
 * ("alerts[3].labels.severity must be a string").  Never reads past n. */
int alerts_parse(alerts_source src, const char *body, size_t n, alerts_batch **out, char *err,
                 size_t errlen);
void alerts_batch_free(alerts_batch *b);

/* The value of label name, or NULL. */
const char *alerts_label(const alerts_alert *a, const char *name);
/* Alertmanager's fingerprint of labels sorted by name, as 16 hex digits. */
void alerts_fingerprint(const alerts_kv *labels, int n, char out[17]);

/* ---- routing, dedup, cooldown (alerts_router.c) ---------------------- */

typedef struct alerts_router alerts_router;

/* A route as configured (read-only for the daemon), with its counters. */
typedef struct alerts_route {
    const char *runbook;
    double cooldown; /* seconds; 0: none */
    int cont;        /* `continue = true`: later routes are tried too */
    uint64_t routed, started, deduplicated, cooled_down, resolved;
} alerts_route;

/* For /metrics: plain counters, never reset (a reload keeps them). */
typedef struct alerts_counters {
    uint64_t received[ALERTS_NSOURCES]; /* alerts in accepted bodies */
    uint64_t rejected[ALERTS_NSOURCES]; /* bodies refused (a 400) */
    uint64_t started, deduplicated, cooled_down, resolved, unrouted;
    uint64_t throttled;        /* refused: the table was full of live runs */
    uint64_t evicted;          /* cooldowns forgotten early to keep the table bounded */
    uint64_t pattern_failures; /* match_re patterns that failed or ran out of time */
} alerts_counters;

typedef enum alerts_verdict {
    ALERTS_START,        /* start the runbook; it is already counted alive */
    ALERTS_DEDUPLICATED, /* a run for this runbook and key is alive */
    ALERTS_COOLING,      /* one started less than the route's cooldown ago */
    ALERTS_RESOLVED,     /* status resolved: no run; note it on the incident */
    ALERTS_THROTTLED,    /* max_entries runs alive: refused to stay bounded */
} alerts_verdict;

/* What to do with an alert for one route. */
typedef struct alerts_decision {
    alerts_verdict verdict;
    int route;           /* index in the router's routes */
    const char *runbook; /* the route's; valid until the next alerts_router_configure */
    /* The dedup key: the fingerprint, or the route's key labels as
     * {alertname="X",instance="Y"}; also ctx.alert.dedup_key, so a runbook
     * that opens its incident with dedup_key = ctx.alert.dedup_key gets the
     * resolved notification noted on it. */
    char key[ALERTS_MAX_KEY + 1];
    double wait; /* ALERTS_COOLING: seconds until the cooldown ends */
} alerts_decision;

/* max_entries: runbook+key entries kept (0: ALERTS_MAX_ENTRIES).  NULL when
 * out of memory.  Starts with no routes. */
alerts_router *alerts_router_new(int max_entries);
void alerts_router_free(alerts_router *r);

/* Reads the config's `alerts` list (the table at idx of L, as in the
 * config's snapshot; nil: no routes) and replaces r's routes.  0, or -1 with
 * a message naming the entry ("config: alerts[2].cooldown must be ...") and
 * r unchanged.  Dedup state and counters survive.  Each entry:
 *   match = {label = "value" | {"v1", "v2"}, ...}  all must hold (absent label = "")
 *   match_re = {label = "pattern" | {...}, ...}    Lua patterns, anchored at both ends
 *   runbook = "name"                               required
 *   cooldown = "5m" | seconds | false              default ALERTS_DEFAULT_COOLDOWN
 *   key = "label" | {"label", ...}                 default: the fingerprint
 *   continue = true                                also try the routes after it
 * Raw access only (no metamethods); does not raise but on memory errors. */
int alerts_router_configure(alerts_router *r, lua_State *L, int idx, char *err, size_t errlen);
/* The same from a loaded config (config.h): its snapshot's `alerts` field
 * (config_load keeps fields it does not know in the snapshot). */
struct tn_config;
int alerts_router_configure_from(alerts_router *r, const struct tn_config *c, char *err,
                                 size_t errlen);

int alerts_router_nroutes(const alerts_router *r);
const alerts_route *alerts_router_route(const alerts_router *r, int i);
const alerts_counters *alerts_router_counters(const alerts_router *r);
/* runbook+key entries remembered now (alive runs and cooldowns). */
int alerts_router_entries(const alerts_router *r);

/* alerts_parse, counted in received/rejected. */
int alerts_receive(alerts_router *r, alerts_source src, const char *body, size_t n,
                   alerts_batch **out, char *err, size_t errlen);

/* Routes a and decides, for each route it takes (the first that matches, and
 * the ones after it while `continue` says so), what to do; now in seconds
 * (any clock that only moves forward).  Returns the number of decisions in
 * out (at most max); 0: no route matched (counted unrouted).  ALERTS_START
 * counts the run alive at once (two alerts of one key in one body start one
 * run): call alerts_run_ended when it ends, alerts_run_not_started if it
 * could not be launched. */
int alerts_admit(alerts_router *r, const alerts_alert *a, double now, alerts_decision *out,
                 int max);
/* A run for runbook and key that alerts_admit did not start (restored, or
 * started another way) is alive from now on; cooldown in seconds.  0, or -1
 * when the table is full of live runs or out of memory. */
int alerts_run_started(alerts_router *r, const char *runbook, const char *key, double cooldown,
                       double now);
/* The run for runbook and key ended: its cooldown (from its start) goes on. */
void alerts_run_ended(alerts_router *r, const char *runbook, const char *key);
/* alerts_admit said ALERTS_START but the run could not be launched (no such
 * runbook, out of memory): as if it never was, so no cooldown holds the next
 * alert back either. */
void alerts_run_not_started(alerts_router *r, const char *runbook, const char *key);
/* Forgets the cooldowns that ended by now (alerts_admit also does, when the
 * table is full); the daemon may call it from a timer. */
void alerts_router_expire(alerts_router *r, double now);

/* ctx.alert: the alert as one JSON object, malloc'd (NULL: out of memory):
 * source, status, labels, annotations, startsAt, endsAt, generatorURL,
 * fingerprint, receiver, groupKey, externalURL, title, message, the extra
 * strings, and dedup_key and runbook when d is given; absent fields left out. */
char *alerts_alert_json(const alerts_batch *b, const alerts_alert *a, const alerts_decision *d);

#endif
