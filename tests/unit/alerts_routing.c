/* alerts_routing.c — the config's `alerts` routes and what an alert may
 * start (src/alerts_router.c): first match (and `continue`), dedup while a
 * run is alive, cooldown expiry, resolved alerts, key labels, the bounded
 * table, config errors, counters. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alerts.h"
#include "config.h"

#include "alerts_samples.h"
#include "check.h"

static lua_State *L;
static char err[512];

/* Configures r from the Lua expression src (the config's alerts list). */
static int configure(alerts_router *r, const char *src)
{
    char chunk[4096];
    snprintf(chunk, sizeof chunk, "return %s", src);
    if (luaL_dostring(L, chunk) != LUA_OK) {
        fprintf(stderr, "bad test chunk: %s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
        return -99;
    }
    err[0] = '\0';
    int rc = alerts_router_configure(r, L, -1, err, sizeof err);
    lua_pop(L, 1);
    return rc;
}

static alerts_batch *body(alerts_source src, const char *s)
{
    alerts_batch *b = NULL;
    if (alerts_parse(src, s, strlen(s), &b, err, sizeof err) < 0)
        fprintf(stderr, "parse: %s\n", err);
    return b;
}

/* A generic alert from a flat JSON object. */
static alerts_batch *alert(const char *flat)
{
    return body(ALERTS_GENERIC, flat);
}

static int admit1(alerts_router *r, alerts_batch *b, double now, alerts_decision *d)
{
    return alerts_admit(r, &b->alerts[0], now, d, 1);
}

static void test_first_match(void)
{
    alerts_router *r = alerts_router_new(0);
    CHECK(configure(r, "{"
                       " {match = {alertname = 'DatabaseDown', severity = 'critical'},"
                       "  runbook = 'database_down'},"
                       " {match = {alertname = 'DatabaseDown'}, runbook = 'database_slow'},"
                       " {match = {severity = {'warning', 'info'}}, runbook = 'triage'},"
                       "}") == 0);
    CHECK(alerts_router_nroutes(r) == 3);
    alerts_decision d[ALERTS_MAX_MATCHES];
    alerts_batch *b = body(ALERTS_ALERTMANAGER, AM_FIRING_TWO);
    /* Both alerts match routes 0 and 1: the first only, as Alertmanager routes
     * (continue = false). */
    CHECK(alerts_admit(r, &b->alerts[0], 100, d, ALERTS_MAX_MATCHES) == 1);
    CHECK(d[0].route == 0 && !strcmp(d[0].runbook, "database_down"));
    CHECK(d[0].verdict == ALERTS_START);
    CHECK(!strcmp(d[0].key, "2ae75d89f24e9cb9")); /* the fingerprint by default */
    CHECK(alerts_admit(r, &b->alerts[1], 100, d, ALERTS_MAX_MATCHES) == 1);
    CHECK(d[0].verdict == ALERTS_START && !strcmp(d[0].key, "332fe1ea74ff5bd6"));
    alerts_batch_free(b);

    b = alert("{\"alertname\":\"DatabaseDown\",\"severity\":\"warning\"}");
    CHECK(alerts_admit(r, &b->alerts[0], 100, d, ALERTS_MAX_MATCHES) == 1);
    CHECK(!strcmp(d[0].runbook, "database_slow"));
    alerts_batch_free(b);
    b = alert("{\"alertname\":\"Other\",\"severity\":\"info\"}"); /* one of a list */
    CHECK(alerts_admit(r, &b->alerts[0], 100, d, ALERTS_MAX_MATCHES) == 1);
    CHECK(!strcmp(d[0].runbook, "triage"));
    alerts_batch_free(b);
    b = alert("{\"alertname\":\"Other\",\"severity\":\"page\"}");
    CHECK(alerts_admit(r, &b->alerts[0], 100, d, ALERTS_MAX_MATCHES) == 0);
    alerts_batch_free(b);

    const alerts_counters *c = alerts_router_counters(r);
    CHECK(c->unrouted == 1 && c->started == 4);
    CHECK(alerts_router_route(r, 0)->routed == 2 && alerts_router_route(r, 0)->started == 2);
    CHECK(alerts_router_route(r, 1)->routed == 1 && alerts_router_route(r, 2)->routed == 1);
    CHECK(alerts_router_route(r, 3) == NULL);

    /* continue = true: the next matching routes too; a route with no match
     * takes every alert; an absent label equals "". */
    CHECK(configure(r, "{"
                       " {match = {alertname = 'A'}, runbook = 'one', continue = true},"
                       " {match = {alertname = 'B'}, runbook = 'never'},"
                       " {match = {team = ''}, runbook = 'unowned', continue = true},"
                       " {runbook = 'catch_all'},"
                       " {runbook = 'after_catch_all'},"
                       "}") == 0);
    b = alert("{\"alertname\":\"A\"}");
    CHECK(alerts_admit(r, &b->alerts[0], 100, d, ALERTS_MAX_MATCHES) == 3);
    CHECK(!strcmp(d[0].runbook, "one") && !strcmp(d[1].runbook, "unowned") &&
          !strcmp(d[2].runbook, "catch_all"));
    /* out's size bounds the decisions. */
    CHECK(alerts_admit(r, &b->alerts[0], 100, d, 2) == 2);
    alerts_batch_free(b);
    b = alert("{\"alertname\":\"A\",\"team\":\"db\"}");
    CHECK(alerts_admit(r, &b->alerts[0], 100, d, ALERTS_MAX_MATCHES) == 2);
    CHECK(!strcmp(d[1].runbook, "catch_all"));
    alerts_batch_free(b);
    alerts_router_free(r);
}

static int config_error(const char *src, const char *want);

/* The alert labelled name=value matches routes (returns the runbook or ""). */
static const char *routed_to(alerts_router *r, const char *labels)
{
    static char out[64];
    alerts_batch *b = alert(labels);
    alerts_decision d;
    out[0] = '\0';
    if (b && alerts_admit(r, &b->alerts[0], 0, &d, 1) == 1) {
        snprintf(out, sizeof out, "%s", d.runbook);
        alerts_run_ended(r, d.runbook, d.key);
    }
    alerts_batch_free(b);
    return out;
}

static void test_match_re(void)
{
    alerts_router *r = alerts_router_new(0);
    CHECK(configure(r, "{"
                       " {match_re = {instance = 'db%d+:5432'}, runbook = 'db', cooldown = 0},"
                       " {match = {alertname = 'Up'}, match_re = {job = {'api%-.*', 'web'}},"
                       "  runbook = 'api', cooldown = 0},"
                       " {match_re = {price = '%d+%$'}, runbook = 'dollar', cooldown = 0},"
                       " {match_re = {path = '^/v1/.*'}, runbook = 'v1', cooldown = 0},"
                       " {match_re = {team = '.*'}, runbook = 'any', cooldown = 0},"
                       "}") == 0);
    CHECK(!strcmp(routed_to(r, "{\"instance\":\"db12:5432\"}"), "db"));
    /* Anchored at both ends, as Alertmanager's regexes are. */
    CHECK(!strcmp(routed_to(r, "{\"instance\":\"xdb12:5432\",\"team\":\"t\"}"), "any"));
    CHECK(!strcmp(routed_to(r, "{\"instance\":\"db12:54321\",\"team\":\"t\"}"), "any"));
    /* match and match_re both hold; a list is any of its patterns. */
    CHECK(!strcmp(routed_to(r, "{\"alertname\":\"Up\",\"job\":\"api-eu\"}"), "api"));
    CHECK(!strcmp(routed_to(r, "{\"alertname\":\"Up\",\"job\":\"web\"}"), "api"));
    CHECK(!strcmp(routed_to(r, "{\"alertname\":\"Up\",\"job\":\"webx\"}"), "any"));
    CHECK(!strcmp(routed_to(r, "{\"alertname\":\"Down\",\"job\":\"api-eu\"}"), "any"));
    /* "%$" is a literal dollar: the anchor is still added. */
    CHECK(!strcmp(routed_to(r, "{\"price\":\"12$\"}"), "dollar"));
    CHECK(!strcmp(routed_to(r, "{\"price\":\"12$x\",\"team\":\"t\"}"), "any"));
    CHECK(!strcmp(routed_to(r, "{\"path\":\"/v1/users\"}"), "v1"));
    /* '.*' matches the absent label too (it equals ""). */
    CHECK(!strcmp(routed_to(r, "{\"other\":\"x\"}"), "any"));
    CHECK(alerts_router_counters(r)->pattern_failures == 0);

    /* A pattern that backtracks for ages fails that match within its budget
     * (counted), and the router goes on. */
    CHECK(configure(r, "{{match_re = {v = string.rep('a*', 12) .. 'b'}, runbook = 'slow'},"
                       " {runbook = 'fallback', cooldown = 0}}") == 0);
    char labels[300];
    int n = snprintf(labels, sizeof labels, "{\"v\":\"");
    memset(labels + n, 'a', 200);
    snprintf(labels + n + 200, 8, "\"}");
    CHECK(!strcmp(routed_to(r, labels), "fallback"));
    CHECK(alerts_router_counters(r)->pattern_failures == 1);
    CHECK(!strcmp(routed_to(r, "{\"v\":\"aab\"}"), "slow")); /* the state still works */
    alerts_router_free(r);

    CHECK(config_error("{{runbook = 'a', match_re = {x = 'a[b'}}}",
                       "alerts[1].match_re.x: malformed pattern (missing ']')"));
    CHECK(config_error("{{runbook = 'a', match_re = {x = 'a%'}}}", "malformed pattern (ends with"));
    CHECK(config_error("{{runbook = 'a', match_re = {x = '(a'}}}", "unfinished capture"));
    CHECK(config_error("{{runbook = 'a', match_re = {x = 'a)'}}}", "invalid pattern capture"));
    CHECK(config_error("{{runbook = 'a', match_re = {x = '%b('}}}", "missing arguments"));
    CHECK(config_error("{{runbook = 'a', match_re = {x = '%fa'}}}", "missing '['"));
    CHECK(config_error("{{runbook = 'a', match_re = {x = '(a)%2'}}}", "invalid capture index"));
    CHECK(config_error("{{runbook = 'a', match_re = 'x'}}", "alerts[1].match_re must be a table"));
    CHECK(config_error("{{runbook = 'a', match_re = {x = 3}}}", "alerts[1].match_re.x must be"));
    /* Well-formed ones pass the check. */
    alerts_router *ok = alerts_router_new(0);
    CHECK(configure(ok, "{{runbook = 'a', match_re = {x = {'[]]', '[^%]]', '%bxy', '%f[%w]%w+',"
                        " '(a)%1', '()', '[a-z%-]+', 'a%%'}}}}") == 0);
    alerts_router_free(ok);
}

static void test_dedup_and_cooldown(void)
{
    alerts_router *r = alerts_router_new(0);
    CHECK(configure(r, "{{match = {alertname = 'DatabaseDown'}, runbook = 'database_down',"
                       "  cooldown = '5m'}}") == 0);
    CHECK(alerts_router_route(r, 0)->cooldown == 300);
    alerts_decision d;
    alerts_batch *b = body(ALERTS_ALERTMANAGER, AM_FIRING_TWO);
    alerts_batch *again = body(ALERTS_ALERTMANAGER, AM_ONE_RESOLVED);
    const alerts_alert *db1 = &b->alerts[0], *db2 = &b->alerts[1];
    const alerts_alert *db2_again = &again->alerts[1];
    CHECK(alerts_admit(r, db1, 1000, &d, 1) == 1 && d.verdict == ALERTS_START);
    char key1[sizeof d.key];
    memcpy(key1, d.key, sizeof key1);
    CHECK(alerts_admit(r, db2, 1000, &d, 1) == 1 && d.verdict == ALERTS_START);
    char key2[sizeof d.key];
    memcpy(key2, d.key, sizeof key2);
    /* The same alert re-sent while its run is alive: deduplicated, even long
     * after the cooldown (the run is still going). */
    CHECK(alerts_admit(r, db1, 1001, &d, 1) == 1 && d.verdict == ALERTS_DEDUPLICATED);
    CHECK(alerts_admit(r, db2_again, 5000, &d, 1) == 1 && d.verdict == ALERTS_DEDUPLICATED);
    /* db1's run ends at 1010: cooling until 1300. */
    alerts_run_ended(r, "database_down", key1);
    CHECK(alerts_admit(r, db1, 1010, &d, 1) == 1 && d.verdict == ALERTS_COOLING);
    CHECK(d.wait > 289.9 && d.wait < 290.1);
    CHECK(alerts_admit(r, db1, 1299.5, &d, 1) == 1 && d.verdict == ALERTS_COOLING);
    CHECK(alerts_admit(r, db1, 1300, &d, 1) == 1 && d.verdict == ALERTS_START);
    /* db2 still alive; its end lets its cooldown (from its start) decide. */
    alerts_run_ended(r, "database_down", key2);
    CHECK(alerts_admit(r, db2, 1001, &d, 1) == 1 && d.verdict == ALERTS_COOLING);
    CHECK(alerts_admit(r, db2, 1300, &d, 1) == 1 && d.verdict == ALERTS_START);
    /* An end for a key that has no run changes nothing (and never underflows). */
    alerts_run_ended(r, "database_down", "nope");
    alerts_run_ended(r, "nope", key2);
    const alerts_counters *c = alerts_router_counters(r);
    CHECK(c->started == 4 && c->deduplicated == 2 && c->cooled_down == 3);
    const alerts_route *rt = alerts_router_route(r, 0);
    CHECK(rt->started == 4 && rt->deduplicated == 2 && rt->cooled_down == 3 && rt->routed == 9);
    alerts_batch_free(again);

    /* A run that could not be launched leaves no cooldown behind. */
    CHECK(alerts_admit(r, db1, 1400, &d, 1) == 1 && d.verdict == ALERTS_DEDUPLICATED);
    alerts_run_ended(r, "database_down", d.key); /* the run started at 1300 */
    alerts_batch *db3 = alert("{\"alertname\":\"DatabaseDown\",\"instance\":\"db3\"}");
    int before = alerts_router_entries(r);
    CHECK(admit1(r, db3, 1400, &d) == 1 && d.verdict == ALERTS_START);
    alerts_run_not_started(r, "database_down", d.key);
    CHECK(alerts_router_entries(r) == before);
    CHECK(admit1(r, db3, 1401, &d) == 1 && d.verdict == ALERTS_START);
    alerts_run_ended(r, "database_down", d.key);
    CHECK(admit1(r, db3, 1402, &d) == 1 && d.verdict == ALERTS_COOLING);
    alerts_batch_free(db3);

    /* cooldown = false (or 0): only dedup holds an alert back. */
    CHECK(configure(r, "{{runbook = 'r', cooldown = false}}") == 0);
    CHECK(alerts_admit(r, db1, 2000, &d, 1) == 1 && d.verdict == ALERTS_START);
    CHECK(alerts_admit(r, db1, 2000, &d, 1) == 1 && d.verdict == ALERTS_DEDUPLICATED);
    alerts_run_ended(r, "r", d.key);
    CHECK(alerts_admit(r, db1, 2000, &d, 1) == 1 && d.verdict == ALERTS_START);
    alerts_run_ended(r, "r", d.key);
    /* The default cooldown. */
    CHECK(configure(r, "{{runbook = 'def'}}") == 0);
    CHECK(alerts_router_route(r, 0)->cooldown == ALERTS_DEFAULT_COOLDOWN);
    CHECK(alerts_admit(r, db1, 3000, &d, 1) == 1 && d.verdict == ALERTS_START);
    alerts_run_ended(r, "def", d.key);
    CHECK(alerts_admit(r, db1, 3000 + ALERTS_DEFAULT_COOLDOWN - 1, &d, 1) == 1 &&
          d.verdict == ALERTS_COOLING);
    CHECK(alerts_admit(r, db1, 3000 + ALERTS_DEFAULT_COOLDOWN, &d, 1) == 1 &&
          d.verdict == ALERTS_START);
    alerts_batch_free(b);
    alerts_router_free(r);
}

/* A storm: key = "alertname" makes every instance one key, so one run. */
static void test_key_labels(void)
{
    alerts_router *r = alerts_router_new(0);
    CHECK(configure(
              r, "{{match = {alertname = 'DatabaseDown'}, runbook = 'database_down',"
                 "  key = 'alertname', cooldown = 60},"
                 " {match = {alertname = 'Q'}, runbook = 'queues', key = {'queue', 'env'}}}") == 0);
    alerts_batch *b = body(ALERTS_ALERTMANAGER, AM_FIRING_TWO);
    alerts_decision d;
    CHECK(admit1(r, b, 10, &d) == 1 && d.verdict == ALERTS_START);
    CHECK(!strcmp(d.key, "{alertname=\"DatabaseDown\"}"));
    CHECK(alerts_admit(r, &b->alerts[1], 10, &d, 1) == 1 && d.verdict == ALERTS_DEDUPLICATED);
    alerts_run_ended(r, "database_down", "{alertname=\"DatabaseDown\"}");
    CHECK(alerts_admit(r, &b->alerts[1], 20, &d, 1) == 1 && d.verdict == ALERTS_COOLING);
    CHECK(alerts_admit(r, &b->alerts[1], 70, &d, 1) == 1 && d.verdict == ALERTS_START);
    alerts_batch_free(b);
    /* Several key labels, in the route's order; absent ones as ""; quotes escaped. */
    b = alert("{\"alertname\":\"Q\",\"queue\":\"em\\\"ails\",\"host\":\"h1\"}");
    CHECK(admit1(r, b, 10, &d) == 1 && !strcmp(d.key, "{queue=\"em\\\"ails\",env=\"\"}"));
    alerts_batch_free(b);
    /* A key too long to keep is hashed, and stays stable. */
    char big[ALERTS_MAX_VALUE + 64];
    int n = snprintf(big, sizeof big, "{\"alertname\":\"Q\",\"queue\":\"");
    memset(big + n, 'q', 2000);
    snprintf(big + n + 2000, 8, "\"}");
    b = alert(big);
    CHECK(admit1(r, b, 10, &d) == 1 && d.verdict == ALERTS_START);
    CHECK(!strncmp(d.key, "key#", 4) && strlen(d.key) == 20);
    CHECK(admit1(r, b, 11, &d) == 1 && d.verdict == ALERTS_DEDUPLICATED);
    alerts_batch_free(b);
    alerts_router_free(r);
}

static void test_resolved(void)
{
    alerts_router *r = alerts_router_new(0);
    CHECK(configure(r, "{{match = {alertname = 'DatabaseDown'}, runbook = 'database_down'}}") == 0);
    alerts_batch *fire = body(ALERTS_ALERTMANAGER, AM_FIRING_TWO);
    alerts_batch *res = body(ALERTS_ALERTMANAGER, AM_RESOLVED); /* db2 resolved */
    alerts_decision d;
    CHECK(alerts_admit(r, &fire->alerts[1], 10, &d, 1) == 1 && d.verdict == ALERTS_START);
    char started[sizeof d.key];
    memcpy(started, d.key, sizeof started);
    /* Resolved while the run is alive: reported with the key its incident
     * was opened under; no run, and the live run is untouched. */
    CHECK(admit1(r, res, 20, &d) == 1 && d.verdict == ALERTS_RESOLVED);
    CHECK(!strcmp(d.key, started) && !strcmp(d.runbook, "database_down"));
    CHECK(admit1(r, res, 20, &d) == 1 && d.verdict == ALERTS_RESOLVED);
    CHECK(alerts_admit(r, &fire->alerts[1], 30, &d, 1) == 1 && d.verdict == ALERTS_DEDUPLICATED);
    const alerts_counters *c = alerts_router_counters(r);
    CHECK(c->resolved == 2 && c->started == 1 && alerts_router_route(r, 0)->resolved == 2);
    /* A resolved alert no route takes is unrouted, as a firing one. */
    alerts_batch *other = alert("{\"alertname\":\"X\",\"status\":\"resolved\"}");
    CHECK(admit1(r, other, 30, &d) == 0 && c->unrouted == 1);
    alerts_batch_free(other);
    alerts_batch_free(fire);
    alerts_batch_free(res);
    alerts_router_free(r);
}

static void test_bounded(void)
{
    alerts_router *r = alerts_router_new(100);
    CHECK(configure(r, "{{runbook = 'r', cooldown = 60}}") == 0);
    alerts_decision d;
    char flat[64];
    /* 100 runs alive: the 101st is refused, not remembered past the bound. */
    for (int i = 0; i < 100; i++) {
        snprintf(flat, sizeof flat, "{\"alertname\":\"A%d\"}", i);
        alerts_batch *b = alert(flat);
        CHECK(admit1(r, b, 0, &d) == 1 && d.verdict == ALERTS_START);
        alerts_batch_free(b);
    }
    alerts_batch *b101 = alert("{\"alertname\":\"A100\"}");
    CHECK(admit1(r, b101, 0, &d) == 1 && d.verdict == ALERTS_THROTTLED);
    CHECK(alerts_router_entries(r) == 100);
    CHECK(alerts_router_counters(r)->throttled == 1);
    /* The runs end: their cooldowns keep the table full until they expire;
     * a new key then evicts the cooldown ending soonest. */
    for (int i = 0; i < 100; i++) {
        snprintf(flat, sizeof flat, "{\"alertname\":\"A%d\"}", i);
        alerts_batch *b = alert(flat);
        alerts_admit(r, &b->alerts[0], 0, &d, 1); /* DEDUPLICATED: gives the key */
        alerts_run_ended(r, "r", d.key);
        alerts_batch_free(b);
    }
    CHECK(admit1(r, b101, 1, &d) == 1 && d.verdict == ALERTS_START);
    CHECK(alerts_router_entries(r) == 100 && alerts_router_counters(r)->evicted == 1);
    /* Once the cooldowns are over, they are swept rather than evicted. */
    alerts_router_expire(r, 60);
    CHECK(alerts_router_entries(r) == 1); /* A100's run is alive */
    /* Thousands of distinct keys over time never grow it past the bound. */
    int max_seen = 0;
    for (int i = 0; i < 5000; i++) {
        snprintf(flat, sizeof flat, "{\"alertname\":\"S%d\"}", i);
        alerts_batch *b = alert(flat);
        if (admit1(r, b, 100 + i * 0.1, &d) == 1 && d.verdict == ALERTS_START)
            alerts_run_ended(r, "r", d.key);
        if (alerts_router_entries(r) > max_seen)
            max_seen = alerts_router_entries(r);
        alerts_batch_free(b);
    }
    CHECK(max_seen == 100);
    alerts_batch_free(b101);
    alerts_router_free(r);
}

static int config_error(const char *src, const char *want)
{
    alerts_router *r = alerts_router_new(0);
    CHECK(configure(r, "{{runbook = 'kept'}}") == 0);
    int rc = configure(r, src);
    int ok = rc == -1 && strstr(err, want) != NULL;
    if (!ok)
        fprintf(stderr, "config %s: rc %d, error \"%s\", wanted \"%s\"\n", src, rc, err, want);
    /* The routes before the bad reload still serve. */
    ok &= alerts_router_nroutes(r) == 1 && !strcmp(alerts_router_route(r, 0)->runbook, "kept");
    alerts_router_free(r);
    return ok;
}

static void test_config(void)
{
    CHECK(config_error("'x'", "config: alerts must be a list of routes"));
    CHECK(config_error("{db = {runbook = 'a'}}", "config: alerts must be a list of routes"));
    CHECK(config_error("{5}", "config: alerts[1] must be a table"));
    CHECK(config_error("{{runbook = 'a'}, {match = {a = 'b'}}}", "alerts[2].runbook must be"));
    CHECK(config_error("{{runbook = ''}}", "alerts[1].runbook must be"));
    CHECK(config_error("{{runbook = 'a', cooldown = 'soon'}}", "alerts[1].cooldown must be"));
    CHECK(config_error("{{runbook = 'a', cooldown = -1}}", "alerts[1].cooldown must be"));
    CHECK(config_error("{{runbook = 'a', cooldown = 0/0}}", "alerts[1].cooldown must be"));
    CHECK(config_error("{{runbook = 'a', cooldown = math and 1/0 or 1/0}}", "cooldown must be"));
    CHECK(config_error("{{runbook = 'a', cooldwn = '5m'}}", "alerts[1] has an unknown field"));
    CHECK(config_error("{{runbook = 'a', continue = 'yes'}}", "alerts[1].continue must be"));
    CHECK(config_error("{{runbook = 'a', key = 5}}", "alerts[1].key must be"));
    CHECK(config_error("{{runbook = 'a', key = {}}}", "alerts[1].key must be"));
    CHECK(config_error("{{runbook = 'a', match = 'x'}}", "alerts[1].match must be a table"));
    CHECK(config_error("{{runbook = 'a', match = {sev = 1}}}",
                       "alerts[1].match.sev must be a string or a list of strings"));
    CHECK(config_error("{{runbook = 'a', match = {sev = {'a', 2}}}}", "alerts[1].match.sev"));
    CHECK(config_error("{{runbook = 'a', match = {'x'}}}", "alerts[1].match must be a table"));
    /* nil: no routes; everything is unrouted. */
    alerts_router *r = alerts_router_new(0);
    CHECK(configure(r, "{{runbook = 'a'}}") == 0);
    lua_pushnil(L);
    CHECK(alerts_router_configure(r, L, -1, err, sizeof err) == 0);
    lua_pop(L, 1);
    CHECK(alerts_router_nroutes(r) == 0);
    alerts_batch *b = alert("{\"a\":\"1\"}");
    alerts_decision d;
    CHECK(admit1(r, b, 0, &d) == 0);
    alerts_batch_free(b);
    alerts_router_free(r);
}

/* A reload keeps live runs (dedup holds across it) and counters. */
static void test_reload_keeps_state(void)
{
    alerts_router *r = alerts_router_new(0);
    CHECK(configure(r, "{{runbook = 'a'}}") == 0);
    alerts_batch *b = alert("{\"alertname\":\"X\"}");
    alerts_decision d;
    CHECK(admit1(r, b, 0, &d) == 1 && d.verdict == ALERTS_START);
    CHECK(configure(r, "{{runbook = 'a', cooldown = 0}, {runbook = 'b'}}") == 0);
    CHECK(admit1(r, b, 1, &d) == 1 && d.verdict == ALERTS_DEDUPLICATED);
    alerts_run_ended(r, "a", d.key);
    CHECK(admit1(r, b, 2, &d) == 1 && d.verdict == ALERTS_START); /* cooldown 0 now */
    CHECK(alerts_router_counters(r)->started == 2);
    alerts_batch_free(b);

    /* alerts_receive counts alerts by source, and refused bodies. */
    CHECK(alerts_receive(r, ALERTS_ALERTMANAGER, AM_FIRING_TWO, strlen(AM_FIRING_TWO), &b, err,
                         sizeof err) == 0);
    alerts_batch_free(b);
    CHECK(alerts_receive(r, ALERTS_GRAFANA, "{", 1, &b, err, sizeof err) < 0);
    const alerts_counters *c = alerts_router_counters(r);
    CHECK(c->received[ALERTS_ALERTMANAGER] == 2 && c->rejected[ALERTS_GRAFANA] == 1);
    CHECK(c->received[ALERTS_GENERIC] == 0);
    CHECK(alerts_source_from_name("grafana") == ALERTS_GRAFANA);
    CHECK(alerts_source_from_name("nagios") == -1);
    CHECK(!strcmp(alerts_source_name(ALERTS_GENERIC), "generic"));
    alerts_router_free(r);
}

/* The daemon's path: tocsin.lua's `alerts` list, through config_load's snapshot. */
static void test_from_config(void)
{
    char dir[] = "/tmp/tocsin-alerts-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/tocsin.lua", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("return {\n"
          "  alerts = {\n"
          "    { match = { alertname = 'DatabaseDown' }, runbook = 'database_down' },\n"
          "    { match = { severity = { 'critical', 'page' } }, runbook = 'triage',\n"
          "      cooldown = '15m', key = 'alertname' },\n"
          "  },\n"
          "}\n",
          f);
    fclose(f);
    tn_config c;
    CHECK(config_load(&c, path, err, sizeof err) == 0);
    alerts_router *r = alerts_router_new(0);
    CHECK(alerts_router_configure_from(r, &c, err, sizeof err) == 0);
    CHECK(alerts_router_nroutes(r) == 2);
    CHECK(!strcmp(alerts_router_route(r, 0)->runbook, "database_down"));
    CHECK(alerts_router_route(r, 1)->cooldown == 900);
    alerts_batch *b = body(ALERTS_ALERTMANAGER, AM_FIRING_TWO);
    alerts_decision d;
    CHECK(admit1(r, b, 0, &d) == 1 && !strcmp(d.runbook, "database_down"));
    alerts_batch_free(b);
    config_free(&c);
    /* A broken list in the file: the error names it. */
    f = fopen(path, "w");
    fputs("return { alerts = { { runbook = 'x', cooldown = 'later' } } }\n", f);
    fclose(f);
    CHECK(config_load(&c, path, err, sizeof err) == 0);
    CHECK(alerts_router_configure_from(r, &c, err, sizeof err) == -1);
    CHECK(strstr(err, "alerts[1].cooldown") != NULL);
    CHECK(alerts_router_nroutes(r) == 2); /* the previous routes still serve */
    config_free(&c);
    /* No config file at all: no routes. */
    tn_config none;
    memset(&none, 0, sizeof none);
    none.ref = LUA_NOREF;
    CHECK(alerts_router_configure_from(r, &none, err, sizeof err) == 0);
    CHECK(alerts_router_nroutes(r) == 0);
    alerts_router_free(r);
    remove(path);
    rmdir(dir);
}

int main(void)
{
    L = luaL_newstate();
    luaL_openlibs(L);
    test_first_match();
    test_dedup_and_cooldown();
    test_key_labels();
    test_match_re();
    test_resolved();
    test_bounded();
    test_config();
    test_reload_keeps_state();
    test_from_config();
    lua_close(L);
    return check_report();
}
