/* tz.c — time zones from TZif files (RFC 8536): the transition table (the
 * 64-bit v2+ section, or v1's 32-bit one) and the POSIX TZ string in the
 * footer, which rules every instant after the table's last transition.
 * Nothing here reads or sets the process's TZ. */
#include "tz.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { MAX_FILE = 1 << 20, DAY = 86400, MAX_OFFSET = 26 * 3600 };

typedef struct {
    int32_t offset;
    uint8_t isdst;
    uint32_t abbr; /* index into chars */
} tz_type;

/* One end of a POSIX TZ rule: 'J' (Julian day 1-365, 29 February never
 * counted), 'D' (zero-based day 0-365) or 'M' (month.week.weekday), and the
 * local time of day the change happens at (may be negative or past 24h). */
typedef struct {
    char kind;
    int n, m, w, d;
    int32_t time;
} rule_date;

typedef struct {
    int32_t std_offset, dst_offset;
    int has_dst;
    char std_abbr[16], dst_abbr[16];
    rule_date start, end;
} tz_rule;

struct tz_zone {
    char *name;
    int64_t *times;
    uint8_t *idx;
    size_t ntimes;
    tz_type *types;
    size_t ntypes;
    char *chars;
    size_t nchars;
    int has_rule;
    tz_rule rule;
};

