/* metrics_exposition.c — the registry's text: sample values, label and HELP
 * escaping, invalid UTF-8, cumulative histogram buckets with +Inf, the cap
 * on label combinations (overflow series, dropped gauges, the overflow
 * counter), scrape-time collectors, and families refused for bad names. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_registry.h"

#include "check.h"

static int value_is(double v, const char *want)
{
    buf_t b = BUF_INIT;
    metrics_format_value(&b, v);
    int ok = !strcmp(buf_str(&b), want);
    if (!ok)
        fprintf(stderr, "format %.17g: got %s, want %s\n", v, buf_str(&b), want);
    buf_free(&b);
    return ok;
}

/* The value prints in as few digits as read back to the same double. */
static int round_trips(double v)
{
    buf_t b = BUF_INIT;
    metrics_format_value(&b, v);
    int ok = strtod(buf_str(&b), NULL) == v && b.n <= 24;
    buf_free(&b);
    return ok;
}

static void test_values(void)
{
    CHECK(value_is(0, "0"));
    CHECK(value_is(3, "3"));
    CHECK(value_is(-2, "-2"));
    CHECK(value_is(1764547200, "1764547200"));
    CHECK(value_is(0.1, "0.1"));
    CHECK(value_is(0.025, "0.025"));
    CHECK(value_is(1e-9, "1e-09"));
    CHECK(value_is(1.5e20, "1.5e+20"));
    CHECK(value_is(INFINITY, "+Inf"));
    CHECK(value_is(-INFINITY, "-Inf"));
    CHECK(value_is(NAN, "NaN"));
    CHECK(round_trips(1.0 / 3));
    CHECK(round_trips(0.1 + 0.2));
    CHECK(round_trips(123456.789e-7));
    CHECK(round_trips(9007199254740993.0));
}

static int escaped_is(const char *s, size_t n, const char *want)
{
    buf_t b = BUF_INIT;
    metrics_escape_label(&b, s, n);
    int ok = b.n == strlen(want) && !memcmp(buf_str(&b), want, b.n);
    if (!ok)
        fprintf(stderr, "escape: got [%s], want [%s]\n", buf_str(&b), want);
    buf_free(&b);
    return ok;
}

static void test_escaping(void)
{
    CHECK(escaped_is("plain", 5, "plain"));
    CHECK(escaped_is("a\\b\"c\nd", 7, "a\\\\b\\\"c\\nd"));
    /* Tabs and other bytes pass as they are; only the three are escaped. */
    CHECK(escaped_is("x\ty", 3, "x\ty"));
    CHECK(escaped_is("caf\xc3\xa9", 5, "caf\xc3\xa9"));
    /* Invalid UTF-8 (a stray byte, a cut sequence, an overlong form, a
     * surrogate) becomes U+FFFD: the format wants UTF-8. */
    CHECK(escaped_is("a\xff"
                     "b",
                     3,
                     "a\xef\xbf\xbd"
                     "b"));
    CHECK(escaped_is("\xc3", 1, "\xef\xbf\xbd"));
    CHECK(escaped_is("\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd"));
    CHECK(escaped_is("\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"));
}

static const char expected[] = "# HELP t_total Help with \\\\ and\\nnewline \"quoted\".\n"
                               "# TYPE t_total counter\n"
                               "t_total{a=\"x\",b=\"y\"} 3\n"
                               "t_total{a=\"q\\\"\",b=\"back\\\\slash\\nline\"} 1\n"
                               "# HELP g A gauge.\n"
                               "# TYPE g gauge\n"
                               "g 5.5\n"
                               "# HELP h_seconds A histogram.\n"
                               "# TYPE h_seconds histogram\n"
                               "h_seconds_bucket{k=\"a\",le=\"0.125\"} 2\n"
                               "h_seconds_bucket{k=\"a\",le=\"1\"} 3\n"
                               "h_seconds_bucket{k=\"a\",le=\"10\"} 3\n"
                               "h_seconds_bucket{k=\"a\",le=\"+Inf\"} 4\n"
                               "h_seconds_sum{k=\"a\"} 100.6875\n"
                               "h_seconds_count{k=\"a\"} 4\n"
                               "# HELP nolabels_seconds No labels.\n"
                               "# TYPE nolabels_seconds histogram\n"
                               "nolabels_seconds_bucket{le=\"0.5\"} 0\n"
                               "nolabels_seconds_bucket{le=\"+Inf\"} 1\n"
                               "nolabels_seconds_sum 2\n"
                               "nolabels_seconds_count 1\n";

