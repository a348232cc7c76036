/* metrics.c — Tocsin's metric families: a tn_events subscriber counts runs,
 * steps, primitive calls and notify's results; the daemon adds alerts and
 * scrape-time gauges (the registry itself is metrics_registry.c). */
#include "metrics.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

#ifndef TOCSIN_VERSION
#define TOCSIN_VERSION "dev"
#endif

/* ---- Tocsin's families -------------------------------------------------- */

/* Runbook steps range from a local check (10 ms) to a rollout (10 min). */
static const double secs_buckets[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,  2.5,
                                      5,    10,    30,   60,  120,  300, 600};
#define NSECS ((int)(sizeof secs_buckets / sizeof secs_buckets[0]))

/* Designated, so -Wextra sees no missing field. */
#define FAMILY(t, n, h, ...)                                                                       \
    {                                                                                              \
        .type = t, .name = n, .help = h, .labels = { __VA_ARGS__ }                                 \
    }
#define HISTOGRAM(n, h, ...)                                                                       \
    {                                                                                              \
        .type = METRICS_HISTOGRAM, .name = n, .help = h, .labels = {__VA_ARGS__},                  \
        .buckets = secs_buckets, .nbuckets = NSECS                                                 \
    }

static const metrics_family_opts tocsin_families[METRICS_NFAMILIES] = {
    [METRICS_BUILD_INFO] =
        FAMILY(METRICS_GAUGE, "tocsin_build_info",
               "The running Tocsin's version (the value is always 1).", "version"),
    /* The standard name (Prometheus client libraries' process collector), so
     * the usual uptime queries work unchanged. */
    [METRICS_START_TIME] =
        FAMILY(METRICS_GAUGE, "process_start_time_seconds",
               "Start time of the process since the Unix epoch, in seconds.", NULL),
    [METRICS_RUNS_STARTED] = FAMILY(METRICS_COUNTER, "tocsin_runs_started_total",
                                    "Runs started, by runbook and trigger (cli, schedule, alert, "
                                    "api).",
                                    "runbook", "trigger"),
    [METRICS_RUNS_FINISHED] = FAMILY(METRICS_COUNTER, "tocsin_runs_finished_total",
                                     "Runs finished, by runbook and outcome (ok, failed, "
                                     "canceled, limit: stopped by its CPU or memory limit).",
                                     "runbook", "outcome"),
    [METRICS_RUN_DURATION] =
        HISTOGRAM("tocsin_run_duration_seconds",
                  "Wall-clock duration of finished runs, by runbook.", "runbook"),
    [METRICS_STEP_DURATION] = HISTOGRAM("tocsin_step_duration_seconds",
                                        "Duration of finished steps, by runbook and outcome (ok, "
                                        "failed).",
                                        "runbook", "outcome"),
    [METRICS_CALLS] = FAMILY(METRICS_COUNTER, "tocsin_calls_total",
                             "Primitive calls finished, by runbook, kind (http, sql, shell) and "
                             "outcome (ok, or the error's kind).",
                             "runbook", "kind", "outcome"),
    [METRICS_CALL_DURATION] =
        HISTOGRAM("tocsin_call_duration_seconds", "Duration of primitive calls, by kind.", "kind"),
    [METRICS_NOTIFICATIONS] =
        FAMILY(METRICS_COUNTER, "tocsin_notifications_total",
               "Notifications sent, by channel and outcome (ok, failed).", "channel", "outcome"),
    [METRICS_ESCALATIONS] = FAMILY(METRICS_COUNTER, "tocsin_escalations_total",
                                   "Escalation notifications sent, by channel and outcome (ok, "
                                   "failed).",
                                   "channel", "outcome"),
    [METRICS_ALERTS_RECEIVED] = FAMILY(METRICS_COUNTER, "tocsin_alerts_received_total",
                                       "Alerts received, by source (alertmanager, grafana, "
                                       "generic).",
                                       "source"),
    [METRICS_ALERTS_DEDUPLICATED] = FAMILY(METRICS_COUNTER, "tocsin_alerts_deduplicated_total",
                                           "Alerts that started no run, by source and reason "
                                           "(running: a run for the alert is alive; cooldown).",
                                           "source", "reason"),
    [METRICS_OPEN_INCIDENTS] = FAMILY(METRICS_GAUGE, "tocsin_open_incidents",
                                      "Incidents not yet resolved, by severity.", "severity"),
    [METRICS_QUEUE_DEPTH] = FAMILY(METRICS_GAUGE, "tocsin_queue_depth",
                                   "Runs waiting to start (queued by an overlap policy).", NULL),
    [METRICS_TASKS_ALIVE] =
        FAMILY(METRICS_GAUGE, "tocsin_tasks_alive", "Lua tasks alive across all runs.", NULL),
    [METRICS_LUA_MEMORY] = FAMILY(METRICS_GAUGE, "tocsin_lua_memory_bytes",
                                  "Memory allocated by all Lua states, in bytes.", NULL),
};

