/* server.h — the HTTP/1.1 server: libuv TCP + http-parser with keep-alive,
 * pipelining answered in order, body/header limits and a small router; used
 * from Lua as http.serve (SPEC §4) and, later, by the daemon's API (SPEC §6). */
#ifndef TOCSIN_SERVER_H
#define TOCSIN_SERVER_H

#include <lua.h>
#include <stddef.h>

typedef struct server server;
typedef struct server_conn server_conn;

/* One request, complete (headers and body) when the owner receives it.
 * Fields are read-only for the owner; strings are NUL-terminated. */
typedef struct server_req {
    const char *method; /* "GET", "POST", ... */
    char *target;       /* the request-target as sent ("/a%20b?x=1") */
    char *path;         /* percent-decoded path, without the query */
    char *query;        /* raw query string (no '?'), "" when absent */
    struct server_header {
        char *name; /* lower-case */
        char *value;
    } * headers;
    int nheaders;
    char *body; /* NULL when empty */
    size_t body_len;
    char remote[64]; /* peer address ("127.0.0.1", "::1") */
    int remote_port;
    int route;               /* index of the matched route in server_opts.routes */
    struct server_req *next; /* free for the owner's use (a queue link) */
    /* private */
    server_conn *conn; /* NULL once the connection is gone */
    size_t target_len, target_cap, body_cap;
    server *s;      /* counts it until it is freed */
    size_t charged; /* its share of s's in-flight body bytes */
} server_req;

/* Routes are "METHOD /path" patterns: "GET /api/health" matches that path
 * exactly; a path ending in a "*" segment ("GET /api/" + "*") matches "/api"
 * and everything under "/api/"; a method of "*" matches any method.  Exact paths win over prefixes,
 * longer prefixes over shorter, a named method over "*".  No match: 404 with a JSON body, answered
 * by the server without involving the owner. */
typedef struct server_opts {
    const char *listen; /* "host:port", "[v6]:port", ":port" or "port"; host numeric or "localhost";
                           port 0 = ephemeral */
    const char *const *routes;
    int nroutes;
    size_t max_body; /* request body limit, 0: 1 MiB; over it: 413 and close */
    double
        idle_timeout; /* seconds a connection may sit between requests (or stall a write); 0: 60 */
    /* Seconds from a request's first byte to its last (headers and body),
     * however the bytes trickle in; over it: 408 and close.  0: 30. */
    double request_timeout;
    /* Open connections; more are answered 503 and closed at once.  0: 1024.
     * Whatever the setting, the server's connections (all servers together)
     * leave SERVER_FD_RESERVE descriptors, or an eighth of RLIMIT_NOFILE,
     * to the rest of the process. */
    int max_connections;
    /* At the limit, a new connection closes the oldest idle one (no request
     * begun, nothing being written) instead of being refused: idle sockets
     * cannot lock clients out.  The daemon's API sets it. */
    int evict_idle;
    /* Request body bytes held at once (received, or announced by
     * Content-Length, until the request is answered); a request that would
     * pass it gets 503 and close.  0: 64 MiB. */
    size_t max_inflight;
    /* A complete, routed request.  The owner must answer it exactly once with
     * server_respond or server_req_drop, now or later, even after the server
     * or the connection closed (then those only free it).  Called from a
     * libuv callback: queue, do not run Lua here. */
    void (*on_request)(server_req *rq, void *ud);
    /* The server is closing (server_close, server_shutdown): no on_request
     * follows.  Requests already handed out must still be answered. */
    void (*on_close)(void *ud);
    void *ud;
} server_opts;

/* Returned by server_open for a bad listen address or route pattern (the
 * message is in err), as opposed to a libuv error (< 0) while binding. */
#define SERVER_EUSAGE (-100000)

/* Binds and listens. 0 and *out, or SERVER_EUSAGE / a libuv error code with
 * a message in err. */
int server_open(server **out, const server_opts *o, char *err, size_t errlen);
/* The bound port (the ephemeral one when listen asked for port 0). */
int server_port(const server *s);
/* Stops accepting.  graceful: idle connections close now, those with a request
 * in hand close once it is answered.  Otherwise every connection closes now.
 * The server frees itself once its handles are closed: do not use s after
 * this (a second call with graceful = 0 is allowed until on_close returned). */
void server_close(server *s, int graceful);

/* Answers rq and frees it.  headers: nheaders name/value pairs (flat array);
 * Content-Length is computed, Content-Length/Transfer-Encoding given here are
 * ignored, "Connection: close" closes after the response.  Returns 0, or
 * SERVER_EUSAGE for a bad status or header (rq is NOT consumed then: answer
 * it again). */
int server_respond(server_req *rq, int status, const char *const *headers, int nheaders,
                   const char *body, size_t len);
/* Answers with {"error": message} as application/json and frees rq. */
void server_respond_error(server_req *rq, int status, const char *message);
/* Closes rq's connection without an answer and frees rq. */
void server_req_drop(server_req *rq);
/* Non-zero while rq's connection is open (an answer can still be sent). */
int server_req_alive(const server_req *rq);
/* The value of header `lname` (lower-case), or NULL. */
const char *server_req_header(const server_req *rq, const char *lname);

/* Decodes %XX escapes (and '+' as a space when plus) in place, keeping
 * malformed ones as they are; returns the new length (s is NUL-terminated). */
size_t server_pct_decode(char *s, size_t n, int plus);

/* For tests and the fuzzer: the request-parsing path of a connection, with
 * no socket.  Parses len bytes as what one connection received, in reads of
 * chunk bytes (0: one read), request after request (each routed, then
 * answered at once without a write, as a pipelining client would see), with
 * o's routes and limits (o->listen and the callbacks are unused).  Returns
 * the number of requests routed; *status is 0, or the error status the
 * connection would answer (400, 413, 431, 503, 505) and stop at; *nfound
 * the requests among them that matched a route.  SERVER_EUSAGE for a bad
 * route (message in err). */
int server_parse(const server_opts *o, const char *data, size_t len, size_t chunk, int *status,
                 int *nfound, char *err, size_t errlen);
/* Lua (server_lua.c): http.serve{listen = "127.0.0.1:0", routes = {["GET /x"] =
 * function(req) ... end}, max_body = "1MiB", idle_timeout = 60, request_timeout = 30,
 * max_connections = 1024, max_inflight = "64MiB" (default: a quarter of the run's
 * memory limit, at most 64 MiB)} -> srv, or
 * nil, err (kind "connect") when the address cannot be bound.  Bad options
 * or route patterns raise.  srv.port, srv.url, srv:close() (graceful: answers
 * in progress are sent), srv:wait([timeout]) -> true once closed.
 * Each request runs as a task of the caller's run: req.method, req.path,
 * req.query (decoded; last value wins), req.headers (lower-case; repeats
 * joined by ", "), req.body, req.remote, req.remote_port, req:json() (raises;
 * unhandled, that answers 400).  The handler returns {status=, headers=,
 * body=} or {status=, json=} (or a string: 200 text/plain); a raise or an
 * unusable result answers 500 with a JSON error (logged, redacted).  The
 * server closes with srv:close(), when the calling task is cancelled or
 * when the run ends (handlers still running are cancelled: 503). */
int server_lua_serve(lua_State *L);

/* Process exit: closes every server still open (run the loop afterwards). */
void server_shutdown(void);

#endif
