/* sql_net_target.c — the "host/db" a SQL call is reported under
 * (tn_run_call): from URIs and keyword DSNs, with libpq's defaults, and
 * never the password. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql_net.h"

#include "check.h"

static void expect(const char *dsn, const char *want)
{
    char *got = sql_net_target(dsn);
    checks++;
    if (!got || strcmp(got, want) || strstr(got, "s3cret")) {
        failures++;
        fprintf(stderr, "sql_net_target(%s): got %s, want %s\n", dsn, got ? got : "NULL", want);
    }
    free(got);
}

int main(void)
{
    expect("postgres://tocsin:s3cret@127.0.0.1:5432/tocsin", "127.0.0.1/tocsin");
    expect("postgresql://u:s3cret@db.example.com/app?sslmode=require", "db.example.com/app");
    expect("host=/tmp/pg port=5433 user=postgres password=s3cret dbname=ops", "/tmp/pg/ops");
    expect("hostaddr=10.0.0.5 user=alice password=s3cret", "10.0.0.5/alice");
    expect("dbname=x", "localhost/x");
    return check_report();
}
