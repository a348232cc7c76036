/* http_lua.c — the HTTP client primitive: http.request/get/head/post/put/patch/
 * delete.  Requests run on the process-wide multi handle (http_multi.c), so
 * connections are kept alive across calls, tasks and runbooks; easy handles
 * and their buffers are pooled.  A pooled handle keeps the options every
 * request shares; a request sets only what differs from them, and gives
 * back what it changed when it ends (req_release). */
#include "http_lua.h"

#include "buf.h"
#include "dl_libs.h"
#include "http_easy.h"
#include "http_multi.h"
#include "task.h"
#include "util.h"

#include <curl/curl.h>
#include <lauxlib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#define HTTP_DEFAULT_TIMEOUT 10.0
#define HTTP_DEFAULT_MAX_BODY ((size_t)64 << 20)
/* Finished requests kept for reuse (small: the libcurl handle and the
 * response buffers are http_easy's, taken only when the transfer starts). */
#define HTTP_POOL_MAX 1024
/* Request buffers (URL, body to send) larger than this are freed, not pooled. */
#define HTTP_BUF_KEEP ((size_t)16 << 10)
#define HTTP_METHOD_MAX 24

typedef struct http_req {
    http_job job; /* first: the multi hands it back when done */
    http_easy *h; /* from job.start until the request is released */
    tn_task *task;
    http_easy_req q;            /* what to send; its strings point below */
    struct curl_slist *headers; /* q.headers */
    buf_t send;                 /* q.body: curl reads it in place (POSTFIELDS) */
    buf_t url;                  /* q.url */
    uint64_t start_ms;
    CURLcode result;
    char method[HTTP_METHOD_MAX]; /* q.method */
    struct http_req *prev, *next; /* in flight (for shutdown), or the pool */
} http_req;

static http_req *http_inflight;
static http_req *http_pool;
static int http_npool;
static buf_t http_url;    /* scratch: the URL being built */
static buf_t http_target; /* scratch: "METHOD url" for tn_run_call */
static int http_down;     /* http_lua_shutdown ran: pool nothing */
/* A push that raised (out of memory) leaves its request here; the next push
 * or http_lua_shutdown releases it. */
static http_req *http_orphan;

static const char http_res_mt_key = 'r';
/* Registry: {res = its raw header lines}, weak keys.  res.headers is made
 * from them when first read (res_index): most runbooks never read it. */
static const char http_hdr_key = 'h';

/* ---- request pool ------------------------------------------------------ */

static CURL *req_start(http_job *job);
static void req_done(http_job *job, CURLcode rc);

static http_req *req_acquire(void)
{
    http_req *r = http_pool;
    if (r) {
        http_pool = r->next;
        http_npool--;
        r->next = NULL;
        return r;
    }
    r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->job.start = req_start;
    r->job.done = req_done;
    return r;
}

static void req_destroy(http_req *r)
{
    http_easy_release(r->h);
    curl_slist_free_all(r->headers);
    buf_free(&r->send);
    buf_free(&r->url);
    free(r);
}

static void inflight_unlink(http_req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else if (http_inflight == r)
        http_inflight = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
}

/* Back to the pool; its handle back to http_easy's. */
static void req_release(http_req *r)
{
    if (http_npool >= HTTP_POOL_MAX || http_down) {
        req_destroy(r);
        return;
    }
    http_easy_release(r->h);
    r->h = NULL;
    curl_slist_free_all(r->headers);
    r->headers = NULL;
    r->task = NULL;
    r->result = CURLE_OK;
    buf_shrink(&r->send, HTTP_BUF_KEEP);
    buf_shrink(&r->url, HTTP_BUF_KEEP);
    r->prev = NULL;
    r->next = http_pool;
    http_pool = r;
    http_npool++;
}

/* ---- transfers --------------------------------------------------------- */

static int push_response(lua_State *L, void *op);

