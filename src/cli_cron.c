/* cli_cron.c — `tocsin cron EXPR [--tz ZONE] [--from TIME] [-n N]`: the next
 * fire times of a cron expression, as the daemon's scheduler will compute
 * them (cron.c), printed in ISO 8601 with the zone's offset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cli.h"
#include "cron.h"
#include "tz.h"

enum { EXIT_OK = 0, EXIT_USAGE = 2, MAX_COUNT = 100000 };

static const char usage[] =
    "usage: tocsin cron EXPR [--tz ZONE] [--from TIME] [-n N]\n"
    "\n"
    "Prints the next N (default 5) fire times of a cron expression after TIME\n"
    "(default now), one per line, in ISO 8601 with the zone's UTC offset.\n"
    "\n"
    "  EXPR         five fields (minute hour day-of-month month day-of-week; lists,\n"
    "               ranges, steps, jan..dec, sun..sat, 7 = Sunday) or @hourly, @daily,\n"
    "               @midnight, @weekly, @monthly, @yearly, @annually, @reboot.\n"
    "               When day-of-month and day-of-week are both restricted (neither\n"
    "               starts with '*'), a day matches if either does (crontab(5)).\n"
    "               '-' reads one expression per line from stdin and prints one\n"
    "               line for each: its N times separated by spaces, or 'error: ...'\n"
    "  --tz ZONE    IANA zone (America/Sao_Paulo, UTC, ...; default: local, the\n"
    "               system's /etc/localtime)\n"
    "  --from TIME  2026-03-08T01:30:00-03:00, ...Z, without an offset = wall time in\n"
    "               ZONE (a repeated wall time means its first occurrence), a date\n"
    "               alone = its midnight, or @SECONDS since the epoch\n"
    "  -n N         how many fire times (1-100000)\n"
    "\n"
    "Daylight saving as Debian's cron: a fixed-time job (minute and hour fields not\n"
    "starting with '*') whose wall time a forward jump skips runs once, at the jump;\n"
    "in the hour a backward jump repeats it runs the first time only.  Wildcard jobs\n"
    "(minute or hour starting with '*') skip the skipped times and run again in the\n"
    "repeated ones.  Exit status 2 on a bad expression, zone, time or option.\n";

static int digits(const char **s, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++, (*s)++) {
        if (**s < '0' || **s > '9')
            return -1;
        x = x * 10 + (**s - '0');
    }
    *v = x;
    return 0;
}

/* ISO 8601 (the forms in usage) to an instant; -1 with a message in err. */
static int parse_time(const char *text, const tz_zone *z, int64_t *out, char *err, size_t errlen)
{
    const char *s = text;
    if (*s == '@') {
        char *end;
        long long n = strtoll(s + 1, &end, 10);
        if (end == s + 1 || *end || n > TZ_MAX_ABS_SECS / 2 || n < -TZ_MAX_ABS_SECS / 2)
            goto bad;
        *out = n;
        return 0;
    }
    int y, mo, d, h = 0, mi = 0, sec = 0;
    if (digits(&s, 4, &y) < 0 || *s++ != '-' || digits(&s, 2, &mo) < 0 || *s++ != '-' ||
        digits(&s, 2, &d) < 0)
        goto bad;
    if (*s == 'T' || *s == 't' || *s == ' ') {
        s++;
        if (digits(&s, 2, &h) < 0 || *s++ != ':' || digits(&s, 2, &mi) < 0)
            goto bad;
        if (*s == ':' && (s++, digits(&s, 2, &sec) < 0))
            goto bad;
        if ((*s == '.' || *s == ',') && s[1] >= '0' && s[1] <= '9') /* fraction: ignored */
            for (s++; *s >= '0' && *s <= '9'; s++)
                ;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > tz_days_in_month(y, mo) || h > 23 || mi > 59 ||
        sec > 59) {
        snprintf(err, errlen, "--from '%s': no such date or time", text);
        return -1;
    }
    int64_t local = tz_civil_to_secs(y, mo, d, h, mi, sec);
    if (*s == 'Z' || *s == 'z') {
        *out = local;
        s++;
    } else if (*s == '+' || *s == '-') {
        int sign = *s++ == '-' ? -1 : 1, oh, om = 0;
        if (digits(&s, 2, &oh) < 0)
            goto bad;
        if (*s == ':')
            s++;
        if (*s && digits(&s, 2, &om) < 0)
            goto bad;
        if (oh > 23 || om > 59)
            goto bad;
        *out = local - sign * (oh * 3600 + om * 60);
    } else if (!*s) {
        int64_t t[2];
        if (tz_local_to_utc(z, local, t) == 0) {
            snprintf(err, errlen,
                     "--from '%s': that wall time does not exist in %s (the clock jumps over "
                     "it); give an offset",
                     text, tz_name(z));
            return -1;
        }
        *out = t[0];
    }
    if (*s)
        goto bad;
    return 0;
bad:
    snprintf(err, errlen,
             "--from '%s': not a time (use 2026-03-08T01:30:00-03:00, ...Z, a wall time in "
             "--tz like 2026-03-08T01:30, a date, or @SECONDS)",
             text);
    return -1;
}

