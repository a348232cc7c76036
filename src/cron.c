/* cron.c — crontab(5) expressions: parsing into bit sets, matching a local
 * minute, and the next fire time in a zone.  The daylight-saving rules are
 * Debian cron's (vixie cron 3.0, cron.c's "DST begins"/"DST ends" cases),
 * computed over the zone's periods of constant offset instead of by
 * watching a clock. */
#include "cron.h"

#include <stdio.h>
#include <string.h>

enum { MINUTE = 60, HOUR = 3600, DAY = 86400 };
/* Debian cron catches up (or holds back) only for clock jumps under three
 * hours; larger ones are "time has changed a lot". */
enum { DST_MAX_JUMP = 3 * HOUR };
/* The longest wait between two fire times of a satisfiable expression is
 * eight years (29 February around 2100); past ten, it never fires. */
#define SEARCH_SPAN ((int64_t)10 * 366 * DAY)

typedef struct {
    const char *name;
    int lo, hi;
    const char *const *names; /* three-letter names for lo, lo+1, ... */
    int names_lo;
} field_spec;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
                                          "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const field_spec fields[5] = {
    {"minute", 0, 59, NULL, 0},          {"hour", 0, 23, NULL, 0},
    {"day-of-month", 1, 31, NULL, 0},    {"month", 1, 12, month_names, 1},
    {"day-of-week", 0, 7, dow_names, 0},
};

static const struct {
    const char *name, *expands_to;
} macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

