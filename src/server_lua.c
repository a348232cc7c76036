/* server_lua.c — http.serve: the Lua face of the HTTP server (server.c).
 * A hidden dispatcher task of the calling run waits for routed requests and
 * spawns one task per request running the route's handler; the handler's
 * return value becomes the response.  The server ends with its dispatcher:
 * srv:close(), the calling task being cancelled, or the run ending. */
#include "server.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "embedded.h"
#include "redact.h"
#include "run.h"
#include "task.h"
#include "util.h"

#define LSERVER_MT "tocsin.http.server"
#define LREQ_MT "tocsin.http.request"
#define LHANDLE_MT "tocsin.http.handle"

/* The userdata behind srv. */
typedef struct lserver {
    server *s; /* NULL once the server is closing */
    int port;
    char url[96];
    int handlers_ref;            /* registry: {[route + 1] = handler} */
    server_req *q_head, *q_tail; /* routed requests the dispatcher has not taken yet */
    tn_task *dispatcher;         /* suspended in next_request */
    tn_task *starter;            /* suspended in http.serve until the dispatcher runs */
    int started;
    tn_run *run; /* the run the server belongs to (it fails if the server dies) */
} lserver;

/* Owns one request from the dispatcher to the answer; its __close (end of
 * the handler task, however it ends) and __gc answer it if nobody did. */
typedef struct lhandle {
    server_req *rq;
} lhandle;

static const char start_key = 's';

/* ---- the server's callbacks (libuv context: no Lua) -------------------- */

static int next_push(lua_State *L, void *op);

static void lserver_wake(lserver *b)
{
    if (b->dispatcher) {
        tn_task *t = b->dispatcher;
        b->dispatcher = NULL;
        tn_task_wake(t, next_push, b);
    }
}

static void on_request(server_req *rq, void *ud)
{
    lserver *b = ud;
    rq->next = NULL;
    if (b->q_tail)
        b->q_tail->next = rq;
    else
        b->q_head = rq;
    b->q_tail = rq;
    lserver_wake(b);
}

static void on_close(void *ud)
{
    lserver *b = ud;
    b->s = NULL;
    while (b->q_head) {
        server_req *rq = b->q_head;
        b->q_head = rq->next;
        server_respond_error(rq, 503, "the server is closing");
    }
    b->q_tail = NULL;
    lserver_wake(b); /* next_request returns false: the dispatcher ends */
}

static void lserver_close(lserver *b, int graceful)
{
    if (b->s)
        server_close(b->s, graceful); /* on_close clears b->s */
}

/* ---- handing requests to Lua ------------------------------------------- */

static void push_query(lua_State *L, const char *q)
{
    lua_newtable(L);
    size_t n = strlen(q);
    if (!n)
        return;
    char *tmp = lua_newuserdatauv(L, n + 1, 0); /* collected with the rest on error */
    memcpy(tmp, q, n + 1);
    for (char *p = tmp; p && *p;) {
        char *amp = strchr(p, '&');
        if (amp)
            *amp = 0;
        if (*p) {
            char *eq = strchr(p, '=');
            char *v = eq ? eq + 1 : p + strlen(p);
            if (eq)
                *eq = 0;
            size_t kn = server_pct_decode(p, strlen(p), 1);
            size_t vn = server_pct_decode(v, strlen(v), 1);
            lua_pushlstring(L, p, kn);
            lua_pushlstring(L, v, vn);
            lua_settable(L, -4);
        }
        p = amp ? amp + 1 : NULL;
    }
    lua_pop(L, 1);
}

