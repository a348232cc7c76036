/* cron_dst_table.c — fire times across daylight-saving jumps, written out
 * by hand from each zone's rules (the comments give the local reading and
 * the arithmetic).  The rule is Debian cron's (vixie cron 3.0 cron.c, the
 * "DST begins" and "DST ends" cases, for jumps under three hours):
 *   fixed-time job (minute and hour fields not starting with '*'):
 *     skipped wall time  -> runs once, at the jump (first instant that exists)
 *     repeated wall time -> runs the first time only
 *   wildcard job (minute or hour field starts with '*', @hourly):
 *     skipped wall time  -> does not run
 *     repeated wall time -> runs again
 * Zone rules used (tzdata):
 *   America/New_York  EST -05 / EDT -04; 2026-03-08 02:00 EST -> 03:00 EDT
 *                     at 07:00Z; 2026-11-01 02:00 EDT -> 01:00 EST at 06:00Z.
 *   Europe/Berlin     CET +01 / CEST +02; 2026-03-29 02:00 -> 03:00 at 01:00Z;
 *                     2026-10-25 03:00 CEST -> 02:00 CET at 01:00Z.
 *   Australia/Lord_Howe  +10:30 / +11 (a 30-minute shift); 2026-04-05 02:00
 *                     +11 -> 01:30 +10:30 at 2026-04-04 15:00Z; 2026-10-04
 *                     02:00 +10:30 -> 02:30 +11 at 2026-10-03 15:30Z.
 *   Antarctica/Troll  +00 / +02 (a two-hour shift); 2026-03-29 01:00 -> 03:00
 *                     at 01:00Z.
 *   Pacific/Apia      2011-12-29 24:00 -10 -> 2011-12-31 00:00 +14 at
 *                     2011-12-30 10:00Z: a whole day skipped, over the
 *                     three-hour limit, so nothing catches up. */
#include <stdio.h>
#include <string.h>

#include "cron.h"

#include "check.h"

typedef struct {
    const char *zone, *expr;
    int from[5];    /* UTC y, m, d, h, min: search strictly after this */
    int want[4][5]; /* the next fire times, UTC y, m, d, h, min */
} row;

