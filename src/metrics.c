/* metrics.c — the metrics registry (families of series, a cap on label
 * combinations, the text exposition format) and Tocsin's families: a
 * tn_events subscriber counts runs, steps, primitive calls and notify's
 * results; the daemon adds alerts and scrape-time gauges. */
#include "metrics.h"

#include <inttypes.h>
#include <math.h>
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

typedef struct series {
    char *key; /* the label values, each followed by its NUL */
    size_t keylen;
    double value; /* counter, gauge */
    double sum;   /* histogram */
    uint64_t count;
    uint64_t buckets[]; /* histogram: per bucket, not cumulative (+Inf is count) */
} series;

struct metrics_family {
    metrics_registry *reg;
    metrics_family *next;
    metrics_type type;
    char *name, *help;
    int nlabels;
    char *labels[METRICS_MAX_LABELS];
    double *bounds;
    int nbounds;
    char (*les)[32]; /* the bounds as le="..." shows them, then "+Inf" */
    size_t max_series;
    series **series; /* in the order they appeared: the render order */
    size_t nseries, cap;
    size_t *index; /* open addressing over series: i + 1, 0 when empty */
    size_t index_cap;
    series *other; /* the overflow series, once needed */
    metrics_collect_fn collect;
    void *collect_ud;
    metrics_value_fn value_fn;
    void *value_ud;
};

struct metrics_registry {
    metrics_family *first, *last;
    metrics_family *overflow;
};

/* ---- names, values, escaping -------------------------------------------- */

static int valid_name(const char *s, int colons)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || (colons && *s == ':')))
            return 0;
    return 1;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 when invalid:
 * overlong forms, surrogates and code points past U+10FFFF are invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t len;
    uint32_t cp;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* Copies s to dst as valid UTF-8 of at most max bytes, cut at a character;
 * returns the bytes written. */
static size_t copy_utf8(char *dst, const char *s, size_t n, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t used = 0;
    for (size_t i = 0; i < n;) {
        size_t l = utf8_len(p + i, n - i);
        size_t w = l ? l : 3;
        if (used + w > max)
            break;
        memcpy(dst + used, l ? (const char *)p + i : "\xef\xbf\xbd", w);
        used += w;
        i += l ? l : 1;
    }
    return used;
}

void metrics_escape_label(buf_t *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0; /* start of the bytes that pass as they are */
    for (size_t i = 0; i < n;) {
        if (p[i] < 0x80 && p[i] != '\\' && p[i] != '"' && p[i] != '\n') {
            i++;
            continue;
        }
        size_t l = p[i] >= 0x80 ? utf8_len(p + i, n - i) : 1;
        if (l > 1) {
            i += l;
            continue;
        }
        buf_add(out, p + run, i - run);
        if (!l)
            buf_add(out, "\xef\xbf\xbd", 3);
        else
            buf_add(out, p[i] == '\\' ? "\\\\" : p[i] == '"' ? "\\\"" : "\\n", 2);
        run = ++i;
    }
    buf_add(out, p + run, n - run);
}

/* HELP text escapes backslash and newline only (the format's rule). */
static void escape_help(buf_t *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            buf_add(out, "\\\\", 2);
        else if (*s == '\n')
            buf_add(out, "\\n", 2);
        else
            buf_addc(out, *s);
    }
}