/* Its host has room (http_multi's start): a handle set up for it. */
static CURL *req_start(http_job *job)
{
    http_req *r = (http_req *)job;
    if (!(r->h = http_easy_acquire()))
        return NULL;
    if (http_easy_setup(r->h, &r->q) < 0)
        return NULL; /* r->h goes back with the request */
    return r->h->curl;
}

/* The transfer ended (http_multi's done): the task resumes from the scheduler. */
static void req_done(http_job *job, CURLcode rc)
{
    http_req *r = (http_req *)job;
    r->result = rc;
    inflight_unlink(r);
    tn_task_wake(r->task, push_response, r);
}

/* The task was canceled while its request was in flight (never called from
 * inside a libcurl callback): removing the handle closes its connection if
 * the transfer was midway, and no wake follows. */
static void http_cancel(void *op)
{
    http_req *r = op;
    inflight_unlink(r);
    http_multi_remove(&r->job);
    req_release(r);
}

void http_lua_shutdown(void)
{
    http_down = 1;
    if (http_orphan) {
        req_destroy(http_orphan);
        http_orphan = NULL;
    }
    while (http_inflight) {
        http_req *r = http_inflight;
        inflight_unlink(r);
        http_multi_remove(&r->job);
        req_destroy(r);
    }
    while (http_pool) {
        http_req *r = http_pool;
        http_pool = r->next;
        req_destroy(r);
    }
    http_npool = 0;
    http_easy_shutdown();
    http_multi_shutdown();
    buf_free(&http_url);
    buf_free(&http_target);
}

/* ---- responses --------------------------------------------------------- */

static int is_ows(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Pushes the header lines in p as {lower-case name = value}; a repeated
 * header's values are joined with ", " (RFC 9110 5.3). */
static void push_headers(lua_State *L, const char *p, size_t n)
{
    const char *end = p + n;
    int lines = 0;
    for (const char *q = p; q < end && (q = memchr(q, '\n', (size_t)(end - q))); q++)
        lines++;
    lua_createtable(L, 0, lines > 2 ? lines - 2 : 0); /* less the status line and the blank one */
    char small[64];
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line = p, *le = eol ? eol : end;
        p = eol ? eol + 1 : end;
        if (le - line >= 5 && memcmp(line, "HTTP/", 5) == 0)
            continue; /* the status line (its reason phrase may hold a ':') */
        const char *colon = memchr(line, ':', (size_t)(le - line));
        if (!colon || colon == line || is_ows(*line))
            continue; /* blank line, obsolete folding */
        const char *ne = colon;
        while (ne > line && is_ows(ne[-1]))
            ne--;
        size_t nn = (size_t)(ne - line);
        char *name = nn <= sizeof small ? small : (char *)lua_newuserdatauv(L, nn, 0);
        for (size_t i = 0; i < nn; i++) {
            char c = line[i];
            name[i] = c >= 'A' && c <= 'Z' ? (char)(c + 'a' - 'A') : c;
        }
        const char *v = colon + 1;
        while (v < le && is_ows(*v))
            v++;
        while (le > v && is_ows(le[-1]))
            le--;
        lua_pushlstring(L, name, nn);
        if (name != small)
            lua_remove(L, -2); /* the scratch userdata */
        lua_pushvalue(L, -1);
        if (lua_rawget(L, -3) == LUA_TNIL) {
            lua_pop(L, 1);
            lua_pushlstring(L, v, (size_t)(le - v));
        } else {
            lua_pushliteral(L, ", ");
            lua_pushlstring(L, v, (size_t)(le - v));
            lua_concat(L, 3);
        }
        lua_rawset(L, -3);
    }
}

static int res_json(lua_State *L);

/* res.headers, the first time it is read: made from the raw lines kept in
 * the registry, then a plain field of res.  Pushes it (nil when res has no
 * raw lines any more: the runbook set res.headers itself). */