/* Pushes req, handler, handle for the first request of the queue. */
static int push_request(lua_State *L, lserver *b)
{
    luaL_checkstack(L, 8, "http.serve");
    lhandle *h = lua_newuserdatauv(L, sizeof *h, 0);
    h->rq = NULL;
    luaL_setmetatable(L, LHANDLE_MT);
    server_req *rq = b->q_head;
    b->q_head = rq->next;
    if (!b->q_head)
        b->q_tail = NULL;
    h->rq = rq; /* from here on an error answers rq through h's __gc */

    lua_createtable(L, 0, 8);
    lua_pushstring(L, rq->method);
    lua_setfield(L, -2, "method");
    lua_pushstring(L, rq->path);
    lua_setfield(L, -2, "path");
    push_query(L, rq->query);
    lua_setfield(L, -2, "query");
    lua_createtable(L, 0, rq->nheaders);
    for (int i = 0; i < rq->nheaders; i++) {
        /* Repeated headers are joined with ", " (RFC 9110 5.3). */
        if (lua_getfield(L, -1, rq->headers[i].name) == LUA_TSTRING) {
            lua_pushliteral(L, ", ");
            lua_pushstring(L, rq->headers[i].value);
            lua_concat(L, 3);
        } else {
            lua_pop(L, 1);
            lua_pushstring(L, rq->headers[i].value);
        }
        lua_setfield(L, -2, rq->headers[i].name);
    }
    lua_setfield(L, -2, "headers");
    lua_pushlstring(L, rq->body ? rq->body : "", rq->body_len);
    lua_setfield(L, -2, "body");
    lua_pushstring(L, rq->remote);
    lua_setfield(L, -2, "remote");
    lua_pushinteger(L, rq->remote_port);
    lua_setfield(L, -2, "remote_port");
    luaL_setmetatable(L, LREQ_MT);

    lua_rawgeti(L, LUA_REGISTRYINDEX, b->handlers_ref);
    lua_rawgeti(L, -1, rq->route + 1);
    lua_remove(L, -2);
    lua_rotate(L, -3, -1); /* handle, req, handler -> req, handler, handle */
    return 3;
}

/* What next_request returns: req, handler, h; false once the server is
 * closed; nothing (nil) when only dead requests were queued. */
static int deliver(lua_State *L, lserver *b)
{
    while (b->q_head && !server_req_alive(b->q_head)) {
        server_req *rq = b->q_head;
        b->q_head = rq->next;
        if (!b->q_head)
            b->q_tail = NULL;
        server_req_drop(rq);
    }
    if (b->q_head)
        return push_request(L, b);
    if (!b->s) {
        lua_pushboolean(L, 0);
        return 1;
    }
    return 0;
}

static int next_push(lua_State *L, void *op)
{
    lserver *b = op;
    if (!L) {
        lserver_close(b, 0); /* the dispatcher was cancelled after a wake-up */
        return 0;
    }
    return deliver(L, b);
}

static void next_cancel(void *op)
{
    lserver *b = op;
    b->dispatcher = NULL;
    lserver_close(b, 0);
}

static int started_push(lua_State *L, void *op)
{
    return 0;
}

static void started_cancel(void *op)
{
    /* The caller of http.serve went away before the dispatcher ran (which
     * is then cancelled with it, before it could own the server). */
    lserver *b = op;
    b->starter = NULL;
    lserver_close(b, 0);
}

/* next_request(srv) -> req, handler, h | false (closed) */
static int l_next(lua_State *L)
{
    lserver *b = luaL_checkudata(L, 1, LSERVER_MT);
    tn_task *t = tn_task_current(L);
    if (!b->started) {
        b->started = 1;
        if (b->starter) {
            tn_task_wake(b->starter, started_push, b);
            b->starter = NULL;
        }
    }
    if (b->dispatcher)
        return luaL_error(L, "http.serve: the server already has a dispatcher");
    if (b->q_head || !b->s)
        return deliver(L, b);
    b->dispatcher = t;
    return tn_task_suspend(L, t, next_cancel, b);
}

/* started(srv): waits until the dispatcher task runs and owns the server. */
static int l_started(lua_State *L)
{
    lserver *b = luaL_checkudata(L, 1, LSERVER_MT);
    if (b->started)
        return 0;
    tn_task *t = tn_task_current(L);
    b->starter = t;
    return tn_task_suspend(L, t, started_cancel, b);
}

/* stopped(srv, err): the dispatcher ended (its __close).  err: it failed
 * (the CPU or memory limit, most likely), and the server with it; the run
 * fails even if its root never looks at srv:wait()'s result.  Runs while the
 * state may be out of memory: no Lua allocation here. */
