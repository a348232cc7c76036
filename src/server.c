/* server.c — the HTTP/1.1 server core: a libuv TCP listener, one http-parser
 * per connection, keep-alive, pipelined requests answered one at a time and in
 * order, and the limits that let it face hostile clients (body and header
 * sizes, idle and per-request deadlines, connections, descriptors, bodies in
 * flight).  Routing is server_route.c's.  Its owner (server_lua.c for
 * http.serve, later the daemon) gets routed requests through a callback and
 * answers them with server_respond. */
#include "server.h"

#include <assert.h>
#include <http_parser.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <uv.h>

#include "buf.h"
#include "server_route.h"
#include "task.h"
#include "util.h"

#define SERVER_MAX_BODY ((size_t)1 << 20)
#define SERVER_IDLE_TIMEOUT 60.0
#define SERVER_REQUEST_TIMEOUT 30.0
#define SERVER_MAX_CONNECTIONS 1024
#define SERVER_MAX_INFLIGHT ((size_t)64 << 20)
/* Descriptors the server leaves to the rest of the process (the runbook's
 * own HTTP, SQL, shell and files): at least this many, or an eighth of
 * RLIMIT_NOFILE when that is more. */
#define SERVER_FD_RESERVE 64
#define SERVER_MAX_HEADERS 100
#define SERVER_BACKLOG 511
/* After an error answer the peer may still be sending (a refused body): we
 * half-close and read what comes for this long, so our answer is not lost to
 * a TCP reset triggered by unread data. */
#define SERVER_LINGER_MS 2000

/* A connection's states.  READING: parsing input (between requests or inside
 * one); BUSY: a complete request is with the owner, input waits; DRAINING:
 * an answer is being written (then READING again, or LINGER/close);
 * LINGER: half-closed after an error answer, reading and dropping what the
 * peer still sends; CLOSING: handles closing, nothing more happens.
 * conn_set_state asserts that every transition is one of these:
 *   READING  -> BUSY, DRAINING (error answer), CLOSING
 *   BUSY     -> READING, DRAINING, CLOSING
 *   DRAINING -> READING, LINGER, CLOSING
 *   LINGER   -> CLOSING */
enum { C_READING, C_BUSY, C_DRAINING, C_LINGER, C_CLOSING };

struct server {
    uv_tcp_t tcp;
    void (*on_request)(server_req *rq, void *ud);
    void (*on_close)(void *ud);
    void *ud;
    server_route *routes;
    int nroutes;
    int port;
    size_t max_body;
    uint64_t idle_ms, request_ms;
    int max_conns;
    int evict_idle; /* at the limit, close the oldest idle connection (server_opts) */
    size_t max_inflight;
    size_t inflight; /* body bytes of requests not freed yet (reserved or received) */
    int nconns;      /* connections not closed yet */
    int nreqs;       /* requests not freed yet: the server outlives them */
    int nrequests;   /* requests parsed and routed, ever */
    int detached;    /* no sockets (server_parse): nothing is written */
    server_conn *conns;
    int listening; /* the listener handle is not closed yet */
    int closing;
    server *prev, *next;
};

struct server_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shut;
    server *s;
    server_conn *prev, *next;
    http_parser p;
    server_req *rq; /* being parsed, or handed to the owner (C_BUSY) */
    int state;
    int handles; /* libuv handles not closed yet */
    int reading;
    int feeding;       /* inside conn_input: do not re-enter */
    int in_request;    /* bytes of the next request arrived: its deadline runs */
    uint64_t deadline; /* loop time (ms) by which that request must be complete */
    int nwrites;       /* writes not completed yet */
    int keep_alive, close_after, linger;
    int error_status;          /* set by a parser callback that refused the request */
    const char *error_message; /* with it, when not the usual one for the status */
    int failed_status;         /* the error answered (conn_fail), for server_parse */
    int accepted;              /* counted in nconns and server_fds until closed */
    int in_value;              /* header assembly: the last piece was a value */
    char *hf, *hv;             /* header field and value being assembled */
    size_t hfn, hfcap, hvn, hvcap;
    char *pending; /* bytes after a complete request, parsed once it is answered */
    size_t npending;
    char remote[64];
    int remote_port;
};

typedef struct wreq {
    uv_write_t w;
    server_conn *c;
    char data[];
} wreq;

static server *servers; /* open or still closing, for server_shutdown */
/* Accepted sockets of every server, open: descriptors the servers hold, and
 * how many they may hold (RLIMIT_NOFILE less a reserve for the rest). */
static int server_fds, server_fd_budget = INT_MAX;
/* Reads are parsed as soon as they arrive, so one buffer serves every
 * connection; only the unparsed rest of a pipelined read is copied. */
