/* fuzz_cron.c — libFuzzer target for cron.c (and tz.c under it).  Input:
 * one byte picks a zone, eight give the instant to search after, the rest
 * is the expression.  cron_parse must accept or refuse with a message;
 * whatever cron_next returns must be strictly later, within its ten-year
 * reach, and either a matching local minute or the instant of a forward
 * jump (a fixed-time job catching up). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"

static const char *const zone_names[] = {"UTC",           "America/New_York", "Australia/Lord_Howe",
                                         "Europe/Berlin", "Pacific/Apia",     "Antarctica/Troll"};
static tz_zone *zones[sizeof zone_names / sizeof zone_names[0]];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!zones[0]) {
        char err[512];
        for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++)
            if (tz_open(&zones[i], zone_names[i], err, sizeof err) < 0) {
                fprintf(stderr, "%s\n", err);
                abort();
            }
    }
    if (size < 9)
        return 0;
    const tz_zone *z = zones[data[0] % (sizeof zones / sizeof zones[0])];
    uint64_t raw;
    memcpy(&raw, data + 1, 8);
    /* 1900..2400: where zone rules and the calendar both matter. */
    int64_t after = -2208988800 + (int64_t)(raw % (uint64_t)(500LL * 366 * 86400));
    char *text = malloc(size - 9 + 1);
    if (!text)
        return 0;
    memcpy(text, data + 9, size - 9);
    text[size - 9] = 0;
    char err[256] = "";
    cron_expr e;
    int rc = cron_parse(&e, text, err, sizeof err);
    if (rc != 0 && (rc != CRON_EINVAL || !err[0]))
        abort();
    for (int i = 0; rc == 0 && i < 3; i++) {
        int64_t next;
        int r = cron_next(&e, z, after, &next);
        if (r == CRON_EREBOOT && e.reboot)
            break;
        if (r == CRON_ENEVER)
            break;
        if (r != 0 || next <= after || next > after + 3660LL * 86400 + 86400)
            abort();
        tz_period p;
        tz_period_at(z, next, &p);
        int at_jump = p.since == next && tz_offset_at(z, next - 1, NULL) < p.offset;
        if (!cron_matches(&e, next + p.offset) && !at_jump)
            abort();
        after = next;
    }
    free(text);
    return 0;
}
