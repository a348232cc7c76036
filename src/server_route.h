/* server_route.h — the server's router: "METHOD /path" patterns parsed and
 * matched (private to server.c; the patterns' rules are in server.h). */
#ifndef TOCSIN_SERVER_ROUTE_H
#define TOCSIN_SERVER_ROUTE_H

#include <stddef.h>

#include "server.h"

typedef struct server_route {
    char *method; /* upper-case; NULL: any method */
    char *path;
    size_t len;
    int prefix; /* the pattern ended in "/" + "*"; path is what precedes it */
} server_route;

/* Parses pat into r: 0, or -1 with a message naming pat in err. */
int server_route_parse(server_route *r, const char *pat, char *err, size_t errlen);
void server_route_free(server_route *r);
/* The index of the most specific of n routes for method and path, or -1.
 * HEAD falls back to a GET route (the body is not sent). */
int server_route_match(const server_route *routes, int n, const char *method, const char *path);
/* Non-zero for an RFC 9110 token character (methods, header names). */
int server_route_tchar(int ch);

/* For tests: the index of the route of o that method and path go to, -1
 * for none, or SERVER_EUSAGE for a bad route (message in err). */
int server_route_find(const server_opts *o, const char *method, const char *path, char *err,
                      size_t errlen);

#endif
