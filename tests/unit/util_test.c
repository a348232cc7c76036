/* util_test.c — pure logic: durations, sizes, redaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"
#include "util.h"

#include "check.h"

static int near(double a, double b)
{
    return a - b < 1e-9 && b - a < 1e-9;
}

static void test_durations(void)
{
    CHECK(near(tn_parse_duration("90s"), 90));
    CHECK(near(tn_parse_duration("15m"), 900));
    CHECK(near(tn_parse_duration("2h"), 7200));
    CHECK(near(tn_parse_duration("1d"), 86400));
    CHECK(near(tn_parse_duration("250ms"), 0.25));
    CHECK(near(tn_parse_duration("30"), 30));
    CHECK(near(tn_parse_duration("0.5"), 0.5));
    CHECK(tn_parse_duration("") < 0);
    CHECK(tn_parse_duration("soon") < 0);
    CHECK(tn_parse_duration("5 fortnights") < 0);
    CHECK(tn_parse_duration("-5s") < 0);
    CHECK(tn_parse_duration(NULL) < 0);
}

static void test_sizes(void)
{
    CHECK(tn_parse_size("256MiB") == 256u << 20);
    CHECK(tn_parse_size("1GiB") == 1u << 30);
    CHECK(tn_parse_size("512k") == 512u << 10);
    CHECK(tn_parse_size("1000") == 1000);
    CHECK(tn_parse_size("10MB") == 10000000);
    CHECK(tn_parse_size("lots") == 0);
    CHECK(tn_parse_size("12 parsecs") == 0);
}

static int redacts_to(const char *in, const char *want)
{
    size_t n;
    char *out = redact_dup(in, strlen(in), &n);
    int ok = out && !strcmp(out, want) && n == strlen(want);
    if (!ok)
        fprintf(stderr, "redact(%s) = %s, want %s\n", in, out ? out : "(null)", want);
    free(out);
    return ok;
}

static void test_redaction(void)
{
    CHECK(redacts_to("nothing secret here", "nothing secret here"));
    redact_add("hunter2", 7);
    redact_add("ab", 2); /* too short: ignored */
    CHECK(redacts_to("password=hunter2;", "password=***;"));
    CHECK(redacts_to("hunter2hunter2", "******"));
    CHECK(redacts_to("ab cd", "ab cd"));
    CHECK(redacts_to("hunter", "hunter"));
    /* a secret containing another is replaced whole */
    redact_add("hunter2-and-more", 16);
    CHECK(redacts_to("x hunter2-and-more y", "x *** y"));
    /* encoded spellings of a secret are secrets too */
    redact_add("p/a\"ss w", 8);
    CHECK(redacts_to("json: \"p\\/a\\\"ss w\"", "json: \"***\""));
    CHECK(redacts_to("json: \"p/a\\\"ss w\"", "json: \"***\""));
    CHECK(redacts_to("url: ?t=p%2Fa%22ss%20w", "url: ?t=***"));
    CHECK(redact_needed("xx hunter2", 10));
    CHECK(!redact_needed("xx hunter", 9));
    /* binary-safe */
    char bin[] = {'a', 0, 'h', 'u', 'n', 't', 'e', 'r', '2', 0};
    size_t n;
    char *out = redact_dup(bin, 9, &n);
    CHECK(out && n == 5 && out[0] == 'a' && out[1] == 0 && !memcmp(out + 2, "***", 3));
    free(out);
}

int main(void)
{
    test_durations();
    test_sizes();
    test_redaction();
    return check_report();
}
