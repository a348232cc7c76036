/* metrics_event_counting.c — Tocsin's families from synthetic run events:
 * runs by outcome (ok, failed, canceled, limit), run and step durations in
 * their buckets, primitive calls, notify's result lines told apart from
 * look-alike log lines, escalations, the incident clock's runs left out of
 * the run counts, the daemon's API, scrape-time gauges, a restart from zero. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "metrics.h"
#include "run.h"

#include "check.h"

static buf_t out = BUF_INIT;

static const char *render(void)
{
    buf_reset(&out);
    CHECK(metrics_render(&out) == 0);
    return buf_str(&out);
}

/* The exposition holds this whole line. */
static int has(const char *line)
{
    const char *t = render();
    size_t n = strlen(line);
    for (const char *p = t; (p = strstr(p, line)); p++)
        if ((p == t || p[-1] == '\n') && p[n] == '\n')
            return 1;
    fprintf(stderr, "missing line: %s\n", line);
    return 0;
}

static int lacks(const char *text)
{
    if (!strstr(render(), text))
        return 1;
    fprintf(stderr, "unexpected: %s\n", text);
    return 0;
}

static void emit(tn_event ev)
{
    if (!ev.runbook)
        ev.runbook = "deploy";
    metrics_on_event(&ev, NULL);
}

static void run_end(int ok, int canceled, int limit, double secs)
{
    emit((tn_event){
        .type = TN_EV_RUN_END, .ok = ok, .canceled = canceled, .limit = limit, .duration = secs});
}

static void notify_log(const char *level, const char *text, const char *fields)
{
    emit((tn_event){
        .type = TN_EV_LOG, .level = level, .text = text, .len = strlen(text), .fields = fields});
}

static void test_runs_steps_calls(void)
{
    emit((tn_event){.type = TN_EV_RUN_START, .trigger = "schedule"});
    emit((tn_event){.type = TN_EV_RUN_START, .trigger = "schedule"});
    emit((tn_event){.type = TN_EV_RUN_START}); /* no trigger: the CLI's */
    run_end(1, 0, 0, 0.2);
    run_end(1, 0, 0, 0.3);
    run_end(0, 0, 0, 4);
    run_end(0, 1, 0, 700);
    run_end(0, 1, 1, 1); /* a limit is what stopped it, even if cancelled after */
    CHECK(has("tocsin_runs_started_total{runbook=\"deploy\",trigger=\"schedule\"} 2"));
    CHECK(has("tocsin_runs_started_total{runbook=\"deploy\",trigger=\"cli\"} 1"));
    CHECK(has("tocsin_runs_finished_total{runbook=\"deploy\",outcome=\"ok\"} 2"));
    CHECK(has("tocsin_runs_finished_total{runbook=\"deploy\",outcome=\"failed\"} 1"));
    CHECK(has("tocsin_runs_finished_total{runbook=\"deploy\",outcome=\"canceled\"} 1"));
    CHECK(has("tocsin_runs_finished_total{runbook=\"deploy\",outcome=\"limit\"} 1"));
    CHECK(has("tocsin_run_duration_seconds_bucket{runbook=\"deploy\",le=\"0.1\"} 0"));
    CHECK(has("tocsin_run_duration_seconds_bucket{runbook=\"deploy\",le=\"0.25\"} 1"));
    CHECK(has("tocsin_run_duration_seconds_bucket{runbook=\"deploy\",le=\"0.5\"} 2"));
    CHECK(has("tocsin_run_duration_seconds_bucket{runbook=\"deploy\",le=\"1\"} 3"));
    CHECK(has("tocsin_run_duration_seconds_bucket{runbook=\"deploy\",le=\"5\"} 4"));
    CHECK(has("tocsin_run_duration_seconds_bucket{runbook=\"deploy\",le=\"600\"} 4"));
    CHECK(has("tocsin_run_duration_seconds_bucket{runbook=\"deploy\",le=\"+Inf\"} 5"));
    CHECK(has("tocsin_run_duration_seconds_sum{runbook=\"deploy\"} 705.5"));
    CHECK(has("tocsin_run_duration_seconds_count{runbook=\"deploy\"} 5"));

    emit((tn_event){.type = TN_EV_STEP_START, .title = "check"});
    emit((tn_event){.type = TN_EV_STEP_END, .title = "check", .ok = 1, .duration = 0.005});
    emit((tn_event){.type = TN_EV_STEP_END, .title = "roll out", .ok = 1, .duration = 0.01});
    emit((tn_event){.type = TN_EV_STEP_END, .title = "verify", .ok = 0, .duration = 45});
    CHECK(has("tocsin_step_duration_seconds_bucket{runbook=\"deploy\",outcome=\"ok\",le=\"0.01\"} "
              "2"));
    CHECK(has("tocsin_step_duration_seconds_count{runbook=\"deploy\",outcome=\"ok\"} 2"));
    CHECK(has("tocsin_step_duration_seconds_bucket{runbook=\"deploy\",outcome=\"failed\",le=\"30\"}"
              " 0"));
    CHECK(has("tocsin_step_duration_seconds_bucket{runbook=\"deploy\",outcome=\"failed\",le=\"60\"}"
              " 1"));

    emit((tn_event){.type = TN_EV_CALL, .kind = "http", .outcome = "ok", .duration = 0.03});
    emit((tn_event){.type = TN_EV_CALL, .kind = "http", .outcome = "ok", .duration = 0.04});
    emit((tn_event){.type = TN_EV_CALL, .kind = "sql", .outcome = "connect", .duration = 1.2});
    emit((tn_event){.type = TN_EV_CALL, .kind = "shell", .outcome = "timeout", .duration = 30});
    CHECK(has("tocsin_calls_total{runbook=\"deploy\",kind=\"http\",outcome=\"ok\"} 2"));
    CHECK(has("tocsin_calls_total{runbook=\"deploy\",kind=\"sql\",outcome=\"connect\"} 1"));
    CHECK(has("tocsin_calls_total{runbook=\"deploy\",kind=\"shell\",outcome=\"timeout\"} 1"));
    CHECK(has("tocsin_call_duration_seconds_bucket{kind=\"http\",le=\"0.05\"} 2"));
    CHECK(has("tocsin_call_duration_seconds_bucket{kind=\"sql\",le=\"1\"} 0"));
    CHECK(has("tocsin_call_duration_seconds_bucket{kind=\"sql\",le=\"2.5\"} 1"));
    CHECK(has("tocsin_call_duration_seconds_bucket{kind=\"shell\",le=\"30\"} 1"));
}