static int res_headers(lua_State *L, int res)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &http_hdr_key);
    int weak = lua_gettop(L);
    lua_pushvalue(L, res);
    if (lua_rawget(L, weak) != LUA_TSTRING) {
        lua_pop(L, 2);
        lua_pushnil(L);
        return 1;
    }
    size_t n;
    const char *raw = lua_tolstring(L, -1, &n);
    push_headers(L, raw, n);
    lua_pushliteral(L, "headers");
    lua_pushvalue(L, -2);
    lua_rawset(L, res); /* from now on a plain field: __index no longer runs */
    lua_pushvalue(L, res);
    lua_pushnil(L);
    lua_rawset(L, weak);
    return 1;
}

/* The response metatable's __index: res:json(), and res.headers made when
 * first read. */
static int res_index(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TSTRING) {
        const char *k = lua_tostring(L, 2);
        if (!strcmp(k, "headers"))
            return res_headers(L, 1);
        if (!strcmp(k, "json")) {
            lua_pushcfunction(L, res_json);
            return 1;
        }
    }
    return 0;
}

static int res_next(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    if (lua_next(L, 1))
        return 2;
    lua_pushnil(L);
    return 1;
}

/* __pairs: res.headers is made first, so pairs(res) sees every field. */
static int res_pairs(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushliteral(L, "headers");
    if (lua_rawget(L, 1) == LUA_TNIL)
        res_headers(L, 1);
    lua_pushcfunction(L, res_next);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

/* __newindex (fields res does not hold): a runbook setting res.headers
 * before reading it gets what it set, not the lines kept for it. */
static int res_newindex(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TSTRING && !strcmp(lua_tostring(L, 2), "headers")) {
        lua_rawgetp(L, LUA_REGISTRYINDEX, &http_hdr_key);
        lua_pushvalue(L, 1);
        lua_pushnil(L);
        lua_rawset(L, -3);
        lua_pop(L, 1);
    }
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 0;
}

static const char *error_kind(CURLcode rc, int over_limit)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        return "connect";
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return "dns";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
        return "tls";
    case CURLE_WRITE_ERROR:
        return over_limit ? "limit" : "protocol";
    default:
        return "protocol";
    }
}

/* The scheduler's hand-off: res, or nil, err.  L == NULL: the task was
 * canceled after the transfer ended; only release. */
static int push_response(lua_State *L, void *op)
{
    http_req *r = op;
    if (http_orphan) {
        req_release(http_orphan);
        http_orphan = NULL;
    }
    if (!L) {
        req_release(r);
        return 0;
    }
    http_orphan = r; /* until every push below has succeeded */
    http_easy *h = r->job.started ? r->h : NULL;
    char *url = NULL;
    curl_off_t total_us = 0;
    if (h) {
        curl_easy_getinfo(h->curl, CURLINFO_EFFECTIVE_URL, &url);
        curl_easy_getinfo(h->curl, CURLINFO_TOTAL_TIME_T, &total_us);
    } else {
        /* It never left its host's queue (timed out there): nothing sent. */
        url = r->url.p;
        total_us = (curl_off_t)(uv_now(tn_loop()) - r->start_ms) * 1000;
    }
    if (!url)
        url = "";
    int over_limit = h && h->over_limit;
    buf_reset(&http_target);
    buf_addstr(&http_target, r->method);
    buf_addc(&http_target, ' ');
    buf_addstr(&http_target, url);
    tn_run_call(tn_task_run(r->task), "http", buf_str(&http_target), (double)total_us / 1e6,
                r->result == CURLE_OK ? "ok" : error_kind(r->result, over_limit));
    if (r->result != CURLE_OK) {
        const char *kind = error_kind(r->result, over_limit);
        if (over_limit) {
            char lim[32];
            snprintf(lim, sizeof lim, "%zu", r->q.max_body);
            tn_err_fail(L, kind, "%s %s: the response body is larger than max_body (%s bytes)",
                        r->method, url, lim);
        } else {
            tn_err_fail(L, kind, "%s %s failed: %s", r->method, url,
                        h && h->errbuf[0] ? h->errbuf : curl_easy_strerror(r->result));
        }
        http_orphan = NULL;
        req_release(r);
        return 2;
    }
    long status = 0;
    curl_off_t us = total_us;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    lua_createtable(L, 0, 6);
    lua_pushinteger(L, status);
    lua_setfield(L, -2, "status");
    lua_pushboolean(L, status >= 200 && status < 300);
    lua_setfield(L, -2, "ok");
    /* res.headers is made when first read (res_index). */
    lua_rawgetp(L, LUA_REGISTRYINDEX, &http_hdr_key);
    lua_pushvalue(L, -2);
    lua_pushlstring(L, h->head.p ? h->head.p : "", h->head.n);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_pushlstring(L, h->body.p ? h->body.p : "", h->body.n);
    lua_setfield(L, -2, "body");
    lua_pushnumber(L, (double)us / 1e6);
    lua_setfield(L, -2, "time");
    lua_pushstring(L, url);
    lua_setfield(L, -2, "url");
    lua_rawgetp(L, LUA_REGISTRYINDEX, &http_res_mt_key);
    lua_setmetatable(L, -2);
    http_orphan = NULL;
    req_release(r);
    return 1;
}

