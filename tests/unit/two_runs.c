/* two_runs.c — the shape the daemon uses: two runbooks loaded in one process,
 * a run of each started through run_launch (params, --set values, a
 * trigger), a process-wide event subscriber and a consumer per run; both
 * runs' events arrive, interleaved, each tagged with its run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "modules.h"
#include "run.h"

#include "check.h"

typedef struct {
    char run_id[40];
    int starts, ends, steps_started, steps_ended, logs, ok;
    char log_fields[256];
    char order[64]; /* event kinds in arrival order: s=start e=end S/E steps l=log */
} seen;

static seen runs[2];
static int nseen_all, ndone;
static char all_order[128];

static seen *slot(const char *id)
{
    for (int i = 0; i < 2; i++)
        if (!strcmp(runs[i].run_id, id))
            return &runs[i];
    for (int i = 0; i < 2; i++)
        if (!runs[i].run_id[0]) {
            snprintf(runs[i].run_id, sizeof runs[i].run_id, "%s", id);
            return &runs[i];
        }
    return NULL;
}

static void note(char *s, size_t n, char c)
{
    size_t l = strlen(s);
    if (l + 1 < n) {
        s[l] = c;
        s[l + 1] = 0;
    }
}

/* The process-wide subscriber (what the store and metrics will be). */
static void subscriber(const tn_event *ev, void *ud)
{
    (void)ud;
    nseen_all++;
    seen *s = slot(ev->run_id);
    if (!s)
        return;
    char c = '?';
    switch (ev->type) {
    case TN_EV_RUN_START:
        s->starts++, c = 's';
        break;
    case TN_EV_RUN_END:
        s->ends++, c = 'e', s->ok = ev->ok;
        break;
    case TN_EV_STEP_START:
        s->steps_started++, c = 'S';
        break;
    case TN_EV_STEP_END:
        s->steps_ended++, c = 'E';
        break;
    case TN_EV_LOG:
        s->logs++, c = 'l';
        if (ev->fields)
            snprintf(s->log_fields, sizeof s->log_fields, "%s", ev->fields);
        break;
    default:
        return;
    }
    note(s->order, sizeof s->order, c);
    note(all_order, sizeof all_order, (char)('0' + (int)(s - runs)));
}

/* A run's own consumer sees only its run. */
typedef struct {
    const char *expect_runbook;
    int events, foreign;
} own;

static void own_consumer(const tn_event *ev, void *ud)
{
    own *o = ud;
    o->events++;
    if (strcmp(ev->runbook, o->expect_runbook))
        o->foreign++;
}

static void on_done(tn_run *r, void *ud)
{
    (void)r;
    (void)ud;
    if (++ndone == 2)
        uv_stop(tn_loop());
}

static char *write_file(const char *text)
{
    char *path = strdup("/tmp/tocsin-two-runs-XXXXXX.lua");
    int fd = mkstemps(path, 4);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        abort();
    close(fd);
    return path;
}

static const char alpha[] =
    "return { name = 'alpha', params = { n = 1, verbose = false },\n"
    "  run = function(ctx)\n"
    "    assert(ctx.trigger == 'schedule', ctx.trigger)\n"
    "    assert(ctx.params.n == 42 and math.type(ctx.params.n) == 'integer')\n"
    "    assert(ctx.params.verbose == true)\n"
    "    for i = 1, 3 do step('alpha ' .. i, function() time.sleep(0.02) end) end\n"
    "    log.info('alpha done', { n = ctx.params.n })\n"
    "    return true\n"
    "  end }\n";

static const char beta[] =
    "return { name = 'beta',\n"
    "  run = function(ctx)\n"
    "    assert(ctx.trigger == 'alert')\n"
    "    assert(ctx.alert.labels.alertname == 'DatabaseDown')\n"
    "    for i = 1, 3 do step('beta ' .. i, function() time.sleep(0.03) end) end\n"
    "    log.warn('beta done', { alert = ctx.alert.labels.alertname })\n"
    "    return true\n"
    "  end }\n";