/* The error for one field: names the field, its text and the bad token. */
static int field_error(char *err, size_t errlen, const field_spec *f, const char *text, size_t len,
                       const char *problem, const char *tok, size_t toklen)
{
    snprintf(err, errlen, "%s field '%.*s': %s '%.*s'", f->name, (int)len, text, problem,
             (int)toklen, tok);
    return CRON_EINVAL;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* One value at *s (a number, or a name where the field has names); leaves
 * *s after it.  On error, says what is wrong in problem. */
static int parse_value(const field_spec *f, const char **s, const char *end, int *v, char *problem,
                       size_t plen)
{
    const char *p = *s;
    if (p < end && is_digit(*p)) {
        long n = 0;
        while (p < end && is_digit(*p) && n <= 1000)
            n = n * 10 + (*p++ - '0');
        if (n < f->lo || n > f->hi || (p < end && is_digit(*p))) {
            snprintf(problem, plen, "out of range %d-%d:", f->lo, f->hi);
            return -1;
        }
        *v = (int)n;
        *s = p;
        return 0;
    }
    if (p < end && is_alpha(*p)) {
        while (p < end && is_alpha(*p))
            p++;
        if (!f->names) {
            snprintf(problem, plen, "not a number:");
            return -1;
        }
        if (p - *s == 3)
            for (int i = 0; f->names[i]; i++)
                if (lower((*s)[0]) == f->names[i][0] && lower((*s)[1]) == f->names[i][1] &&
                    lower((*s)[2]) == f->names[i][2]) {
                    *v = f->names_lo + i;
                    *s = p;
                    return 0;
                }
        snprintf(problem, plen, "%s",
                 f->names == month_names ? "unknown month name (use jan..dec or 1-12):"
                                         : "unknown day name (use sun..sat or 0-7):");
        return -1;
    }
    snprintf(problem, plen, "expected a number, a name or '*' in");
    return -1;
}

/* One field's text (no blanks): a comma list of `*`, N, A-B, each of `*`
 * and A-B optionally with /STEP. */
static int parse_field(const field_spec *f, const char *text, size_t len, uint64_t *bits, char *err,
                       size_t errlen)
{
    const char *end = text + len;
    *bits = 0;
    for (const char *item = text; item <= end;) {
        const char *comma = memchr(item, ',', (size_t)(end - item));
        const char *iend = comma ? comma : end;
        size_t ilen = (size_t)(iend - item);
        if (ilen == 0)
            return field_error(err, errlen, f, text, len, "empty list item in", text, len);
        const char *s = item;
        char problem[64];
        int a, b, step = 1;
        if (*s == '*') {
            a = f->lo;
            b = f->hi;
            s++;
        } else {
            if (parse_value(f, &s, iend, &a, problem, sizeof problem) < 0)
                return field_error(err, errlen, f, text, len, problem, item, ilen);
            b = a;
            if (s < iend && *s == '-') {
                s++;
                if (parse_value(f, &s, iend, &b, problem, sizeof problem) < 0)
                    return field_error(err, errlen, f, text, len, problem, item, ilen);
                if (b < a)
                    return field_error(err, errlen, f, text, len,
                                       "backwards range (cron ranges do not wrap):", item, ilen);
            } else if (s < iend && *s == '/') {
                return field_error(err, errlen, f, text, len,
                                   "a step needs '*' or a range before it (write A-MAX/N):", item,
                                   ilen);
            }
        }
        if (s < iend && *s == '/') {
            s++;
            if (s == iend || !is_digit(*s))
                return field_error(err, errlen, f, text, len, "step is not a number:", item, ilen);
            long n = 0;
            for (; s < iend && is_digit(*s); s++)
                n = n > 1000 ? n : n * 10 + (*s - '0');
            /* A step as wide as the whole field only ever hits its first
             * value: a step of 90 on minutes means "at :00", never "every
             * 90 minutes".  Refuse it rather than run hourly by surprise. */
            if (n < 1 || n > f->hi - f->lo)
                return field_error(err, errlen, f, text, len,
                                   n < 1 ? "step must be 1 or more:"
                                         : "step is larger than the field's range:",
                                   item, ilen);
            step = (int)n;
        }
        if (s != iend)
            return field_error(err, errlen, f, text, len, "unexpected text in", item, ilen);
        for (int v = a; v <= b; v += step)
            *bits |= (uint64_t)1 << v;
        item = iend + 1;
    }
    return 0;
}

static int has_day_in(uint32_t dom, uint16_t month)
{
    for (int m = 1; m <= 12; m++)
        if (month >> m & 1)
            for (int d = 1; d <= tz_days_in_month(2000, m); d++) /* 2000: leap */
                if (dom >> d & 1)
                    return 1;
    return 0;
}

int cron_parse(cron_expr *out, const char *text, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!text)
        text = "";
    while (*text == ' ' || *text == '\t')
        text++;
    if (*text == '@') {
        size_t n = strcspn(text, " \t");
        if (text[n + strspn(text + n, " \t")]) {
            snprintf(err, errlen, "text after the macro '%.*s'", (int)n, text);
            return CRON_EINVAL;
        }
        if (n == 7 && !memcmp(text, "@reboot", 7)) {
            out->reboot = 1;
            return 0;
        }
        for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
            if (strlen(macros[i].name) == n && !memcmp(text, macros[i].name, n))
                return cron_parse(out, macros[i].expands_to, err, errlen);
        snprintf(err, errlen,
                 "unknown macro '%.*s' (use @yearly, @annually, @monthly, @weekly, @daily, "
                 "@midnight, @hourly or @reboot)",
                 (int)n, text);
        return CRON_EINVAL;
    }
    const char *start[6];
    size_t len[6];
    int count = 0;
    for (const char *s = text; *s;) {
        size_t n = strcspn(s, " \t");
        if (count < 6) {
            start[count] = s;
            len[count] = n;
        }
        count++;
        s += n;
        s += strspn(s, " \t");
    }
    if (count != 5) {
        snprintf(err, errlen,
                 "expected 5 fields (minute hour day-of-month month day-of-week), got %d in '%s'",
                 count, text);
        return CRON_EINVAL;
    }
    uint64_t bits[5];
    for (int i = 0; i < 5; i++)
        if (parse_field(&fields[i], start[i], len[i], &bits[i], err, errlen) < 0)
            return CRON_EINVAL;
    out->minute = bits[0];
    out->hour = (uint32_t)bits[1];
    out->dom = (uint32_t)bits[2];
    out->month = (uint16_t)bits[3];
    if (bits[4] >> 7 & 1) /* 7 is another name for Sunday */
        bits[4] |= 1;
    out->dow = (uint8_t)(bits[4] & 0x7f);
    out->dom_star = start[2][0] == '*';
    out->dow_star = start[4][0] == '*';
    out->wildcard = start[0][0] == '*' || start[1][0] == '*';
    /* With the day of week left open, only day-of-month picks days: a
     * combination like "31 in February" would never fire.  Say so now. */
    if (out->dow_star && !has_day_in(out->dom, out->month)) {
        snprintf(err, errlen,
                 "day-of-month '%.*s' never occurs in month '%.*s': the expression never fires",
                 (int)len[2], start[2], (int)len[3], start[3]);
        return CRON_EINVAL;
    }
    return 0;
}

