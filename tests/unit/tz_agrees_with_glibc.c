/* tz_agrees_with_glibc.c — tz.c against glibc's own reading of the same
 * zone files: offset and abbreviation at instants from 1901 to 2300 (past
 * 2037 the TZif footer's POSIX rule decides), wall time -> instants at
 * every transition, and the names tz_open refuses.  This test program may
 * set TZ for glibc; the library under test never reads it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tz.h"

#include "check.h"

static const char *const zones[] = {
    "America/New_York",   "Europe/Berlin",    "Australia/Lord_Howe", "America/Sao_Paulo",
    "Asia/Kolkata",       "Pacific/Apia",     "Pacific/Chatham",     "Africa/Casablanca",
    "America/St_Johns",   "Antarctica/Troll", "Europe/Dublin",       "Asia/Tehran",
    "Pacific/Kiritimati", "America/Nuuk",     "Australia/Adelaide",  "Etc/GMT+5",
    "Europe/London",      "America/Santiago", "Asia/Gaza",           "America/Havana",
};

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int mismatches;
static void compare_at(const tz_zone *z, const char *name, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!localtime_r(&tt, &tm))
        return;
    const char *abbr;
    int32_t off = tz_offset_at(z, t, &abbr);
    int ok = off == tm.tm_gmtoff && !strcmp(abbr, tm.tm_zone);
    CHECK(ok);
    if (!ok && mismatches++ < 10)
        fprintf(stderr, "  %s at %lld: tz.c %d %s, glibc %ld %s\n", name, (long long)t, (int)off,
                abbr, tm.tm_gmtoff, tm.tm_zone);
}

/* Every instant t maps to a wall time that maps back to t (among one or
 * two answers, each of which reads that wall time). */
static void check_round_trip(const tz_zone *z, int64_t t)
{
    int64_t local = t + tz_offset_at(z, t, NULL), out[2];
    int n = tz_local_to_utc(z, local, out), found = 0;
    CHECK(n == 1 || n == 2);
    for (int i = 0; i < n; i++) {
        CHECK(out[i] + tz_offset_at(z, out[i], NULL) == local);
        found |= out[i] == t;
    }
    CHECK(n < 2 || out[0] < out[1]);
    CHECK(found);
}

