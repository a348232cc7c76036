/* cron_parse_rules.c — crontab(5) syntax: fields, lists, ranges, steps,
 * names, 7 = Sunday, macros, the day-of-month OR day-of-week rule, and the
 * parse errors (each names its field and the bad token).  Fire times here
 * are in UTC; daylight saving has its own table (cron_dst_table.c). */
#include <stdio.h>
#include <string.h>

#include "cron.h"

#include "check.h"

static tz_zone *utc;

static int64_t at(int y, int mo, int d, int h, int mi)
{
    return tz_civil_to_secs(y, mo, d, h, mi, 0);
}

/* The next fire time of text after t, or a negative code. */
static int64_t next(const char *text, int64_t t)
{
    char err[256];
    cron_expr e;
    if (cron_parse(&e, text, err, sizeof err) < 0) {
        fprintf(stderr, "  unexpected parse error: %s\n", err);
        return -100;
    }
    int64_t n;
    int rc = cron_next(&e, utc, t, &n);
    return rc < 0 ? rc : n;
}

/* Parses, expecting an error that contains each of the given fragments. */
static int parse_fails(const char *text, const char *frag1, const char *frag2)
{
    char err[256] = "";
    cron_expr e;
    int rc = cron_parse(&e, text, err, sizeof err);
    int ok = rc == CRON_EINVAL && strstr(err, frag1) && (!frag2 || strstr(err, frag2));
    if (!ok)
        fprintf(stderr, "  '%s': rc %d, error '%s' (wanted '%s' and '%s')\n", text, rc, err, frag1,
                frag2 ? frag2 : "");
    return ok;
}

static void test_fields(void)
{
    cron_expr e;
    char err[256];
    CHECK(cron_parse(&e, "1,5-7,*/20 0-23/6 1 jan,JUL-Sep 1-5", err, sizeof err) == 0);
    CHECK(e.minute == ((1ull << 1) | (7ull << 5) | (1ull << 0) | (1ull << 20) | (1ull << 40)));
    CHECK(e.hour == ((1u << 0) | (1u << 6) | (1u << 12) | (1u << 18)));
    CHECK(e.dom == 1u << 1);
    CHECK(e.month == ((1u << 1) | (7u << 7)));
    CHECK(e.dow == 0x3e);
    CHECK(!e.dom_star && !e.dow_star && !e.wildcard);
    CHECK(cron_parse(&e, "  */15\t*  * * *  ", err, sizeof err) == 0 && e.wildcard);
    CHECK(e.minute == ((1ull << 0) | (1ull << 15) | (1ull << 30) | (1ull << 45)));
    CHECK(cron_parse(&e, "30 */2 * * *", err, sizeof err) == 0 && e.wildcard); /* hour '*' */
    CHECK(cron_parse(&e, "0-59 0-23 * * *", err, sizeof err) == 0 && !e.wildcard);
    /* 7 and 0 are both Sunday; ranges through 7 include it. */
    CHECK(cron_parse(&e, "0 0 * * 7", err, sizeof err) == 0 && e.dow == 1);
    CHECK(cron_parse(&e, "0 0 * * 5-7", err, sizeof err) == 0 &&
          e.dow == ((1 << 5) | (1 << 6) | 1));
    CHECK(cron_parse(&e, "0 0 * * SUN,mOn", err, sizeof err) == 0 && e.dow == 3);
    CHECK(cron_parse(&e, "0 0 * DEC *", err, sizeof err) == 0 && e.month == 1u << 12);
    CHECK(cron_parse(&e, "0 0 * * 1-7/2", err, sizeof err) == 0 &&
          e.dow == ((1 << 1) | (1 << 3) | (1 << 5) | 1));
}

static void test_next_basics(void)
{
    int64_t t = at(2026, 12, 1, 10, 7); /* a Tuesday */
    CHECK(next("* * * * *", t) == at(2026, 12, 1, 10, 8));
    CHECK(next("* * * * *", t + 59) == at(2026, 12, 1, 10, 8)); /* strictly after, whole minutes */
    CHECK(next("*/15 * * * *", t) == at(2026, 12, 1, 10, 15));
    CHECK(next("5-50/20 * * * *", at(2026, 12, 1, 10, 45)) == at(2026, 12, 1, 11, 5));
    CHECK(next("0 9 * * mon-fri", t) == at(2026, 12, 2, 9, 0));
    CHECK(next("0 9 * * sat", t) == at(2026, 12, 5, 9, 0));
    CHECK(next("0 0 1 jan *", t) == at(2027, 1, 1, 0, 0));
    CHECK(next("59 23 31 12 *", at(2026, 12, 31, 23, 59)) == at(2027, 12, 31, 23, 59));
    CHECK(next("0 0 29 2 *", t) == at(2028, 2, 29, 0, 0));
    CHECK(next("0 0 29 2 *", at(2096, 3, 1, 0, 0)) == at(2104, 2, 29, 0, 0)); /* 2100: no leap */
    CHECK(next("0 0 31 * *", at(2026, 4, 1, 0, 0)) == at(2026, 5, 31, 0, 0));
}

/* crontab(5): "If both fields are restricted (i.e., do not contain the '*'
 * character), the command will be run when either field matches."  A field
 * starting with '*' (a stepped one too) is not restricted: then both must. */