void metrics_format_value(buf_t *out, double v)
{
    if (isnan(v)) {
        buf_addstr(out, "NaN");
        return;
    }
    if (isinf(v)) {
        buf_addstr(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    /* Integers as integers (counts, bytes, Unix seconds); other values in
     * the fewest digits that read back as the same double. */
    if (v == floor(v) && fabs(v) < 1e15) {
        buf_fmt(out, "%.0f", v);
        return;
    }
    char s[40];
    snprintf(s, sizeof s, "%.15g", v);
    if (strtod(s, NULL) != v)
        snprintf(s, sizeof s, "%.17g", v);
    buf_addstr(out, s);
}

/* ---- families and series ------------------------------------------------ */

metrics_registry *metrics_registry_new(const char *overflow_name)
{
    metrics_registry *reg = calloc(1, sizeof *reg);
    if (!reg || !overflow_name)
        return reg;
    metrics_family_opts o = {.type = METRICS_COUNTER,
                             .name = overflow_name,
                             .help = "Metric updates past a family's cap on label combinations "
                                     "(counted into its overflow series, or dropped for a gauge).",
                             .labels = {"family"}};
    reg->overflow = metrics_family_add(reg, &o);
    if (!reg->overflow) {
        free(reg);
        return NULL;
    }
    return reg;
}

static void family_free(metrics_family *f)
{
    metrics_family_clear(f);
    free(f->series);
    free(f->index);
    free(f->name);
    free(f->help);
    for (int i = 0; i < f->nlabels; i++)
        free(f->labels[i]);
    free(f->bounds);
    free(f->les);
    free(f);
}

void metrics_registry_free(metrics_registry *reg)
{
    if (!reg)
        return;
    for (metrics_family *f = reg->first, *next; f; f = next) {
        next = f->next;
        family_free(f);
    }
    free(reg);
}

static series *series_new(metrics_family *f, const char *key, size_t keylen)
{
    size_t nb = f->type == METRICS_HISTOGRAM ? (size_t)f->nbounds : 0;
    series *s = calloc(1, sizeof *s + nb * sizeof s->buckets[0] + keylen + 1);
    if (!s)
        return NULL;
    s->key = (char *)(s->buckets + nb);
    memcpy(s->key, key, keylen);
    s->keylen = keylen;
    return s;
}

static size_t hash(const char *s, size_t n)
{
    size_t h = 14695981039346656037u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return h;
}

static int index_grow(metrics_family *f)
{
    size_t cap = f->index_cap ? f->index_cap * 2 : 16;
    size_t *ix = calloc(cap, sizeof *ix);
    if (!ix)
        return -1;
    for (size_t i = 0; i < f->nseries; i++) {
        size_t j = hash(f->series[i]->key, f->series[i]->keylen) & (cap - 1);
        while (ix[j])
            j = (j + 1) & (cap - 1);
        ix[j] = i + 1;
    }
    free(f->index);
    f->index = ix;
    f->index_cap = cap;
    return 0;
}

static series *lookup(metrics_family *f, const char *const *values, int *capped);

metrics_family *metrics_family_add(metrics_registry *reg, const metrics_family_opts *o)
{
    if (!reg || !valid_name(o->name, 1) || !o->help)
        return NULL;
    int nl = 0;
    while (nl < METRICS_MAX_LABELS && o->labels[nl])
        nl++;
    for (int i = 0; i < nl; i++) {
        /* "__" names are reserved; "le" is the histogram's own label. */
        if (!valid_name(o->labels[i], 0) || !strncmp(o->labels[i], "__", 2) ||
            (o->type == METRICS_HISTOGRAM && !strcmp(o->labels[i], "le")))
            return NULL;
        for (int j = 0; j < i; j++)
            if (!strcmp(o->labels[i], o->labels[j]))
                return NULL;
    }
    if (o->type == METRICS_HISTOGRAM) {
        if (o->nbuckets < 1 || !o->buckets)
            return NULL;
        for (int i = 0; i < o->nbuckets; i++)
            if (!isfinite(o->buckets[i]) || (i > 0 && o->buckets[i] <= o->buckets[i - 1]))
                return NULL;
    }
    metrics_family *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->reg = reg;
    f->type = o->type;
    f->name = strdup(o->name);
    f->help = strdup(o->help);
    f->nlabels = nl;
    f->max_series = o->max_series ? o->max_series : METRICS_MAX_SERIES;
    int bad = !f->name || !f->help;
    for (int i = 0; i < nl; i++)
        bad |= !(f->labels[i] = strdup(o->labels[i]));
    if (o->type == METRICS_HISTOGRAM) {
        f->nbounds = o->nbuckets;
        f->bounds = malloc((size_t)o->nbuckets * sizeof *f->bounds);
        f->les = malloc((size_t)(o->nbuckets + 1) * sizeof *f->les);
        if (f->bounds && f->les) {
            memcpy(f->bounds, o->buckets, (size_t)o->nbuckets * sizeof *f->bounds);
            for (int i = 0; i <= o->nbuckets; i++) {
                buf_t le = BUF_INIT;
                if (i < o->nbuckets)
                    metrics_format_value(&le, o->buckets[i]);
                else
                    buf_addstr(&le, "+Inf");
                snprintf(f->les[i], sizeof f->les[i], "%s", buf_str(&le));
                buf_free(&le);
            }
        }
        bad |= !f->bounds || !f->les;
    }
    /* A family without labels always shows its one series, 0 until set. */
    int capped;
    if (!bad && nl == 0 && !lookup(f, NULL, &capped))
        bad = 1;
    if (bad) {
        family_free(f);
        return NULL;
    }
    if (reg->last)
        reg->last->next = f;
    else
        reg->first = f;
    reg->last = f;
    return f;
}

void metrics_family_clear(metrics_family *f)
{
    for (size_t i = 0; i < f->nseries; i++)
        free(f->series[i]);
    f->nseries = 0;
    if (f->index)
        memset(f->index, 0, f->index_cap * sizeof *f->index);
    free(f->other);
    f->other = NULL;
}

static void note_overflow(metrics_family *f)
{
    metrics_family *o = f->reg ? f->reg->overflow : NULL;
    if (o && o != f)
        metrics_counter_add(o, METRICS_L(f->name), 1);
}

/* The series for the label values: found, made, the overflow series past
 * the cap (*capped = 1), or NULL (out of memory; or past the cap for a
 * gauge, with *capped = 1). */
static series *lookup(metrics_family *f, const char *const *values, int *capped)
{
    *capped = 0;
    /* Every value fits: at most METRICS_MAX_VALUE bytes and its NUL each. */
    char k[METRICS_MAX_LABELS * (METRICS_MAX_VALUE + 1)];
    size_t kn = 0;
    for (int i = 0; i < f->nlabels; i++) {
        const char *v = values && values[i] ? values[i] : "";
        kn += copy_utf8(k + kn, v, strlen(v), METRICS_MAX_VALUE);
        k[kn++] = '\0';
    }
    size_t h = hash(k, kn);
    if (f->index_cap)
        for (size_t j = h & (f->index_cap - 1); f->index[j]; j = (j + 1) & (f->index_cap - 1)) {
            series *s = f->series[f->index[j] - 1];
            if (s->keylen == kn && !memcmp(s->key, k, kn))
                return s;
        }
    if (f->nseries >= f->max_series) {
        *capped = 1;
        note_overflow(f);
        if (f->type == METRICS_GAUGE)
            return NULL;
        if (!f->other) {
            buf_t ok = BUF_INIT;
            for (int i = 0; i < f->nlabels; i++)
                buf_add(&ok, METRICS_OTHER, sizeof METRICS_OTHER); /* with its NUL */
            if (!ok.failed)
                f->other = series_new(f, buf_str(&ok), ok.n);
            buf_free(&ok);
        }
        return f->other;
    }
    if (f->nseries == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        series **ns = realloc(f->series, cap * sizeof *ns);
        if (!ns)
            return NULL;
        f->series = ns;
        f->cap = cap;
    }
    /* Keep the index at most half full. */
    if ((f->nseries + 1) * 2 > f->index_cap && index_grow(f) < 0)
        return NULL;
    series *s = series_new(f, k, kn);
    if (!s)
        return NULL;
    f->series[f->nseries++] = s;
    size_t j = h & (f->index_cap - 1);
    while (f->index[j])
        j = (j + 1) & (f->index_cap - 1);
    f->index[j] = f->nseries;
    return s;
}

static int update(metrics_family *f, metrics_type want, const char *const *values, double v,
                  int how)
{
    if (!f || f->type != want || isnan(v) || (want == METRICS_COUNTER && v < 0))
        return -1;
    int capped;
    series *s = lookup(f, values, &capped);
    if (!s)
        return capped ? 1 : -1;
    if (want == METRICS_HISTOGRAM) {
        int i = 0;
        while (i < f->nbounds && v > f->bounds[i])
            i++;
        if (i < f->nbounds)
            s->buckets[i]++;
        s->count++;
        s->sum += v;
    } else if (how == 's')
        s->value = v;
    else
        s->value += v;
    return capped;
}

int metrics_counter_add(metrics_family *f, const char *const *values, double v)
{
    return update(f, METRICS_COUNTER, values, v, '+');
}

int metrics_gauge_set(metrics_family *f, const char *const *values, double v)
{
    return update(f, METRICS_GAUGE, values, v, 's');
}

int metrics_gauge_add(metrics_family *f, const char *const *values, double v)
{
    return update(f, METRICS_GAUGE, values, v, '+');
}

int metrics_histogram_observe(metrics_family *f, const char *const *values, double v)
{
    return update(f, METRICS_HISTOGRAM, values, v, 'o');
}

void metrics_family_collect(metrics_family *f, metrics_collect_fn fn, void *ud)
{
    f->collect = fn;
    f->collect_ud = ud;
}

void metrics_family_value(metrics_family *f, metrics_value_fn fn, void *ud)
{
    f->value_fn = fn;
    f->value_ud = ud;
}

/* ---- rendering ---------------------------------------------------------- */

/* {l1="v1",...,le="..."}: le is the histogram's bucket bound, or NULL. */
static void add_labels(buf_t *out, const metrics_family *f, const series *s, const char *le)
{
    if (f->nlabels == 0 && !le)
        return;
    buf_addc(out, '{');
    const char *v = s->key;
    for (int i = 0; i < f->nlabels; i++) {
        size_t n = strlen(v);
        if (i)
            buf_addc(out, ',');
        buf_addstr(out, f->labels[i]);
        buf_add(out, "=\"", 2);
        metrics_escape_label(out, v, n);
        buf_addc(out, '"');
        v += n + 1;
    }
    if (le) {
        buf_addstr(out, f->nlabels ? ",le=\"" : "le=\"");
        buf_addstr(out, le);
        buf_addc(out, '"');
    }
    buf_addc(out, '}');
}

static void add_count(buf_t *out, uint64_t n)
{
    char s[24];
    int k = snprintf(s, sizeof s, " %" PRIu64 "\n", n);
    buf_add(out, s, (size_t)k);
}

static void render_series(buf_t *out, const metrics_family *f, const series *s)
{
    if (f->type != METRICS_HISTOGRAM) {
        buf_addstr(out, f->name);
        add_labels(out, f, s, NULL);
        buf_addc(out, ' ');
        metrics_format_value(out, s->value);
        buf_addc(out, '\n');
        return;
    }
    uint64_t cum = 0;
    for (int i = 0; i <= f->nbounds; i++) {
        cum = i < f->nbounds ? cum + s->buckets[i] : s->count;
        buf_addstr(out, f->name);
        buf_add(out, "_bucket", 7);
        add_labels(out, f, s, f->les[i]);
        add_count(out, cum);
    }
    buf_addstr(out, f->name);
    buf_add(out, "_sum", 4);
    add_labels(out, f, s, NULL);
    buf_addc(out, ' ');
    metrics_format_value(out, s->sum);
    buf_addc(out, '\n');
    buf_addstr(out, f->name);
    buf_add(out, "_count", 6);
    add_labels(out, f, s, NULL);
    add_count(out, s->count);
}

static const char *type_name(metrics_type t)
{
    return t == METRICS_COUNTER ? "counter" : t == METRICS_GAUGE ? "gauge" : "histogram";
}

int metrics_registry_render(metrics_registry *reg, buf_t *out)
{
    for (metrics_family *f = reg->first; f; f = f->next) {
        if (f->collect)
            f->collect(f, f->collect_ud);
        if (f->value_fn && f->nlabels == 0 && f->nseries == 1 && f->type != METRICS_HISTOGRAM)
            f->series[0]->value = f->value_fn(f->value_ud);
        buf_fmt(out, "# HELP %s ", f->name);
        escape_help(out, f->help);
        buf_fmt(out, "\n# TYPE %s %s\n", f->name, type_name(f->type));
        for (size_t i = 0; i < f->nseries; i++)
            render_series(out, f, f->series[i]);
        if (f->other)
            render_series(out, f, f->other);
    }
    return out->failed ? -1 : 0;
}

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

/* The process's start from /proc (boot time + start ticks), else now. */
static double process_start_time(void)
{
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
    if (btime <= 0 || ticks < 0 || hz <= 0)
        return fallback;
    return btime + ticks / (double)hz;
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
