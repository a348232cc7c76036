/* metrics_promtool_accepts_real_runs.c — real runs counted by the metrics
 * subscriber: a run that calls shell, http and notify (a file channel that
 * works, one that cannot open its file); a runbook whose name holds a quote,
 * a backslash, a newline and an invalid byte, failing a step; one stopped
 * by its CPU limit; one cancelled.  The exposition is written to a file and
 * `promtool check metrics` (Debian package prometheus) must accept it,
 * lint included.  Without promtool the test says so and passes, except under
 * CI (CI set), where promtool is installed and its absence fails. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "engine.h"
#include "metrics.h"
#include "modules.h"
#include "run.h"

#include "check.h"

static char dir[] = "/tmp/tocsin-metrics-XXXXXX";
static int ndone;

static char *path_in(const char *name)
{
    buf_t b = BUF_INIT;
    buf_fmt(&b, "%s/%s", dir, name);
    return buf_take(&b, NULL);
}

static char *write_file(const char *name, const char *text)
{
    char *p = path_in(name);
    FILE *f = fopen(p, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        abort();
    return p;
}

static const char busy[] =
    "return { name = 'busy', run = function(ctx)\n"
    "  step('shell', function() assert(shell.run{'true'}) end)\n"
    "  step('http', function()\n"
    "    local res, err = http.get('http://127.0.0.1:1/', { timeout = 2 })\n"
    "    assert(res == nil and err.kind == 'connect', tostring(err and err.kind))\n"
    "  end)\n"
    "  step('notify', function()\n"
    "    local r = assert(notify({ 'ops', 'broken' }, { event = 'opened', text = 'db down' }))\n"
    "    assert(r.ops.ok and not r.broken.ok)\n"
    "  end)\n"
    "  time.sleep(0.02)\n"
    "  return true\n"
    "end }\n";

/* A name with every character the format escapes, and one byte that is not
 * UTF-8; a step fails, so the run fails. */
static const char hostile[] = "return { name = 'we\"ird\\\\name\\nnext\\xff',\n"
                              "  run = function(ctx)\n"
                              "    step('fine', function() end)\n"
                              "    step('breaks', function() error('on purpose') end)\n"
                              "  end }\n";

static const char spin[] = "return { name = 'spin', limits = { cpu = 0.2 },\n"
                           "  run = function(ctx) while true do end end }\n";

static const char sleeper[] = "return { name = 'sleeper',\n"
                              "  run = function(ctx) time.sleep(30) end }\n";

static void on_done(tn_run *r, void *ud)
{
    (void)r;
    (void)ud;
    if (++ndone == 4)
        uv_stop(tn_loop());
}

static void cancel_later(uv_timer_t *t)
{
    tn_run_cancel(t->data);
    uv_close((uv_handle_t *)t, NULL);
}

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

static int has(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return 1;
    fprintf(stderr, "missing line: %s\n", line);
    return 0;
}

static int find_promtool(void)
{
    const char *path = getenv("PATH");
    if (!path)
        return 0;
    char *copy = strdup(path), *save = NULL;
    int found = 0;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        buf_t b = BUF_INIT;
        buf_fmt(&b, "%s/promtool", *d ? d : ".");
        found = access(buf_str(&b), X_OK) == 0;
        buf_free(&b);
    }
    free(copy);
    return found;
}