static const row table[] = {
    /* ---- America/New_York, spring forward 2026-03-08 (02:00-02:59 skipped) */
    /* 02:30 on the 7th is 07:30Z; on the 8th 02:30 does not exist -> runs at
     * the jump, 03:00 EDT = 07:00Z; the 9th 02:30 EDT = 06:30Z. */
    {"America/New_York",
     "30 2 * * *",
     {2026, 3, 7, 0, 0},
     {{2026, 3, 7, 7, 30}, {2026, 3, 8, 7, 0}, {2026, 3, 9, 6, 30}, {2026, 3, 10, 6, 30}}},
    /* Hourly is a wildcard job: 01:00 EST = 06:00Z, 02:00 skipped, then
     * 03:00 EDT = 07:00Z, 04:00 EDT = 08:00Z. From 00:30 EST = 05:30Z. */
    {"America/New_York",
     "0 * * * *",
     {2026, 3, 8, 5, 30},
     {{2026, 3, 8, 6, 0}, {2026, 3, 8, 7, 0}, {2026, 3, 8, 8, 0}, {2026, 3, 8, 9, 0}}},
    /* From 01:40 EST (06:40Z): 01:45 EST = 06:45Z; 02:00..02:45 skipped;
     * 03:00 EDT = 07:00Z, 03:15 = 07:15Z, 03:30 = 07:30Z. */
    {"America/New_York",
     "*/15 * * * *",
     {2026, 3, 8, 6, 40},
     {{2026, 3, 8, 6, 45}, {2026, 3, 8, 7, 0}, {2026, 3, 8, 7, 15}, {2026, 3, 8, 7, 30}}},
    /* 01:00 exists on both sides: the 8th 01:00 EST = 06:00Z, then EDT
     * 01:00 = 05:00Z. */
    {"America/New_York",
     "0 1 * * *",
     {2026, 3, 7, 12, 0},
     {{2026, 3, 8, 6, 0}, {2026, 3, 9, 5, 0}, {2026, 3, 10, 5, 0}, {2026, 3, 11, 5, 0}}},
    /* Two skipped times of one job run at the one jump instant (07:00Z); a
     * next-time schedule cannot run them twice at the same instant. */
    {"America/New_York",
     "0,30 2 * * *",
     {2026, 3, 8, 0, 0},
     {{2026, 3, 8, 7, 0}, {2026, 3, 9, 6, 0}, {2026, 3, 9, 6, 30}, {2026, 3, 10, 6, 0}}},
    /* A minute-wildcard inside the gap hour: skipped entirely that day;
     * the 9th 02:00 EDT = 06:00Z. */
    {"America/New_York",
     "* 2 * * *",
     {2026, 3, 8, 0, 0},
     {{2026, 3, 9, 6, 0}, {2026, 3, 9, 6, 1}, {2026, 3, 9, 6, 2}, {2026, 3, 9, 6, 3}}},

    /* ---- America/New_York, fall back 2026-11-01 (01:00-01:59 twice) */
    /* 02:30 happens once (EST) = 07:30Z on the 1st and the 2nd. */
    {"America/New_York",
     "30 2 * * *",
     {2026, 10, 31, 16, 0},
     {{2026, 11, 1, 7, 30}, {2026, 11, 2, 7, 30}, {2026, 11, 3, 7, 30}, {2026, 11, 4, 7, 30}}},
    /* Fixed 01:00: the first occurrence, 01:00 EDT = 05:00Z, not the second
     * (06:00Z); next day 01:00 EST = 06:00Z. */
    {"America/New_York",
     "0 1 * * *",
     {2026, 10, 31, 16, 0},
     {{2026, 11, 1, 5, 0}, {2026, 11, 2, 6, 0}, {2026, 11, 3, 6, 0}, {2026, 11, 4, 6, 0}}},
    /* 01:30 EDT = 05:30Z; searching from inside the repeat (01:10 EST =
     * 06:10Z) does not find 01:30 EST: next is the 2nd, 06:30Z. */
    {"America/New_York",
     "30 1 * * *",
     {2026, 11, 1, 6, 10},
     {{2026, 11, 2, 6, 30}, {2026, 11, 3, 6, 30}, {2026, 11, 4, 6, 30}, {2026, 11, 5, 6, 30}}},
    /* Hourly (wildcard) from 00:30 EDT (04:30Z): 01:00 EDT = 05:00Z, 01:00
     * EST = 06:00Z (again), 02:00 EST = 07:00Z, 03:00 EST = 08:00Z. */
    {"America/New_York",
     "0 * * * *",
     {2026, 11, 1, 4, 30},
     {{2026, 11, 1, 5, 0}, {2026, 11, 1, 6, 0}, {2026, 11, 1, 7, 0}, {2026, 11, 1, 8, 0}}},
    /* From 01:40 EDT (05:40Z): 01:45 EDT = 05:45Z, then the repeated hour
     * from 01:00 EST = 06:00Z on. */
    {"America/New_York",
     "*/15 * * * *",
     {2026, 11, 1, 5, 40},
     {{2026, 11, 1, 5, 45}, {2026, 11, 1, 6, 0}, {2026, 11, 1, 6, 15}, {2026, 11, 1, 6, 30}}},

    /* ---- Europe/Berlin, spring forward 2026-03-29 (02:00-02:59 skipped) */
    /* The 29th 02:30 skipped -> at the jump 03:00 CEST = 01:00Z; the 30th
     * 02:30 CEST = 00:30Z. */
    {"Europe/Berlin",
     "30 2 * * *",
     {2026, 3, 28, 11, 0},
     {{2026, 3, 29, 1, 0}, {2026, 3, 30, 0, 30}, {2026, 3, 31, 0, 30}, {2026, 4, 1, 0, 30}}},
    /* From 00:30 CET (23:30Z on the 28th): 01:00 CET = 00:00Z, 03:00 CEST =
     * 01:00Z, 04:00 CEST = 02:00Z. */
    {"Europe/Berlin",
     "0 * * * *",
     {2026, 3, 28, 23, 30},
     {{2026, 3, 29, 0, 0}, {2026, 3, 29, 1, 0}, {2026, 3, 29, 2, 0}, {2026, 3, 29, 3, 0}}},
    /* From 01:40 CET (00:40Z): 01:45 CET = 00:45Z; 03:00 CEST = 01:00Z. */
    {"Europe/Berlin",
     "*/15 * * * *",
     {2026, 3, 29, 0, 40},
     {{2026, 3, 29, 0, 45}, {2026, 3, 29, 1, 0}, {2026, 3, 29, 1, 15}, {2026, 3, 29, 1, 30}}},
    /* 01:00 CET = 00:00Z on the 29th, then 01:00 CEST = 23:00Z the day before. */
    {"Europe/Berlin",
     "0 1 * * *",
     {2026, 3, 28, 11, 0},
     {{2026, 3, 29, 0, 0}, {2026, 3, 29, 23, 0}, {2026, 3, 30, 23, 0}, {2026, 3, 31, 23, 0}}},

    /* ---- Europe/Berlin, fall back 2026-10-25 (02:00-02:59 twice) */
    /* Fixed 02:30: first occurrence 02:30 CEST = 00:30Z only; the 26th
     * 02:30 CET = 01:30Z. */
    {"Europe/Berlin",
     "30 2 * * *",
     {2026, 10, 24, 12, 0},
     {{2026, 10, 25, 0, 30}, {2026, 10, 26, 1, 30}, {2026, 10, 27, 1, 30}, {2026, 10, 28, 1, 30}}},
    /* From 01:30 CEST (23:30Z on the 24th): 02:00 CEST = 00:00Z, 02:00 CET
     * = 01:00Z (again), 03:00 CET = 02:00Z. */
    {"Europe/Berlin",
     "0 * * * *",
     {2026, 10, 24, 23, 30},
     {{2026, 10, 25, 0, 0}, {2026, 10, 25, 1, 0}, {2026, 10, 25, 2, 0}, {2026, 10, 25, 3, 0}}},
    /* From 02:50 CEST (00:50Z): 03:00 CEST never shows (the clock goes back
     * to 02:00 CET = 01:00Z), then 02:15 CET = 01:15Z ... */
    {"Europe/Berlin",
     "*/15 * * * *",
     {2026, 10, 25, 0, 50},
     {{2026, 10, 25, 1, 0}, {2026, 10, 25, 1, 15}, {2026, 10, 25, 1, 30}, {2026, 10, 25, 1, 45}}},
    /* 01:00 is before the repeat: 01:00 CEST = 23:00Z, then 01:00 CET = 00:00Z. */
    {"Europe/Berlin",
     "0 1 * * *",
     {2026, 10, 24, 12, 0},
     {{2026, 10, 24, 23, 0}, {2026, 10, 26, 0, 0}, {2026, 10, 27, 0, 0}, {2026, 10, 28, 0, 0}}},

    /* ---- Australia/Lord_Howe, fall back 2026-04-05 (01:30-01:59 twice) */
    /* Fixed 01:30: 01:30 +11 = 14:30Z on the 4th, not 01:30 +10:30 (15:00Z);
     * the 6th 01:30 +10:30 = 15:00Z on the 5th. */
    {"Australia/Lord_Howe",
     "30 1 * * *",
     {2026, 4, 4, 0, 0},
     {{2026, 4, 4, 14, 30}, {2026, 4, 5, 15, 0}, {2026, 4, 6, 15, 0}, {2026, 4, 7, 15, 0}}},
    /* 02:30 once: 02:30 +10:30 = 16:00Z on the 4th. */
    {"Australia/Lord_Howe",
     "30 2 * * *",
     {2026, 4, 4, 0, 0},
     {{2026, 4, 4, 16, 0}, {2026, 4, 5, 16, 0}, {2026, 4, 6, 16, 0}, {2026, 4, 7, 16, 0}}},
    /* From 00:30 +11 (13:30Z): 01:00 +11 = 14:00Z; 02:00 +11 never shows;
     * 02:00 +10:30 = 15:30Z, 03:00 = 16:30Z, 04:00 = 17:30Z. */
    {"Australia/Lord_Howe",
     "0 * * * *",
     {2026, 4, 4, 13, 30},
     {{2026, 4, 4, 14, 0}, {2026, 4, 4, 15, 30}, {2026, 4, 4, 16, 30}, {2026, 4, 4, 17, 30}}},
    /* From 01:40 +11 (14:40Z): 01:45 +11 = 14:45Z, then the repeat: 01:30
     * +10:30 = 15:00Z, 01:45 = 15:15Z, 02:00 = 15:30Z. */
    {"Australia/Lord_Howe",
     "*/15 * * * *",
     {2026, 4, 4, 14, 40},
     {{2026, 4, 4, 14, 45}, {2026, 4, 4, 15, 0}, {2026, 4, 4, 15, 15}, {2026, 4, 4, 15, 30}}},
    /* 01:00 +11 = 14:00Z on the 4th; the 6th 01:00 +10:30 = 14:30Z on the 5th. */
    {"Australia/Lord_Howe",
     "0 1 * * *",
     {2026, 4, 4, 0, 0},
     {{2026, 4, 4, 14, 0}, {2026, 4, 5, 14, 30}, {2026, 4, 6, 14, 30}, {2026, 4, 7, 14, 30}}},

    /* ---- Australia/Lord_Howe, spring forward 2026-10-04 (02:00-02:29 skipped) */
    /* 02:30 exists (+11) = 15:30Z on the 3rd, the jump instant itself. */
    {"Australia/Lord_Howe",
     "30 2 * * *",
     {2026, 10, 3, 0, 0},
     {{2026, 10, 3, 15, 30}, {2026, 10, 4, 15, 30}, {2026, 10, 5, 15, 30}, {2026, 10, 6, 15, 30}}},
    /* 02:15 skipped -> at the jump, 02:30 +11 = 15:30Z; then 02:15 +11 = 15:15Z. */
    {"Australia/Lord_Howe",
     "15 2 * * *",
     {2026, 10, 3, 0, 0},
     {{2026, 10, 3, 15, 30}, {2026, 10, 4, 15, 15}, {2026, 10, 5, 15, 15}, {2026, 10, 6, 15, 15}}},
    /* From 01:30 +10:30 (15:00Z): 02:00 skipped (wildcard), 03:00 +11 = 16:00Z. */
    {"Australia/Lord_Howe",
     "0 * * * *",
     {2026, 10, 3, 15, 0},
     {{2026, 10, 3, 16, 0}, {2026, 10, 3, 17, 0}, {2026, 10, 3, 18, 0}, {2026, 10, 3, 19, 0}}},
    /* From 01:50 +10:30 (15:20Z): 02:00, 02:15 skipped; 02:30 +11 = 15:30Z. */
    {"Australia/Lord_Howe",
     "*/15 * * * *",
     {2026, 10, 3, 15, 20},
     {{2026, 10, 3, 15, 30}, {2026, 10, 3, 15, 45}, {2026, 10, 3, 16, 0}, {2026, 10, 3, 16, 15}}},
    /* 01:00 +10:30 = 14:30Z on the 3rd; 01:00 +11 = 14:00Z on the 4th. */
    {"Australia/Lord_Howe",
     "0 1 * * *",
     {2026, 10, 3, 0, 0},
     {{2026, 10, 3, 14, 30}, {2026, 10, 4, 14, 0}, {2026, 10, 5, 14, 0}, {2026, 10, 6, 14, 0}}},

    /* ---- Antarctica/Troll, a two-hour jump 2026-03-29 (01:00-02:59 skipped):
     * under three hours, so fixed-time jobs catch up at 03:00 +02 = 01:00Z. */
    {"Antarctica/Troll",
     "30 1 * * *",
     {2026, 3, 28, 12, 0},
     {{2026, 3, 29, 1, 0}, {2026, 3, 29, 23, 30}, {2026, 3, 30, 23, 30}, {2026, 3, 31, 23, 30}}},

    /* ---- Pacific/Apia: 30 December 2011 never happened.  29th 12:00 -10 =
     * 22:00Z; 31st 12:00 +14 = 22:00Z on the 30th; no catch-up (24h jump). */
    {"Pacific/Apia",
     "0 12 * * *",
     {2011, 12, 29, 0, 0},
     {{2011, 12, 29, 22, 0}, {2011, 12, 30, 22, 0}, {2011, 12, 31, 22, 0}, {2012, 1, 1, 22, 0}}},
};