static int day_matches(const cron_expr *e, const tz_civil *c)
{
    int dom = e->dom >> c->day & 1, dow = e->dow >> c->wday & 1;
    return e->dom_star || e->dow_star ? dom && dow : dom || dow;
}

int cron_matches(const cron_expr *e, int64_t local)
{
    tz_civil c;
    tz_secs_to_civil(local, &c);
    return !e->reboot && c.sec == 0 && (e->minute >> c.min & 1) && (e->hour >> c.hour & 1) &&
           (e->month >> c.month & 1) && day_matches(e, &c);
}

/* The lowest set bit at or above `from`, or -1. */
static int next_bit(uint64_t bits, int from)
{
    if (from > 63)
        return -1;
    bits &= ~(uint64_t)0 << from;
    return bits ? __builtin_ctzll(bits) : -1;
}

static int64_t floor_to(int64_t x, int64_t unit)
{
    int64_t q = x / unit;
    if (x % unit && x < 0)
        q--;
    return q * unit;
}

static int64_t ceil_to(int64_t x, int64_t unit)
{
    return -floor_to(-x, unit);
}

/* The first matching local minute in [lo, hi) (lo on a minute), skipping
 * whole months, days and hours that cannot match. */
static int find_local(const cron_expr *e, int64_t lo, int64_t hi, int64_t *out)
{
    int64_t t = lo;
    while (t < hi) {
        tz_civil c;
        tz_secs_to_civil(t, &c);
        int64_t day_start = t - c.hour * HOUR - c.min * MINUTE - c.sec;
        if (!(e->month >> c.month & 1)) {
            t = tz_days_from_civil(c.year + (c.month == 12), c.month % 12 + 1, 1) * DAY;
            continue;
        }
        if (!day_matches(e, &c)) {
            t = day_start + DAY;
            continue;
        }
        int h = next_bit(e->hour, c.hour);
        if (h < 0) {
            t = day_start + DAY;
            continue;
        }
        if (h != c.hour) {
            t = day_start + h * HOUR;
            continue;
        }
        int m = next_bit(e->minute, c.min);
        if (m < 0) {
            t = day_start + (h + 1) * HOUR;
            continue;
        }
        t = day_start + h * HOUR + m * MINUTE;
        if (t < hi)
            *out = t;
        return t < hi;
    }
    return 0;
}

int cron_next(const cron_expr *e, const tz_zone *z, int64_t after, int64_t *next)
{
    if (e->reboot)
        return CRON_EREBOOT;
    if (after > TZ_MAX_ABS_SECS - 2 * SEARCH_SPAN || after < -TZ_MAX_ABS_SECS)
        return CRON_EINVAL;
    int64_t limit = after + SEARCH_SPAN;
    /* Walk the zone's periods of constant offset from `after` on.  Inside
     * one period local time is instant + offset; what happens at the jumps
     * between periods is Debian cron's DST rule. */
    for (int64_t t = after + 1; t <= limit;) {
        tz_period p;
        tz_period_at(z, t, &p);
        int64_t o = p.offset;
        int64_t lo = ceil_to(t + o, MINUTE);
        if (!e->wildcard && p.since != INT64_MIN) {
            /* This period began with the clock going back: the local times
             * it repeats already ran for fixed-time jobs. */
            int64_t prev = tz_offset_at(z, p.since - 1, NULL);
            if (prev > o && prev - o < DST_MAX_JUMP && lo < p.since + prev)
                lo = ceil_to(p.since + prev, MINUTE);
        }
        int64_t end = p.until < limit ? p.until : limit + 1;
        int64_t local;
        if (find_local(e, lo, end + o, &local)) {
            *next = local - o;
            return 0;
        }
        if (p.until > limit)
            break;
        /* The period ends with the clock going forward: fixed-time jobs
         * whose local time it skips run once, at the jump. */
        int64_t after_jump = tz_offset_at(z, p.until, NULL);
        if (!e->wildcard && after_jump > o && after_jump - o < DST_MAX_JUMP &&
            find_local(e, ceil_to(p.until + o, MINUTE), p.until + after_jump, &local)) {
            *next = p.until;
            return 0;
        }
        t = p.until;
    }
    return CRON_ENEVER;
}
