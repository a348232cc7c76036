/* server_router.c — the HTTP server's pure parts: route patterns and how a
 * request picks one, percent-decoding, and the request-parsing path of a
 * connection (server_parse: the parser, limits and pipelining, no socket). */
#include <stdio.h>
#include <string.h>

#include "server.h"
#include "server_route.h"

#include "check.h"

static const char *const routes[] = {
    "GET /api/health", /* 0 */
    "GET /api/*",      /* 1 */
    "GET /api/deep/*", /* 2 */
    "* /x",            /* 3 */
    "POST /x",         /* 4 */
    "get /lower",      /* 5: methods are case-insensitive in patterns */
    "GET /",           /* 6 */
    "DELETE /*",       /* 7: everything */
};

static int route(const char *method, const char *path)
{
    server_opts o = {.routes = routes, .nroutes = (int)(sizeof routes / sizeof *routes)};
    char err[256];
    return server_route_find(&o, method, path, err, sizeof err);
}

static void test_match(void)
{
    CHECK(route("GET", "/api/health") == 0); /* exact beats the prefix */
    CHECK(route("GET", "/api/other") == 1);
    CHECK(route("GET", "/api") == 1); /* a prefix matches its own root */
    CHECK(route("GET", "/api/") == 1);
    CHECK(route("GET", "/api/deep/x/y") == 2); /* the longer prefix wins */
    CHECK(route("GET", "/api/deep") == 2);
    CHECK(route("GET", "/apix") == -1); /* whole segments only */
    CHECK(route("GET", "/api/healthz") == 1);
    CHECK(route("POST", "/api/health") == -1);
    CHECK(route("HEAD", "/api/health") == 0); /* HEAD falls back to GET */
    CHECK(route("GET", "/x") == 3);
    CHECK(route("PATCH", "/x") == 3);
    CHECK(route("POST", "/x") == 4); /* a named method beats "*" */
    CHECK(route("HEAD", "/x") == 3); /* no GET /x to fall back to: "* /x" */
    CHECK(route("GET", "/lower") == 5);
    CHECK(route("GET", "/") == 6);
    CHECK(route("GET", "/nowhere") == -1);
    CHECK(route("DELETE", "/anything/at/all") == 7);
    CHECK(route("DELETE", "/x") == 3); /* exact path beats a prefix, even "*" method */
    CHECK(route("GET", "") == -1);
}

static int bad_route(const char *pat)
{
    const char *const one[] = {pat};
    server_opts o = {.routes = one, .nroutes = 1};
    char err[256] = "";
    int rc = server_route_find(&o, "GET", "/", err, sizeof err);
    return rc == SERVER_EUSAGE && strstr(err, pat) != NULL;
}

static void test_patterns(void)
{
    CHECK(bad_route("GET"));
    CHECK(bad_route("/x"));
    CHECK(bad_route("GET x"));
    CHECK(bad_route(" /x"));
    CHECK(bad_route("GET /a b"));
    CHECK(bad_route("G(T /x"));
    CHECK(bad_route("G*T /x"));
    CHECK(bad_route("GET /a*"));
    CHECK(bad_route("GET /*/a"));
    CHECK(bad_route("GET /a/**"));
    CHECK(!bad_route("GET /a/*"));
}

static int decodes(const char *in, int plus, const char *want, size_t wantlen)
{
    char s[128];
    snprintf(s, sizeof s, "%s", in);
    size_t n = server_pct_decode(s, strlen(s), plus);
    return n == wantlen && !memcmp(s, want, n) && s[n] == 0;
}

static void test_pct(void)
{
    CHECK(decodes("/a%20b", 0, "/a b", 4));
    CHECK(decodes("%41%42%43", 0, "ABC", 3));
    CHECK(decodes("%e2%9c%93", 0, "\xe2\x9c\x93", 3)); /* lower-case hex */
    CHECK(decodes("a+b", 0, "a+b", 3));
    CHECK(decodes("a+b", 1, "a b", 3));
    CHECK(decodes("%2B", 1, "+", 1));
    CHECK(decodes("100%", 0, "100%", 4)); /* malformed: kept */
    CHECK(decodes("%4", 0, "%4", 2));
    CHECK(decodes("%zz%41", 0, "%zzA", 4));
    CHECK(decodes("%%41", 0, "%A", 2));
    CHECK(decodes("a%00b", 0, "a\0b", 3)); /* NUL decoded: callers check the length */
    CHECK(decodes("", 0, "", 0));
}