static struct {
    metrics_registry *reg;
    metrics_family *fam[METRICS_NFAMILIES];
} tm;

/* The process's start from /proc (boot time + start ticks), else now;
 * read once (it does not change). */
static double process_start_time(void)
{
    static double cached;
    if (cached > 0)
        return cached;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double fallback = (double)now.tv_sec + now.tv_nsec / 1e9;
    char line[1024];
    double btime = -1, ticks = -1;
    FILE *f = fopen("/proc/stat", "r");
    if (f) {
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "btime ", 6))
                btime = strtod(line + 6, NULL);
        fclose(f);
    }
    f = fopen("/proc/self/stat", "r");
    if (f) {
        size_t n = fread(line, 1, sizeof line - 1, f);
        line[n] = 0;
        fclose(f);
        /* Field 22, counted after the command name's closing parenthesis
         * (the name may hold spaces and parentheses). */
        char *p = strrchr(line, ')');
        for (int field = 2; p && field < 22; field++)
            p = strchr(p + 1, ' ');
        if (p)
            ticks = strtod(p + 1, NULL);
    }
    long hz = sysconf(_SC_CLK_TCK);
    cached = btime <= 0 || ticks < 0 || hz <= 0 ? fallback : btime + ticks / (double)hz;
    return cached;
}

int metrics_init(const char *version)
{
    if (tm.reg)
        return -1;
    tm.reg = metrics_registry_new("tocsin_metrics_overflow_total");
    if (!tm.reg)
        return -1;
    for (int i = 0; i < METRICS_NFAMILIES; i++)
        if (!(tm.fam[i] = metrics_family_add(tm.reg, &tocsin_families[i])))
            goto fail;
    if (metrics_gauge_set(tm.fam[METRICS_BUILD_INFO], METRICS_L(version ? version : TOCSIN_VERSION),
                          1) != 0 ||
        metrics_gauge_set(tm.fam[METRICS_START_TIME], NULL, process_start_time()) != 0 ||
        tn_events_subscribe(metrics_on_event, NULL) < 0)
        goto fail;
    return 0;
fail:
    metrics_registry_free(tm.reg);
    memset(&tm, 0, sizeof tm);
    return -1;
}

void metrics_shutdown(void)
{
    if (!tm.reg)
        return;
    tn_events_unsubscribe(metrics_on_event, NULL);
    metrics_registry_free(tm.reg);
    memset(&tm, 0, sizeof tm);
}

int metrics_render(buf_t *out)
{
    return tm.reg ? metrics_registry_render(tm.reg, out) : -1;
}

metrics_family *metrics_family_of(metrics_id id)
{
    return id >= 0 && id < METRICS_NFAMILIES ? tm.fam[id] : NULL;
}

void metrics_alert_received(const char *source)
{
    metrics_counter_add(tm.fam[METRICS_ALERTS_RECEIVED], METRICS_L(source), 1);
}

void metrics_alert_deduplicated(const char *source, const char *reason)
{
    metrics_counter_add(tm.fam[METRICS_ALERTS_DEDUPLICATED], METRICS_L(source, reason), 1);
}

void metrics_open_incidents(const char *severity, double n)
{
    metrics_gauge_set(tm.fam[METRICS_OPEN_INCIDENTS], METRICS_L(severity), n);
}