static char read_buf[65536];

static void conn_input(server_conn *c, const char *data, size_t len);
static void conn_close(server_conn *c);
static void server_maybe_free(server *s);

/* The one place a connection changes state: asserts the transition is one
 * the diagram above allows (on in the sanitizer build, NDEBUG off). */
static void conn_set_state(server_conn *c, int to)
{
    int from = c->state;
    (void)from;
    assert(from != C_CLOSING);
    assert(to != C_READING || from == C_BUSY || from == C_DRAINING);
    assert(to != C_BUSY || from == C_READING);
    assert(to != C_DRAINING || from == C_READING || from == C_BUSY);
    assert(to != C_LINGER || from == C_DRAINING);
    c->state = to;
}

/* ---- small helpers ----------------------------------------------------- */

static int bytes_add(char **p, size_t *n, size_t *cap, const char *d, size_t len)
{
    if (*n + len + 1 > *cap) {
        size_t c = *cap ? *cap : 64;
        while (c < *n + len + 1)
            c *= 2;
        char *q = realloc(*p, c);
        if (!q)
            return -1;
        *p = q;
        *cap = c;
    }
    memcpy(*p + *n, d, len);
    *n += len;
    (*p)[*n] = 0;
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t server_pct_decode(char *s, size_t n, int plus)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int h, l;
        if (s[i] == '%' && i + 2 < n && (h = hexval((unsigned char)s[i + 1])) >= 0 &&
            (l = hexval((unsigned char)s[i + 2])) >= 0) {
            s[o++] = (char)(h << 4 | l);
            i += 2;
        } else if (plus && s[i] == '+') {
            s[o++] = ' ';
        } else {
            s[o++] = s[i];
        }
    }
    s[o] = 0;
    return o;
}

static void req_free(server_req *rq)
{
    if (!rq)
        return;
    server *s = rq->s;
    size_t charged = rq->charged;
    for (int i = 0; i < rq->nheaders; i++) {
        free(rq->headers[i].name);
        free(rq->headers[i].value);
    }
    free(rq->headers);
    free(rq->target);
    free(rq->path);
    free(rq->query);
    free(rq->body);
    free(rq);
    if (s) {
        assert(s->nreqs > 0 && s->inflight >= charged);
        s->inflight -= charged;
        s->nreqs--;
        server_maybe_free(s); /* the last request of a closed server */
    }
}

/* ---- writing ----------------------------------------------------------- */

static void on_write(uv_write_t *w, int status);
static void on_timer(uv_timer_t *t);

/* Timers and sockets of a detached connection (server_parse) do not exist. */
static void conn_timer(server_conn *c, uint64_t ms)
{
    if (!c->s->detached)
        uv_timer_start(&c->timer, on_timer, ms, 0);
}

static int conn_write(server_conn *c, wreq *w, size_t n)
{
    if (c->s->detached) {
        free(w);
        return 0;
    }
    w->c = c;
    uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
    int rc = uv_write(&w->w, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc < 0) {
        free(w);
        conn_close(c);
        return -1;
    }
    c->nwrites++;
    return 0;
}

static const char *reason_phrase(int status)
{
    const char *r = http_status_str((enum http_status)status);
    return r && r[0] != '<' ? r : "Unknown";
}

static void add(char *p, size_t *n, const char *s, size_t len)
{
    memcpy(p + *n, s, len);
    *n += len;
}

static void adds(char *p, size_t *n, const char *s)
{
    add(p, n, s, strlen(s));
}

static int skip_header(const char *name)
{
    return !strcasecmp(name, "content-length") || !strcasecmp(name, "transfer-encoding") ||
           !strcasecmp(name, "connection") || !strcasecmp(name, "date");
}

/* "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n" for now, rebuilt once a second
 * (RFC 9110 6.6.1; no strftime: its names follow the locale). */
static const char *date_header(void)
{
    static char line[48];
    static time_t last;
    static const char days[][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL);
    if (now != last) {
        struct tm tm;
        gmtime_r(&now, &tm);
        snprintf(line, sizeof line, "Date: %s, %02d %s %d %02d:%02d:%02d GMT\r\n", days[tm.tm_wday],
                 tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                 tm.tm_sec);
        last = now;
    }
    return line;
}

