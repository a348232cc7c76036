/* alerts_parse.c — webhook bodies into alerts (src/alerts.c): real
 * Alertmanager v4 payloads, Grafana unified and legacy, the generic forms,
 * the fingerprint Alertmanager computes, ctx.alert's JSON, and hostile
 * bodies (named errors; truncated and mutated payloads never crash). */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "json.h"

#include "alerts_samples.h"
#include "check.h"

static char err[512];

static alerts_batch *parse(alerts_source src, const char *body)
{
    alerts_batch *b = NULL;
    err[0] = '\0';
    int rc = alerts_parse(src, body, strlen(body), &b, err, sizeof err);
    if (rc < 0) {
        CHECK(b == NULL);
        CHECK(err[0] != '\0');
        return NULL;
    }
    CHECK(b != NULL);
    return b;
}

/* The body must be refused with a message containing want. */
static int refused(alerts_source src, const char *body, const char *want)
{
    alerts_batch *b = parse(src, body);
    if (b) {
        alerts_batch_free(b);
        fprintf(stderr, "accepted: %.200s\n", body);
        return 0;
    }
    if (!strstr(err, want)) {
        fprintf(stderr, "error \"%s\" does not say \"%s\"\n", err, want);
        return 0;
    }
    return 1;
}

static const char *annotation(const alerts_alert *a, const char *name)
{
    for (int i = 0; i < a->nannotations; i++)
        if (!strcmp(a->annotations[i].name, name))
            return a->annotations[i].value;
    return NULL;
}

