/* events.h — the one place a run reports what happens (tn_event in
 * tocsin/tocsin.h): run start/end, steps, logs, prints, dry-run actions,
 * primitive calls, prompts.  Each event is redacted once here, then handed to
 * the run's own consumer (the terminal or the --json writer) and to every
 * subscriber (the store, metrics, the incident timeline). */
#ifndef TOCSIN_EVENTS_H
#define TOCSIN_EVENTS_H

#include <tocsin/tocsin.h>

/* Fills ts, run_id and runbook from ev->run, redacts every string, delivers.
 * A string that cannot be redacted (out of memory) is delivered as a notice
 * that it was withheld, never as is. */
void events_emit(tn_event *ev);

/* A log line; fields as a JSON object and as key=value text, or both NULL. */
void events_log(tn_run *r, const char *level, const char *msg, const char *fields_json,
                const char *fields_text);

#endif
