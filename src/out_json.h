/* out_json.h — the --json consumer of run events: one JSON object per event
 * and line, always valid JSON (invalid UTF-8 replaced, control characters
 * escaped). */
#ifndef TOCSIN_OUT_JSON_H
#define TOCSIN_OUT_JSON_H

#include <stdio.h>

#include <tocsin/tocsin.h>

typedef struct out_json {
    FILE *f;
    int debug; /* include log.debug */
} out_json;

void out_json_event(const tn_event *ev, void *ud);

#endif