static void test_render(void)
{
    metrics_registry *reg = metrics_registry_new(NULL);
    CHECK(reg != NULL);
    metrics_family_opts co = {.type = METRICS_COUNTER,
                              .name = "t_total",
                              .help = "Help with \\ and\nnewline \"quoted\".",
                              .labels = {"a", "b"}};
    metrics_family *c = metrics_family_add(reg, &co);
    metrics_family_opts go = {.type = METRICS_GAUGE, .name = "g", .help = "A gauge."};
    metrics_family *g = metrics_family_add(reg, &go);
    static const double bounds[] = {0.125, 1, 10};
    metrics_family_opts ho = {.type = METRICS_HISTOGRAM,
                              .name = "h_seconds",
                              .help = "A histogram.",
                              .labels = {"k"},
                              .buckets = bounds,
                              .nbuckets = 3};
    metrics_family *h = metrics_family_add(reg, &ho);
    static const double half[] = {0.5};
    metrics_family_opts no = {.type = METRICS_HISTOGRAM,
                              .name = "nolabels_seconds",
                              .help = "No labels.",
                              .buckets = half,
                              .nbuckets = 1};
    metrics_family *n = metrics_family_add(reg, &no);
    CHECK(c && g && h && n);
    CHECK(metrics_counter_add(c, METRICS_L("x", "y"), 1) == 0);
    CHECK(metrics_counter_add(c, METRICS_L("q\"", "back\\slash\nline"), 1) == 0);
    CHECK(metrics_counter_add(c, METRICS_L("x", "y"), 2) == 0);
    CHECK(metrics_gauge_set(g, NULL, 5.5) == 0);
    /* le is inclusive: 0.125 counts in the 0.125 bucket; 100 only in +Inf. */
    CHECK(metrics_histogram_observe(h, METRICS_L("a"), 0.0625) == 0);
    CHECK(metrics_histogram_observe(h, METRICS_L("a"), 0.125) == 0);
    CHECK(metrics_histogram_observe(h, METRICS_L("a"), 0.5) == 0);
    CHECK(metrics_histogram_observe(h, METRICS_L("a"), 100) == 0);
    CHECK(metrics_histogram_observe(n, NULL, 2) == 0);
    /* Wrong type, NaN, a counter going down: refused, nothing changes. */
    CHECK(metrics_gauge_set(c, METRICS_L("x", "y"), 1) == -1);
    CHECK(metrics_counter_add(g, NULL, 1) == -1);
    CHECK(metrics_counter_add(c, METRICS_L("x", "y"), -1) == -1);
    CHECK(metrics_counter_add(c, METRICS_L("x", "y"), NAN) == -1);
    CHECK(metrics_histogram_observe(h, METRICS_L("a"), NAN) == -1);
    buf_t out = BUF_INIT;
    CHECK(metrics_registry_render(reg, &out) == 0);
    CHECK(!strcmp(buf_str(&out), expected));
    if (strcmp(buf_str(&out), expected))
        fprintf(stderr, "rendered:\n%s\nexpected:\n%s\n", buf_str(&out), expected);
    /* A render into a buffer too small says so. */
    buf_t small;
    buf_init(&small, 64);
    CHECK(metrics_registry_render(reg, &small) == -1);
    buf_free(&small);
    buf_free(&out);
    metrics_registry_free(reg);
}

/* Random observations: every bucket holds exactly the observations <= its
 * bound (counted here independently), buckets never decrease, +Inf and
 * _count hold all. */