/* 2026-03-08T03:00:00-03:00; an offset with seconds (local mean time
 * before 1900) keeps them: -04:56:02. */
static void format_time(char *out, size_t len, const tz_zone *z, int64_t t)
{
    int32_t off = tz_offset_at(z, t, NULL);
    tz_civil c;
    tz_secs_to_civil(t + off, &c);
    int32_t a = off < 0 ? -off : off;
    int n = snprintf(out, len, "%04lld-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", (long long)c.year,
                     c.month, c.day, c.hour, c.min, c.sec, off < 0 ? '-' : '+', (int)(a / 3600),
                     (int)(a / 60 % 60));
    if (a % 60 && n > 0 && (size_t)n < len)
        snprintf(out + n, len - (size_t)n, ":%02d", (int)(a % 60));
}

/* The next `count` times of one expression, joined by sep; -1 with a
 * message in err. */
static int next_times(const char *expr, const tz_zone *z, int64_t from, long count, const char *sep,
                      buf_t *out, char *err, size_t errlen)
{
    cron_expr e;
    if (cron_parse(&e, expr, err, errlen) < 0)
        return -1;
    if (e.reboot) {
        snprintf(err, errlen, "@reboot runs once when the daemon starts: it has no fire times");
        return -1;
    }
    int64_t t = from;
    for (long i = 0; i < count; i++) {
        int rc = cron_next(&e, z, t, &t);
        if (rc == CRON_ENEVER) {
            snprintf(err, errlen, "'%s' does not fire again within ten years", expr);
            return -1;
        }
        if (rc < 0) {
            snprintf(err, errlen, "--from is too far from today to compute with");
            return -1;
        }
        char line[64];
        format_time(line, sizeof line, z, t);
        if ((i && buf_add(out, sep, strlen(sep)) < 0) || buf_add(out, line, strlen(line)) < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

static int run_batch(const tz_zone *z, int64_t from, long count)
{
    int status = EXIT_OK;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    buf_t out;
    buf_init(&out, 0);
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        if (n && line[n - 1] == '\n')
            line[--n] = 0;
        char err[512];
        buf_reset(&out);
        if (next_times(line, z, from, count, " ", &out, err, sizeof err) < 0) {
            printf("error: %s\n", err);
            status = EXIT_USAGE;
        } else {
            printf("%s\n", buf_str(&out));
        }
    }
    free(line);
    buf_free(&out);
    return status;
}

int cli_cron_main(int argc, char **argv)
{
    const char *zone = "local", *from_text = NULL;
    long count = 5;
    buf_t expr;
    buf_init(&expr, 4096);
    int status = EXIT_USAGE, nargs = 0;
    tz_zone *z = NULL;
    char err[512];
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            status = EXIT_OK;
            goto done;
        } else if ((!strcmp(a, "--tz") || !strcmp(a, "--from") || !strcmp(a, "-n")) &&
                   i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(a, "--tz")) {
                zone = v;
            } else if (!strcmp(a, "--from")) {
                from_text = v;
            } else {
                char *end;
                count = strtol(v, &end, 10);
                if (end == v || *end || count < 1 || count > MAX_COUNT) {
                    fprintf(stderr, "tocsin cron: -n takes a number from 1 to %d (got '%s')\n",
                            MAX_COUNT, v);
                    goto done;
                }
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "tocsin cron: unknown option or missing value: %s\n%s", a, usage);
            goto done;
        } else {
            /* Unquoted fields arrive as several arguments: join them. */
            if ((nargs++ && buf_add(&expr, " ", 1) < 0) || buf_add(&expr, a, strlen(a)) < 0) {
                fprintf(stderr, "tocsin cron: expression too long\n");
                goto done;
            }
        }
    }
    if (!nargs) {
        fprintf(stderr, "tocsin cron: no expression given\n%s", usage);
        goto done;
    }
    if (tz_open(&z, zone, err, sizeof err) < 0) {
        fprintf(stderr, "tocsin cron: --tz: %s\n", err);
        goto done;
    }
    int64_t from = (int64_t)time(NULL);
    if (from_text && parse_time(from_text, z, &from, err, sizeof err) < 0) {
        fprintf(stderr, "tocsin cron: %s\n", err);
        goto done;
    }
    if (!strcmp(buf_str(&expr), "-")) {
        status = run_batch(z, from, count);
        goto done;
    }
    buf_t out;
    buf_init(&out, 0);
    if (next_times(buf_str(&expr), z, from, count, "\n", &out, err, sizeof err) < 0) {
        fprintf(stderr, "tocsin cron: %s\n", err);
    } else {
        printf("%s\n", buf_str(&out));
        status = EXIT_OK;
    }
    buf_free(&out);
done:
    tz_close(z);
    buf_free(&expr);
    return status;
}
