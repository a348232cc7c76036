/* metrics.h — what `GET /metrics` serves: a small registry of counters,
 * gauges and histograms rendered in the Prometheus text exposition format
 * (version 0.0.4), and Tocsin's own families on top of it, fed by a tn_events
 * subscriber (runs, steps, primitive calls, notifications) and by the daemon
 * (alerts, queue depth, scrape-time gauges).
 *
 * One thread: every call, the subscriber and the render run on the loop's
 * thread (events are emitted there); nothing here locks. */
#ifndef TOCSIN_METRICS_H
#define TOCSIN_METRICS_H

#include <stddef.h>

#include <tocsin/tocsin.h>

#include "buf.h"

/* The Content-Type to serve metrics_render's text with. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#define METRICS_MAX_LABELS 4
/* Label combinations per family unless the family says otherwise. */
#define METRICS_MAX_SERIES 1000
/* Label values longer than this are cut (at a character boundary). */
#define METRICS_MAX_VALUE 256
/* The label value of every label of a family's overflow series. */
#define METRICS_OTHER "__other__"

/* ---- the registry --------------------------------------------------------
 *
 * Bounded cardinality: a family keeps at most max_series label
 * combinations.  Past that, a counter's or histogram's update for a new
 * combination goes into one overflow series whose every label value is
 * METRICS_OTHER (so sum() over the family stays right); a gauge's is dropped
 * (a value set for an unknown combination has no meaningful aggregate).
 * Either way the registry's overflow counter (when named) counts it, labelled
 * with the family's name.  Label values are stored as valid UTF-8 (invalid
 * bytes become U+FFFD, as the format requires) and escaped when rendered. */

typedef enum metrics_type { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM } metrics_type;

typedef struct metrics_registry metrics_registry;
typedef struct metrics_family metrics_family;

typedef struct metrics_family_opts {
    metrics_type type;
    const char *name; /* [a-zA-Z_:][a-zA-Z0-9_:]*; a counter's ends in _total */
    const char *help;
    const char *labels[METRICS_MAX_LABELS]; /* [a-zA-Z_][a-zA-Z0-9_]*; unused ones NULL */
    const double *buckets; /* histograms: upper bounds, strictly increasing; +Inf is implied */
    int nbuckets;
    size_t max_series; /* 0: METRICS_MAX_SERIES */
} metrics_family_opts;

/* overflow_name: the counter family that counts updates past a family's cap
 * (label "family"), or NULL for none.  NULL when out of memory. */
metrics_registry *metrics_registry_new(const char *overflow_name);
void metrics_registry_free(metrics_registry *reg);

/* A family, rendered in the order families were added.  A family without
 * labels has its one series (0) from the start.  NULL on a bad name, label
 * or bucket list, or out of memory. */
metrics_family *metrics_family_add(metrics_registry *reg, const metrics_family_opts *o);

/* Label values, one per label of the family, in order: METRICS_L("a", "b");
 * NULL for a family without labels. */
#define METRICS_L(...) ((const char *const[]){__VA_ARGS__})

/* 0; 1 when the update went to the overflow series or was dropped (cap);
 * -1 on a wrong family type, a NaN, a negative counter increment, or out of
 * memory. */
int metrics_counter_add(metrics_family *f, const char *const *values, double v);
int metrics_gauge_set(metrics_family *f, const char *const *values, double v);
int metrics_gauge_add(metrics_family *f, const char *const *values, double v);
int metrics_histogram_observe(metrics_family *f, const char *const *values, double v);

/* Drops every series of the family (a scrape-time collector that rebuilds a
 * labelled gauge calls it first, so label values that went away go away). */
void metrics_family_clear(metrics_family *f);

/* Called at every render, before the family is written: the function sets
 * the family's values (metrics_gauge_set...).  One per family; NULL removes. */
typedef void (*metrics_collect_fn)(metrics_family *f, void *ud);
void metrics_family_collect(metrics_family *f, metrics_collect_fn fn, void *ud);
/* For a family without labels: its value is fn(ud) at every render. */
typedef double (*metrics_value_fn)(void *ud);
void metrics_family_value(metrics_family *f, metrics_value_fn fn, void *ud);

/* Appends the exposition text of every family to out.  0, or -1 when out
 * failed (out of memory or over its limit): then out is incomplete. */
int metrics_registry_render(metrics_registry *reg, buf_t *out);

/* Appends v as the format writes sample values: shortest round-trip
 * decimal, "+Inf", "-Inf", "NaN". */
void metrics_format_value(buf_t *out, double v);
/* Appends s escaped as a label value (backslash, double quote, newline) and
 * with invalid UTF-8 replaced by U+FFFD. */
void metrics_escape_label(buf_t *out, const char *s, size_t n);

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