/* Queues one response.  nobody: HEAD (Content-Length kept, body not sent). */
static int conn_send(server_conn *c, int status, const char *const *h, int nh, const char *body,
                     size_t len, int nobody, int close)
{
    const char *reason = reason_phrase(status);
    int bodiless = status < 200 || status == 204 || status == 304;
    if (bodiless)
        len = 0;
    const char *date = date_header();
    size_t cap = 96 + strlen(date) + strlen(reason) + (nobody ? 0 : len);
    for (int i = 0; i < nh; i++)
        cap += strlen(h[2 * i]) + strlen(h[2 * i + 1]) + 4;
    wreq *w = malloc(sizeof *w + cap);
    if (!w) {
        conn_close(c);
        return -1;
    }
    char *p = w->data, line[64];
    size_t n = 0;
    adds(p, &n, "HTTP/1.1 ");
    snprintf(line, sizeof line, "%d ", status);
    adds(p, &n, line);
    adds(p, &n, reason);
    adds(p, &n, "\r\n");
    adds(p, &n, date);
    for (int i = 0; i < nh; i++) {
        if (skip_header(h[2 * i]))
            continue;
        adds(p, &n, h[2 * i]);
        adds(p, &n, ": ");
        adds(p, &n, h[2 * i + 1]);
        adds(p, &n, "\r\n");
    }
    if (!bodiless) {
        snprintf(line, sizeof line, "Content-Length: %zu\r\n", len);
        adds(p, &n, line);
    }
    if (close)
        adds(p, &n, "Connection: close\r\n");
    else if (c->p.http_major == 1 && c->p.http_minor == 0)
        adds(p, &n, "Connection: keep-alive\r\n");
    adds(p, &n, "\r\n");
    if (!nobody && len)
        add(p, &n, body, len);
    return conn_write(c, w, n);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b);
static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b);

static void conn_reading(server_conn *c)
{
    if (!c->reading && !c->s->detached) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
            conn_close(c);
            return;
        }
        c->reading = 1;
    }
}

static void conn_not_reading(server_conn *c)
{
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
}

/* A request the connection cannot serve (malformed, too large): answer with
 * status, then half-close and drain before closing. */
static void conn_fail(server_conn *c, int status, const char *message)
{
    if (c->state == C_CLOSING)
        return;
    if (c->rq) {
        req_free(c->rq);
        c->rq = NULL;
    }
    char body[160];
    snprintf(body, sizeof body, "{\"error\":\"%s\"}", message);
    static const char *const h[] = {"Content-Type", "application/json"};
    c->keep_alive = 0;
    c->close_after = 1;
    c->linger = 1;
    c->in_request = 0;
    c->failed_status = status;
    free(c->pending);
    c->pending = NULL;
    c->npending = 0;
    if (conn_send(c, status, h, 1, body, strlen(body), 0, 1) < 0)
        return;
    conn_set_state(c, C_DRAINING);
    conn_reading(c); /* and drop what arrives */
    conn_timer(c, c->s->idle_ms);
}

/* ---- parsing ----------------------------------------------------------- */

