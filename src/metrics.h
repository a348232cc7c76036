/* metrics.h — what `GET /metrics` serves: Tocsin's metric families on the
 * registry of metrics_registry.h, fed by a tn_events subscriber (runs, steps,
 * primitive calls, notifications) and by the daemon (alerts, queue depth,
 * scrape-time gauges); metrics_render writes the Prometheus text.
 *
 * One thread: every call, the subscriber and the render run on the loop's
 * thread (events are emitted there); nothing here locks. */
#ifndef TOCSIN_METRICS_H
#define TOCSIN_METRICS_H

#include <tocsin/tocsin.h>

#include "buf.h"
#include "metrics_registry.h"

/* ---- Tocsin's families (prefix tocsin_) -----------------------------------
 *
 *   tocsin_build_info{version}                        gauge, 1
 *   process_start_time_seconds                        gauge (the standard name)
 *   tocsin_runs_started_total{runbook,trigger}        counter   events
 *   tocsin_runs_finished_total{runbook,outcome}       counter   events: ok|failed|canceled|limit
 *   tocsin_run_duration_seconds{runbook}              histogram events
 *   tocsin_step_duration_seconds{runbook,outcome}     histogram events: ok|failed
 *   tocsin_calls_total{runbook,kind,outcome}          counter   events: http|sql|shell; ok|err.kind
 *   tocsin_call_duration_seconds{kind}                histogram events
 *   tocsin_notifications_total{channel,outcome}       counter   notify's log events: ok|failed
 *   tocsin_escalations_total{channel,outcome}         counter   the same, when event = "escalated"
 *   tocsin_alerts_received_total{source}              counter   metrics_alert_received
 *   tocsin_alerts_deduplicated_total{source,reason}   counter   metrics_alert_deduplicated
 *   tocsin_open_incidents{severity}                   gauge     metrics_open_incidents / collector
 *   tocsin_queue_depth                                gauge     metrics_queue_depth / value fn
 *   tocsin_tasks_alive                                gauge     value fn the daemon registers
 *   tocsin_lua_memory_bytes                           gauge     value fn the daemon registers
 *   tocsin_metrics_overflow_total{family}             counter   updates past a family's cap
 *
 * Histogram buckets (seconds): 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10 30 60
 * 120 300 600.  Runs of the incident clock (trigger "clock") are not runbook
 * runs: they count in notifications, escalations and calls only. */

typedef enum metrics_id {
    METRICS_BUILD_INFO,
    METRICS_START_TIME,
    METRICS_RUNS_STARTED,
    METRICS_RUNS_FINISHED,
    METRICS_RUN_DURATION,
    METRICS_STEP_DURATION,
    METRICS_CALLS,
    METRICS_CALL_DURATION,
    METRICS_NOTIFICATIONS,
    METRICS_ESCALATIONS,
    METRICS_ALERTS_RECEIVED,
    METRICS_ALERTS_DEDUPLICATED,
    METRICS_OPEN_INCIDENTS,
    METRICS_QUEUE_DEPTH,
    METRICS_TASKS_ALIVE,
    METRICS_LUA_MEMORY,
    METRICS_NFAMILIES
} metrics_id;

/* Builds Tocsin's registry (version for tocsin_build_info; NULL: the
 * build's) and subscribes metrics_on_event to every run's events.  Again
 * after metrics_shutdown starts from zero.  0, or -1 (out of memory, the
 * table of event subscribers full, or already started). */
int metrics_init(const char *version);
/* Unsubscribes and frees everything. */
void metrics_shutdown(void);
/* The whole exposition text, appended to out.  0, or -1 when not started
 * or out failed. */
int metrics_render(buf_t *out);
/* One of Tocsin's families (for metrics_family_value / _collect), or NULL
 * when not started. */
metrics_family *metrics_family_of(metrics_id id);

/* The subscriber metrics_init registers, exported for tests that feed it
 * events of their own.  ud is unused. */
void metrics_on_event(const tn_event *ev, void *ud);

/* For the daemon.  Each does nothing when metrics are not started. */
/* An alert arrived: source "alertmanager", "grafana", "generic". */
void metrics_alert_received(const char *source);
/* An alert started no run: reason "running" (a run for its fingerprint is
 * alive) or "cooldown" (the runbook's cooldown for its key). */
void metrics_alert_deduplicated(const char *source, const char *reason);
/* Sets the number of open incidents of a severity (or register a collector
 * on METRICS_OPEN_INCIDENTS that reads the store at scrape time). */
void metrics_open_incidents(const char *severity, double n);
void metrics_queue_depth(double n);
/* A notification or escalation the event subscriber cannot see (sent other
 * than through notify): counts as notify's own log lines do. */
void metrics_notification(const char *channel, int ok);
void metrics_escalation(const char *channel, int ok);

#endif