/* ---- calendar ------------------------------------------------------------ */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int tz_days_in_month(int64_t year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

/* Howard Hinnant's days_from_civil: days since 1970-01-01. */
int64_t tz_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int64_t tz_civil_to_secs(int64_t year, int month, int day, int hour, int min, int sec)
{
    return tz_days_from_civil(year, month, day) * DAY + hour * 3600 + min * 60 + sec;
}

static int weekday_of_days(int64_t days)
{
    return (int)(((days % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
}

void tz_secs_to_civil(int64_t secs, tz_civil *c)
{
    int64_t days = floor_div(secs, DAY);
    int64_t rem = secs - days * DAY;
    c->hour = (int)(rem / 3600);
    c->min = (int)(rem / 60 % 60);
    c->sec = (int)(rem % 60);
    c->wday = weekday_of_days(days);
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    c->day = (int)(doy - (153 * mp + 2) / 5 + 1);
    c->month = (int)(mp < 10 ? mp + 3 : mp - 9);
    c->year = yoe + era * 400 + (c->month <= 2);
    c->yday = (int)(days - tz_days_from_civil(c->year, 1, 1));
}

/* ---- POSIX TZ strings (the TZif footer) ---------------------------------- */

static const char *parse_abbr(const char *s, char *out, size_t outlen)
{
    const char *start, *end;
    if (*s == '<') {
        start = ++s;
        while (*s && *s != '>')
            s++;
        if (*s != '>')
            return NULL;
        end = s++;
    } else {
        start = s;
        while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
            s++;
        end = s;
    }
    size_t n = (size_t)(end - start);
    if (n < 3 || n >= outlen)
        return NULL;
    memcpy(out, start, n);
    out[n] = 0;
    return s;
}

static const char *parse_num(const char *s, int *v, int max)
{
    if (*s < '0' || *s > '9')
        return NULL;
    long n = 0;
    while (*s >= '0' && *s <= '9') {
        n = n * 10 + (*s++ - '0');
        if (n > max)
            return NULL;
    }
    *v = (int)n;
    return s;
}

/* [+-]hh[:mm[:ss]], hours up to max_hours (24 for offsets, 167 for rule times). */
static const char *parse_hms(const char *s, int32_t *secs, int max_hours)
{
    int sign = 1, h, m = 0, sec = 0;
    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    if (!(s = parse_num(s, &h, max_hours)))
        return NULL;
    if (*s == ':') {
        if (!(s = parse_num(s + 1, &m, 59)))
            return NULL;
        if (*s == ':' && !(s = parse_num(s + 1, &sec, 59)))
            return NULL;
    }
    *secs = sign * (h * 3600 + m * 60 + sec);
    return s;
}

static const char *parse_rule_date(const char *s, rule_date *r)
{
    r->time = 2 * 3600; /* POSIX default: 02:00 */
    if (*s == 'J') {
        r->kind = 'J';
        if (!(s = parse_num(s + 1, &r->n, 365)) || r->n < 1)
            return NULL;
    } else if (*s == 'M') {
        r->kind = 'M';
        if (!(s = parse_num(s + 1, &r->m, 12)) || r->m < 1 || *s != '.')
            return NULL;
        if (!(s = parse_num(s + 1, &r->w, 5)) || r->w < 1 || *s != '.')
            return NULL;
        if (!(s = parse_num(s + 1, &r->d, 6)))
            return NULL;
    } else {
        r->kind = 'D';
        if (!(s = parse_num(s, &r->n, 365)))
            return NULL;
    }
    if (*s == '/' && !(s = parse_hms(s + 1, &r->time, 167)))
        return NULL;
    return s;
}

/* "EST5EDT,M3.2.0,M11.1.0", "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", "UTC0".
 * An empty footer (v1 files, or a zone zic could not express) is no rule. */
static int parse_rule(const char *s, tz_rule *r)
{
    memset(r, 0, sizeof *r);
    int32_t off;
    if (!(s = parse_abbr(s, r->std_abbr, sizeof r->std_abbr)) || !(s = parse_hms(s, &off, 24)))
        return -1;
    r->std_offset = -off; /* POSIX counts hours west */
    if (!*s)
        return 0;
    if (!(s = parse_abbr(s, r->dst_abbr, sizeof r->dst_abbr)))
        return -1;
    r->has_dst = 1;
    r->dst_offset = r->std_offset + 3600;
    if (*s && *s != ',') {
        if (!(s = parse_hms(s, &off, 24)))
            return -1;
        r->dst_offset = -off;
    }
    if (!*s) { /* no rule given: the US rule, as glibc's posixrules default */
        r->start = (rule_date){'M', 0, 3, 2, 0, 7200};
        r->end = (rule_date){'M', 0, 11, 1, 0, 7200};
        return 0;
    }
    if (*s != ',' || !(s = parse_rule_date(s + 1, &r->start)))
        return -1;
    if (*s != ',' || !(s = parse_rule_date(s + 1, &r->end)))
        return -1;
    return *s ? -1 : 0;
}

/* The local (wall) seconds at which a rule date happens in year y. */
static int64_t rule_local(const rule_date *r, int64_t y)
{
    int64_t days;
    if (r->kind == 'J') {
        days = tz_days_from_civil(y, 1, 1) + r->n - 1 + (is_leap(y) && r->n >= 60);
    } else if (r->kind == 'D') {
        days = tz_days_from_civil(y, 1, 1) + r->n;
    } else {
        int64_t first = tz_days_from_civil(y, r->m, 1);
        int day = 1 + (r->d - weekday_of_days(first) + 7) % 7 + (r->w - 1) * 7;
        while (day > tz_days_in_month(y, r->m))
            day -= 7;
        days = first + day - 1;
    }
    return days * DAY + r->time;
}

typedef struct {
    int64_t at;
    int dst;
} rule_change;

/* The rule's period around t: its transitions for the years around t,
 * sorted; the last one at or before t decides.  At equal instants the start
 * of DST sorts after the end (a year-round DST rule ends and restarts at the
 * same instant: DST holds). */
static void rule_period(const tz_rule *r, int64_t t, int *dst, int64_t *since, int64_t *until)
{
    *dst = 0;
    *since = INT64_MIN;
    *until = INT64_MAX;
    if (!r->has_dst)
        return;
    tz_civil c;
    tz_secs_to_civil(t + r->std_offset, &c);
    rule_change ch[10];
    int n = 0;
    for (int64_t y = c.year - 2; y <= c.year + 2; y++) {
        ch[n++] = (rule_change){rule_local(&r->start, y) - r->std_offset, 1};
        ch[n++] = (rule_change){rule_local(&r->end, y) - r->dst_offset, 0};
    }
    for (int i = 1; i < n; i++) /* insertion sort: ten entries */
        for (int j = i; j > 0 && (ch[j - 1].at > ch[j].at ||
                                  (ch[j - 1].at == ch[j].at && ch[j - 1].dst > ch[j].dst));
             j--) {
            rule_change tmp = ch[j];
            ch[j] = ch[j - 1];
            ch[j - 1] = tmp;
        }
    for (int i = 0; i < n; i++) {
        if (ch[i].at <= t) {
            *dst = ch[i].dst;
            *since = ch[i].at;
        } else {
            *until = ch[i].at;
            break;
        }
    }
}

/* ---- TZif ---------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

typedef struct {
    uint32_t isut, isstd, leap, time, type, chars;
} tzif_counts;

static int read_header(const unsigned char *p, size_t len, tzif_counts *c, int *version)
{
    if (len < 44 || memcmp(p, "TZif", 4))
        return -1;
    *version = p[4] ? p[4] - '0' : 1;
    c->isut = be32(p + 20);
    c->isstd = be32(p + 24);
    c->leap = be32(p + 28);
    c->time = be32(p + 32);
    c->type = be32(p + 36);
    c->chars = be32(p + 40);
    if (c->time > 100000 || c->type > 256 || c->chars > 65536 || c->leap > 100000 ||
        c->isut > 256 || c->isstd > 256)
        return -1;
    return 0;
}

static size_t block_size(const tzif_counts *c, size_t tsize)
{
    return c->time * tsize + c->time + c->type * 6 + c->chars + c->leap * (tsize + 4) + c->isstd +
           c->isut;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Fills z from a whole TZif file; on failure a short reason in *why. */
static int parse_tzif(tz_zone *z, const unsigned char *p, size_t len, const char **why)
{
    tzif_counts c;
    int version;
    *why = "not a TZif zone file";
    if (read_header(p, len, &c, &version) < 0)
        return -1;
    size_t tsize = 4;
    const unsigned char *end = p + len;
    p += 44;
    if (version >= 2) { /* skip the 32-bit data: the 64-bit copy follows */
        size_t skip = block_size(&c, 4);
        if ((size_t)(end - p) < skip)
            return -1;
        p += skip;
        if (read_header(p, (size_t)(end - p), &c, &version) < 0)
            return -1;
        p += 44;
        tsize = 8;
    }
    if ((size_t)(end - p) < block_size(&c, tsize) || c.type == 0 || c.chars == 0)
        return -1;
    if (c.leap) {
        *why = "leap-second zones (right/...) are not supported";
        return -1;
    }
    *why = "corrupt TZif zone file";
    z->ntimes = c.time;
    z->ntypes = c.type;
    z->nchars = c.chars;
    z->times = calloc(c.time ? c.time : 1, sizeof *z->times);
    z->idx = calloc(c.time ? c.time : 1, 1);
    z->types = calloc(c.type, sizeof *z->types);
    z->chars = malloc(c.chars + 1);
    if (!z->times || !z->idx || !z->types || !z->chars) {
        *why = "out of memory";
        return -1;
    }
    for (size_t i = 0; i < c.time; i++, p += tsize) {
        z->times[i] = tsize == 8 ? be64(p) : (int32_t)be32(p);
        if (i && z->times[i] <= z->times[i - 1])
            return -1;
    }
    for (size_t i = 0; i < c.time; i++) {
        z->idx[i] = *p++;
        if (z->idx[i] >= c.type)
            return -1;
    }
    for (size_t i = 0; i < c.type; i++, p += 6) {
        z->types[i].offset = (int32_t)be32(p);
        z->types[i].isdst = p[4];
        z->types[i].abbr = p[5];
        if (z->types[i].offset <= -MAX_OFFSET || z->types[i].offset >= MAX_OFFSET || p[4] > 1 ||
            p[5] >= c.chars)
            return -1;
    }
    memcpy(z->chars, p, c.chars);
    z->chars[c.chars] = 0; /* an abbreviation always ends, even in a bad file */
    p += c.chars + c.leap * (tsize + 4) + c.isstd + c.isut;
    if (version >= 2 && p < end && *p == '\n') {
        const unsigned char *nl = memchr(p + 1, '\n', (size_t)(end - p - 1));
        if (!nl)
            return -1;
        char footer[128];
        size_t n = (size_t)(nl - p - 1);
        if (n >= sizeof footer)
            return -1;
        memcpy(footer, p + 1, n);
        footer[n] = 0;
        if (n) {
            if (parse_rule(footer, &z->rule) < 0) {
                *why = "TZif footer is not a POSIX TZ string";
                return -1;
            }
            z->has_rule = 1;
        }
    }
    return 0;
}

/* A zone name is a relative path below the zone folder: no leading '/', no
 * empty, "." or ".." component, only the characters IANA names use. */
static int name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 200 || name[0] == '/' || name[n - 1] == '/')
        return 0;
    for (const char *s = name; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              strchr("/_+-.", *s)))
            return 0;
    for (const char *comp = name; comp;) {
        const char *slash = strchr(comp, '/');
        size_t len = slash ? (size_t)(slash - comp) : strlen(comp);
        if (len == 0 || (comp[0] == '.' && (len == 1 || (len == 2 && comp[1] == '.'))))
            return 0;
        comp = slash ? slash + 1 : NULL;
    }
    return 1;
}

/* The whole file, sized by fstat: zone files are a few KiB. */
static unsigned char *read_file(const char *path, size_t *len, int *errnum)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *errnum = errno;
        return NULL;
    }
    struct stat st;
    unsigned char *data = NULL;
    *errnum = 0;
    if (fstat(fileno(f), &st) < 0)
        *errnum = errno;
    else if (S_ISDIR(st.st_mode))
        *errnum = EISDIR;
    else if (!S_ISREG(st.st_mode) || st.st_size > MAX_FILE)
        *errnum = EFBIG;
    else if (!(data = malloc((size_t)st.st_size + 1)))
        *errnum = ENOMEM;
    else if ((*len = fread(data, 1, (size_t)st.st_size, f)) != (size_t)st.st_size)
        *errnum = ferror(f) ? EIO : EAGAIN; /* changed while being read */
    fclose(f);
    if (*errnum) {
        free(data);
        return NULL;
    }
    return data;
}

