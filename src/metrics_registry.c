/* metrics_registry.c — families of series with a fixed label set, a cap on
 * label combinations (an overflow series), values kept as the Prometheus
 * text exposition format will show them, and the rendering of that text. */
#include "metrics_registry.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