static void test_notifications(void)
{
    /* notify.lua's own lines, members in any order. */
    notify_log("info", "notified ops", "{\"status\":200,\"channel\":\"ops\",\"attempts\":1}");
    notify_log("warn", "notify pager failed: HTTP 500",
               "{\"attempts\":3,\"channel\":\"pager\",\"status\":500,\"error\":\"HTTP 500\"}");
    /* Members before the channel that must be skipped whole: an object
     * holding quotes and braces inside strings, an array. */
    notify_log("info", "notified ops",
               "{ \"error\" : {\"a\":\"}\\\",\\\"channel\\\":\\\"x\",\"b\":[1,{\"c\":2}]}, "
               "\"list\":[\"]\"], \"channel\" : \"ops\" , \"attempts\" : 2 }");
    /* The console channel's message line is not a result; its result is. */
    notify_log("info", "notify console: deploy failed",
               "{\"channel\":\"console\",\"event\":\"x\"}");
    notify_log("info", "notified console", "{\"channel\":\"console\",\"attempts\":1}");
    CHECK(has("tocsin_notifications_total{channel=\"ops\",outcome=\"ok\"} 2"));
    CHECK(has("tocsin_notifications_total{channel=\"pager\",outcome=\"failed\"} 1"));
    CHECK(has("tocsin_notifications_total{channel=\"console\",outcome=\"ok\"} 1"));

    /* Look-alikes: a runbook's own line without notify's fields, a channel
     * that is not the one named, the wrong level, a string for attempts, a
     * nested channel member, broken JSON: none counts. */
    notify_log("info", "notified ops", NULL);
    notify_log("info", "notified ops", "{\"channel\":\"opsx\",\"attempts\":1}");
    notify_log("info", "notified opsx", "{\"channel\":\"ops\",\"attempts\":1}");
    notify_log("warn", "notified ops", "{\"channel\":\"ops\",\"attempts\":1}");
    notify_log("info", "notify ops failed: x", "{\"channel\":\"ops\",\"attempts\":1}");
    notify_log("info", "notified ops", "{\"channel\":\"ops\",\"attempts\":\"1\"}");
    notify_log("info", "notified ops", "{\"x\":{\"channel\":\"ops\",\"attempts\":1}}");
    notify_log("info", "notified ops", "{\"channel\":\"ops\",\"attempts\":}");
    notify_log("info", "notified ops", "{\"channel\":\"ops");
    notify_log("info", "notified ops", "[\"channel\",\"ops\",\"attempts\",1]");
    CHECK(has("tocsin_notifications_total{channel=\"ops\",outcome=\"ok\"} 2"));
    CHECK(lacks("channel=\"opsx\""));
    CHECK(lacks("channel=\"ops\",outcome=\"failed\""));

    /* A channel name with escapes in its JSON comes out decoded, then
     * escaped for the exposition. */
    notify_log("info", "notified a\"b\xc3\xa9\xf0\x9f\x94\x94",
               "{\"channel\":\"a\\\"b\\u00e9\\ud83d\\udd14\",\"attempts\":1}");
    CHECK(
        has("tocsin_notifications_total{channel=\"a\\\"b\xc3\xa9\xf0\x9f\x94\x94\",outcome=\"ok\"}"
            " 1"));

    /* An escalation (notify given event = "escalated") counts twice. */
    notify_log("info", "notified slack",
               "{\"channel\":\"slack\",\"attempts\":1,\"event\":\"escalated\"}");
    notify_log("warn", "notify pd failed: timeout",
               "{\"channel\":\"pd\",\"attempts\":3,\"event\":\"escalated\",\"error\":\"timeout\"}");
    notify_log("info", "notified slack",
               "{\"channel\":\"slack\",\"attempts\":1,\"event\":\"opened\"}");
    CHECK(has("tocsin_notifications_total{channel=\"slack\",outcome=\"ok\"} 2"));
    CHECK(has("tocsin_escalations_total{channel=\"slack\",outcome=\"ok\"} 1"));
    CHECK(has("tocsin_escalations_total{channel=\"pd\",outcome=\"failed\"} 1"));
}

