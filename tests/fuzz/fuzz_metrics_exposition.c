/* fuzz_metrics_exposition.c — libFuzzer target for the metrics
 * (src/metrics.c, src/metrics_registry.c): any bytes as a runbook name, a
 * step title and a log line's fields JSON (what notify's result lines are
 * read from) never crash, leak or hit undefined behaviour, and the
 * exposition stays well-formed: valid UTF-8, every line a HELP, a TYPE or a
 * sample whose label values hold only the escapes \\ \" \n, and the run
 * counted exactly once.
 *
 * Input: NAME \0 FIELDS (a missing \0: all of it is the name, no fields). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static size_t utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len = c < 0x80                 ? 1
                     : c >= 0xc2 && c <= 0xdf ? 2
                     : c >= 0xe0 && c <= 0xef ? 3
                     : c >= 0xf0 && c <= 0xf4 ? 4
                                              : 0;
        if (!len || i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        i += len;
    }
    return 1;
}

static int is_name(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

/* One sample line: name{l="v",...} value — 1 when well-formed. */
static int sample_ok(const char *p, const char *end)
{
    if (p == end || !is_name(*p, 1))
        return 0;
    while (p < end && is_name(*p, 0))
        p++;
    if (p < end && *p == '{') {
        p++;
        for (;;) {
            if (p == end || !is_name(*p, 1) || *p == ':')
                return 0;
            while (p < end && is_name(*p, 0) && *p != ':')
                p++;
            if (end - p < 2 || p[0] != '=' || p[1] != '"')
                return 0;
            for (p += 2; p < end && *p != '"'; p++)
                if (*p == '\\' && (++p == end || (*p != '\\' && *p != '"' && *p != 'n')))
                    return 0;
            if (p == end)
                return 0;
            p++;
            if (p < end && *p == ',') {
                p++;
                continue;
            }
            if (p < end && *p == '}') {
                p++;
                break;
            }
            return 0;
        }
    }
    if (p == end || *p++ != ' ' || p == end)
        return 0;
    char *num_end;
    strtod(p, &num_end);
    return num_end == end;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t nn = nul ? (size_t)(nul - data) : size;
    char *name = malloc(nn + 1), *fields = NULL;
    memcpy(name, data, nn);
    name[nn] = 0;
    if (nul) {
        size_t fn = size - nn - 1;
        fields = malloc(fn + 1);
        memcpy(fields, nul + 1, fn);
        fields[fn] = 0;
    }
    if (metrics_init("fuzz") != 0)
        abort();
    tn_event ev = {.type = TN_EV_RUN_START, .runbook = name, .trigger = name};
    metrics_on_event(&ev, NULL);
    ev = (tn_event){.type = TN_EV_STEP_END, .runbook = name, .title = name, .duration = 0.5};
    metrics_on_event(&ev, NULL);
    /* notify's result line, for the channel named as the runbook is. */
    char text[64 + 256];
    snprintf(text, sizeof text, "notified %s", name);
    ev = (tn_event){.type = TN_EV_LOG, .runbook = name, .level = "info", .text = text};
    ev.len = strlen(text);
    ev.fields = fields;
    metrics_on_event(&ev, NULL);
    ev.level = "warn";
    metrics_on_event(&ev, NULL);
    ev = (tn_event){.type = TN_EV_RUN_END, .runbook = name, .ok = 1, .duration = 1};
    metrics_on_event(&ev, NULL);
    metrics_alert_received(name);

    buf_t out = BUF_INIT;
    if (metrics_render(&out) != 0 || !utf8_ok((const unsigned char *)out.p, out.n))
        abort();
    int finished = 0;
    for (const char *p = buf_str(&out), *end; *p; p = end + 1) {
        end = strchr(p, '\n');
        if (!end)
            abort(); /* every line ends with a newline */
        if (!strncmp(p, "# HELP ", 7) || !strncmp(p, "# TYPE ", 7))
            continue;
        if (!sample_ok(p, end))
            abort();
        finished += !strncmp(p, "tocsin_runs_finished_total{", 27);
    }
    if (finished != 1)
        abort();
    buf_free(&out);
    metrics_shutdown();
    free(name);
    free(fields);
    return 0;
}