static int str_eq(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

static void test_alertmanager(void)
{
    alerts_batch *b = parse(ALERTS_ALERTMANAGER, AM_FIRING_TWO);
    CHECK(b && b->n == 2);
    if (!b)
        return;
    CHECK(b->source == ALERTS_ALERTMANAGER);
    CHECK(str_eq(b->receiver, "tocsin"));
    CHECK(str_eq(b->group_key, "{}:{alertname=\"DatabaseDown\"}"));
    CHECK(str_eq(b->external_url, "http://vm:19312"));
    const alerts_alert *a = &b->alerts[0];
    CHECK(!a->resolved && str_eq(a->status, "firing"));
    CHECK(a->nlabels == 4);
    CHECK(str_eq(alerts_label(a, "alertname"), "DatabaseDown"));
    CHECK(str_eq(alerts_label(a, "instance"), "db1:5432"));
    CHECK(str_eq(alerts_label(a, "severity"), "critical"));
    CHECK(alerts_label(a, "nope") == NULL);
    for (int i = 1; i < a->nlabels; i++)
        CHECK(strcmp(a->labels[i - 1].name, a->labels[i].name) < 0);
    CHECK(str_eq(annotation(a, "summary"), "Database db1 is down"));
    CHECK(str_eq(a->starts_at, "2026-12-01T16:35:38.416400264Z"));
    CHECK(str_eq(a->ends_at, "0001-01-01T00:00:00Z"));
    CHECK(str_eq(a->generator_url, "http://prometheus:9090/graph?g0.expr=pg_up+%3D%3D+0"));
    CHECK(str_eq(a->fingerprint, "2ae75d89f24e9cb9"));
    CHECK(str_eq(b->alerts[1].fingerprint, "332fe1ea74ff5bd6"));
    CHECK(str_eq(alerts_label(&b->alerts[1], "instance"), "db2:5432"));
    /* The fingerprint we compute is the one Alertmanager sent for the same labels. */
    for (int i = 0; i < b->n; i++) {
        char fp[17];
        alerts_fingerprint(b->alerts[i].labels, b->alerts[i].nlabels, fp);
        CHECK(!strcmp(fp, b->alerts[i].fingerprint));
    }
    alerts_batch_free(b);

    /* One resolved beside one still firing: the alert's status, not the group's. */
    b = parse(ALERTS_ALERTMANAGER, AM_ONE_RESOLVED);
    CHECK(b && b->n == 2);
    if (b) {
        CHECK(str_eq(b->status, "firing"));
        CHECK(b->alerts[0].resolved && str_eq(b->alerts[0].status, "resolved"));
        CHECK(!b->alerts[1].resolved);
        CHECK(str_eq(b->alerts[0].fingerprint, "2ae75d89f24e9cb9"));
        alerts_batch_free(b);
    }
    b = parse(ALERTS_ALERTMANAGER, AM_RESOLVED);
    CHECK(b && b->n == 1 && b->alerts[0].resolved);
    alerts_batch_free(b);

    /* The same body through the generic hook reads the same. */
    b = parse(ALERTS_GENERIC, AM_FIRING_TWO);
    CHECK(b && b->n == 2 && str_eq(b->alerts[1].fingerprint, "332fe1ea74ff5bd6"));
    alerts_batch_free(b);

    /* No alerts is a valid (empty) group. */
    b = parse(ALERTS_ALERTMANAGER, "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[]}");
    CHECK(b && b->n == 0);
    alerts_batch_free(b);
}

static void test_grafana(void)
{
    alerts_batch *b = parse(ALERTS_GRAFANA, GRAFANA_UNIFIED);
    CHECK(b && b->n == 2);
    if (!b)
        return;
    CHECK(str_eq(b->title, "[FIRING:1, RESOLVED:1]  (blue)"));
    CHECK(b->message && !strncmp(b->message, "**Firing**", 10));
    const alerts_alert *a = &b->alerts[0];
    CHECK(a->source == ALERTS_GRAFANA && !a->resolved);
    CHECK(str_eq(alerts_label(a, "alertname"), "High memory usage"));
    CHECK(str_eq(alerts_label(a, "grafana_folder"), "Infra"));
    CHECK(str_eq(a->fingerprint, "c6eadffa33fcdf37"));
    CHECK(str_eq(annotation(a, "runbook_url"), "https://myrunbook.com/runbook/1234"));
    int silence = 0;
    for (int i = 0; i < a->nextra; i++) {
        silence |= !strcmp(a->extra[i].name, "silenceURL");
        CHECK(strcmp(a->extra[i].name, "dashboardURL")); /* empty: left out */
    }
    CHECK(silence);
    CHECK(b->alerts[1].resolved &&
          str_eq(b->alerts[1].ends_at, "2021-10-12T10:01:03.157076+02:00"));
    alerts_batch_free(b);

    b = parse(ALERTS_GRAFANA, GRAFANA_LEGACY);
    CHECK(b && b->n == 1);
    if (b) {
        a = &b->alerts[0];
        CHECK(!a->resolved);
        CHECK(str_eq(alerts_label(a, "alertname"), "Panel Title"));
        CHECK(str_eq(alerts_label(a, "tag name"), "tag value"));
        CHECK(str_eq(annotation(a, "message"), "Notification Message"));
        CHECK(a->generator_url && strstr(a->generator_url, "test-dashboard"));
        CHECK(a->fingerprint && strlen(a->fingerprint) == 16);
        alerts_batch_free(b);
    }
    b = parse(ALERTS_GRAFANA, "{\"ruleName\":\"R\",\"state\":\"ok\"}");
    CHECK(b && b->n == 1 && b->alerts[0].resolved);
    alerts_batch_free(b);
    b = parse(ALERTS_GRAFANA, "{\"ruleName\":\"R\",\"state\":\"pending\"}");
    CHECK(b && b->n == 0); /* not an alert yet */
    alerts_batch_free(b);
    CHECK(refused(ALERTS_GRAFANA, "{\"title\":\"x\"}", "ruleName"));
}

static void test_generic(void)
{
    /* A flat object: its scalar fields are labels. */
    alerts_batch *b = parse(ALERTS_GENERIC, "{\"alertname\":\"DiskFull\",\"host\":\"web-3\","
                                            "\"code\":500,\"up\":false,\"nested\":{\"x\":1},"
                                            "\"annotations\":{\"summary\":\"97%\"}}");
    CHECK(b && b->n == 1);
    if (b) {
        const alerts_alert *a = &b->alerts[0];
        CHECK(a->source == ALERTS_GENERIC && !a->resolved);
        CHECK(a->nlabels == 4);
        CHECK(str_eq(alerts_label(a, "code"), "500"));
        CHECK(str_eq(alerts_label(a, "up"), "false"));
        CHECK(alerts_label(a, "nested") == NULL && alerts_label(a, "annotations") == NULL);
        CHECK(str_eq(annotation(a, "summary"), "97%"));
        char fp[17];
        alerts_fingerprint(a->labels, a->nlabels, fp);
        CHECK(str_eq(a->fingerprint, fp));
        alerts_batch_free(b);
    }
    /* The same labels in another order: the same fingerprint. */
    alerts_batch *x = parse(ALERTS_GENERIC, "{\"labels\":{\"b\":\"2\",\"a\":\"1\"}}");
    alerts_batch *y = parse(ALERTS_GENERIC, "{\"a\":\"1\",\"b\":\"2\",\"status\":\"firing\"}");
    CHECK(x && y && str_eq(x->alerts[0].fingerprint, y->alerts[0].fingerprint));
    alerts_batch_free(x);
    alerts_batch_free(y);
    /* Alertmanager's labels, posted generic without a fingerprint, get Alertmanager's. */
    b = parse(ALERTS_GENERIC,
              "{\"labels\":{\"alertname\":\"DatabaseDown\",\"instance\":\"db1:5432\","
              "\"job\":\"postgres\",\"severity\":\"critical\",\"empty\":\"\"}}");
    CHECK(b && str_eq(b->alerts[0].fingerprint, "2ae75d89f24e9cb9"));
    alerts_batch_free(b);
    /* A list, of structured and flat alerts; a bare array. */
    b = parse(ALERTS_GENERIC,
              "{\"alerts\":[{\"labels\":{\"alertname\":\"Q\",\"queue\":\"emails\"}},"
              "{\"alertname\":\"Q\",\"queue\":\"sms\",\"status\":\"resolved\"}]}");
    CHECK(b && b->n == 2 && !b->alerts[0].resolved && b->alerts[1].resolved);
    CHECK(b && str_eq(alerts_label(&b->alerts[1], "queue"), "sms"));
    CHECK(b && alerts_label(&b->alerts[1], "status") == NULL);
    alerts_batch_free(b);
    b = parse(ALERTS_GENERIC, "[{\"alertname\":\"A\"},{\"alertname\":\"B\"}]");
    CHECK(b && b->n == 2 && str_eq(alerts_label(&b->alerts[1], "alertname"), "B"));
    alerts_batch_free(b);
    /* A given fingerprint is kept. */
    b = parse(ALERTS_GENERIC, "{\"labels\":{\"a\":\"1\"},\"fingerprint\":\"mine\"}");
    CHECK(b && str_eq(b->alerts[0].fingerprint, "mine"));
    alerts_batch_free(b);
}

static void test_refused(void)
{
    CHECK(refused(ALERTS_ALERTMANAGER, "", "not JSON"));
    CHECK(refused(ALERTS_ALERTMANAGER, "{\"alerts\":[", "not JSON"));
    CHECK(refused(ALERTS_ALERTMANAGER, "[1,2]", "must be a JSON object"));
    CHECK(refused(ALERTS_ALERTMANAGER, "\"x\"", "must be a JSON object"));
    CHECK(refused(ALERTS_ALERTMANAGER, "{\"version\":\"4\"}", "alerts must be an array"));
    CHECK(refused(ALERTS_ALERTMANAGER, "{\"alerts\":{\"a\":1}}", "alerts must be an array"));
    CHECK(refused(ALERTS_ALERTMANAGER, "{\"version\":\"5\",\"alerts\":[]}", "version"));
    CHECK(refused(ALERTS_ALERTMANAGER, "{\"version\":4,\"alerts\":[]}", "version"));
    CHECK(refused(ALERTS_ALERTMANAGER, "{\"alerts\":[7]}", "alerts[0] must be an object"));
    CHECK(refused(ALERTS_ALERTMANAGER, "{\"alerts\":[{\"status\":\"firing\"}]}",
                  "alerts[0].labels must be an object"));
    CHECK(refused(ALERTS_ALERTMANAGER,
                  "{\"alerts\":[{\"labels\":{\"a\":\"1\"}},{\"labels\":{\"a\":\"1\"}},"
                  "{\"labels\":{\"a\":\"1\"}},{\"labels\":{\"alertname\":\"X\",\"severity\":3}}]}",
                  "alerts[3].labels.severity must be a string"));
    CHECK(refused(ALERTS_ALERTMANAGER, "{\"alerts\":[{\"labels\":[\"a\"]}]}",
                  "alerts[0].labels must be an object"));
    CHECK(
        refused(ALERTS_ALERTMANAGER, "{\"alerts\":[{\"labels\":{}}]}", "alerts[0] has no labels"));
    CHECK(refused(ALERTS_ALERTMANAGER, "{\"alerts\":[{\"labels\":{\"\":\"x\"}}]}", "empty name"));
    CHECK(refused(ALERTS_ALERTMANAGER, "{\"alerts\":[{\"labels\":{\"a\":\"x\\u0000y\"}}]}",
                  "alerts[0].labels.a contains a NUL byte"));
    CHECK(refused(ALERTS_ALERTMANAGER,
                  "{\"alerts\":[{\"labels\":{\"a\":\"1\"},\"status\":\"bad\"}]}",
                  "alerts[0].status must be \"firing\" or \"resolved\""));
    CHECK(refused(ALERTS_ALERTMANAGER, "{\"alerts\":[{\"labels\":{\"a\":\"1\"},\"startsAt\":5}]}",
                  "alerts[0].startsAt must be a string"));
    CHECK(refused(ALERTS_ALERTMANAGER,
                  "{\"alerts\":[{\"labels\":{\"a\":\"1\"},\"annotations\":7}]}",
                  "alerts[0].annotations must be an object"));
    CHECK(refused(ALERTS_ALERTMANAGER, "{\"status\":\"weird\",\"alerts\":[]}", "status must be"));
    CHECK(refused(ALERTS_ALERTMANAGER, "{\"receiver\":[],\"alerts\":[]}",
                  "receiver must be a string"));
    /* A name shown in an error is cut and made printable. */
    CHECK(refused(ALERTS_ALERTMANAGER, "{\"alerts\":[{\"labels\":{\"a\\u001b[31m\":1}}]}",
                  "labels.a?[31m must be a string"));
    /* Numbers are labels in generic bodies only; objects never. */
    CHECK(refused(ALERTS_GENERIC, "{\"labels\":{\"a\":{\"b\":1}}}",
                  "alert.labels.a must be a string"));
    CHECK(refused(ALERTS_GENERIC, "{\"nested\":{\"x\":1}}", "alert has no labels"));
    CHECK(refused(ALERTS_GENERIC, "{\"alerts\":[{\"a\":\"1\"},3]}", "alerts[1] must be an object"));

    /* Bounds: alerts per body, labels per alert, sizes, depth. */
    char *big = malloc(64 * 1024);
    for (int count = ALERTS_MAX_ALERTS; count <= ALERTS_MAX_ALERTS + 1; count++) {
        size_t n = (size_t)snprintf(big, 64, "{\"alerts\":[");
        for (int i = 0; i < count; i++)
            n += (size_t)snprintf(big + n, 64, "%s{\"labels\":{\"a\":\"%d\"}}", i ? "," : "", i);
        snprintf(big + n, 8, "]}");
        if (count > ALERTS_MAX_ALERTS) {
            CHECK(refused(ALERTS_ALERTMANAGER, big, "alerts has more than 1000 alerts"));
        } else { /* exactly the bound is accepted */
            alerts_batch *b = parse(ALERTS_ALERTMANAGER, big);
            CHECK(b && b->n == ALERTS_MAX_ALERTS);
            alerts_batch_free(b);
        }
    }
    size_t n;
    n = (size_t)snprintf(big, 64, "{\"alerts\":[{\"labels\":{");
    for (int i = 0; i < ALERTS_MAX_LABELS + 1; i++)
        n += (size_t)snprintf(big + n, 64, "%s\"l%d\":\"v\"", i ? "," : "", i);
    snprintf(big + n, 8, "}}]}");
    CHECK(refused(ALERTS_ALERTMANAGER, big, "alerts[0].labels has more than 64 entries"));

    n = (size_t)snprintf(big, 64, "{\"alerts\":[{\"labels\":{\"a\":\"");
    memset(big + n, 'x', ALERTS_MAX_VALUE + 1);
    snprintf(big + n + ALERTS_MAX_VALUE + 1, 8, "\"}}]}");
    CHECK(refused(ALERTS_ALERTMANAGER, big, "alerts[0].labels.a is too long"));
    n = (size_t)snprintf(big, 64, "{\"alerts\":[{\"labels\":{\"");
    memset(big + n, 'k', ALERTS_MAX_NAME + 1);
    snprintf(big + n + ALERTS_MAX_NAME + 1, 16, "\":\"v\"}}]}");
    CHECK(refused(ALERTS_ALERTMANAGER, big, "longer than 256 bytes (kkkk"));

    /* A body that decodes to far more than it weighs (a table per 3 bytes)
     * hits the decoder's memory bound, named as such. */
    size_t tables = 1000000;
    char *bomb = malloc(tables * 3 + 2);
    bomb[0] = '[';
    for (size_t i = 0; i < tables; i++)
        memcpy(bomb + 1 + i * 3, i + 1 < tables ? "[]," : "[]]", 3);
    bomb[tables * 3 + 1] = '\0';
    CHECK(refused(ALERTS_GENERIC, bomb, "the body takes more than"));
    free(bomb);

    for (int i = 0; i < 200; i++)
        big[i] = '[';
    big[200] = '\0';
    CHECK(refused(ALERTS_GENERIC, big, "not JSON"));
    free(big);
}

/* ctx.alert decodes as JSON with the alert's fields, whatever bytes the
 * labels held. */
static void test_render(void)
{
    alerts_batch *b = parse(ALERTS_ALERTMANAGER, AM_FIRING_TWO);
    CHECK(b != NULL);
    if (!b)
        return;
    alerts_decision d = {.verdict = ALERTS_START, .runbook = "database_down"};
    snprintf(d.key, sizeof d.key, "%s", b->alerts[0].fingerprint);
    char *js = alerts_alert_json(b, &b->alerts[0], &d);
    CHECK(js != NULL);
    lua_State *L = luaL_newstate();
    *(void **)lua_getextraspace(L) = NULL;
    CHECK(js && tn_json_decode(L, js, strlen(js)) == 0);
    int t = lua_gettop(L);
#define FIELD(path, want)                                                                          \
    do {                                                                                           \
        luaL_dostring(L, "return function(a) return " path " end");                                \
        lua_pushvalue(L, t);                                                                       \
        lua_call(L, 1, 1);                                                                         \
        CHECK(lua_type(L, -1) == LUA_TSTRING && !strcmp(lua_tostring(L, -1), want));               \
        lua_pop(L, 1);                                                                             \
    } while (0)
    FIELD("a.source", "alertmanager");
    FIELD("a.status", "firing");
    FIELD("a.labels.alertname", "DatabaseDown");
    FIELD("a.labels.instance", "db1:5432");
    FIELD("a.annotations.summary", "Database db1 is down");
    FIELD("a.startsAt", "2026-12-01T16:35:38.416400264Z");
    FIELD("a.fingerprint", "2ae75d89f24e9cb9");
    FIELD("a.receiver", "tocsin");
    FIELD("a.groupKey", "{}:{alertname=\"DatabaseDown\"}");
    FIELD("a.dedup_key", "2ae75d89f24e9cb9");
    FIELD("a.runbook", "database_down");
    FIELD("a.generatorURL", "http://prometheus:9090/graph?g0.expr=pg_up+%3D%3D+0");
    free(js);
    alerts_batch_free(b);

    b = parse(ALERTS_GENERIC,
              "{\"labels\":{\"q\\\"\":\"\\n\\u0001\\\\\",\"\\u00e9\":\"\\ud800\"}}");
    CHECK(b != NULL);
    js = b ? alerts_alert_json(b, &b->alerts[0], NULL) : NULL;
    CHECK(js && tn_json_decode(L, js, strlen(js)) == 0);
    t = lua_gettop(L);
    FIELD("a.labels['q\"']", "\n\001\\");
    FIELD("a.source", "generic");
    FIELD("a.status", "firing");
    free(js);
    alerts_batch_free(b);
    lua_close(L);
}

static uint32_t rng = 2463534242u;
static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* One input through every hook: a result is whole (a named error, or alerts
 * that each have labels, a status and a fingerprint, rendering to JSON). */
static int survives(const char *s, size_t n, lua_State *L)
{
    int ok = 1;
    for (int src = 0; src < ALERTS_NSOURCES; src++) {
        alerts_batch *b = NULL;
        char e[256] = "";
        if (alerts_parse((alerts_source)src, s, n, &b, e, sizeof e) < 0) {
            ok &= b == NULL && e[0] != '\0';
            continue;
        }
        ok &= b != NULL && b->n >= 0 && b->n <= ALERTS_MAX_ALERTS;
        for (int i = 0; b && i < b->n; i++) {
            const alerts_alert *a = &b->alerts[i];
            ok &= a->nlabels > 0 && a->fingerprint && a->status;
            char *js = alerts_alert_json(b, a, NULL);
            ok &= js && tn_json_decode(L, js, strlen(js)) == 0;
            lua_settop(L, 0);
            free(js);
        }
        alerts_batch_free(b);
    }
    return ok;
}

static void test_mutations(void)
{
    const char *const samples[] = {AM_FIRING_TWO, AM_ONE_RESOLVED, AM_RESOLVED, GRAFANA_UNIFIED,
                                   GRAFANA_LEGACY};
    lua_State *L = luaL_newstate();
    *(void **)lua_getextraspace(L) = NULL;
    int bad = 0, runs = 0;
    char buf[4096];
    for (size_t k = 0; k < sizeof samples / sizeof *samples; k++) {
        size_t n = strlen(samples[k]);
        CHECK(n < sizeof buf);
        /* Every truncation (read from a copy of exactly that length: ASan sees overreads). */
        for (size_t cut = 0; cut <= n; cut++) {
            char *p = malloc(cut ? cut : 1);
            memcpy(p, samples[k], cut);
            bad += !survives(p, cut, L);
            runs++;
            free(p);
        }
        /* Byte flips, insertions of JSON punctuation, deletions. */
        static const char punct[] = "{}[]\":,0-e.\\ntf\x80\xff";
        for (int it = 0; it < 1500; it++) {
            memcpy(buf, samples[k], n);
            size_t m = n;
            int edits = 1 + (int)(next_rand() % 4);
            for (int e = 0; e < edits && m > 1; e++) {
                size_t at = next_rand() % m;
                switch (next_rand() % 3) {
                case 0:
                    buf[at] = (char)next_rand();
                    break;
                case 1:
                    if (m + 1 < sizeof buf) {
                        memmove(buf + at + 1, buf + at, m - at);
                        buf[at] = punct[next_rand() % (sizeof punct - 1)];
                        m++;
                    }
                    break;
                default:
                    memmove(buf + at, buf + at + 1, m - at - 1);
                    m--;
                }
            }
            char *p = malloc(m);
            memcpy(p, buf, m);
            bad += !survives(p, m, L);
            runs++;
            free(p);
        }
    }
    printf("mutations: %d inputs x %d hooks, %d bad\n", runs, ALERTS_NSOURCES, bad);
    CHECK(bad == 0);
    lua_close(L);
}

int main(void)
{
    test_alertmanager();
    test_grafana();
    test_generic();
    test_refused();
    test_render();
    test_mutations();
    return check_report();
}