static int header_commit(server_conn *c)
{
    server_req *rq = c->rq;
    if (rq->nheaders >= SERVER_MAX_HEADERS) {
        c->error_status = 431;
        return -1;
    }
    struct server_header *hs = realloc(rq->headers, (size_t)(rq->nheaders + 1) * sizeof *hs);
    if (!hs)
        goto oom;
    rq->headers = hs;
    while (c->hvn && (c->hv[c->hvn - 1] == ' ' || c->hv[c->hvn - 1] == '\t'))
        c->hvn--;
    char *name = strndup(c->hf ? c->hf : "", c->hfn);
    char *value = strndup(c->hv ? c->hv : "", c->hvn);
    if (!name || !value) {
        free(name);
        free(value);
        goto oom;
    }
    for (char *p = name; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p += 32;
    hs[rq->nheaders].name = name;
    hs[rq->nheaders].value = value;
    rq->nheaders++;
    c->hfn = c->hvn = 0;
    c->in_value = 0;
    return 0;
oom:
    c->error_status = 503;
    return -1;
}

static int on_message_begin(http_parser *p)
{
    server_conn *c = p->data;
    req_free(c->rq);
    c->rq = calloc(1, sizeof *c->rq);
    c->hfn = c->hvn = 0;
    c->in_value = 0;
    c->error_status = 0;
    c->error_message = NULL;
    if (!c->rq) {
        c->error_status = 503;
        return -1;
    }
    c->rq->s = c->s;
    c->s->nreqs++;
    return 0;
}

/* Counts n more body bytes of the request against the server's in-flight
 * budget: bodies live on (in the owner's Lua state too) until answered, and
 * many at once must not exhaust its memory. */
static int body_charge(server_conn *c, size_t n)
{
    server *s = c->s;
    if (n > s->max_inflight - s->inflight) {
        c->error_status = 503;
        c->error_message = "server busy: too many request bodies in flight";
        return -1;
    }
    s->inflight += n;
    c->rq->charged += n;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    server_conn *c = p->data;
    server_req *rq = c->rq;
    if (bytes_add(&rq->target, &rq->target_len, &rq->target_cap, at, len) < 0) {
        c->error_status = 503;
        return -1;
    }
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    server_conn *c = p->data;
    if (c->in_value && header_commit(c) < 0)
        return -1;
    if (bytes_add(&c->hf, &c->hfn, &c->hfcap, at, len) < 0) {
        c->error_status = 503;
        return -1;
    }
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    server_conn *c = p->data;
    c->in_value = 1;
    if (bytes_add(&c->hv, &c->hvn, &c->hvcap, at, len) < 0) {
        c->error_status = 503;
        return -1;
    }
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    server_conn *c = p->data;
    server_req *rq = c->rq;
    if (c->in_value && header_commit(c) < 0)
        return -1;
    rq->method = http_method_str((enum http_method)p->method);
    if (p->http_major != 1) {
        c->error_status = 505;
        return -1;
    }
    if (p->method == HTTP_CONNECT || !rq->target) {
        c->error_status = 400;
        return -1;
    }
    struct http_parser_url u;
    http_parser_url_init(&u);
    if (http_parser_parse_url(rq->target, rq->target_len, 0, &u) ||
        !(u.field_set & (1 << UF_PATH))) {
        c->error_status = 400;
        return -1;
    }
    rq->path = strndup(rq->target + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
    rq->query = u.field_set & (1 << UF_QUERY)
                    ? strndup(rq->target + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len)
                    : strdup("");
    if (!rq->path || !rq->query) {
        c->error_status = 503;
        return -1;
    }
    size_t plen = strlen(rq->path);
    if (server_pct_decode(rq->path, plen, 0) != strlen(rq->path)) {
        c->error_status = 400; /* %00 in the path */
        return -1;
    }
    if (p->content_length != ULLONG_MAX && p->content_length > c->s->max_body) {
        c->error_status = 413;
        return -1;
    }
    /* Announced: reserved now, before the body arrives, so many clients
     * starting uploads at once cannot all pass the check. */
    if (p->content_length != ULLONG_MAX && body_charge(c, (size_t)p->content_length) < 0)
        return -1;
    const char *expect = server_req_header(rq, "expect");
    if (expect && !strcasecmp(expect, "100-continue") && p->http_major == 1 && p->http_minor >= 1) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        wreq *w = malloc(sizeof *w + sizeof cont);
        if (!w) {
            c->error_status = 503;
            return -1;
        }
        memcpy(w->data, cont, sizeof cont - 1);
        if (conn_write(c, w, sizeof cont - 1) < 0)
            return -1;
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    server_conn *c = p->data;
    server_req *rq = c->rq;
    if (rq->body_len + len > c->s->max_body) {
        c->error_status = 413;
        return -1;
    }
    if (rq->body_len + len > rq->charged && body_charge(c, rq->body_len + len - rq->charged) < 0)
        return -1; /* chunked: charged as it arrives */
    if (bytes_add(&rq->body, &rq->body_len, &rq->body_cap, at, len) < 0) {
        c->error_status = 503;
        return -1;
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    server_conn *c = p->data;
    c->keep_alive = http_should_keep_alive(p) && !p->upgrade;
    /* One request at a time: the rest of the input waits for the answer. */
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* A complete request: route it and hand it to the owner (or answer 404). */
static void conn_dispatch(server_conn *c)
{
    server *s = c->s;
    server_req *rq = c->rq;
    rq->conn = c;
    snprintf(rq->remote, sizeof rq->remote, "%s", c->remote);
    rq->remote_port = c->remote_port;
    conn_not_reading(c);
    if (!s->detached)
        uv_timer_stop(&c->timer);
    c->in_request = 0;
    s->nrequests++;
    conn_set_state(c, C_BUSY);
    if (!c->keep_alive) {
        free(c->pending);
        c->pending = NULL;
        c->npending = 0;
    }
    if (s->closing || !s->on_request) {
        server_respond_error(rq, 503, "the server is closing");
        return;
    }
    int i = server_route_match(s->routes, s->nroutes, rq->method, rq->path);
    if (i < 0) {
        server_respond_error(rq, 404, "not found");
        return;
    }
    rq->route = i;
    s->on_request(rq, s->ud);
}

static void conn_execute(server_conn *c, const char *data, size_t len)
{
    assert(c->state == C_READING);
    if (!c->in_request) {
        /* The request's first bytes: its deadline starts, and later bytes
         * do not move it (a client trickling a byte at a time is cut off). */
        c->in_request = 1;
        uint64_t now = c->s->detached ? 0 : uv_now(tn_loop());
        c->deadline = c->s->request_ms > UINT64_MAX - now ? UINT64_MAX : now + c->s->request_ms;
    }
    http_parser_pause(&c->p, 0);
    size_t n = http_parser_execute(&c->p, &parser_settings, data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->p);
    if (e == HPE_PAUSED) {
        if (n < len && c->keep_alive) {
            if (!(c->pending = malloc(len - n))) {
                conn_close(c);
                return;
            }
            memcpy(c->pending, data + n, len - n);
            c->npending = len - n;
        }
        conn_dispatch(c);
        return;
    }
    if (e == HPE_OK && n == len)
        return;
    int status = c->error_status ? c->error_status : e == HPE_HEADER_OVERFLOW ? 431 : 400;
    conn_fail(c, status,
              c->error_message ? c->error_message
              : status == 413  ? "request body too large"
              : status == 431  ? "request header fields too large"
              : status == 503  ? "out of memory"
              : status == 505  ? "HTTP version not supported"
                               : "bad request");
}

/* Parses data, then what was held back, as long as the connection is free
 * to read; a request handed to the owner stops it until it is answered. */
static void conn_input(server_conn *c, const char *data, size_t len)
{
    if (c->feeding)
        return; /* the loop below, further up the stack, goes on */
    c->feeding = 1;
    if (len)
        conn_execute(c, data, len);
    while (c->state == C_READING && c->npending) {
        char *held = c->pending;
        size_t n = c->npending;
        c->pending = NULL;
        c->npending = 0;
        conn_execute(c, held, n);
        free(held);
    }
    c->feeding = 0;
    if (c->state == C_READING) {
        conn_reading(c);
        if (c->state != C_READING)
            return;
        /* Silent for idle_timeout, or past the request's deadline: the end. */
        uint64_t ms = c->s->idle_ms;
        if (c->in_request && !c->s->detached) {
            uint64_t now = uv_now(tn_loop());
            uint64_t left = c->deadline > now ? c->deadline - now : 0;
            ms = left < ms ? left : ms;
        }
        conn_timer(c, ms);
    }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    *b = uv_buf_init(read_buf, sizeof read_buf);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
    server_conn *c = st->data;
    if (nread == 0)
        return;
    if (nread < 0) {
        conn_close(c); /* EOF or error; also ends a linger */
        return;
    }
    if (c->state == C_READING)
        conn_input(c, b->base, (size_t)nread);
    /* else: draining input after an error answer */
}

static void on_shutdown(uv_shutdown_t *sh, int status)
{
    server_conn *c = sh->data;
    if (status < 0 && c->state != C_CLOSING)
        conn_close(c);
}

static void on_write(uv_write_t *w, int status)
{
    server_conn *c = ((wreq *)w)->c;
    free(w);
    c->nwrites--;
    if (c->state == C_CLOSING)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (c->state != C_DRAINING || c->nwrites > 0)
        return;
    if (c->close_after) {
        if (!c->linger) {
            conn_close(c);
            return;
        }
        conn_set_state(c, C_LINGER);
        c->shut.data = c;
        if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
            conn_close(c);
            return;
        }
        conn_timer(c, SERVER_LINGER_MS);
        return;
    }
    conn_set_state(c, C_READING);
    conn_input(c, NULL, 0);
}

static void on_timer(uv_timer_t *t)
{
    server_conn *c = t->data;
    if (c->state == C_READING && c->in_request)
        conn_fail(c, 408, "request timeout"); /* the request's deadline passed */
    else
        conn_close(c); /* idle between requests, a stalled write, or a linger's end */
}

/* ---- connections ------------------------------------------------------- */

static void on_conn_closed(uv_handle_t *h)
{
    server_conn *c = h->data;
    if (--c->handles > 0)
        return;
    server *s = c->s;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c->pending);
    free(c->hf);
    free(c->hv);
    free(c);
    server_maybe_free(s);
}

static void conn_close(server_conn *c)
{
    if (c->state == C_CLOSING)
        return;
    if (c->rq) {
        if (c->state == C_BUSY)
            c->rq->conn = NULL; /* the owner still has it and frees it */
        else
            req_free(c->rq);
        c->rq = NULL;
    }
    conn_set_state(c, C_CLOSING);
    if (c->accepted) {
        /* uv_close closes the descriptor now; the callbacks come later. */
        c->accepted = 0;
        c->s->nconns--;
        server_fds--;
    }
    if (c->s->detached)
        return; /* server_parse frees it */
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

/* Over max_connections or the descriptor budget: accept (or the listener
 * stalls on the pending one), say 503 if the socket takes it at once, close. */
static void on_refused_closed(uv_handle_t *h)
{
    free(h);
}

static void conn_refuse(server *s)
{
    static char busy[256];
    static size_t nbusy;
    if (!nbusy) {
        static const char body[] = "{\"error\":\"too many connections\"}";
        int n = snprintf(busy, sizeof busy,
                         "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\nRetry-After: 1\r\nConnection: close\r\n\r\n%s",
                         sizeof body - 1, body);
        nbusy = n > 0 && (size_t)n < sizeof busy ? (size_t)n : 0;
    }
    uv_tcp_t *t = malloc(sizeof *t);
    if (!t)
        return; /* the listener waits; memory may come back */
    uv_tcp_init(tn_loop(), t);
    if (uv_accept((uv_stream_t *)&s->tcp, (uv_stream_t *)t) == 0 && nbusy) {
        uv_buf_t b = uv_buf_init(busy, (unsigned)nbusy);
        (void)uv_try_write((uv_stream_t *)t, &b, 1);
    }
    uv_close((uv_handle_t *)t, on_refused_closed);
}

/* At the limit, an idle connection makes room: one that has not begun a
 * request and has nothing being written, the oldest first.  A keep-alive
 * connection may be closed at any time between requests (RFC 9112 9.6), so
 * thousands of idle sockets cannot lock clients out; only when every
 * connection is busy is a new one refused. */
static int evict_idle(server *s)
{
    server_conn *victim = NULL;
    for (server_conn *c = s->conns; c; c = c->next) /* newest first: the last match is oldest */
        if (c->state == C_READING && !c->in_request && !c->nwrites && c->accepted && !c->rq)
            victim = c;
    if (!victim)
        return 0;
    conn_close(victim);
    return 1;
}

static void on_connection(uv_stream_t *l, int status)
{
    server *s = l->data;
    if (status < 0 || s->closing)
        return; /* UV_EMFILE: libuv has dropped one with its reserve descriptor */
    if ((s->nconns >= s->max_conns || server_fds >= server_fd_budget) &&
        !(s->evict_idle && evict_idle(s))) {
        conn_refuse(s);
        return;
    }
    if (s->nconns >= s->max_conns || server_fds >= server_fd_budget) {
        conn_refuse(s); /* the budget is another server's connections */
        return;
    }
    server_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->s = s;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    uv_tcp_init(tn_loop(), &c->tcp);
    uv_timer_init(tn_loop(), &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles = 2;
    c->state = C_READING;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) < 0) {
        conn_close(c);
        return;
    }
    c->accepted = 1;
    s->nconns++;
    server_fds++;
    uv_tcp_nodelay(&c->tcp, 1);
    http_parser_init(&c->p, HTTP_REQUEST);
    c->p.data = c;
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, c->remote, sizeof c->remote);
            c->remote_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        } else {
            uv_ip4_name((struct sockaddr_in *)&ss, c->remote, sizeof c->remote);
            c->remote_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        }
    }
    conn_input(c, NULL, 0);
}

