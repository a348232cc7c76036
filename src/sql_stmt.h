/* sql_stmt.h — the prepared-statement cache of one PostgreSQL connection:
 * SQL text -> the name of a statement the server holds, least recently used
 * out first, and the names evicted (or gone stale) that still need a
 * DEALLOCATE.  No libpq here: sql_pool.c sends; unit-tested. */
#ifndef TOCSIN_SQL_STMT_H
#define TOCSIN_SQL_STMT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "list.h"

#define SQL_STMT_DEFAULT 64 /* statements kept per connection unless told */
#define SQL_STMT_MAX 1000   /* the largest bound accepted (lookup is a linear scan) */
#define SQL_STMT_NAME 32

typedef struct sql_stmt {
    list_node link; /* in the cache's lru list, most recent first */
    uint64_t hash;  /* of sql, compared before it */
    int ready;      /* the server holds it (its Parse succeeded) */
    char name[SQL_STMT_NAME];
    char sql[]; /* NUL-terminated */
} sql_stmt;

typedef struct sql_stmt_cache {
    list_node lru;
    int n;
    buf_t dealloc; /* "DEALLOCATE a; DEALLOCATE b" still to send, or empty */
} sql_stmt_cache;

void sql_stmt_init(sql_stmt_cache *sc);
/* Forgets everything, DEALLOCATE list included: the connection is gone, and
 * its statements with it, or the server dropped them all (DEALLOCATE ALL,
 * DISCARD ALL).  The cache stays usable. */
void sql_stmt_clear(sql_stmt_cache *sc);
/* The entry for sql, made most recent; NULL when there is none. */
sql_stmt *sql_stmt_find(sql_stmt_cache *sc, const char *sql);
/* A new, not yet ready entry for sql under a name unique in the process
 * (and, through a pooler, practically among processes: it carries a random
 * tag), after evicting the least recently used down to max - 1 entries.
 * NULL when out of memory. */
sql_stmt *sql_stmt_add(sql_stmt_cache *sc, const char *sql, int max);
/* Removes s; with on_server set its name joins the DEALLOCATE list. */
void sql_stmt_drop(sql_stmt_cache *sc, sql_stmt *s, int on_server);
/* The pending DEALLOCATE statements (one simple-protocol query, malloc'd),
 * now forgotten here; NULL when there are none. */
char *sql_stmt_dealloc_take(sql_stmt_cache *sc);

#endif