static int l_stopped(lua_State *L)
{
    lserver *b = luaL_checkudata(L, 1, LSERVER_MT);
    if (!lua_isnoneornil(L, 2) && b->run) {
        const char *why = NULL;
        if (lua_type(L, 2) == LUA_TSTRING) {
            why = lua_tostring(L, 2);
        } else if (lua_istable(L, 2)) {
            lua_pushliteral(L, "message"); /* a short string: interned, fixed */
            lua_rawget(L, 2);
            why = lua_tostring(L, -1);
        }
        if (!why)
            why = "an error";
        char msg[512];
        snprintf(msg, sizeof msg, "http.serve: the server on port %d stopped: %s", b->port, why);
        tn_run_log(b->run, "error", msg, NULL, NULL);
        if (!b->run->error)
            b->run->error = strdup(msg);
        b->run->failed_apart = 1;
    }
    lserver_close(b, 0);
    return 0;
}

/* ---- answering --------------------------------------------------------- */

static void add_header(lua_State *L, int list, int *n, int name, int value)
{
    lua_pushvalue(L, name);
    lua_rawseti(L, list, ++*n);
    lua_pushvalue(L, value);
    lua_rawseti(L, list, ++*n);
}

/* respond(h, res): the handler's result as the response; raises on a result
 * that is not one (the Lua side turns that into a logged 500). */
static int l_respond(lua_State *L)
{
    lhandle *h = luaL_checkudata(L, 1, LHANDLE_MT);
    if (!h->rq)
        return 0;
    int status = 200;
    const char *ctype = "text/plain; charset=utf-8";
    lua_settop(L, 2);
    lua_newtable(L); /* 3: flat list of header names and values (keeps them alive) */
    int nlist = 0, has_ctype = 0;
    size_t len = 0;
    const char *body = NULL;
    if (lua_type(L, 2) == LUA_TSTRING) {
        body = lua_tolstring(L, 2, &len);
    } else if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "status"); /* 4 */
        if (!lua_isnil(L, 4)) {
            int isint;
            lua_Integer v = lua_tointegerx(L, 4, &isint);
            if (!isint || v < 100 || v > 599)
                return luaL_error(L, "http.serve: status must be an HTTP status code (got %s)",
                                  luaL_tolstring(L, 4, NULL));
            status = (int)v;
        }
        lua_getfield(L, 2, "json"); /* 5 */
        lua_getfield(L, 2, "body"); /* 6 */
        if (!lua_isnil(L, 5)) {
            if (!lua_isnil(L, 6))
                return luaL_error(L, "http.serve: return either body= or json=, not both");
            tn_json_encode(L, 5);
            lua_replace(L, 6);
            ctype = "application/json";
        } else if (!lua_isnil(L, 6) && lua_type(L, 6) != LUA_TSTRING &&
                   lua_type(L, 6) != LUA_TNUMBER) {
            return luaL_error(L, "http.serve: body must be a string (got %s)", luaL_typename(L, 6));
        }
        body = lua_tolstring(L, 6, &len);
        if (lua_getfield(L, 2, "headers") != LUA_TNIL) { /* 7 */
            if (!lua_istable(L, 7))
                return luaL_error(L, "http.serve: headers must be a table");
            lua_pushnil(L);
            while (lua_next(L, 7)) { /* 8: name, 9: value */
                if (lua_type(L, 8) != LUA_TSTRING)
                    return luaL_error(L, "http.serve: header names must be strings");
                if (!strcasecmp(lua_tostring(L, 8), "content-type"))
                    has_ctype = 1;
                if (lua_istable(L, 9)) {
                    /* {"a=1", "b=2"}: the header repeated (set-cookie). */
                    for (lua_Integer i = 1; lua_rawgeti(L, 9, i) != LUA_TNIL; i++) {
                        if (!lua_isstring(L, 10))
                            return luaL_error(L, "http.serve: header '%s' has a non-string value",
                                              lua_tostring(L, 8));
                        lua_tostring(L, 10);
                        add_header(L, 3, &nlist, 8, 10);
                        lua_pop(L, 1);
                    }
                    lua_pop(L, 1);
                } else {
                    if (!lua_isstring(L, 9))
                        return luaL_error(L, "http.serve: header '%s' must be a string (got %s)",
                                          lua_tostring(L, 8), luaL_typename(L, 9));
                    lua_pushvalue(L, 9);
                    lua_tostring(L, -1);
                    add_header(L, 3, &nlist, 8, lua_gettop(L));
                    lua_pop(L, 1);
                }
                lua_pop(L, 1);
            }
        }
    } else {
        return luaL_error(L,
                          "http.serve: the handler returned %s; return {status=, body=} or "
                          "{status=, json=}",
                          luaL_typename(L, 2));
    }
    if (!has_ctype && body) {
        lua_pushliteral(L, "Content-Type");
        lua_pushstring(L, ctype);
        add_header(L, 3, &nlist, lua_gettop(L) - 1, lua_gettop(L));
        lua_pop(L, 2);
    }
    const char **hs = lua_newuserdatauv(L, (size_t)(nlist + 1) * sizeof *hs, 0);
    for (int i = 0; i < nlist; i++) {
        lua_rawgeti(L, 3, i + 1);
        hs[i] = lua_tostring(L, -1); /* the list keeps the string alive */
        lua_pop(L, 1);
    }
    if (server_respond(h->rq, status, hs, nlist / 2, body ? body : "", body ? len : 0) < 0)
        return luaL_error(L, "http.serve: invalid response header (a name must be a token, a "
                             "value must not contain CR or LF)");
    h->rq = NULL;
    return 0;
}