static void test_histogram_cumulative(void)
{
    metrics_registry *reg = metrics_registry_new(NULL);
    static const double bounds[] = {0.01, 0.1, 1, 10, 100};
    metrics_family_opts ho = {.type = METRICS_HISTOGRAM,
                              .name = "r_seconds",
                              .help = "Random.",
                              .labels = {"k"},
                              .buckets = bounds,
                              .nbuckets = 5};
    metrics_family *h = metrics_family_add(reg, &ho);
    unsigned long long want[6] = {0};
    srand(7);
    int total = 5000;
    for (int i = 0; i < total; i++) {
        double v = pow(10, (rand() % 6000) / 1000.0 - 3); /* 0.001 .. 1000 */
        if (i % 500 == 0)
            v = bounds[(i / 500) % 5]; /* exact bounds too */
        metrics_histogram_observe(h, METRICS_L("only"), v);
        for (int b = 0; b < 5; b++)
            if (v <= bounds[b])
                want[b]++;
        want[5]++;
    }
    buf_t out = BUF_INIT;
    metrics_registry_render(reg, &out);
    const char *les[] = {"0.01", "0.1", "1", "10", "100", "+Inf"};
    unsigned long long prev = 0;
    for (int b = 0; b < 6; b++) {
        char key[64];
        snprintf(key, sizeof key, "r_seconds_bucket{k=\"only\",le=\"%s\"} ", les[b]);
        const char *line = strstr(buf_str(&out), key);
        CHECK(line != NULL);
        unsigned long long got = line ? strtoull(line + strlen(key), NULL, 10) : 0;
        CHECK(got == want[b]);
        CHECK(got >= prev);
        prev = got;
    }
    char count[64];
    snprintf(count, sizeof count, "r_seconds_count{k=\"only\"} %d\n", total);
    CHECK(strstr(buf_str(&out), count) != NULL);
    CHECK(want[5] == (unsigned long long)total && want[0] > 0 && want[4] < want[5]);
    buf_free(&out);
    metrics_registry_free(reg);
}

static int count_lines(const char *text, const char *prefix)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, prefix)); p++)
        if (p == text || p[-1] == '\n')
            n++;
    return n;
}