static void test_clock_runs(void)
{
    static char clock_trigger[] = "clock";
    tn_run fake = {.trigger = clock_trigger};
    tn_event ev = {.run = &fake, .runbook = "tocsin-clock"};
    ev.type = TN_EV_RUN_START;
    emit(ev);
    ev.type = TN_EV_STEP_END, ev.ok = 1, ev.duration = 1;
    emit(ev);
    ev.type = TN_EV_RUN_END, ev.ok = 1;
    emit(ev);
    ev.type = TN_EV_CALL, ev.kind = "http", ev.outcome = "ok", ev.duration = 0.1;
    emit(ev);
    ev.type = TN_EV_LOG, ev.level = "info", ev.text = "notified ops", ev.len = 12;
    ev.fields = "{\"channel\":\"ops\",\"attempts\":1}";
    emit(ev);
    CHECK(lacks("tocsin_runs_started_total{runbook=\"tocsin-clock\""));
    CHECK(lacks("tocsin_runs_finished_total{runbook=\"tocsin-clock\""));
    CHECK(lacks("tocsin_run_duration_seconds_count{runbook=\"tocsin-clock\""));
    CHECK(lacks("tocsin_step_duration_seconds_count{runbook=\"tocsin-clock\""));
    CHECK(has("tocsin_calls_total{runbook=\"tocsin-clock\",kind=\"http\",outcome=\"ok\"} 1"));
    CHECK(has("tocsin_notifications_total{channel=\"ops\",outcome=\"ok\"} 3"));
}

static double tasks_alive(void *ud)
{
    return *(int *)ud;
}

static void open_incidents(metrics_family *f, void *ud)
{
    metrics_family_clear(f);
    metrics_gauge_set(f, METRICS_L("P1"), *(int *)ud);
    metrics_gauge_set(f, METRICS_L("P2"), 0);
}