/* traceback(err): xpcall's message handler. An error raised to answer a
 * client error (req:json() on a bad body) passes through untouched. */
static int l_traceback(lua_State *L)
{
    if (lua_istable(L, 1)) {
        lua_getfield(L, 1, "http_status");
        int has = lua_isinteger(L, -1);
        lua_pop(L, 1);
        if (has)
            return 1;
    }
    const char *msg = luaL_tolstring(L, 1, NULL);
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* fail(h, err): the handler raised (or returned something unusable). */
static int l_fail(lua_State *L)
{
    lhandle *h = luaL_checkudata(L, 1, LHANDLE_MT);
    server_req *rq = h->rq;
    if (!rq)
        return 0;
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "http_status");
        lua_Integer st = lua_tointeger(L, -1);
        lua_getfield(L, 2, "message");
        const char *m = lua_tostring(L, -1);
        if (st >= 400 && st <= 499) {
            h->rq = NULL;
            server_respond_error(rq, (int)st, m ? m : "bad request");
            return 0;
        }
        lua_pop(L, 2);
    }
    const char *text = luaL_tolstring(L, 2, NULL);
    char what[160];
    snprintf(what, sizeof what, "http.serve: the handler for %s %.100s failed", rq->method,
             rq->path);
    tn_state *st = engine_state_of(L);
    if (st->current)
        tn_run_log(tn_task_run(st->current), "error", what, "error", text);
    /* The client gets the message's first line, redacted. */
    size_t n = strcspn(text, "\n");
    char *first = redact_dup(text, n, NULL);
    char msg[512];
    snprintf(msg, sizeof msg, "internal server error: %s", first ? first : "");
    free(first);
    h->rq = NULL;
    server_respond_error(rq, 500, msg);
    return 0;
}

/* h's __close and __gc: the handler task ended without an answer. */
static int l_handle_release(lua_State *L)
{
    lhandle *h = luaL_checkudata(L, 1, LHANDLE_MT);
    server_req *rq = h->rq;
    if (!rq)
        return 0;
    h->rq = NULL;
    if (!server_req_alive(rq))
        server_req_drop(rq);
    else if (!lua_isnoneornil(L, 2))
        server_respond_error(rq, 500, "internal server error");
    else
        server_respond_error(rq, 503, "the handler ended without a response");
    return 0;
}

/* req:json() -> the body decoded; raises (answering 400) when it is not JSON. */
static int l_req_json(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    size_t n;
    lua_getfield(L, 1, "body");
    const char *s = lua_tolstring(L, -1, &n);
    if (!s)
        s = "", n = 0;
    if (tn_json_decode(L, s, n) == 0)
        return 1;
    const char *msg = lua_tostring(L, -1);
    tn_err_push(L, "protocol", "invalid JSON in the request body: %s", msg ? msg : "?");
    lua_pushinteger(L, 400);
    lua_setfield(L, -2, "http_status");
    return lua_error(L);
}

/* ---- srv --------------------------------------------------------------- */