/* ---- the server -------------------------------------------------------- */

static void server_maybe_free(server *s)
{
    if (!s->closing || s->listening || s->conns || s->nreqs)
        return;
    if (s->prev)
        s->prev->next = s->next;
    else if (servers == s)
        servers = s->next;
    if (s->next)
        s->next->prev = s->prev;
    for (int i = 0; i < s->nroutes; i++)
        server_route_free(&s->routes[i]);
    free(s->routes);
    free(s);
}

static void on_listener_closed(uv_handle_t *h)
{
    server *s = h->data;
    s->listening = 0;
    server_maybe_free(s);
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss, char *err, size_t errlen)
{
    char host[128];
    const char *port;
    if (listen[0] == '[') {
        const char *end = strchr(listen, ']');
        if (!end || end[1] != ':' || (size_t)(end - listen - 1) >= sizeof host)
            goto bad;
        memcpy(host, listen + 1, (size_t)(end - listen - 1));
        host[end - listen - 1] = 0;
        port = end + 2;
    } else {
        const char *colon = strrchr(listen, ':');
        if (!colon) {
            snprintf(host, sizeof host, "127.0.0.1");
            port = listen;
        } else {
            if ((size_t)(colon - listen) >= sizeof host)
                goto bad;
            memcpy(host, listen, (size_t)(colon - listen));
            host[colon - listen] = 0;
            port = colon + 1;
        }
    }
    if (!host[0] || !strcmp(host, "localhost"))
        snprintf(host, sizeof host, "127.0.0.1");
    char *end;
    long pn = strtol(port, &end, 10);
    if (!*port || *end || pn < 0 || pn > 65535)
        goto bad;
    if (uv_ip4_addr(host, (int)pn, (struct sockaddr_in *)ss) == 0 ||
        uv_ip6_addr(host, (int)pn, (struct sockaddr_in6 *)ss) == 0)
        return 0;
bad:
    snprintf(err, errlen,
             "listen '%s': expected \"host:port\" with a numeric host (\"127.0.0.1:8080\", "
             "\"[::1]:0\", \"0.0.0.0:80\")",
             listen);
    return -1;
}