/* server_parse over a buffer: requests routed, error status, matches. */
static size_t chunk; /* feed in reads of this many bytes (0: one read) */

static int parse(const char *data, size_t max_body, size_t max_inflight, int *status, int *found)
{
    server_opts o = {.routes = routes,
                     .nroutes = (int)(sizeof routes / sizeof *routes),
                     .max_body = max_body,
                     .max_inflight = max_inflight};
    char err[256];
    return server_parse(&o, data, strlen(data), chunk, status, found, err, sizeof err);
}

static void test_parse(void)
{
    int st, found;
    CHECK(parse("GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0, &st, &found) == 1 && st == 0 &&
          found == 1);
    /* pipelined, a 404 among them, a body */
    CHECK(parse("GET /x HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\n"
                "POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
                "GET /api/a%20b?q=1 HTTP/1.1\r\n\r\n",
                0, 0, &st, &found) == 4 &&
          st == 0 && found == 3);
    /* HTTP/1.0 closes after the first answer */
    CHECK(parse("GET /x HTTP/1.0\r\n\r\nGET /x HTTP/1.1\r\n\r\n", 0, 0, &st, &found) == 1);
    /* a half request: nothing routed, no error yet */
    CHECK(parse("GET /x HTTP/1.1\r\nHo", 0, 0, &st, &found) == 0 && st == 0);
    CHECK(parse("GARBAGE\r\n\r\n", 0, 0, &st, &found) == 0 && st == 400);
    CHECK(parse("GET /x HTTP/1.1\r\n\r\nGARBAGE\r\n\r\n", 0, 0, &st, &found) == 1 && st == 400);
    CHECK(parse("GET /x HTTP/2.0\r\n\r\n", 0, 0, &st, &found) == 0 && st == 505);
    CHECK(parse("GET /a%00b HTTP/1.1\r\n\r\n", 0, 0, &st, &found) == 0 && st == 400);
    CHECK(parse("CONNECT a:443 HTTP/1.1\r\n\r\n", 0, 0, &st, &found) == 0 && st == 400);
    /* body limits: announced, and chunked as it arrives */
    CHECK(parse("POST /x HTTP/1.1\r\nContent-Length: 11\r\n\r\n", 10, 0, &st, &found) == 0 &&
          st == 413);
    CHECK(parse("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n",
                10, 0, &st, &found) == 0 &&
          st == 413);
    CHECK(parse("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                "4\r\nabcd\r\n0\r\n\r\n",
                10, 0, &st, &found) == 1 &&
          st == 0);
    /* the in-flight budget: over it, 503 (bytes return once answered, so
     * pipelined requests each fit) */
    CHECK(parse("POST /x HTTP/1.1\r\nContent-Length: 9\r\n\r\n", 100, 8, &st, &found) == 0 &&
          st == 503);
    CHECK(parse("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                "5\r\nabcde\r\n5\r\nabcde\r\n0\r\n\r\n",
                100, 8, &st, &found) == 0 &&
          st == 503);
    CHECK(parse("POST /x HTTP/1.1\r\nContent-Length: 8\r\n\r\n12345678"
                "POST /x HTTP/1.1\r\nContent-Length: 8\r\n\r\n12345678",
                100, 8, &st, &found) == 2 &&
          st == 0);
    /* headers: too many */
    char many[8192];
    size_t n = (size_t)snprintf(many, sizeof many, "GET /x HTTP/1.1\r\n");
    for (int i = 0; i < 150; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "X-%d: v\r\n", i);
    snprintf(many + n, sizeof many - n, "\r\n");
    CHECK(parse(many, 0, 0, &st, &found) == 0 && st == 431);
}

int main(void)
{
    test_match();
    test_patterns();
    test_pct();
    test_parse();
    chunk = 1; /* the same, a byte at a time */
    test_parse();
    chunk = 7;
    test_parse();
    return check_report();
}