static void test_daemon_api(void)
{
    metrics_alert_received("alertmanager");
    metrics_alert_received("alertmanager");
    metrics_alert_received("grafana");
    metrics_alert_deduplicated("alertmanager", "running");
    metrics_alert_deduplicated("alertmanager", "cooldown");
    metrics_queue_depth(3);
    metrics_notification("mail", 0);
    metrics_escalation("phone", 1);
    CHECK(has("tocsin_alerts_received_total{source=\"alertmanager\"} 2"));
    CHECK(has("tocsin_alerts_received_total{source=\"grafana\"} 1"));
    CHECK(has("tocsin_alerts_deduplicated_total{source=\"alertmanager\",reason=\"running\"} 1"));
    CHECK(has("tocsin_alerts_deduplicated_total{source=\"alertmanager\",reason=\"cooldown\"} 1"));
    CHECK(has("tocsin_queue_depth 3"));
    CHECK(has("tocsin_notifications_total{channel=\"mail\",outcome=\"failed\"} 1"));
    CHECK(has("tocsin_escalations_total{channel=\"phone\",outcome=\"ok\"} 1"));

    metrics_open_incidents("P0", 1);
    CHECK(has("tocsin_open_incidents{severity=\"P0\"} 1"));
    /* Scrape-time: the daemon's callbacks are read at each render. */
    int tasks = 5, p1 = 2;
    CHECK(has("tocsin_tasks_alive 0"));
    metrics_family_value(metrics_family_of(METRICS_TASKS_ALIVE), tasks_alive, &tasks);
    metrics_family_collect(metrics_family_of(METRICS_OPEN_INCIDENTS), open_incidents, &p1);
    CHECK(has("tocsin_tasks_alive 5"));
    CHECK(has("tocsin_open_incidents{severity=\"P1\"} 2"));
    CHECK(has("tocsin_open_incidents{severity=\"P2\"} 0"));
    CHECK(lacks("severity=\"P0\""));
    tasks = 1, p1 = 0;
    CHECK(has("tocsin_tasks_alive 1"));
    CHECK(has("tocsin_open_incidents{severity=\"P1\"} 0"));
    CHECK(has("tocsin_lua_memory_bytes 0"));
    CHECK(metrics_family_of(METRICS_NFAMILIES) == NULL);
}

static void test_identity(void)
{
    CHECK(has("tocsin_build_info{version=\"9.9.9\"} 1"));
    CHECK(has("# TYPE tocsin_build_info gauge"));
    CHECK(has("# TYPE tocsin_runs_finished_total counter"));
    CHECK(has("# TYPE tocsin_step_duration_seconds histogram"));
    const char *p = strstr(render(), "\nprocess_start_time_seconds ");
    CHECK(p != NULL);
    double started = p ? strtod(p + 28, NULL) : 0;
    /* This process started moments ago: within the last hour, not later than now. */
    double now = (double)time(NULL);
    CHECK(started > now - 3600 && started <= now + 1);
}

int main(void)
{
    buf_t none = BUF_INIT;
    CHECK(metrics_render(&none) == -1);
    metrics_alert_received("x"); /* before metrics_init: nothing happens */
    CHECK(metrics_family_of(METRICS_TASKS_ALIVE) == NULL);
    CHECK(metrics_init("9.9.9") == 0);
    CHECK(metrics_init("9.9.9") == -1);
    test_runs_steps_calls();
    test_notifications();
    test_clock_runs();
    test_daemon_api();
    test_identity();

    /* The subscription is live: an event emitted the engine's way counts. */
    events_log(NULL, "info", "notified live", "{\"channel\":\"live\",\"attempts\":1}",
               "channel=live attempts=1");
    CHECK(has("tocsin_notifications_total{channel=\"live\",outcome=\"ok\"} 1"));

    /* Shut down: unsubscribed; started again: every count from zero. */
    metrics_shutdown();
    events_log(NULL, "info", "notified live", "{\"channel\":\"live\",\"attempts\":1}", NULL);
    CHECK(metrics_render(&none) == -1);
    CHECK(metrics_init(NULL) == 0);
    CHECK(lacks("channel=\"live\""));
    CHECK(lacks("runbook=\"deploy\""));
    CHECK(has("tocsin_build_info{version=\"" TOCSIN_VERSION "\"} 1"));
    metrics_shutdown();
    buf_free(&none);
    buf_free(&out);
    return check_report();
}