static int l_srv_close(lua_State *L)
{
    lserver *b = luaL_checkudata(L, 1, LSERVER_MT);
    lserver_close(b, 1);
    return 0;
}

static int l_srv_gc(lua_State *L)
{
    lserver *b = luaL_checkudata(L, 1, LSERVER_MT);
    b->dispatcher = b->starter = NULL; /* gone, or we would not be collected */
    lserver_close(b, 0);
    luaL_unref(L, LUA_REGISTRYINDEX, b->handlers_ref);
    b->handlers_ref = LUA_NOREF;
    return 0;
}

static int l_srv_index(lua_State *L)
{
    lserver *b = luaL_checkudata(L, 1, LSERVER_MT);
    const char *k = lua_tostring(L, 2);
    if (k && !strcmp(k, "port")) {
        lua_pushinteger(L, b->port);
        return 1;
    }
    if (k && !strcmp(k, "url")) {
        lua_pushstring(L, b->url);
        return 1;
    }
    lua_pushvalue(L, 2);
    lua_gettable(L, lua_upvalueindex(1));
    return 1;
}

static int l_srv_tostring(lua_State *L)
{
    lserver *b = luaL_checkudata(L, 1, LSERVER_MT);
    lua_pushfstring(L, "http.server %s%s", b->url, b->s ? "" : " (closed)");
    return 1;
}

/* Once per Lua state: the metatables and the Lua half; leaves start on top. */
static void push_start(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &start_key) == LUA_TFUNCTION)
        return;
    lua_pop(L, 1);
    if (embedded_lua_load(L, "serve") != LUA_OK)
        lua_error(L);
    task_lua_open(L);
    lua_getfield(L, -1, "spawn");
    lua_remove(L, -2);
    lua_pushcfunction(L, l_next);
    lua_pushcfunction(L, l_respond);
    lua_pushcfunction(L, l_fail);
    lua_pushcfunction(L, l_traceback);
    lua_pushcfunction(L, l_started);
    lua_pushcfunction(L, l_stopped);
    lua_call(L, 7, 2); /* start, wait */

    luaL_newmetatable(L, LHANDLE_MT);
    lua_pushcfunction(L, l_handle_release);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, l_handle_release);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);

    luaL_newmetatable(L, LREQ_MT);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, l_req_json);
    lua_setfield(L, -2, "json");
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    luaL_newmetatable(L, LSERVER_MT);
    lua_createtable(L, 0, 2); /* methods */
    lua_pushcfunction(L, l_srv_close);
    lua_setfield(L, -2, "close");
    lua_pushvalue(L, -3); /* wait */
    lua_setfield(L, -2, "wait");
    lua_pushcclosure(L, l_srv_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_srv_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_srv_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, l_srv_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "http.server");
    lua_setfield(L, -2, "__name");
    lua_pop(L, 2); /* metatable, wait */

    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &start_key);
}

static int serve_k(lua_State *L, int status, lua_KContext ctx)
{
    lua_settop(L, 3);
    return 1; /* srv */
}

/* http.serve{listen=, routes=, max_body=, idle_timeout=, request_timeout=,
 * max_connections=, max_inflight=} -> srv | nil, err */