static void test_day_or_rule(void)
{
    int64_t t = at(2026, 12, 1, 0, 0); /* Tuesday 1 December 2026 */
    /* 13th (a Sunday this month) OR a Friday: Friday 4th comes first. */
    CHECK(next("0 0 13 * fri", t) == at(2026, 12, 4, 0, 0));
    CHECK(next("0 0 2 * fri", t) == at(2026, 12, 2, 0, 0));
    /* Only one field restricted: it alone decides. */
    CHECK(next("0 0 13 * *", t) == at(2026, 12, 13, 0, 0));
    CHECK(next("0 0 * * fri", t) == at(2026, 12, 4, 0, 0));
    /* A stepped '*' is not a restriction: odd days AND Fridays (the 11th),
     * not odd days OR Fridays (the 3rd), as croniter would have it. */
    CHECK(next("0 0 */2 * fri", t) == at(2026, 12, 11, 0, 0));
    CHECK(next("0 0 1-31/2 * fri", t) == at(2026, 12, 3, 0, 0));
    CHECK(next("0 0 13 * */7", t) == at(2026, 12, 13, 0, 0)); /* 13th AND Sunday */
}

static void test_macros(void)
{
    int64_t t = at(2026, 12, 1, 10, 7);
    CHECK(next("@hourly", t) == at(2026, 12, 1, 11, 0));
    CHECK(next("@daily", t) == at(2026, 12, 2, 0, 0));
    CHECK(next("@midnight", t) == at(2026, 12, 2, 0, 0));
    CHECK(next("@weekly", t) == at(2026, 12, 6, 0, 0)); /* Sunday */
    CHECK(next("@monthly", t) == at(2027, 1, 1, 0, 0));
    CHECK(next("@yearly", t) == at(2027, 1, 1, 0, 0));
    CHECK(next("@annually", t) == at(2027, 1, 1, 0, 0));
    cron_expr e;
    char err[256];
    CHECK(cron_parse(&e, "@hourly", err, sizeof err) == 0 && e.wildcard); /* as vixie's HR_STAR */
    CHECK(cron_parse(&e, "@daily", err, sizeof err) == 0 && !e.wildcard);
    CHECK(cron_parse(&e, " @reboot ", err, sizeof err) == 0 && e.reboot);
    int64_t n;
    CHECK(cron_next(&e, utc, t, &n) == CRON_EREBOOT);
}

static void test_errors(void)
{
    CHECK(parse_fails("", "expected 5 fields", "got 0"));
    CHECK(parse_fails("* * * *", "expected 5 fields", "got 4"));
    CHECK(parse_fails("* * * * * /bin/true", "expected 5 fields", "got 6"));
    CHECK(parse_fails("60 * * * *", "minute field", "out of range 0-59: '60'"));
    CHECK(parse_fails("* 24 * * *", "hour field", "'24'"));
    CHECK(parse_fails("* * 0 * *", "day-of-month field", "out of range 1-31: '0'"));
    CHECK(parse_fails("* * 32 * *", "day-of-month field", "'32'"));
    CHECK(parse_fails("* * * 13 *", "month field", "'13'"));
    CHECK(parse_fails("* * * * 8", "day-of-week field", "out of range 0-7: '8'"));
    CHECK(parse_fails("* * * * mon-fry", "day-of-week field 'mon-fry'", "unknown day name"));
    CHECK(parse_fails("* * * * monday", "day-of-week field", "'monday'"));
    CHECK(parse_fails("* * * janv *", "month field", "unknown month name"));
    CHECK(parse_fails("* * jan * *", "day-of-month field", "not a number: 'jan'"));
    CHECK(parse_fails("*/0 * * * *", "minute field", "step must be 1 or more: '*/0'"));
    CHECK(parse_fails("*/60 * * * *", "minute field", "larger than the field's range"));
    CHECK(parse_fails("*/ * * * *", "minute field", "step is not a number"));
    CHECK(parse_fails("*/99999 * * * *", "minute field", "larger than the field's range"));
    CHECK(parse_fails("5- * * * *", "minute field", "expected a number"));
    CHECK(parse_fails("5/10 * * * *", "minute field", "a step needs '*' or a range"));
    CHECK(parse_fails("30-10 * * * *", "minute field", "backwards range"));
    CHECK(parse_fails("1,,2 * * * *", "minute field '1,,2'", "empty list item"));
    CHECK(parse_fails("1, * * * *", "minute field", "empty list item"));
    CHECK(parse_fails("5x * * * *", "minute field", "unexpected text in '5x'"));
    CHECK(parse_fails("** * * * *", "minute field", "'**'"));
    CHECK(parse_fails("-5 * * * *", "minute field", "expected a number"));
    CHECK(parse_fails("99999999999999999999 * * * *", "minute field", "out of range"));
    CHECK(parse_fails("@dayly", "unknown macro '@dayly'", "@daily"));
    CHECK(parse_fails("@daily 5", "text after the macro", NULL));
    CHECK(parse_fails("0 0 30 2 *", "never fires", "'30'"));
    CHECK(parse_fails("0 0 31 4,6,9,11 *", "never fires", NULL));
    /* ...but with a day of week as well, the OR rule makes it fire. */
    char err[256];
    cron_expr e;
    CHECK(cron_parse(&e, "0 0 30 2 mon", err, sizeof err) == 0);
}

int main(void)
{
    char err[256];
    if (tz_open(&utc, "UTC", err, sizeof err) < 0)
        return 1;
    test_fields();
    test_next_basics();
    test_day_or_rule();
    test_macros();
    test_errors();
    tz_close(utc);
    return check_report();
}
