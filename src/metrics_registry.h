/* metrics_registry.h — a small registry of counters, gauges and histograms
 * rendered in the Prometheus text exposition format (version 0.0.4): HELP
 * and TYPE lines, label values escaped and kept valid UTF-8, cumulative
 * histogram buckets with +Inf, a cap on label combinations per family.
 *
 * One thread: nothing here locks (Tocsin updates and renders on the loop). */
#ifndef TOCSIN_METRICS_REGISTRY_H
#define TOCSIN_METRICS_REGISTRY_H

#include <stddef.h>

#include "buf.h"

/* The Content-Type to serve the rendered text with. */
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

#endif
