/* sql_net.h — the two blocking libpq/libc steps sql_pool.c must keep off the
 * loop, run on libuv's thread pool: the DNS lookup of a DSN's host (so libpq
 * gets host + hostaddr and resolves nothing itself) and PQcancel. */
#ifndef TOCSIN_SQL_NET_H
#define TOCSIN_SQL_NET_H

#include <libpq-fe.h>
#include <stddef.h>

/* The DSN's host when it is one name needing a lookup (no hostaddr, not a
 * socket directory, not an IP address, not a list); malloc'd, or NULL. */
char *sql_net_host_to_resolve(const char *dsn);
/* "host/db" from the DSN's host (or socket directory) and dbname (the user
 * name when absent), for reports: never the password; malloc'd, NULL on OOM. */
char *sql_net_target(const char *dsn);

typedef struct sql_resolve sql_resolve;
/* hosts and addrs: comma lists of the same length for libpq's host and
 * hostaddr (one entry per address found), or err set. */
typedef void (*sql_resolve_cb)(void *arg, const char *hosts, const char *addrs, const char *err);
/* Starts the lookup; NULL (reason in why) when it could not start. */
sql_resolve *sql_net_resolve(const char *host, sql_resolve_cb cb, void *arg, char *why,
                             size_t whylen);
/* The caller is gone: cb will not be called. */
void sql_net_resolve_detach(sql_resolve *r);

typedef struct sql_cancel sql_cancel;
typedef void (*sql_cancel_cb)(void *arg);
/* Asks the server to cancel pg's statement; cb runs once PQcancel returned
 * (the server has signalled its backend).  NULL when it could not start. */
sql_cancel *sql_net_cancel(PGconn *pg, sql_cancel_cb cb, void *arg);
void sql_net_cancel_detach(sql_cancel *r);

#endif