int main(void)
{
    if (!mkdtemp(dir))
        abort();
    char *ops = path_in("ops.jsonl");
    buf_t conf = BUF_INIT;
    buf_fmt(&conf,
            "return { channels = {\n"
            "  ops = { kind = 'file', path = '%s' },\n"
            "  broken = { kind = 'file', path = '/nonexistent-tocsin-dir/x.jsonl' },\n"
            "} }\n",
            ops);
    char *conf_path = write_file("tocsin.lua", buf_str(&conf));
    tn_config cfg;
    char err[512];
    if (config_load(&cfg, conf_path, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    CHECK(metrics_init(NULL) == 0);

    tn_settings settings = cfg.settings;
    settings.cpu_limit = 10;
    settings.mem_limit = 64u << 20;
    const char *texts[] = {busy, hostile, spin, sleeper};
    const char *triggers[] = {"api", "alert", "schedule", "cli"};
    tn_state *st[4];
    tn_run *runs[4] = {NULL};
    char *paths[4];
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "rb%d.lua", i);
        paths[i] = write_file(name, texts[i]);
        st[i] = load(paths[i], &settings);
        run_launch_opts lo = {.trigger = triggers[i]};
        tn_run_opts o = {.trigger = triggers[i], .on_done = on_done};
        CHECK(run_launch(st[i], &lo, &o, &runs[i], err, sizeof err) == 0);
    }
    uv_timer_t t;
    uv_timer_init(tn_loop(), &t);
    t.data = runs[3];
    uv_timer_start(&t, cancel_later, 100, 0);
    uv_run(tn_loop(), UV_RUN_DEFAULT);
    CHECK(ndone == 4);

    /* The daemon's part, and a family past its cap: the overflow series and
     * counter must pass promtool too. */
    metrics_alert_received("alertmanager");
    metrics_alert_deduplicated("alertmanager", "running");
    metrics_open_incidents("P1", 2);
    metrics_escalation("pager", 0);
    metrics_queue_depth(1);
    for (int i = 0; i < METRICS_MAX_SERIES + 5; i++) {
        char src[32];
        snprintf(src, sizeof src, "source-%d", i);
        metrics_alert_received(src);
    }

    buf_t out = BUF_INIT;
    CHECK(metrics_render(&out) == 0);
    const char *m = buf_str(&out);
    char *mpath = path_in("metrics.txt");
    FILE *f = fopen(mpath, "w");
    CHECK(f && fwrite(m, 1, out.n, f) == out.n && fclose(f) == 0);

    CHECK(has(m, "tocsin_runs_started_total{runbook=\"busy\",trigger=\"api\"} 1"));
    CHECK(has(m, "tocsin_runs_finished_total{runbook=\"busy\",outcome=\"ok\"} 1"));
    CHECK(has(m, "tocsin_runs_finished_total{runbook=\"we\\\"ird\\\\name\\nnext\xef\xbf\xbd\","
                 "outcome=\"failed\"} 1"));
    CHECK(has(m, "tocsin_runs_finished_total{runbook=\"spin\",outcome=\"limit\"} 1"));
    CHECK(has(m, "tocsin_runs_finished_total{runbook=\"sleeper\",outcome=\"canceled\"} 1"));
    CHECK(has(m, "tocsin_step_duration_seconds_count{runbook=\"busy\",outcome=\"ok\"} 3"));
    CHECK(has(m,
              "tocsin_step_duration_seconds_count{runbook=\"we\\\"ird\\\\name\\nnext\xef\xbf\xbd\","
              "outcome=\"failed\"} 1"));
    CHECK(has(m, "tocsin_calls_total{runbook=\"busy\",kind=\"shell\",outcome=\"ok\"} 1"));
    CHECK(has(m, "tocsin_calls_total{runbook=\"busy\",kind=\"http\",outcome=\"connect\"} 1"));
    CHECK(has(m, "tocsin_notifications_total{channel=\"ops\",outcome=\"ok\"} 1"));
    CHECK(has(m, "tocsin_notifications_total{channel=\"broken\",outcome=\"failed\"} 1"));
    CHECK(has(m, "tocsin_run_duration_seconds_count{runbook=\"sleeper\"} 1"));
    CHECK(has(m, "tocsin_build_info{version=\"" TOCSIN_VERSION "\"} 1"));
    CHECK(has(m, "tocsin_alerts_received_total{source=\"__other__\"} 6"));
    CHECK(has(m, "tocsin_metrics_overflow_total{family=\"tocsin_alerts_received_total\"} 6"));
    CHECK(has(m, "tocsin_escalations_total{channel=\"pager\",outcome=\"failed\"} 1"));

    if (!find_promtool()) {
        if (getenv("CI")) {
            fprintf(stderr, "promtool not found, and CI is set: install the prometheus package\n");
            CHECK(0);
        } else
            printf("SKIP promtool check: promtool not found (Debian package prometheus)\n");
    } else {
        char *log = path_in("promtool.out");
        buf_t cmd = BUF_INIT;
        buf_fmt(&cmd, "promtool check metrics <'%s' >'%s' 2>&1", mpath, log);
        int rc = system(buf_str(&cmd));
        buf_free(&cmd);
        FILE *lf = fopen(log, "r");
        char line[512];
        size_t said = 0;
        while (lf && fgets(line, sizeof line, lf)) {
            said += strlen(line);
            fprintf(stderr, "promtool: %s", line);
        }
        if (lf)
            fclose(lf);
        /* Exit 0 and nothing said: no parse error, no lint complaint. */
        CHECK(rc == 0);
        CHECK(said == 0);
        if (rc != 0 || said)
            fprintf(stderr, "rejected exposition:\n%s\n", m);
        else
            printf("promtool check metrics accepted %zu bytes\n", out.n);
        unlink(log);
        free(log);
    }

    metrics_shutdown();
    for (int i = 0; i < 4; i++) {
        tn_run_free(runs[i]);
        tn_state_free(st[i]);
        unlink(paths[i]);
        free(paths[i]);
    }
    modules_shutdown();
    config_free(&cfg);
    unlink(mpath);
    unlink(ops);
    unlink(conf_path);
    rmdir(dir);
    free(mpath);
    free(ops);
    free(conf_path);
    buf_free(&out);
    buf_free(&conf);
    return check_report();
}