void metrics_queue_depth(double n)
{
    metrics_gauge_set(tm.fam[METRICS_QUEUE_DEPTH], NULL, n);
}

void metrics_notification(const char *channel, int ok)
{
    metrics_counter_add(tm.fam[METRICS_NOTIFICATIONS], METRICS_L(channel, ok ? "ok" : "failed"), 1);
}

void metrics_escalation(const char *channel, int ok)
{
    metrics_counter_add(tm.fam[METRICS_ESCALATIONS], METRICS_L(channel, ok ? "ok" : "failed"), 1);
}

/* ---- notify's log lines ---------------------------------------------------
 *
 * notify.lua logs each channel's result: info "notified CHANNEL" or warn
 * "notify CHANNEL failed: ERROR", with fields {channel, status, attempts,
 * error} (and event, when it passes the message's event on).  The fields are
 * a JSON object from log_lua.c; what is read here is its top-level string
 * and number members, with everything else skipped. */

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* Past the string literal at p (on its '"'), or NULL when unterminated. */
static const char *json_skip_string(const char *p)
{
    for (p++; *p; p++) {
        if (*p == '\\') {
            if (!*++p)
                return NULL;
        } else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* Past the value at p, or NULL. */
static const char *json_skip_value(const char *p)
{
    if (*p == '"')
        return json_skip_string(p);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (*p) {
            if (*p == '"') {
                if (!(p = json_skip_string(p)))
                    return NULL;
                continue;
            }
            if (*p == '{' || *p == '[')
                depth++;
            else if ((*p == '}' || *p == ']') && --depth == 0)
                return p + 1;
            p++;
        }
        return NULL;
    }
    const char *start = p;
    while (*p && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' && *p != '\n' &&
           *p != '\r')
        p++;
    return p > start ? p : NULL;
}

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (c | 0x20) - 'a' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static void add_codepoint(buf_t *b, uint32_t cp)
{
    char u[4];
    if (cp < 0x80) {
        buf_addc(b, (char)cp);
        return;
    }
    if (cp >= 0xd800 && cp <= 0xdfff)
        cp = 0xfffd; /* a lone surrogate */
    if (cp < 0x800) {
        u[0] = (char)(0xc0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3f));
        buf_add(b, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        buf_add(b, u, 3);
    } else {
        u[0] = (char)(0xf0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f));
        buf_add(b, u, 4);
    }
}

/* Decodes the string literal at p into out (cleared first).  0, or -1 when
 * it is not a well-formed string. */
static int json_decode_string(const char *p, buf_t *out)
{
    buf_reset(out);
    if (*p++ != '"')
        return -1;
    for (; *p != '"'; p++) {
        if (!*p || (unsigned char)*p < 0x20)
            return -1;
        if (*p != '\\') {
            buf_addc(out, *p);
            continue;
        }
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *e = *++p ? strchr(from, *p) : NULL;
        if (e) {
            buf_addc(out, to[e - from]);
            continue;
        }
        int cp = *p == 'u' ? hex4(p + 1) : -1;
        if (cp < 0)
            return -1;
        p += 4;
        if (cp >= 0xd800 && cp <= 0xdbff && p[1] == '\\' && p[2] == 'u') {
            int lo = hex4(p + 3);
            if (lo >= 0xdc00 && lo <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            }
        }
        add_codepoint(out, (uint32_t)cp);
    }
    return out->failed ? -1 : 0;
}

/* The value of member key at the top level of the JSON object json, or NULL. */
static const char *json_member(const char *json, const char *key)
{
    const char *p = json_ws(json);
    if (*p++ != '{')
        return NULL;
    buf_t k = BUF_INIT;
    const char *found = NULL;
    for (p = json_ws(p); *p == '"'; p = json_ws(p + 1)) {
        const char *end = json_skip_string(p);
        if (!end)
            break;
        /* A key without escapes is compared as it is; others decoded. */
        size_t raw = (size_t)(end - p - 2), kl = strlen(key);
        int match = memchr(p + 1, '\\', raw) ? json_decode_string(p, &k) == 0 && k.n == kl &&
                                                   !memcmp(buf_str(&k), key, kl)
                                             : raw == kl && !memcmp(p + 1, key, kl);
        p = json_ws(end);
        if (*p++ != ':')
            break;
        p = json_ws(p);
        if (match) {
            found = p;
            break;
        }
        if (!(p = json_skip_value(p)))
            break;
        p = json_ws(p);
        if (*p != ',')
            break;
    }
    buf_free(&k);
    return found;
}