/* res:json() -> the decoded body; raises on invalid JSON. */
static int res_json(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "body");
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    if (!s)
        return luaL_error(L, "res:json(): the response has no body");
    if (tn_json_decode(L, s, n) < 0)
        return luaL_error(L, "res:json(): the body is not valid JSON: %s", lua_tostring(L, -1));
    return 1;
}

/* ---- starting a request ------------------------------------------------ */

/* RFC 3986 unreserved characters pass; everything else is %XX (as
 * curl_easy_escape does). */
static int url_escape(buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    if (buf_reserve(b, n * 3) < 0)
        return -1;
    char *o = b->p + b->n;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    b->n = (size_t)(o - b->p);
    b->p[b->n] = '\0';
    return 0;
}

typedef struct qkey {
    const char *s;
    size_t n;
} qkey;

static int qkey_cmp(const void *a, const void *b)
{
    const qkey *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->s, y->s, n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* One "k=v" pair; v is the value on top of the stack (left there).  *sep
 * is the separator to write first (0: none), '&' afterwards. */
static int query_pair(lua_State *L, buf_t *b, const qkey *k, char *sep)
{
    const char *v;
    size_t vn;
    switch (lua_type(L, -1)) {
    case LUA_TBOOLEAN:
        v = lua_toboolean(L, -1) ? "true" : "false";
        vn = strlen(v);
        break;
    case LUA_TSTRING:
    case LUA_TNUMBER:
        v = lua_tolstring(L, -1, &vn); /* a copy on the stack: converting it is safe */
        break;
    default:
        return luaL_error(L,
                          "http: query value for '%s' must be a string, number, boolean "
                          "or an array of them",
                          k->s);
    }
    if ((*sep && buf_add(b, sep, 1) < 0) || url_escape(b, k->s, k->n) < 0 ||
        buf_add(b, "=", 1) < 0 || url_escape(b, v, vn) < 0)
        return -1;
    *sep = '&';
    return 0;
}

/* Appends the query table at idx to the URL in b (keys sorted, so the same
 * table always gives the same URL; an array value repeats its key).  Raises
 * on a malformed table; -1 when out of memory. */
static int url_add_query(lua_State *L, buf_t *b, int idx)
{
    qkey fixed[16], *keys = fixed;
    size_t nk = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            return luaL_error(L, "http: query keys must be strings");
        nk++;
    }
    if (nk > sizeof fixed / sizeof *fixed) /* collected by Lua, even if we raise */
        keys = lua_newuserdatauv(L, nk * sizeof *keys, 0);
    nk = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        /* The string stays alive: it is a key of the table at idx. */
        keys[nk].s = lua_tolstring(L, -1, &keys[nk].n);
        nk++;
    }
    qsort(keys, nk, sizeof *keys, qkey_cmp);
    /* A fragment stays last: the query goes before it. */
    char *hash = memchr(b->p, '#', b->n);
    int has_frag = hash != NULL;
    if (has_frag) {
        lua_pushlstring(L, hash, b->n - (size_t)(hash - b->p));
        b->n = (size_t)(hash - b->p);
        b->p[b->n] = '\0';
    }
    char sep = memchr(b->p, '?', b->n) ? '&' : '?';
    if (sep == '&' && (b->p[b->n - 1] == '?' || b->p[b->n - 1] == '&'))
        sep = 0;
    for (size_t i = 0; i < nk; i++) {
        lua_pushlstring(L, keys[i].s, keys[i].n);
        lua_rawget(L, idx);
        if (lua_istable(L, -1)) {
            lua_Integer len = (lua_Integer)lua_rawlen(L, -1);
            for (lua_Integer j = 1; j <= len; j++) {
                lua_rawgeti(L, -1, j);
                if (query_pair(L, b, &keys[i], &sep) < 0)
                    return -1;
                lua_pop(L, 1);
            }
        } else if (query_pair(L, b, &keys[i], &sep) < 0) {
            return -1;
        }
        lua_pop(L, 1);
    }
    if (has_frag) {
        size_t fn;
        const char *f = lua_tolstring(L, -1, &fn);
        if (buf_add(b, f, fn) < 0)
            return -1;
        lua_pop(L, 1);
    }
    if (keys != fixed)
        lua_pop(L, 1);
    return 0;
}

