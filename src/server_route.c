/* server_route.c — the HTTP server's router: "METHOD /path" patterns
 * (exact paths, "/prefix/" + "*", "*" for any method) parsed once and matched
 * per request, the most specific winning. */
#include "server_route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int server_route_tchar(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

int server_route_parse(server_route *r, const char *pat, char *err, size_t errlen)
{
    const char *sp = strchr(pat, ' ');
    memset(r, 0, sizeof *r);
    if (!sp || sp == pat || sp[1] != '/' || strchr(sp + 1, ' ')) {
        snprintf(err, errlen, "route '%s': expected \"METHOD /path\" (e.g. \"GET /api/health\")",
                 pat);
        return -1;
    }
    size_t mlen = (size_t)(sp - pat);
    if (!(mlen == 1 && pat[0] == '*')) {
        for (size_t i = 0; i < mlen; i++)
            if (!server_route_tchar((unsigned char)pat[i]) || pat[i] == '*') {
                snprintf(err, errlen, "route '%s': invalid method", pat);
                return -1;
            }
        if (!(r->method = strndup(pat, mlen)))
            goto oom;
        for (char *m = r->method; *m; m++)
            if (*m >= 'a' && *m <= 'z')
                *m -= 32;
    }
    const char *path = sp + 1;
    size_t plen = strlen(path);
    const char *star = strchr(path, '*');
    if (star) {
        if (star != path + plen - 1 || star[-1] != '/') {
            snprintf(err, errlen, "route '%s': '*' may only end the path, as in \"GET /api/*\"",
                     pat);
            goto fail;
        }
        r->prefix = 1;
        plen -= 2; /* drop the trailing slash and star: "/api", or "" for everything */
    }
    if (!(r->path = strndup(path, plen)))
        goto oom;
    r->len = plen;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    free(r->method);
    r->method = NULL;
    return -1;
}

int server_route_match(const server_route *routes, int n, const char *method, const char *path)
{
    int best = -1;
    long best_score = -1;
    size_t plen = strlen(path);
    int head = !strcmp(method, "HEAD");
    for (int i = 0; i < n; i++) {
        const server_route *r = &routes[i];
        int mscore;
        if (!r->method)
            mscore = 1;
        else if (!strcmp(r->method, method))
            mscore = 3;
        else if (head && !strcmp(r->method, "GET"))
            mscore = 2;
        else
            continue;
        long score;
        if (!r->prefix) {
            if (plen != r->len || memcmp(path, r->path, plen))
                continue;
            score = 1L << 28;
        } else {
            if (plen < r->len || memcmp(path, r->path, r->len) ||
                (plen > r->len && path[r->len] != '/'))
                continue;
            score = (long)r->len;
        }
        score = score * 4 + mscore;
        if (score > best_score) {
            best_score = score;
            best = i;
        }
    }
    return best;
}

void server_route_free(server_route *r)
{
    free(r->method);
    free(r->path);
    r->method = r->path = NULL;
}

int server_route_find(const server_opts *o, const char *method, const char *path, char *err,
                      size_t errlen)
{
    server_route *rs = calloc((size_t)(o->nroutes ? o->nroutes : 1), sizeof *rs);
    if (!rs) {
        snprintf(err, errlen, "out of memory");
        return SERVER_EUSAGE;
    }
    int i, rc = 0;
    for (i = 0; i < o->nroutes && rc == 0; i++)
        rc = server_route_parse(&rs[i], o->routes[i], err, errlen);
    if (rc == 0)
        rc = server_route_match(rs, o->nroutes, method, path);
    else
        rc = SERVER_EUSAGE;
    while (i-- > 0)
        server_route_free(&rs[i]);
    free(rs);
    return rc;
}
