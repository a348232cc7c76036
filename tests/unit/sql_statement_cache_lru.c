/* The prepared-statement cache of a connection (sql_stmt.c): lookup by text,
 * least recently used evicted first, evicted statements the server holds
 * queued for DEALLOCATE (ones never parsed are not), unique names, and a
 * bound lowered later shrinks the cache on the next add. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql_stmt.h"

#include "check.h"

static sql_stmt *add_ready(sql_stmt_cache *sc, const char *sql, int max)
{
    sql_stmt *s = sql_stmt_add(sc, sql, max);
    if (s)
        s->ready = 1;
    return s;
}

int main(void)
{
    sql_stmt_cache sc;
    sql_stmt_init(&sc);
    CHECK(sql_stmt_find(&sc, "SELECT 1") == NULL);
    CHECK(sql_stmt_dealloc_take(&sc) == NULL);

    sql_stmt *a = add_ready(&sc, "SELECT 1", 3);
    sql_stmt *b = add_ready(&sc, "SELECT 2", 3);
    sql_stmt *c = add_ready(&sc, "SELECT 3", 3);
    CHECK(a && b && c && sc.n == 3);
    CHECK(strncmp(a->name, "tn_", 3) == 0);
    CHECK(strcmp(a->name, b->name) != 0 && strcmp(b->name, c->name) != 0);
    CHECK(sql_stmt_find(&sc, "SELECT 3") == c); /* already the most recent */
    CHECK(sql_stmt_find(&sc, "SELECT 22") == NULL);

    /* a is touched: b is now the least recently used and goes first. */
    CHECK(sql_stmt_find(&sc, "SELECT 1") == a);
    char bname[SQL_STMT_NAME];
    memcpy(bname, b->name, sizeof bname);
    sql_stmt *d = add_ready(&sc, "SELECT 4", 3);
    CHECK(d && sc.n == 3);
    CHECK(sql_stmt_find(&sc, "SELECT 2") == NULL);
    CHECK(sql_stmt_find(&sc, "SELECT 1") == a && sql_stmt_find(&sc, "SELECT 3") == c);
    char *dealloc = sql_stmt_dealloc_take(&sc);
    char want[128];
    snprintf(want, sizeof want, "DEALLOCATE %s", bname);
    CHECK(dealloc && strcmp(dealloc, want) == 0);
    free(dealloc);
    CHECK(sql_stmt_dealloc_take(&sc) == NULL);

    /* An entry whose Parse never succeeded is not on the server: evicted
     * or dropped, it needs no DEALLOCATE; a stale one does. */
    snprintf(want, sizeof want, "DEALLOCATE %s", d->name);
    sql_stmt *e = sql_stmt_add(&sc, "SELECT 5", 3); /* evicts d: 4 added, then 1 and 3 found */
    CHECK(e && !e->ready && sc.n == 3);
    CHECK(sql_stmt_find(&sc, "SELECT 4") == NULL);
    dealloc = sql_stmt_dealloc_take(&sc);
    CHECK(dealloc && strcmp(dealloc, want) == 0);
    free(dealloc);
    /* Bound 1: everything else goes; the never-parsed e needs no DEALLOCATE. */
    char ename[SQL_STMT_NAME];
    memcpy(ename, e->name, sizeof ename);
    snprintf(want, sizeof want, "DEALLOCATE %s; DEALLOCATE %s", a->name, c->name);
    sql_stmt *f = sql_stmt_add(&sc, "SELECT 6", 1);
    CHECK(f && sc.n == 1 && sql_stmt_find(&sc, "SELECT 6") == f);
    dealloc = sql_stmt_dealloc_take(&sc);
    CHECK(dealloc && strcmp(dealloc, want) == 0 && !strstr(dealloc, ename));
    free(dealloc);
    /* Dropped: with on_server (a stale plan) its name is to be deallocated. */
    f->ready = 1;
    snprintf(want, sizeof want, "DEALLOCATE %s", f->name);
    sql_stmt_drop(&sc, f, 1);
    dealloc = sql_stmt_dealloc_take(&sc);
    CHECK(sc.n == 0 && dealloc && strcmp(dealloc, want) == 0);
    free(dealloc);

    /* A lower bound given later: the next add evicts down to it. */
    for (int i = 0; i < 10; i++) {
        char sql[32];
        snprintf(sql, sizeof sql, "SELECT %d", 100 + i);
        CHECK(add_ready(&sc, sql, 10) != NULL);
    }
    CHECK(sc.n == 10);
    CHECK(add_ready(&sc, "SELECT 200", 4) && sc.n == 4);
    CHECK(sql_stmt_find(&sc, "SELECT 109") && sql_stmt_find(&sc, "SELECT 200"));
    CHECK(sql_stmt_find(&sc, "SELECT 106") == NULL);
    dealloc = sql_stmt_dealloc_take(&sc);
    int n = 0;
    for (const char *p = dealloc; p && (p = strstr(p, "DEALLOCATE ")); p++)
        n++;
    CHECK(n == 7);
    free(dealloc);

    /* Texts that differ only after a long shared prefix are told apart. */
    char long1[600], long2[600];
    memset(long1, 'x', sizeof long1 - 2);
    memcpy(long2, long1, sizeof long2);
    long1[sizeof long1 - 2] = '1';
    long2[sizeof long2 - 2] = '2';
    long1[sizeof long1 - 1] = long2[sizeof long2 - 1] = 0;
    sql_stmt *l1 = add_ready(&sc, long1, 8), *l2 = add_ready(&sc, long2, 8);
    CHECK(sql_stmt_find(&sc, long1) == l1 && sql_stmt_find(&sc, long2) == l2);

    sql_stmt_clear(&sc);
    CHECK(sc.n == 0 && sql_stmt_find(&sc, long1) == NULL && sql_stmt_dealloc_take(&sc) == NULL);
    /* Usable after a clear (DEALLOCATE ALL seen). */
    CHECK(add_ready(&sc, "SELECT 1", 2) && sql_stmt_find(&sc, "SELECT 1"));
    sql_stmt_clear(&sc);
    return check_report();
}