static void test_cap(void)
{
    metrics_registry *reg = metrics_registry_new("overflow_total");
    CHECK(reg != NULL);
    metrics_family_opts co = {
        .type = METRICS_COUNTER, .name = "c_total", .help = "C.", .labels = {"x"}, .max_series = 3};
    metrics_family *c = metrics_family_add(reg, &co);
    metrics_family_opts go = {
        .type = METRICS_GAUGE, .name = "gg", .help = "G.", .labels = {"x"}, .max_series = 2};
    metrics_family *g = metrics_family_add(reg, &go);
    static const double b1[] = {1};
    metrics_family_opts ho = {.type = METRICS_HISTOGRAM,
                              .name = "hh",
                              .help = "H.",
                              .labels = {"x", "y"},
                              .buckets = b1,
                              .nbuckets = 1,
                              .max_series = 1};
    metrics_family *h = metrics_family_add(reg, &ho);
    CHECK(c && g && h);
    CHECK(metrics_counter_add(c, METRICS_L("a"), 1) == 0);
    CHECK(metrics_counter_add(c, METRICS_L("b"), 1) == 0);
    CHECK(metrics_counter_add(c, METRICS_L("c"), 1) == 0);
    CHECK(metrics_counter_add(c, METRICS_L("d"), 5) == 1);
    CHECK(metrics_counter_add(c, METRICS_L("e"), 2) == 1);
    CHECK(metrics_counter_add(c, METRICS_L("a"), 1) == 0); /* known: still its own */
    CHECK(metrics_gauge_set(g, METRICS_L("a"), 1) == 0);
    CHECK(metrics_gauge_set(g, METRICS_L("b"), 2) == 0);
    CHECK(metrics_gauge_set(g, METRICS_L("c"), 3) == 1);
    CHECK(metrics_gauge_set(g, METRICS_L("b"), 4) == 0);
    CHECK(metrics_histogram_observe(h, METRICS_L("a", "b"), 0.5) == 0);
    CHECK(metrics_histogram_observe(h, METRICS_L("c", "d"), 0.5) == 1);
    CHECK(metrics_histogram_observe(h, METRICS_L("e", "f"), 2) == 1);
    buf_t out = BUF_INIT;
    CHECK(metrics_registry_render(reg, &out) == 0);
    const char *t = buf_str(&out);
    CHECK(strstr(t, "c_total{x=\"a\"} 2\n") != NULL);
    CHECK(strstr(t, "c_total{x=\"__other__\"} 7\n") != NULL);
    CHECK(count_lines(t, "c_total{") == 4);
    CHECK(strstr(t, "gg{x=\"b\"} 4\n") != NULL);
    CHECK(count_lines(t, "gg{") == 2);
    CHECK(strstr(t, "hh_bucket{x=\"__other__\",y=\"__other__\",le=\"1\"} 1\n") != NULL);
    CHECK(strstr(t, "hh_bucket{x=\"__other__\",y=\"__other__\",le=\"+Inf\"} 2\n") != NULL);
    CHECK(strstr(t, "overflow_total{family=\"c_total\"} 2\n") != NULL);
    CHECK(strstr(t, "overflow_total{family=\"gg\"} 1\n") != NULL);
    CHECK(strstr(t, "overflow_total{family=\"hh\"} 2\n") != NULL);
    buf_free(&out);

    /* The default cap: a thousand combinations, then the overflow series. */
    metrics_family_opts bo = {
        .type = METRICS_COUNTER, .name = "big_total", .help = "B.", .labels = {"n"}};
    metrics_family *big = metrics_family_add(reg, &bo);
    int folded = 0;
    for (int i = 0; i < 1500; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        folded += metrics_counter_add(big, METRICS_L(v), i + 1) == 1;
    }
    for (int i = 0; i < 1000; i += 37) { /* each kept its own count */
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        CHECK(metrics_counter_add(big, METRICS_L(v), 0) == 0);
    }
    CHECK(folded == 500);
    CHECK(metrics_registry_render(reg, &out) == 0);
    t = buf_str(&out);
    CHECK(count_lines(t, "big_total{") == METRICS_MAX_SERIES + 1);
    CHECK(strstr(t, "big_total{n=\"999\"} 1000\n") != NULL);
    CHECK(strstr(t, "big_total{n=\"1000\"}") == NULL);
    /* 1001 + ... + 1500 */
    CHECK(strstr(t, "big_total{n=\"__other__\"} 625250\n") != NULL);
    CHECK(strstr(t, "overflow_total{family=\"big_total\"} 500\n") != NULL);
    buf_free(&out);
    metrics_registry_free(reg);
}

/* Label values are stored as the format will show them: invalid bytes that
 * render the same are one series; a long value is cut at a character. */
static void test_values_normalised(void)
{
    metrics_registry *reg = metrics_registry_new(NULL);
    metrics_family_opts co = {
        .type = METRICS_COUNTER, .name = "u_total", .help = "U.", .labels = {"v"}};
    metrics_family *c = metrics_family_add(reg, &co);
    metrics_counter_add(c, METRICS_L("\xff"), 1);
    metrics_counter_add(c, METRICS_L("\xfe"), 1);
    char longv[600];
    memset(longv, 'a', sizeof longv - 3);
    memcpy(longv + 254, "\xc3\xa9", 2); /* é straddles the 256-byte cut */
    longv[sizeof longv - 1] = 0;
    metrics_counter_add(c, METRICS_L(longv), 1);
    /* No label values at all (NULL) on a labelled family: empty strings. */
    metrics_counter_add(c, NULL, 1);
    buf_t out = BUF_INIT;
    metrics_registry_render(reg, &out);
    CHECK(strstr(buf_str(&out), "u_total{v=\"\xef\xbf\xbd\"} 2\n") != NULL);
    char want[400];
    snprintf(want, sizeof want, "u_total{v=\"%.254s\xc3\xa9\"} 1\n", longv);
    CHECK(strstr(buf_str(&out), want) != NULL);
    CHECK(strstr(buf_str(&out), "u_total{v=\"\"} 1\n") != NULL);
    buf_free(&out);
    metrics_registry_free(reg);
}