static int json_string_member(const char *json, const char *key, buf_t *out)
{
    const char *v = json_member(json, key);
    return v && *v == '"' ? json_decode_string(v, out) : -1;
}

static int starts(const char *s, size_t n, const char *a, const char *b, size_t bn, const char *c)
{
    size_t an = strlen(a), cn = strlen(c);
    return n >= an + bn + cn && !memcmp(s, a, an) && !memcmp(s + an, b, bn) &&
           !memcmp(s + an + bn, c, cn);
}

static void count_notify(const tn_event *ev)
{
    if (!ev->fields || !ev->text || !ev->level)
        return;
    /* Cheap test first: most log lines are not notify's. */
    if (strncmp(ev->text, "notif", 5))
        return;
    const char *attempts = json_member(ev->fields, "attempts");
    if (!attempts || !(*attempts == '-' || (*attempts >= '0' && *attempts <= '9')))
        return;
    buf_t ch = BUF_INIT, event = BUF_INIT;
    if (json_string_member(ev->fields, "channel", &ch) < 0)
        goto out;
    int ok;
    if (!strcmp(ev->level, "info") &&
        starts(ev->text, ev->len, "notified ", buf_str(&ch), ch.n, "") && ev->len == 9 + ch.n)
        ok = 1;
    else if (!strcmp(ev->level, "warn") &&
             starts(ev->text, ev->len, "notify ", buf_str(&ch), ch.n, " failed"))
        ok = 0;
    else
        goto out;
    metrics_notification(buf_str(&ch), ok);
    if (json_string_member(ev->fields, "event", &event) == 0 &&
        !strcmp(buf_str(&event), "escalated"))
        metrics_escalation(buf_str(&ch), ok);
out:
    buf_free(&ch);
    buf_free(&event);
}

/* ---- the event subscriber ----------------------------------------------- */

static const char *run_outcome(const tn_event *ev)
{
    if (ev->limit)
        return "limit";
    if (ev->canceled)
        return "canceled";
    return ev->ok ? "ok" : "failed";
}

void metrics_on_event(const tn_event *ev, void *ud)
{
    (void)ud;
    if (!tm.reg)
        return;
    /* The incident clock's runs are not runbook runs (the store skips them
     * too); their notifications and calls are real and count below. */
    const char *trigger = ev->run && ev->run->trigger ? ev->run->trigger : ev->trigger;
    int clock = trigger && !strcmp(trigger, "clock");
    const char *rb = ev->runbook ? ev->runbook : "";
    switch (ev->type) {
    case TN_EV_RUN_START:
        if (!clock)
            metrics_counter_add(tm.fam[METRICS_RUNS_STARTED],
                                METRICS_L(rb, trigger ? trigger : "cli"), 1);
        break;
    case TN_EV_RUN_END:
        if (clock)
            break;
        metrics_counter_add(tm.fam[METRICS_RUNS_FINISHED], METRICS_L(rb, run_outcome(ev)), 1);
        metrics_histogram_observe(tm.fam[METRICS_RUN_DURATION], METRICS_L(rb), ev->duration);
        break;
    case TN_EV_STEP_END:
        if (!clock)
            metrics_histogram_observe(tm.fam[METRICS_STEP_DURATION],
                                      METRICS_L(rb, ev->ok ? "ok" : "failed"), ev->duration);
        break;
    case TN_EV_CALL: {
        const char *kind = ev->kind ? ev->kind : "";
        metrics_counter_add(tm.fam[METRICS_CALLS],
                            METRICS_L(rb, kind, ev->outcome ? ev->outcome : ""), 1);
        metrics_histogram_observe(tm.fam[METRICS_CALL_DURATION], METRICS_L(kind), ev->duration);
        break;
    }
    case TN_EV_LOG:
        count_notify(ev);
        break;
    default:
        break;
    }
}
