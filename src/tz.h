/* tz.h — time zones read from the system's TZif files, without touching the
 * process-wide TZ (tzset/localtime are shared state; a daemon's threads and
 * schedules each need their own zone).  A zone is immutable once opened:
 * any number of threads may query it at once.
 *
 * Instants are int64 seconds since the Unix epoch (UTC).  "Local seconds"
 * are a wall-clock reading written the same way, as if the wall clock were
 * UTC: tz_civil_to_secs(2026, 3, 8, 2, 30, 0) is 2:30 on 8 March 2026 on
 * whatever wall it hangs on.  Offsets are seconds east of UTC. */
#ifndef TOCSIN_TZ_H
#define TOCSIN_TZ_H

#include <stddef.h>
#include <stdint.h>

typedef struct tz_zone tz_zone;

/* Instants this module accepts: years about -290000..290000, far beyond any
 * zone rule, small enough that no offset arithmetic overflows. */
#define TZ_MAX_ABS_SECS ((int64_t)1 << 53)

/* Opens a zone by its IANA name, read from /usr/share/zoneinfo/NAME (or
 * $TZDIR/NAME).  NULL, "", "UTC" and "Etc/UTC" give UTC (built in,
 * no file needed); "local" is /etc/localtime, UTC when there is none.
 * Names are relative paths of letters, digits and "/_+-." with no "." or
 * ".." component: a zone name can never reach outside the zone folder.
 * Returns 0, or -1 with a message in err. */
int tz_open(tz_zone **out, const char *name, char *err, size_t errlen);
void tz_close(tz_zone *z);
/* The name the zone was opened with ("UTC" for NULL or ""). */
const char *tz_name(const tz_zone *z);

/* The local time type in effect at instant t and the period it holds for:
 * the same offset from `since` (inclusive) to `until` (exclusive); since is
 * INT64_MIN before the first transition, until INT64_MAX when no transition
 * follows.  Consecutive periods may share an offset (only the abbreviation
 * or the DST flag changed). */
typedef struct {
    int32_t offset;
    int isdst;
    const char *abbr; /* e.g. "EST", "+1030": lives as long as the zone */
    int64_t since, until;
} tz_period;
void tz_period_at(const tz_zone *z, int64_t t, tz_period *p);

/* The offset at instant t (and its abbreviation, when abbr is not NULL). */
int32_t tz_offset_at(const tz_zone *z, int64_t t, const char **abbr);

/* The instants whose wall clock reads `local`, earliest first: returns 1
 * normally, 0 when a forward jump skips that reading (a DST gap), 2 when a
 * backward jump repeats it (an overlap). */
int tz_local_to_utc(const tz_zone *z, int64_t local, int64_t out[2]);

/* Proleptic Gregorian calendar <-> seconds (no zone involved). */
int64_t tz_civil_to_secs(int64_t year, int month, int day, int hour, int min, int sec);
typedef struct {
    int64_t year;
    int month, day, hour, min, sec; /* month 1-12, day 1-31 */
    int wday, yday;                 /* 0 = Sunday; 0 = 1 January */
} tz_civil;
void tz_secs_to_civil(int64_t secs, tz_civil *c);
int64_t tz_days_from_civil(int64_t year, int month, int day);
int tz_days_in_month(int64_t year, int month);

#endif