void tz_close(tz_zone *z)
{
    if (!z)
        return;
    free(z->name);
    free(z->times);
    free(z->idx);
    free(z->types);
    free(z->chars);
    free(z);
}

const char *tz_name(const tz_zone *z)
{
    return z->name;
}

static int is_utc_name(const char *name)
{
    return !name || !*name || !strcmp(name, "UTC") || !strcmp(name, "Etc/UTC");
}

/* UTC without a file: one type, no transitions, no rule. */
static int make_utc(tz_zone *z)
{
    z->ntypes = 1;
    z->nchars = 4;
    z->types = calloc(1, sizeof *z->types);
    z->chars = strdup("UTC");
    z->times = calloc(1, sizeof *z->times);
    z->idx = calloc(1, 1);
    return z->types && z->chars && z->times && z->idx ? 0 : -1;
}

int tz_open(tz_zone **out, const char *name, char *err, size_t errlen)
{
    *out = NULL;
    tz_zone *z = calloc(1, sizeof *z);
    if (!z || !(z->name = strdup(name && *name ? name : "UTC"))) {
        free(z);
        return fail(err, errlen, "out of memory");
    }
    if (is_utc_name(name)) { /* built in: works without tzdata installed */
        if (make_utc(z) < 0) {
            tz_close(z);
            return fail(err, errlen, "out of memory");
        }
        *out = z;
        return 0;
    }
    char path[512];
    if (!strcmp(name, "local")) {
        snprintf(path, sizeof path, "/etc/localtime");
    } else if (!name_ok(name)) {
        tz_close(z);
        return fail(err, errlen,
                    "invalid time zone name '%s': use an IANA name like Europe/Berlin "
                    "(a relative name, no '..', no absolute path)",
                    name);
    } else {
        const char *dir = getenv("TZDIR");
        snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    }
    size_t len = 0;
    int errnum = 0;
    unsigned char *data = read_file(path, &len, &errnum);
    if (!data && errnum == ENOENT && !strcmp(name, "local")) {
        /* No /etc/localtime (a bare container): UTC, as glibc does. */
        if (make_utc(z) < 0) {
            tz_close(z);
            return fail(err, errlen, "out of memory");
        }
        *out = z;
        return 0;
    }
    if (!data) {
        fail(err, errlen, "unknown time zone '%s' (%s: %s)", name, path,
             errnum == EISDIR ? "a folder of zones, not a zone" : strerror(errnum));
        tz_close(z);
        return -1;
    }
    const char *why;
    int rc = parse_tzif(z, data, len, &why);
    free(data);
    if (rc < 0) {
        fail(err, errlen, "cannot use time zone '%s' (%s: %s)", name, path, why);
        tz_close(z);
        return -1;
    }
    *out = z;
    return 0;
}