static int has_crlf(const char *s, size_t n)
{
    return memchr(s, '\r', n) != NULL || memchr(s, '\n', n) != NULL;
}

/* Adds the headers table at idx to r->headers; *has_ctype is set when one
 * of them is Content-Type, *has_enc when one is Accept-Encoding, *has_ua
 * when one is User-Agent.  Raises on a malformed table. */
static int add_headers(lua_State *L, http_req *r, int idx, int *has_ctype, int *has_enc,
                       int *has_ua)
{
    char fixed[512];
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            return luaL_error(L, "http: header names must be strings");
        int t = lua_type(L, -1);
        if (t == LUA_TBOOLEAN && !lua_toboolean(L, -1)) {
            lua_pop(L, 1); /* false: leave the header out */
            continue;
        }
        if (t != LUA_TSTRING && t != LUA_TNUMBER)
            return luaL_error(L, "http: header '%s' must be a string or a number",
                              lua_tostring(L, -2));
        size_t kn, vn;
        const char *k = lua_tolstring(L, -2, &kn);
        lua_pushvalue(L, -1); /* convert a copy: the value stays as it is */
        const char *v = lua_tolstring(L, -1, &vn);
        if (kn == 0 || memchr(k, ':', kn) || has_crlf(k, kn) || has_crlf(v, vn))
            return luaL_error(L, "http: malformed header '%s'", k);
        if (kn == 12 && strncasecmp(k, "content-type", 12) == 0)
            *has_ctype = 1;
        if (kn == 15 && strncasecmp(k, "accept-encoding", 15) == 0)
            *has_enc = 1;
        if (kn == 10 && strncasecmp(k, "user-agent", 10) == 0)
            *has_ua = 1;
        size_t need = kn + vn + 3;
        char *line = need <= sizeof fixed ? fixed : malloc(need);
        if (!line)
            return -1;
        memcpy(line, k, kn);
        if (vn == 0) {
            line[kn] = ';'; /* curl's way to send a header with an empty value */
            line[kn + 1] = '\0';
        } else {
            line[kn] = ':';
            line[kn + 1] = ' ';
            memcpy(line + kn + 2, v, vn);
            line[kn + 2 + vn] = '\0';
        }
        struct curl_slist *l = curl_slist_append(r->headers, line);
        if (line != fixed)
            free(line);
        if (!l)
            return -1;
        r->headers = l;
        lua_pop(L, 2);
    }
    return 0;
}

/* Seconds to curl's milliseconds; a day at most (and 0 stays "none"). */
static long ms_of(double s)
{
    return s > 86400 ? 86400000L : (long)(s * 1000 + 0.5);
}