/* The descriptors the servers may take: RLIMIT_NOFILE (read again at each
 * server_open: the process may have raised it) less the reserve. */
static void fd_budget_update(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur > INT_MAX) {
        server_fd_budget = INT_MAX;
        return;
    }
    rlim_t reserve = rl.rlim_cur / 8 > SERVER_FD_RESERVE ? rl.rlim_cur / 8 : SERVER_FD_RESERVE;
    server_fd_budget = rl.rlim_cur > reserve ? (int)(rl.rlim_cur - reserve) : 0;
}

/* A server with o's routes and limits, not listening (server_open binds it). */
static int server_new(server **out, const server_opts *o, char *err, size_t errlen)
{
    *out = NULL;
    server *s = calloc(1, sizeof *s);
    if (!s || (o->nroutes && !(s->routes = calloc((size_t)o->nroutes, sizeof *s->routes)))) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return UV_ENOMEM;
    }
    for (int i = 0; i < o->nroutes; i++) {
        if (server_route_parse(&s->routes[i], o->routes[i], err, errlen) < 0) {
            s->nroutes = i;
            s->closing = 1;
            server_maybe_free(s);
            return SERVER_EUSAGE;
        }
    }
    s->nroutes = o->nroutes;
    s->on_request = o->on_request;
    s->on_close = o->on_close;
    s->ud = o->ud;
    s->max_body = o->max_body ? o->max_body : SERVER_MAX_BODY;
    s->idle_ms = tn_secs_to_ms(o->idle_timeout > 0 ? o->idle_timeout : SERVER_IDLE_TIMEOUT);
    s->request_ms =
        tn_secs_to_ms(o->request_timeout > 0 ? o->request_timeout : SERVER_REQUEST_TIMEOUT);
    s->max_conns = o->max_connections > 0 ? o->max_connections : SERVER_MAX_CONNECTIONS;
    s->evict_idle = o->evict_idle;
    s->max_inflight = o->max_inflight ? o->max_inflight : SERVER_MAX_INFLIGHT;
    *out = s;
    return 0;
}