static int gauge_calls;
static double value_fn(void *ud)
{
    gauge_calls++;
    return *(double *)ud;
}

static void collect_fn(metrics_family *f, void *ud)
{
    metrics_family_clear(f);
    int *n = ud;
    for (int i = 0; i < *n; i++)
        metrics_gauge_set(f, METRICS_L(i ? "P2" : "P1"), i + 1);
}

static void test_scrape_time(void)
{
    metrics_registry *reg = metrics_registry_new(NULL);
    metrics_family_opts vo = {.type = METRICS_GAUGE, .name = "v", .help = "V."};
    metrics_family_opts lo = {
        .type = METRICS_GAUGE, .name = "sev", .help = "S.", .labels = {"severity"}};
    metrics_family *v = metrics_family_add(reg, &vo);
    metrics_family *l = metrics_family_add(reg, &lo);
    double now = 42;
    int n = 2;
    metrics_family_value(v, value_fn, &now);
    metrics_family_collect(l, collect_fn, &n);
    buf_t out = BUF_INIT;
    metrics_registry_render(reg, &out);
    CHECK(strstr(buf_str(&out), "\nv 42\n") != NULL);
    CHECK(strstr(buf_str(&out), "sev{severity=\"P1\"} 1\nsev{severity=\"P2\"} 2\n") != NULL);
    buf_reset(&out);
    now = 7, n = 1;
    metrics_registry_render(reg, &out);
    CHECK(strstr(buf_str(&out), "\nv 7\n") != NULL);
    CHECK(strstr(buf_str(&out), "sev{severity=\"P1\"} 1\n") != NULL);
    CHECK(strstr(buf_str(&out), "P2") == NULL); /* gone with its incidents */
    CHECK(gauge_calls == 2);
    buf_free(&out);
    metrics_registry_free(reg);
}

static void test_refused(void)
{
    metrics_registry *reg = metrics_registry_new(NULL);
    static const double ok_b[] = {1, 2}, bad_b[] = {2, 1}, nan_b[] = {1, NAN};
    metrics_family_opts o[] = {
        {.type = METRICS_COUNTER, .name = "1abc", .help = "x"},
        {.type = METRICS_COUNTER, .name = "a-b", .help = "x"},
        {.type = METRICS_COUNTER, .name = "", .help = "x"},
        {.type = METRICS_COUNTER, .name = "ok_total", .help = NULL},
        {.type = METRICS_COUNTER, .name = "ok_total", .help = "x", .labels = {"__x"}},
        {.type = METRICS_COUNTER, .name = "ok_total", .help = "x", .labels = {"a:b"}},
        {.type = METRICS_COUNTER, .name = "ok_total", .help = "x", .labels = {"a", "a"}},
        {.type = METRICS_HISTOGRAM,
         .name = "h",
         .help = "x",
         .labels = {"le"},
         .buckets = ok_b,
         .nbuckets = 2},
        {.type = METRICS_HISTOGRAM, .name = "h", .help = "x", .buckets = bad_b, .nbuckets = 2},
        {.type = METRICS_HISTOGRAM, .name = "h", .help = "x", .buckets = nan_b, .nbuckets = 2},
        {.type = METRICS_HISTOGRAM, .name = "h", .help = "x", .nbuckets = 0},
    };
    for (size_t i = 0; i < sizeof o / sizeof o[0]; i++)
        CHECK(metrics_family_add(reg, &o[i]) == NULL);
    metrics_family_opts good = {
        .type = METRICS_COUNTER, .name = "ns:ok_total", .help = "x", .labels = {"a", "le"}};
    CHECK(metrics_family_add(reg, &good) != NULL); /* le is only the histogram's */
    buf_t out = BUF_INIT;
    metrics_registry_render(reg, &out);
    CHECK(!strcmp(buf_str(&out), "# HELP ns:ok_total x\n# TYPE ns:ok_total counter\n"));
    buf_free(&out);
    metrics_registry_free(reg);
}

int main(void)
{
    test_values();
    test_escaping();
    test_render();
    test_histogram_cumulative();
    test_cap();
    test_values_normalised();
    test_scrape_time();
    test_refused();
    return check_report();
}