static int opt_flag(lua_State *L, int idx, const char *name)
{
    if (!idx)
        return 0;
    lua_getfield(L, idx, name);
    int v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* The dry run's stand-in for a write: success-shaped, nothing sent. */
static int push_dry_run(lua_State *L, tn_task *t, const char *method, const char *url)
{
    size_t ml = strlen(method), ul = strlen(url);
    char *text = malloc(ml + ul + 2);
    if (!text)
        return luaL_error(L, "out of memory");
    memcpy(text, method, ml);
    text[ml] = ' ';
    memcpy(text + ml + 1, url, ul + 1);
    tn_run_action(tn_task_run(t), "http", text);
    free(text);
    lua_createtable(L, 0, 8);
    lua_pushinteger(L, 200);
    lua_setfield(L, -2, "status");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "ok");
    lua_newtable(L);
    lua_setfield(L, -2, "headers");
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "body");
    lua_pushnumber(L, 0);
    lua_setfield(L, -2, "time");
    lua_pushstring(L, url);
    lua_setfield(L, -2, "url");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "dry_run");
    lua_rawgetp(L, LUA_REGISTRYINDEX, &http_res_mt_key);
    lua_setmetatable(L, -2);
    return 1;
}

/* Starts method on the URL at url_idx.  body_idx: a positional body (0:
 * none; else opts.body / opts.json apply), opts_idx: the options table (0:
 * none).  A string body is sent as is; a table (or json.null) as JSON. */