int server_open(server **out, const server_opts *o, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    *out = NULL;
    const char *listen = o->listen ? o->listen : "127.0.0.1:0";
    if (parse_listen(listen, &ss, err, errlen) < 0)
        return SERVER_EUSAGE;
    server *s;
    int rc = server_new(&s, o, err, errlen);
    if (rc < 0)
        return rc;
    fd_budget_update();
    s->next = servers;
    if (servers)
        servers->prev = s;
    servers = s;
    uv_tcp_init(tn_loop(), &s->tcp);
    s->tcp.data = s;
    s->listening = 1;
    rc = uv_tcp_bind(&s->tcp, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->tcp, SERVER_BACKLOG, on_connection);
    if (rc == 0) {
        int sl = sizeof ss;
        rc = uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&ss, &sl);
    }
    if (rc < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", listen, uv_strerror(rc));
        s->closing = 1;
        uv_close((uv_handle_t *)&s->tcp, on_listener_closed);
        return rc;
    }
    s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    *out = s;
    return 0;
}

int server_port(const server *s)
{
    return s->port;
}

void server_close(server *s, int graceful)
{
    if (!s->closing) {
        s->closing = 1;
        uv_close((uv_handle_t *)&s->tcp, on_listener_closed);
        void (*cb)(void *) = s->on_close;
        s->on_close = NULL;
        s->on_request = NULL;
        if (cb)
            cb(s->ud);
    }
    for (server_conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == C_CLOSING)
            continue;
        if (!graceful || (c->state == C_READING && !c->rq))
            conn_close(c);
        else
            c->close_after = 1;
    }
}

void server_shutdown(void)
{
    for (server *s = servers; s; s = s->next)
        server_close(s, 0);
}

/* ---- answering --------------------------------------------------------- */

