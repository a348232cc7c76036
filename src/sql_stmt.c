/* sql_stmt.c — a connection's prepared-statement cache (see sql_stmt.h).
 * The bound is small (64 by default), so lookup is a scan of 64-bit hashes
 * in LRU order: the hot statements are met first. */
#include "sql_stmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

/* Guards the DEALLOCATE list of a connection that never parses again while
 * it could send it (inside long transactions): past this, names are
 * forgotten on our side only, and leave with the connection. */
#define SQL_STMT_DEALLOC_MAX ((size_t)64 << 10)

static uint64_t next_id;
static uint32_t proc_tag;

static uint64_t hash_text(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

void sql_stmt_init(sql_stmt_cache *sc)
{
    list_init(&sc->lru);
    sc->n = 0;
    buf_init(&sc->dealloc, SQL_STMT_DEALLOC_MAX);
}

void sql_stmt_clear(sql_stmt_cache *sc)
{
    list_node *q, *nx;
    LIST_FOREACH_SAFE(q, nx, &sc->lru)
    {
        list_remove(q);
        free(LIST_ENTRY(q, sql_stmt, link));
    }
    sc->n = 0;
    buf_free(&sc->dealloc);
}

sql_stmt *sql_stmt_find(sql_stmt_cache *sc, const char *sql)
{
    uint64_t h = hash_text(sql);
    list_node *q;
    LIST_FOREACH(q, &sc->lru)
    {
        sql_stmt *s = LIST_ENTRY(q, sql_stmt, link);
        if (s->hash == h && !strcmp(s->sql, sql)) {
            if (q != sc->lru.next) {
                list_remove(q);
                list_push_front(&sc->lru, q);
            }
            return s;
        }
    }
    return NULL;
}

void sql_stmt_drop(sql_stmt_cache *sc, sql_stmt *s, int on_server)
{
    /* "; DEALLOCATE " and the name: past the limit the name is forgotten. */
    if (on_server && sc->dealloc.n + 14 + strlen(s->name) < SQL_STMT_DEALLOC_MAX &&
        buf_fmt(&sc->dealloc, "%sDEALLOCATE %s", sc->dealloc.n ? "; " : "", s->name) < 0)
        buf_reset(&sc->dealloc); /* out of memory: forget them all rather than send half */
    list_remove(&s->link);
    sc->n--;
    free(s);
}

sql_stmt *sql_stmt_add(sql_stmt_cache *sc, const char *sql, int max)
{
    while (sc->n > 0 && sc->n >= max) {
        sql_stmt *old = LIST_ENTRY(sc->lru.prev, sql_stmt, link);
        sql_stmt_drop(sc, old, old->ready);
    }
    size_t len = strlen(sql);
    sql_stmt *s = malloc(sizeof *s + len + 1);
    if (!s)
        return NULL;
    if (!proc_tag)
        proc_tag = (uint32_t)(uv_hrtime() * 2654435761u) ^ (uint32_t)getpid() ^ 1u;
    s->hash = hash_text(sql);
    s->ready = 0;
    snprintf(s->name, sizeof s->name, "tn_%08x_%llu", (unsigned)proc_tag,
             (unsigned long long)++next_id);
    memcpy(s->sql, sql, len + 1);
    list_push_front(&sc->lru, &s->link);
    sc->n++;
    return s;
}

char *sql_stmt_dealloc_take(sql_stmt_cache *sc)
{
    return sc->dealloc.n ? buf_take(&sc->dealloc, NULL) : NULL;
}