static int http_start(lua_State *L, const char *method, int url_idx, int body_idx, int opts_idx)
{
    tn_task *t = tn_task_current(L);
    size_t urln;
    const char *url = luaL_checklstring(L, url_idx, &urln);
    int is_get = strcmp(method, "GET") == 0, is_head = strcmp(method, "HEAD") == 0;

    /* The body: positional, or opts.json (any value), or opts.body (a string). */
    const char *body = NULL;
    size_t bodyn = 0;
    int is_json = 0;
    if (body_idx && lua_isnil(L, body_idx))
        body_idx = 0;
    if (!body_idx && opts_idx) {
        if (lua_getfield(L, opts_idx, "json") != LUA_TNIL) {
            body_idx = lua_gettop(L);
            is_json = 1;
        } else {
            lua_pop(L, 1);
            if (lua_getfield(L, opts_idx, "body") != LUA_TNIL) {
                if (lua_type(L, -1) != LUA_TSTRING)
                    return luaL_error(
                        L, "http: option 'body' must be a string (use json= for a table)");
                body_idx = lua_gettop(L);
            } else {
                lua_pop(L, 1);
            }
        }
    }
    if (body_idx) {
        int bt = lua_type(L, body_idx);
        if (bt == LUA_TSTRING && !is_json) {
            body = lua_tolstring(L, body_idx, &bodyn);
        } else if (is_json || bt == LUA_TTABLE || tn_is_null(L, body_idx)) {
            tn_json_encode(L, body_idx);
            body = lua_tolstring(L, -1, &bodyn);
            is_json = 1;
        } else {
            return luaL_argerror(L, body_idx, "body must be a string or a table (sent as JSON)");
        }
    }

    /* Every option is read before the URL is built and a request taken:
     * reading one may run a metamethod of the runbook's, which may call
     * http itself (the shared URL buffer and the orphan slot must not
     * change under us). */
    int query_idx = 0, headers_idx = 0;
    if (opts_idx) {
        int qt = lua_getfield(L, opts_idx, "query");
        if (qt == LUA_TTABLE)
            query_idx = lua_gettop(L);
        else if (qt != LUA_TNIL)
            return luaL_error(L, "http: option 'query' must be a table");
        int ht = lua_getfield(L, opts_idx, "headers");
        if (ht == LUA_TTABLE)
            headers_idx = lua_gettop(L);
        else if (ht != LUA_TNIL)
            return luaL_error(L, "http: option 'headers' must be a table");
    }
    double timeout = tn_opt_duration(L, opts_idx, "timeout", HTTP_DEFAULT_TIMEOUT);
    double ctimeout = tn_opt_duration(L, opts_idx, "connect_timeout", 0);
    int follow = opt_flag(L, opts_idx, "follow");
    int insecure = opt_flag(L, opts_idx, "insecure");
    int compressed = opt_flag(L, opts_idx, "compressed");
    size_t max_body = HTTP_DEFAULT_MAX_BODY;
    if (opts_idx) {
        int mt = lua_getfield(L, opts_idx, "max_body");
        if (mt == LUA_TNUMBER && lua_tonumber(L, -1) >= 0)
            max_body = (size_t)lua_tonumber(L, -1);
        else if (mt == LUA_TSTRING && tn_parse_size(lua_tostring(L, -1)) > 0)
            max_body = (size_t)tn_parse_size(lua_tostring(L, -1));
        else if (mt != LUA_TNIL)
            return luaL_error(L, "http: option 'max_body' must be a size (bytes or \"16MiB\")");
        lua_pop(L, 1);
    }

    /* The URL with its query (from here on no metamethod runs). */
    buf_reset(&http_url);
    if (buf_add(&http_url, url, urln) < 0)
        return luaL_error(L, "out of memory");
    if (query_idx && url_add_query(L, &http_url, query_idx) < 0)
        return luaL_error(L, "out of memory");

    /* Dry run: reads happen, writes don't. */
    if (!is_get && !is_head && tn_run_is_dry(tn_task_run(t)))
        return push_dry_run(L, t, method, http_url.p);

    if (http_orphan) {
        req_release(http_orphan);
        http_orphan = NULL;
    }
    http_req *r = req_acquire();
    if (!r)
        return luaL_error(L, "out of memory");
    http_orphan = r;            /* released at the next start or push if anything below raises */
    size_t mn = strlen(method); /* < HTTP_METHOD_MAX: check_method or a literal */
    memcpy(r->method, method, mn + 1);
    buf_reset(&r->url);
    if (buf_add(&r->url, http_url.p, http_url.n) < 0)
        goto nomem;

    int has_ctype = 0, has_enc = 0, has_ua = 0;
    if (headers_idx && add_headers(L, r, headers_idx, &has_ctype, &has_enc, &has_ua) < 0)
        goto nomem;
    if (is_json && !has_ctype) {
        struct curl_slist *l = curl_slist_append(r->headers, "Content-Type: application/json");
        if (!l)
            goto nomem;
        r->headers = l;
    }
    if (r->headers && !has_ua) { /* a list of its own replaces the handle's */
        struct curl_slist *l = curl_slist_append(r->headers, HTTP_EASY_USER_AGENT);
        if (!l)
            goto nomem;
        r->headers = l;
    }
    /* PUT and PATCH without a body still say Content-Length: 0. */
    int has_body =
        body || !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH");
    if (has_body) {
        buf_reset(&r->send);
        if (buf_add(&r->send, body ? body : "", bodyn) < 0)
            goto nomem;
    }
    /* Set on a handle when the request starts (http_easy_setup).  Decoding
     * is on when asked for: compressed = true (curl offers what it can
     * decode) or an Accept-Encoding header of the runbook's own (sent as
     * given, and the answer decoded). */
    r->q = (http_easy_req){
        .url = r->url.p,
        .method = r->method,
        .body = has_body ? r->send.p : NULL,
        .bodyn = bodyn,
        .has_body = has_body,
        .headers = r->headers,
        .connect_timeout_ms = ctimeout > 0 ? ms_of(ctimeout) : 0,
        .max_body = max_body,
        .follow = follow,
        .insecure = insecure,
        .decode = compressed || has_enc,
    };

    r->task = t;
    r->start_ms = uv_now(tn_loop());
    http_orphan = NULL;
    if (http_multi_add(&r->job, http_url.p, ms_of(timeout)) < 0) {
        req_release(r);
        const char *why = dl_libs_error(DL_LIBCURL); /* libcurl is loaded on first use */
        return tn_err_fail(L, "protocol", "%s %s: %s", method, http_url.p,
                           why ? why : "libcurl could not start the request");
    }
    r->prev = NULL;
    r->next = http_inflight;
    if (http_inflight)
        http_inflight->prev = r;
    http_inflight = r;
    return tn_task_suspend(L, t, http_cancel, r);
nomem:
    return luaL_error(L, "out of memory"); /* r is http_orphan */
}