int server_respond(server_req *rq, int status, const char *const *headers, int nheaders,
                   const char *body, size_t len)
{
    if (status < 100 || status > 599)
        return SERVER_EUSAGE;
    int close = 0;
    for (int i = 0; i < nheaders; i++) {
        const char *name = headers[2 * i], *value = headers[2 * i + 1];
        if (!*name)
            return SERVER_EUSAGE;
        for (const char *p = name; *p; p++)
            if (!server_route_tchar((unsigned char)*p))
                return SERVER_EUSAGE;
        if (strpbrk(value, "\r\n"))
            return SERVER_EUSAGE;
        if (!strcasecmp(name, "connection") && !strcasecmp(value, "close"))
            close = 1;
    }
    server_conn *c = rq->conn;
    int head = rq->method && !strcmp(rq->method, "HEAD");
    if (c)
        c->rq = NULL;
    if (!c || c->state != C_BUSY) {
        req_free(rq);
        return 0;
    }
    if (!c->keep_alive || c->s->closing || c->close_after)
        close = 1;
    /* rq is freed once the answer is copied: body may point into it (an echo). */
    int rc = conn_send(c, status, headers, nheaders, body, len, head, close);
    req_free(rq);
    if (rc < 0)
        return 0;
    if (close) {
        c->close_after = 1;
        conn_set_state(c, C_DRAINING);
        conn_timer(c, c->s->idle_ms);
    } else if (!c->s->detached && c->tcp.write_queue_size > 0) {
        conn_set_state(c, C_DRAINING); /* on_write goes on with the next request */
        conn_timer(c, c->s->idle_ms);
    } else {
        conn_set_state(c, C_READING);
        conn_input(c, NULL, 0);
    }
    return 0;
}

void server_respond_error(server_req *rq, int status, const char *message)
{
    /* {"error": message} with the message escaped as a JSON string. */
    static const char *const h[] = {"Content-Type", "application/json"};
    buf_t b;
    buf_init(&b, 0);
    buf_addstr(&b, "{\"error\":\"");
    for (const unsigned char *p = (const unsigned char *)message; *p; p++) {
        if (*p == '"' || *p == '\\') {
            buf_addc(&b, '\\');
            buf_addc(&b, (char)*p);
        } else if (*p < 0x20) {
            buf_fmt(&b, "\\u%04x", *p);
        } else {
            buf_addc(&b, (char)*p);
        }
    }
    buf_addstr(&b, "\"}");
    if (b.failed || server_respond(rq, status, h, 1, buf_str(&b), b.n) < 0)
        server_req_drop(rq);
    buf_free(&b);
}

void server_req_drop(server_req *rq)
{
    server_conn *c = rq->conn;
    if (c) {
        c->rq = NULL;
        conn_close(c);
    }
    req_free(rq);
}

int server_req_alive(const server_req *rq)
{
    return rq->conn != NULL;
}

const char *server_req_header(const server_req *rq, const char *lname)
{
    for (int i = 0; i < rq->nheaders; i++)
        if (!strcmp(rq->headers[i].name, lname))
            return rq->headers[i].value;
    return NULL;
}

/* ---- without sockets: tests and the fuzzer ----------------------------- */

typedef struct parse_count {
    int found;
} parse_count;

static void parse_on_request(server_req *rq, void *ud)
{
    ((parse_count *)ud)->found++;
    static const char *const h[] = {"X-Route", "yes"};
    server_respond(rq, 200, h, 1, rq->body ? rq->body : "", rq->body_len);
}

int server_parse(const server_opts *o, const char *data, size_t len, size_t chunk, int *status,
                 int *nfound, char *err, size_t errlen)
{
    parse_count pc = {0};
    server_opts so = *o;
    so.on_request = parse_on_request;
    so.ud = &pc;
    server *s;
    int rc = server_new(&s, &so, err, errlen);
    if (rc < 0)
        return rc;
    s->detached = 1;
    server_conn *c = calloc(1, sizeof *c);
    if (!c) {
        s->closing = 1;
        server_maybe_free(s);
        snprintf(err, errlen, "out of memory");
        return UV_ENOMEM;
    }
    c->s = s;
    c->state = C_READING;
    http_parser_init(&c->p, HTTP_REQUEST);
    c->p.data = c;
    if (!chunk)
        chunk = len;
    for (size_t off = 0; off < len && c->state == C_READING; off += chunk)
        conn_input(c, data + off, len - off < chunk ? len - off : chunk);
    /* Each answer was "written" at once; an error answer ends the input. */
    int n = s->nrequests;
    *status = c->failed_status;
    *nfound = pc.found;
    conn_close(c);
    free(c->pending);
    free(c->hf);
    free(c->hv);
    free(c);
    assert(s->nreqs == 0 && s->inflight == 0); /* every request freed, its bytes returned */
    s->closing = 1;
    server_maybe_free(s);
    return n;
}