static void check_zone(const char *name)
{
    char err[512];
    tz_zone *z;
    if (tz_open(&z, name, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        CHECK(!"zone opens");
        return;
    }
    setenv("TZ", name, 1);
    tzset();
    const int64_t lo = tz_civil_to_secs(1901, 12, 14, 0, 0, 0),
                  hi = tz_civil_to_secs(2300, 1, 1, 0, 0, 0);
    for (int i = 0; i < 4000; i++) {
        int64_t t = lo + (int64_t)(next_rand() % (uint64_t)(hi - lo));
        compare_at(z, name, t);
        check_round_trip(z, t);
    }
    /* Each transition up to 2300, seen from both sides, and the wall times
     * it skips or repeats. */
    int gaps = 0, overlaps = 0;
    for (int64_t t = lo; t < hi;) {
        tz_period p;
        tz_period_at(z, t, &p);
        CHECK(p.since <= t && t < p.until);
        if (p.until >= hi || p.until <= t) /* (a broken period must not loop forever) */
            break;
        compare_at(z, name, p.until - 1);
        compare_at(z, name, p.until);
        check_round_trip(z, p.until - 1);
        check_round_trip(z, p.until);
        int32_t next = tz_offset_at(z, p.until, NULL);
        int64_t out[2];
        if (next > p.offset) { /* forward: [until+offset, until+next) is skipped */
            gaps++;
            CHECK(tz_local_to_utc(z, p.until + p.offset, out) == 0);
            CHECK(tz_local_to_utc(z, p.until + next - 1, out) == 0);
            CHECK(tz_local_to_utc(z, p.until + next, out) == 1 && out[0] == p.until);
        } else if (next < p.offset && p.offset - next < 86400) {
            overlaps++; /* backward: [until+next, until+offset) happens twice */
            CHECK(tz_local_to_utc(z, p.until + next, out) == 2 &&
                  out[0] == p.until + next - p.offset && out[1] == p.until);
        }
        t = p.until;
    }
    if (!strcmp(name, "America/New_York"))
        CHECK(gaps > 100 && overlaps > 100); /* 1918 on, and the footer to 2300 */
    tz_close(z);
}

static void check_names(void)
{
    char err[512];
    tz_zone *z;
    static const char *const bad[] = {"../etc/passwd",
                                      "/etc/localtime",
                                      "Europe/../../etc/passwd",
                                      "..",
                                      "Europe//Berlin",
                                      "Europe/Berlin/",
                                      "./UTC",
                                      "Europe/Ber lin",
                                      "Europe/Berlin;rm"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(tz_open(&z, bad[i], err, sizeof err) < 0 && !z);
        CHECK(strstr(err, "invalid time zone name") != NULL);
    }
    CHECK(tz_open(&z, "Mars/Olympus_Mons", err, sizeof err) < 0);
    CHECK(strstr(err, "unknown time zone 'Mars/Olympus_Mons'") != NULL);
    CHECK(tz_open(&z, "America", err, sizeof err) < 0);
    CHECK(strstr(err, "not a zone") != NULL);
    if (access("/usr/share/zoneinfo/right/UTC", R_OK) == 0) {
        CHECK(tz_open(&z, "right/UTC", err, sizeof err) < 0);
        CHECK(strstr(err, "leap-second") != NULL);
    }
    /* NULL, "", "UTC", "Etc/UTC": UTC, offset 0 at any instant. */
    static const char *const utc[] = {NULL, "", "UTC", "Etc/UTC"};
    for (int i = 0; i < 4; i++) {
        CHECK(tz_open(&z, utc[i], err, sizeof err) == 0);
        const char *abbr;
        CHECK(tz_offset_at(z, 1780000000, &abbr) == 0 && !strcmp(abbr, "UTC"));
        CHECK(!strcmp(tz_name(z), i < 2 ? "UTC" : utc[i]));
        tz_close(z);
    }
    CHECK(tz_open(&z, "local", err, sizeof err) == 0);
    tz_close(z);
    /* A file that is not TZif, found through $TZDIR. */
    char dir[] = "/tmp/tz-test-XXXXXX";
    if (mkdtemp(dir)) {
        char path[64];
        snprintf(path, sizeof path, "%s/Fake", dir);
        FILE *f = fopen(path, "w");
        if (f) {
            fputs("not a zone\n", f);
            fclose(f);
        }
        setenv("TZDIR", dir, 1);
        CHECK(tz_open(&z, "Fake", err, sizeof err) < 0);
        CHECK(strstr(err, "not a TZif zone file") != NULL);
        unsetenv("TZDIR");
        unlink(path);
        rmdir(dir);
    }
}

static void check_calendar(void)
{
    /* Days from 1 March of year 0 to year 9999 round-trip, weekdays line up. */
    for (int64_t d = tz_days_from_civil(-400, 1, 1); d < tz_days_from_civil(3000, 1, 1); d += 13) {
        tz_civil c;
        tz_secs_to_civil(d * 86400 + 3661, &c);
        CHECK(tz_days_from_civil(c.year, c.month, c.day) == d && c.hour == 1 && c.min == 1 &&
              c.sec == 1);
    }
    tz_civil c;
    tz_secs_to_civil(tz_civil_to_secs(2026, 3, 8, 2, 30, 0), &c);
    CHECK(c.wday == 0 && c.yday == 66); /* a Sunday, the 67th day */
    tz_secs_to_civil(-1, &c);
    CHECK(c.year == 1969 && c.month == 12 && c.day == 31 && c.hour == 23 && c.wday == 3);
    CHECK(tz_days_in_month(2100, 2) == 28 && tz_days_in_month(2000, 2) == 29);
}

int main(void)
{
    check_calendar();
    check_names();
    for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++)
        check_zone(zones[i]);
    return check_report();
}