/* ---- the module -------------------------------------------------------- */

/* The method in upper case; raises unless it is an HTTP token. */
static const char *check_method(lua_State *L, int idx, char *buf)
{
    size_t n;
    const char *m = luaL_checklstring(L, idx, &n);
    if (n == 0 || n >= HTTP_METHOD_MAX)
        luaL_argerror(L, idx, "not an HTTP method");
    for (size_t i = 0; i < n; i++) {
        char c = m[i];
        if (c >= 'a' && c <= 'z')
            c -= 'a' - 'A';
        if (!((c >= 'A' && c <= 'Z') || c == '-' || c == '_'))
            luaL_argerror(L, idx, "not an HTTP method");
        buf[i] = c;
    }
    buf[n] = '\0';
    return buf;
}

/* Index of the options table at idx, or 0 when absent; raises otherwise. */
static int opts_at(lua_State *L, int idx)
{
    int t = lua_type(L, idx);
    if (t == LUA_TNONE || t == LUA_TNIL)
        return 0;
    luaL_checktype(L, idx, LUA_TTABLE);
    return idx;
}

/* http.request{method=, url=, headers=, query=, body=, json=, timeout=, ...} */
static int l_request(lua_State *L)
{
    char mbuf[HTTP_METHOD_MAX];
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    const char *method = "GET";
    if (lua_getfield(L, 1, "method") != LUA_TNIL)
        method = check_method(L, 2, mbuf);
    if (lua_getfield(L, 1, "url") != LUA_TSTRING)
        return luaL_error(L, "http.request: 'url' must be a string");
    return http_start(L, method, 3, 0, 1);
}

/* http.get(url [,opts]) and the other body-less methods. */
static int no_body(lua_State *L, const char *method)
{
    luaL_checkstring(L, 1);
    int opts = opts_at(L, 2);
    lua_settop(L, 2);
    return http_start(L, method, 1, 0, opts);
}

/* http.post(url, body_or_table [,opts]) and the other methods with a body. */
static int with_body(lua_State *L, const char *method)
{
    luaL_checkstring(L, 1);
    int opts = opts_at(L, 3);
    lua_settop(L, 3);
    return http_start(L, method, 1, 2, opts);
}

static int l_get(lua_State *L)
{
    return no_body(L, "GET");
}
static int l_head(lua_State *L)
{
    return no_body(L, "HEAD");
}
static int l_delete(lua_State *L)
{
    return no_body(L, "DELETE");
}
static int l_post(lua_State *L)
{
    return with_body(L, "POST");
}
static int l_put(lua_State *L)
{
    return with_body(L, "PUT");
}
static int l_patch(lua_State *L)
{
    return with_body(L, "PATCH");
}

int http_lua_open(lua_State *L)
{
    /* The metatable every response shares: res:json(), res.headers made
     * when first read. */
    lua_createtable(L, 0, 4);
    lua_pushcfunction(L, res_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, res_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, res_pairs);
    lua_setfield(L, -2, "__pairs");
    lua_pushliteral(L, "http.response");
    lua_setfield(L, -2, "__name");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &http_res_mt_key);
    /* The raw header lines of responses whose headers were not read yet. */
    lua_createtable(L, 0, 0);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &http_hdr_key);

    static const luaL_Reg fns[] = {
        {"request", l_request}, {"get", l_get},     {"head", l_head},     {"post", l_post},
        {"put", l_put},         {"patch", l_patch}, {"delete", l_delete}, {NULL, NULL},
    };
    luaL_newlib(L, fns);
    return 1;
}
