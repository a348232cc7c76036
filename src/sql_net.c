/* sql_net.c — off-loop helpers for sql_pool.c (see sql_net.h): DNS lookups
 * through uv_getaddrinfo and PQcancel through uv_queue_work.  Each request
 * can be detached by its owner; its memory is freed by its own callback. */
#include "sql_net.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "task.h"

#define SQL_NET_MAX_ADDRS 8

struct sql_resolve {
    uv_getaddrinfo_t req;
    sql_resolve_cb cb; /* NULL once detached */
    void *arg;
    char host[];
};

struct sql_cancel {
    uv_work_t work;
    PGcancel *pc;
    sql_cancel_cb cb; /* NULL once detached */
    void *arg;
};

char *sql_net_target(const char *dsn)
{
    const char *host = NULL, *db = NULL, *user = NULL;
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &err);
    PQfreemem(err);
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        if (!strcmp(o->keyword, "host") || (!strcmp(o->keyword, "hostaddr") && !host))
            host = o->val;
        else if (!strcmp(o->keyword, "dbname"))
            db = o->val;
        else if (!strcmp(o->keyword, "user"))
            user = o->val;
    }
    if (!host)
        host = "localhost";
    if (!db)
        db = user ? user : "";
    size_t n = strlen(host) + strlen(db) + 2;
    char *t = malloc(n);
    if (t)
        snprintf(t, n, "%s/%s", host, db);
    PQconninfoFree(opts);
    return t;
}

char *sql_net_host_to_resolve(const char *dsn)
{
    char *err = NULL, *host = NULL;
    const char *h = NULL, *ha = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &err);
    PQfreemem(err);
    if (!opts)
        return NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!strcmp(o->keyword, "host"))
            h = o->val;
        else if (!strcmp(o->keyword, "hostaddr"))
            ha = o->val;
    }
    if (h && *h && !(ha && *ha) && h[0] != '/' && h[0] != '@' && !strchr(h, ',')) {
        unsigned char buf[sizeof(struct in6_addr)];
        if (inet_pton(AF_INET, h, buf) != 1 && inet_pton(AF_INET6, h, buf) != 1)
            host = strdup(h);
    }
    PQconninfoFree(opts);
    return host;
}

static void resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    sql_resolve *r = req->data;
    char hosts[1024], addrs[1024], err[160], ips[SQL_NET_MAX_ADDRS][INET6_ADDRSTRLEN];
    size_t hn = 0, an = 0, hlen = strlen(r->host);
    int naddr = 0;
    if (!r->cb)
        goto done;
    if (status < 0) {
        snprintf(err, sizeof err, "could not resolve host \"%s\": %s", r->host,
                 uv_strerror(status));
        r->cb(r->arg, NULL, NULL, err);
        goto done;
    }
    /* Same-length lists: libpq tries each address in turn and still checks
     * TLS against the name. */
    for (struct addrinfo *ai = res; ai && naddr < SQL_NET_MAX_ADDRS; ai = ai->ai_next) {
        const void *a = NULL;
        if (ai->ai_family == AF_INET)
            a = &((struct sockaddr_in *)ai->ai_addr)->sin_addr;
        else if (ai->ai_family == AF_INET6)
            a = &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        if (!a || !inet_ntop(ai->ai_family, a, ips[naddr], sizeof ips[0]))
            continue;
        int dup = 0;
        for (int i = 0; i < naddr; i++)
            dup |= !strcmp(ips[i], ips[naddr]);
        size_t il = strlen(ips[naddr]);
        if (dup || hn + hlen + 2 > sizeof hosts || an + il + 2 > sizeof addrs)
            continue;
        if (naddr) {
            hosts[hn++] = ',';
            addrs[an++] = ',';
        }
        memcpy(hosts + hn, r->host, hlen);
        hn += hlen;
        memcpy(addrs + an, ips[naddr], il);
        an += il;
        naddr++;
    }
    hosts[hn] = addrs[an] = '\0';
    if (naddr) {
        r->cb(r->arg, hosts, addrs, NULL);
    } else {
        snprintf(err, sizeof err, "could not resolve host \"%s\": no address", r->host);
        r->cb(r->arg, NULL, NULL, err);
    }
done:
    uv_freeaddrinfo(res);
    free(r);
}

sql_resolve *sql_net_resolve(const char *host, sql_resolve_cb cb, void *arg, char *why,
                             size_t whylen)
{
    size_t n = strlen(host);
    sql_resolve *r = malloc(sizeof *r + n + 1);
    if (!r) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    memcpy(r->host, host, n + 1);
    r->cb = cb;
    r->arg = arg;
    r->req.data = r;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = uv_getaddrinfo(tn_loop(), &r->req, resolved, r->host, NULL, &hints);
    if (rc < 0) {
        snprintf(why, whylen, "could not resolve host \"%s\": %s", host, uv_strerror(rc));
        free(r);
        return NULL;
    }
    return r;
}

void sql_net_resolve_detach(sql_resolve *r)
{
    r->cb = NULL;
    uv_cancel((uv_req_t *)&r->req); /* resolved() still runs, with UV_ECANCELED */
}

static void cancel_work(uv_work_t *w)
{
    /* PQcancel connects and waits for the server synchronously: here, on a
     * pool thread, never on the loop.  It is documented thread-safe. */
    sql_cancel *r = w->data;
    char buf[256];
    PQcancel(r->pc, buf, sizeof buf);
}

static void cancel_after(uv_work_t *w, int status)
{
    (void)status;
    sql_cancel *r = w->data;
    PQfreeCancel(r->pc);
    if (r->cb)
        r->cb(r->arg);
    free(r);
}

sql_cancel *sql_net_cancel(PGconn *pg, sql_cancel_cb cb, void *arg)
{
    PGcancel *pc = PQgetCancel(pg);
    sql_cancel *r = pc ? malloc(sizeof *r) : NULL;
    if (!r) {
        PQfreeCancel(pc);
        return NULL;
    }
    r->pc = pc;
    r->cb = cb;
    r->arg = arg;
    r->work.data = r;
    if (uv_queue_work(tn_loop(), &r->work, cancel_work, cancel_after) < 0) {
        PQfreeCancel(pc);
        free(r);
        return NULL;
    }
    return r;
}

void sql_net_cancel_detach(sql_cancel *r)
{
    r->cb = NULL;
}