static tn_state *load(const char *path, const tn_settings *s)
{
    char err[512];
    tn_state *st = tn_state_new(path, s, err, sizeof err);
    if (!st || tn_state_load(st, err, sizeof err) != 0) {
        fprintf(stderr, "load %s: %s\n", path, err);
        exit(1);
    }
    return st;
}

int main(void)
{
    tn_settings settings = {.cpu_limit = 10, .mem_limit = 64u << 20};
    char *pa = write_file(alpha), *pb = write_file(beta);
    tn_state *sa = load(pa, &settings), *sb = load(pb, &settings);
    CHECK(!strcmp(tn_state_name(sa), "alpha"));
    CHECK(tn_events_subscribe(subscriber, NULL) == 0);

    char err[512];
    tn_run *ra = NULL, *rb = NULL;
    /* A --set that does not fit the declared type is refused before a run. */
    const char *bad[] = {"n=lots", NULL};
    run_launch_opts lbad = {.sets = bad, .trigger = "cli"};
    tn_run_opts obad = {.on_done = on_done};
    CHECK(run_launch(sa, &lbad, &obad, &ra, err, sizeof err) == RUN_EUSAGE);
    CHECK(strstr(err, "n is an integer") != NULL || strstr(err, "n is a number") != NULL);
    const char *unknown[] = {"nn=1", NULL};
    lbad.sets = unknown;
    CHECK(run_launch(sa, &lbad, &obad, &ra, err, sizeof err) == RUN_EUSAGE);
    CHECK(strstr(err, "unknown param") != NULL && strstr(err, "n, verbose") != NULL);
    CHECK(nseen_all == 0);

    own oa = {"alpha", 0, 0}, ob = {"beta", 0, 0};
    const char *sets[] = {"n=42", "verbose=yes", NULL};
    run_launch_opts la = {.sets = sets, .trigger = "schedule"};
    run_launch_opts lb = {.trigger = "alert",
                          .alert_json = "{\"labels\":{\"alertname\":\"DatabaseDown\"}}"};
    tn_run_opts opa = {.on_event = own_consumer, .event_ud = &oa, .on_done = on_done};
    tn_run_opts opb = {.on_event = own_consumer, .event_ud = &ob, .on_done = on_done};
    CHECK(run_launch(sa, &la, &opa, &ra, err, sizeof err) == 0);
    CHECK(run_launch(sb, &lb, &opb, &rb, err, sizeof err) == 0);
    uv_run(tn_loop(), UV_RUN_DEFAULT);

    CHECK(ndone == 2);
    CHECK(ra && rb && tn_run_done(ra) && tn_run_done(rb));
    CHECK(tn_run_ok(ra) && tn_run_ok(rb));
    for (int i = 0; i < 2; i++) {
        seen *s = &runs[i];
        CHECK(s->starts == 1 && s->ends == 1);
        CHECK(s->steps_started == 3 && s->steps_ended == 3);
        CHECK(s->logs == 1);
        CHECK(s->ok == 1);
        /* A run's events come in its own order: start, steps, log, end. */
        CHECK(!strcmp(s->order, "sSESESEle"));
    }
    CHECK(strstr(runs[0].log_fields, "42") || strstr(runs[1].log_fields, "42"));
    CHECK(strstr(runs[0].log_fields, "DatabaseDown") || strstr(runs[1].log_fields, "DatabaseDown"));
    /* Interleaved, not one after the other: the second run's first event
     * came before the first run's last. */
    CHECK(strchr(all_order, '1') < strrchr(all_order, '0'));
    CHECK(oa.events == 9 && oa.foreign == 0);
    CHECK(ob.events == 9 && ob.foreign == 0);

    tn_events_unsubscribe(subscriber, NULL);
    tn_run_free(ra);
    tn_run_free(rb);
    modules_shutdown();
    tn_state_free(sa);
    tn_state_free(sb);
    unlink(pa);
    unlink(pb);
    free(pa);
    free(pb);
    return check_report();
}