int server_lua_serve(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    tn_run *run = tn_task_run(tn_task_current(L)); /* raises while a runbook file is loaded */
    char listen[128];
    lua_getfield(L, 1, "listen");
    if (lua_isinteger(L, -1))
        snprintf(listen, sizeof listen, "127.0.0.1:%d", (int)lua_tointeger(L, -1));
    else if (lua_type(L, -1) == LUA_TSTRING)
        snprintf(listen, sizeof listen, "%s", lua_tostring(L, -1));
    else if (lua_isnil(L, -1))
        snprintf(listen, sizeof listen, "127.0.0.1:0");
    else
        return luaL_error(L, "http.serve: listen must be \"host:port\" or a port number");
    lua_pop(L, 1);
    size_t max_body = 0;
    lua_getfield(L, 1, "max_body");
    if (lua_type(L, -1) == LUA_TNUMBER) {
        if (lua_tonumber(L, -1) < 1)
            return luaL_error(L, "http.serve: max_body must be a positive size");
        max_body = (size_t)lua_tonumber(L, -1);
    } else if (lua_type(L, -1) == LUA_TSTRING) {
        if (!(max_body = tn_parse_size(lua_tostring(L, -1))))
            return luaL_error(L, "http.serve: max_body must be a size (\"1MiB\", \"64k\")");
    } else if (!lua_isnil(L, -1)) {
        return luaL_error(L, "http.serve: max_body must be a size");
    }
    lua_pop(L, 1);
    double idle = tn_opt_duration(L, 1, "idle_timeout", 0);
    double request_timeout = tn_opt_duration(L, 1, "request_timeout", 0);
    int max_conns = 0;
    if (lua_getfield(L, 1, "max_connections") != LUA_TNIL) {
        int isint;
        lua_Integer v = lua_tointegerx(L, -1, &isint);
        if (!isint || v < 1 || v > 1000000)
            return luaL_error(L, "http.serve: max_connections must be a positive integer");
        max_conns = (int)v;
    }
    lua_pop(L, 1);
    /* Bodies are copied into the run's Lua state: by default at most a
     * quarter of its memory limit is taken by bodies in flight. */
    uint64_t max_inflight = engine_state_of(L)->mem_limit / 4;
    if (max_inflight > (uint64_t)64 << 20 || !max_inflight)
        max_inflight = (uint64_t)64 << 20;
    max_inflight = tn_opt_size(L, 1, "max_inflight", max_inflight);
    if (lua_getfield(L, 1, "routes") != LUA_TTABLE)
        return luaL_error(
            L, "http.serve: routes must be a table {[\"GET /path\"] = function(req) ... end}");
    lua_settop(L, 2);
    push_start(L);    /* 3 */
    lua_insert(L, 2); /* 1 opts, 2 start, 3 routes */

    lserver *b = lua_newuserdatauv(L, sizeof *b, 0); /* 4 */
    memset(b, 0, sizeof *b);
    b->handlers_ref = LUA_NOREF;
    b->run = run;
    luaL_setmetatable(L, LSERVER_MT);
    lua_newtable(L); /* 5: handlers */
    int n = 0;
    for (lua_pushnil(L); lua_next(L, 3); lua_pop(L, 1))
        n++;
    const char **pats = lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *pats, 0); /* 6 */
    int i = 0;
    for (lua_pushnil(L); lua_next(L, 3); lua_pop(L, 1)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            return luaL_error(L, "http.serve: route keys must be strings like \"GET /path\"");
        if (!lua_isfunction(L, -1))
            return luaL_error(L, "http.serve: the route '%s' must map to a function",
                              lua_tostring(L, -2));
        pats[i] = lua_tostring(L, -2); /* alive: the routes table holds it */
        lua_pushvalue(L, -1);
        lua_rawseti(L, 5, ++i);
    }
    lua_pushvalue(L, 5);
    b->handlers_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    server_opts o = {.listen = listen,
                     .routes = pats,
                     .nroutes = n,
                     .max_body = max_body,
                     .idle_timeout = idle,
                     .request_timeout = request_timeout,
                     .max_connections = max_conns,
                     .max_inflight = (size_t)max_inflight,
                     .on_request = on_request,
                     .on_close = on_close,
                     .ud = b};
    char err[512];
    int rc = server_open(&b->s, &o, err, sizeof err);
    if (rc == SERVER_EUSAGE)
        return luaL_error(L, "http.serve: %s", err);
    if (rc < 0)
        return tn_err_fail(L, "connect", "http.serve: %s", err);
    b->port = server_port(b->s);
    /* srv.url: the listen host (127.0.0.1 when empty or "localhost"). */
    const char *colon = strrchr(listen, ':');
    int hl = colon ? (int)(colon - listen) : 0;
    if (!hl || (hl == 9 && !strncmp(listen, "localhost", 9)))
        snprintf(b->url, sizeof b->url, "http://127.0.0.1:%d", b->port);
    else
        snprintf(b->url, sizeof b->url, "http://%.*s:%d", hl, listen, b->port);
    /* Start the dispatcher and wait for it to run: from then on the
     * server's life is tied to that task. */
    lua_settop(L, 4);
    lua_replace(L, 3); /* 1 opts, 2 start, 3 srv */
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_callk(L, 1, 0, 0, serve_k);
    return serve_k(L, LUA_OK, 0);
}