/* ---- queries --------------------------------------------------------------- */

static void type_period(const tz_zone *z, size_t type, tz_period *p)
{
    p->offset = z->types[type].offset;
    p->isdst = z->types[type].isdst;
    p->abbr = z->chars + z->types[type].abbr;
}

void tz_period_at(const tz_zone *z, int64_t t, tz_period *p)
{
    size_t n = z->ntimes;
    if (n == 0 || t >= z->times[n - 1]) {
        p->since = n ? z->times[n - 1] : INT64_MIN;
        p->until = INT64_MAX;
        if (!z->has_rule) {
            type_period(z, n ? z->idx[n - 1] : 0, p);
            return;
        }
        int dst;
        int64_t since;
        rule_period(&z->rule, t, &dst, &since, &p->until);
        if (since > p->since)
            p->since = since;
        p->isdst = dst;
        p->offset = dst ? z->rule.dst_offset : z->rule.std_offset;
        p->abbr = dst ? z->rule.dst_abbr : z->rule.std_abbr;
        return;
    }
    if (t < z->times[0]) { /* RFC 8536: type 0 rules before the first transition */
        type_period(z, 0, p);
        p->since = INT64_MIN;
        p->until = z->times[0];
        return;
    }
    size_t lo = 0, hi = n - 1; /* times[lo] <= t < times[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->times[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    type_period(z, z->idx[lo], p);
    p->since = z->times[lo];
    p->until = z->times[hi];
}

int32_t tz_offset_at(const tz_zone *z, int64_t t, const char **abbr)
{
    tz_period p;
    tz_period_at(z, t, &p);
    if (abbr)
        *abbr = p.abbr;
    return p.offset;
}

int tz_local_to_utc(const tz_zone *z, int64_t local, int64_t out[2])
{
    if (local > TZ_MAX_ABS_SECS)
        local = TZ_MAX_ABS_SECS;
    if (local < -TZ_MAX_ABS_SECS)
        local = -TZ_MAX_ABS_SECS;
    /* Any answer t = local - offset lies within MAX_OFFSET of local: walk the
     * periods covering that window and keep each whose offset maps back. */
    int n = 0;
    tz_period p;
    tz_period_at(z, local - MAX_OFFSET, &p);
    for (;;) {
        int64_t t = local - p.offset;
        if (t >= p.since && t < p.until && n < 2)
            out[n++] = t;
        if (p.until == INT64_MAX || p.until > local + MAX_OFFSET)
            break;
        tz_period_at(z, p.until, &p);
    }
    return n;
}