static int64_t utc(const int v[5])
{
    return tz_civil_to_secs(v[0], v[1], v[2], v[3], v[4], 0);
}

static void put_time(const tz_zone *z, int64_t t)
{
    int32_t off = tz_offset_at(z, t, NULL);
    tz_civil c, l;
    tz_secs_to_civil(t, &c);
    tz_secs_to_civil(t + off, &l);
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02dZ (%02d:%02d local%+.2f)", (int)c.year, c.month, c.day,
            c.hour, c.min, l.hour, l.min, off / 3600.0);
}

int main(void)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const row *r = &table[i];
        char err[512];
        tz_zone *z;
        cron_expr e;
        if (tz_open(&z, r->zone, err, sizeof err) < 0 ||
            cron_parse(&e, r->expr, err, sizeof err) < 0) {
            fprintf(stderr, "row %zu: %s\n", i, err);
            CHECK(!"zone and expression load");
            continue;
        }
        int64_t t = utc(r->from);
        for (int k = 0; k < 4; k++) {
            int64_t n = 0, want = utc(r->want[k]);
            int rc = cron_next(&e, z, t, &n);
            CHECK(rc == 0 && n == want);
            if (rc != 0 || n != want) {
                fprintf(stderr, "  %s '%s' fire %d: got ", r->zone, r->expr, k + 1);
                put_time(z, n);
                fprintf(stderr, ", want ");
                put_time(z, want);
                fprintf(stderr, "\n");
                break;
            }
            t = n;
        }
        tz_close(z);
    }
    return check_report();
}
