/* fuzz_alerts.c — libFuzzer target for alert intake (src/alerts.c,
 * src/alerts_router.c): any body, through each hook (the first byte picks
 * it), either parses or fails with a message (never a crash, a leak or
 * undefined behaviour); what parses has at most ALERTS_MAX_ALERTS alerts,
 * each with sorted labels, a status and a fingerprint; its ctx.alert is
 * valid JSON; routing it through a router with dedup and cooldown keeps the
 * table within its bound. Seeds: tests/fuzz/corpus/alerts (real
 * Alertmanager bodies, Grafana's documented ones, generic forms). */
#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "json.h"

static lua_State *L;
static alerts_router *router;

static void setup(void)
{
    L = luaL_newstate();
    *(void **)lua_getextraspace(L) = NULL;
    router = alerts_router_new(64);
    const char *routes = "return {"
                         " {match = {alertname = 'DatabaseDown'}, runbook = 'db', continue = true},"
                         " {match = {severity = {'critical', 'warning'}}, runbook = 'sev',"
                         "  key = {'alertname', 'instance'}, cooldown = '1m'},"
                         " {match_re = {instance = {'db%d+:%d+', '.-%-.-%-.-x'}}, runbook = 're',"
                         "  continue = true},"
                         " {runbook = 'all', cooldown = 0, key = 'alertname'},"
                         "}";
    char err[256];
    if (luaL_dostring(L, routes) != LUA_OK ||
        alerts_router_configure(router, L, -1, err, sizeof err) != 0)
        abort();
    lua_settop(L, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static double now;
    if (!L)
        setup();
    if (size < 1)
        return 0;
    alerts_source src = (alerts_source)(data[0] % ALERTS_NSOURCES);
    const char *body = (const char *)data + 1;
    size--;
    alerts_batch *b = NULL;
    char err[256] = "";
    if (alerts_receive(router, src, body, size, &b, err, sizeof err) < 0) {
        if (b || !err[0]) {
            fprintf(stderr, "failed without a message\n");
            abort();
        }
        return 0;
    }
    if (!b || b->n < 0 || b->n > ALERTS_MAX_ALERTS)
        abort();
    for (int i = 0; i < b->n; i++) {
        const alerts_alert *a = &b->alerts[i];
        if (a->nlabels < 1 || !a->fingerprint || !a->status || a->source != src)
            abort();
        for (int k = 1; k < a->nlabels; k++)
            if (strcmp(a->labels[k - 1].name, a->labels[k].name) >= 0)
                abort(); /* sorted and unique: alerts_label's binary search */
        for (int k = 0; k < a->nlabels; k++)
            if (alerts_label(a, a->labels[k].name) != a->labels[k].value)
                abort();
        alerts_decision d[ALERTS_MAX_MATCHES];
        int nd = alerts_admit(router, a, now, d, ALERTS_MAX_MATCHES);
        for (int k = 0; k < nd; k++) {
            char *js = alerts_alert_json(b, a, &d[k]);
            if (!js || tn_json_decode(L, js, strlen(js)) != 0) {
                fprintf(stderr, "ctx.alert is not JSON: %s\n", js ? js : "(null)");
                abort();
            }
            lua_settop(L, 0);
            free(js);
            /* Half the runs end at once, the others stay alive a while. */
            if (d[k].verdict == ALERTS_START && (i & 1))
                alerts_run_ended(router, d[k].runbook, d[k].key);
        }
        if (alerts_router_entries(router) > 64)
            abort();
    }
    alerts_batch_free(b);
    now += 7;
    if (alerts_router_entries(router) == 64) /* a fresh router now and then: live runs end */
    {
        alerts_router_free(router);
        router = NULL;
        lua_close(L);
        L = NULL;
    }
    return 0;
}
