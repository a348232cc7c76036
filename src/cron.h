/* cron.h — cron expressions (crontab(5), five fields) and their next fire
 * time in a time zone, with Debian cron's daylight-saving behaviour.
 * Pure computation: no clock, no I/O, no global state; a parsed expression
 * is a plain value that any thread may use with any open zone. */
#ifndef TOCSIN_CRON_H
#define TOCSIN_CRON_H

#include <stddef.h>
#include <stdint.h>

#include "tz.h"

/* A parsed expression: one bit per allowed value. */
typedef struct {
    uint64_t minute; /* bits 0-59 */
    uint32_t hour;   /* bits 0-23 */
    uint32_t dom;    /* bits 1-31 */
    uint16_t month;  /* bits 1-12 */
    uint8_t dow;     /* bits 0-6, 0 = Sunday (7 is folded into 0) */
    /* The day fields as crontab(5) reads them: a field whose text starts
     * with '*' (a stepped '*' too) leaves the day to the other field; when
     * both are restricted a day matches if EITHER does. */
    unsigned dom_star : 1, dow_star : 1;
    /* Debian cron's "wildcard job": the minute or hour field starts with
     * '*'.  It decides daylight-saving behaviour (see cron_next). */
    unsigned wildcard : 1;
    unsigned reboot : 1; /* @reboot: runs once at daemon start, no times */
} cron_expr;

enum {
    CRON_ENEVER = -1,  /* no fire time in the next ten years (cron_next) */
    CRON_EREBOOT = -2, /* @reboot has no fire times (cron_next) */
    CRON_EINVAL = -3,  /* bad expression (cron_parse); `after` out of range (cron_next) */
};

/* Parses "MIN HOUR DOM MON DOW" (lists, ranges, steps, jan..dec, sun..sat,
 * 7 = Sunday) or a macro: @yearly @annually @monthly @weekly @daily
 * @midnight @hourly @reboot.  Returns 0, or CRON_EINVAL with a message
 * naming the field and the token in err. */
int cron_parse(cron_expr *out, const char *text, char *err, size_t errlen);

/* Does the local wall-clock minute at local seconds `local` match (fields
 * only: no daylight-saving rule)? */
int cron_matches(const cron_expr *e, int64_t local);

/* The first fire time strictly after the instant `after`, in zone z, as
 * Debian's cron (vixie cron 3.0 with its DST patch) runs it when the clock
 * jumps by less than three hours:
 *   - a forward jump (DST starts): the local times it skips run once, at
 *     the jump, for fixed-time jobs; wildcard jobs (minute or hour field
 *     starting with '*') skip them;
 *   - a backward jump (DST ends): in the repeated local times wildcard jobs
 *     run again, fixed-time jobs do not (they ran the first time).
 * Jumps of three hours or more are treated as cron treats a clock change:
 * skipped times are skipped, repeated times run again.
 * Returns 0 with *next set, CRON_ENEVER, CRON_EREBOOT or CRON_EINVAL. */
int cron_next(const cron_expr *e, const tz_zone *z, int64_t after, int64_t *next);

#endif
