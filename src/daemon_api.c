/* daemon_api.c — the daemon's HTTP API on server.c (keep-alive, body and
 * header limits, deadlines, connection limit: the server's own):
 *   GET  /healthz, /metrics, /incidents, /incidents/ID, /runs, /runs/ID
 *   POST /incidents/ID/ack {by}, /incidents/ID/resolve {summary},
 *        /runs {runbook, params}, /runs/ID/approve, /runs/ID/deny,
 *        /hooks/alertmanager, /hooks/grafana, /hooks/generic
 * Every answer is JSON; errors are {"error": "..."} with 400, 401, 404,
 * 405, 409, 413 or 503.  A POST needs `Authorization: Bearer <api_token>`
 * (compared in constant time); with no api_token configured, POSTs are
 * refused. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "confirm_lua.h"
#include "daemon.h"
#include "json.h"
#include "redact.h"

static const char *const routes[] = {
    "GET /healthz",      "GET /metrics",  "GET /incidents", "GET /incidents/*",
    "POST /incidents/*", "GET /runs",     "POST /runs",     "GET /runs/*",
    "POST /runs/*",      "POST /hooks/*", "* /*",
};
enum {
    R_HEALTH,
    R_METRICS,
    R_INCIDENTS,
    R_INCIDENT,
    R_INCIDENT_POST,
    R_RUNS,
    R_RUNS_POST,
    R_RUN,
    R_RUN_POST,
    R_HOOK,
    R_OTHER
};

static lua_State *scratch; /* JSON bodies are decoded here */

static void reply(server_req *rq, int status, buf_t *b)
{
    static const char *const h[] = {"Content-Type", "application/json"};
    if (b->failed) {
        server_respond_error(rq, 500, "out of memory");
        return;
    }
    buf_addc(b, '\n');
    server_respond(rq, status, h, 1, buf_str(b), b->n);
}

static void reply_error(server_req *rq, int status, const char *msg)
{
    server_respond_error(rq, status, msg);
}

/* Constant time in the token's content: every byte is looked at whatever
 * the first difference. */
static int token_ok(const server_req *rq)
{
    const char *want = daemon_g.token;
    const char *auth = server_req_header(rq, "authorization");
    if (!want || !*want || !auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return 0;
    const char *got = auth + 7;
    size_t n = strlen(want), m = strlen(got);
    unsigned diff = (unsigned)(n ^ m);
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)want[i] ^ (unsigned char)(i < m ? got[i] : 0);
    return diff == 0;
}

/* The JSON body as a table on scratch's top: 1, or 0 (answered 400). */
static int body_table(server_req *rq)
{
    lua_settop(scratch, 0);
    if (!rq->body || !rq->body_len) {
        lua_newtable(scratch);
        return 1;
    }
    if (tn_json_decode(scratch, rq->body, rq->body_len) < 0) {
        char msg[300];
        snprintf(msg, sizeof msg, "the body is not valid JSON: %s", lua_tostring(scratch, -1));
        reply_error(rq, 400, msg);
        return 0;
    }
    if (!lua_istable(scratch, -1)) {
        reply_error(rq, 400, "the body must be a JSON object");
        return 0;
    }
    return 1;
}

/* A string field of the body table, or NULL; -1 in *bad when present and
 * not a string. */
static const char *body_string(const char *name, int *bad)
{
    lua_getfield(scratch, 1, name);
    int t = lua_type(scratch, -1);
    const char *s = t == LUA_TSTRING ? lua_tostring(scratch, -1) : NULL;
    if (t != LUA_TNIL && t != LUA_TSTRING)
        *bad = 1;
    lua_pop(scratch, 1); /* the string stays alive in the table */
    return s;
}

/* The path's segment after prefix ("/runs/" + "ID/approve" -> "ID"), copied
 * into out, and the rest after it in *rest. */
static int segment(const char *path, const char *prefix, char *out, size_t n, const char **rest)
{
    size_t pl = strlen(prefix);
    if (strncmp(path, prefix, pl))
        return -1;
    const char *s = path + pl, *e = strchr(s, '/');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    if (!len || len >= n)
        return -1;
    memcpy(out, s, len);
    out[len] = 0;
    *rest = e ? e : "";
    return 0;
}

/* ---- rows from the store into JSON arrays -------------------------------------- */

typedef struct {
    buf_t *b;
    int n;
    const char *only; /* "record" value to keep, or NULL */
} rows_to;

static void row_into(void *ud, const char *json)
{
    rows_to *r = ud;
    if (r->only) {
        char want[64];
        snprintf(want, sizeof want, "{\"record\":\"%s\"", r->only);
        if (strncmp(json, want, strlen(want)))
            return;
    }
    if (r->n++)
        buf_addc(r->b, ',');
    buf_addstr(r->b, json);
}

/* ---- reads off the loop ------------------------------------------------------------ */

typedef struct {
    uv_work_t work;
    server_req *rq;
    void (*fn)(void *ud);
    void (*done)(server_req *rq, void *ud);
    void *ud;
} api_read;

static int reads; /* in flight */

static void read_work(uv_work_t *w)
{
    api_read *r = w->data;
    r->fn(r->ud);
}

static void read_after(uv_work_t *w, int status)
{
    (void)status; /* never cancelled: the pool runs every queued read */
    api_read *r = w->data;
    reads--;
    r->done(r->rq, r->ud);
    free(r);
}

int daemon_api_read(server_req *rq, void (*fn)(void *ud), void (*done)(server_req *rq, void *ud),
                    void *ud)
{
    api_read *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    *r = (api_read){.rq = rq, .fn = fn, .done = done, .ud = ud};
    r->work.data = r;
    if (uv_queue_work(tn_loop(), &r->work, read_work, read_after) < 0) {
        free(r);
        return -1;
    }
    reads++;
    return 0;
}

void daemon_api_settle(void)
{
    while (reads > 0)
        uv_run(tn_loop(), UV_RUN_ONCE);
}

/* GET /incidents and /incidents/ID, read on the pool. */
typedef struct {
    long long id; /* 0: the list */
    int all;
    int rc;
    buf_t b, part[3];
    char err[512];
} inc_read;

static void row_parts(void *ud, const char *json)
{
    rows_to *part = ud;
    for (int i = 0; i < 3; i++)
        row_into(&part[i], json); /* each keeps the rows of its record */
}

static void incidents_fn(void *ud)
{
    inc_read *q = ud;
    store *db = daemon_g.db;
    if (!q->id) {
        rows_to r = {&q->b, 0, NULL};
        buf_addstr(&q->b, "{\"incidents\":[");
        q->rc = db->be->incidents(db, q->all, row_into, &r, q->err, sizeof q->err);
        buf_addstr(&q->b, "]}");
        return;
    }
    /* One read: the incident, its timeline and its pending deadlines, each
     * row sorted by its "record". */
    rows_to part[3] = {
        {&q->part[0], 0, "incident"}, {&q->part[1], 0, "timeline"}, {&q->part[2], 0, "deadline"}};
    q->rc = db->be->incident(db, q->id, row_parts, part, q->err, sizeof q->err);
    buf_fmt(&q->b, "{\"incident\":%s,\"timeline\":[%s],\"deadlines\":[%s]}",
            q->part[0].n ? buf_str(&q->part[0]) : "null", buf_str(&q->part[1]),
            buf_str(&q->part[2]));
    for (int i = 0; i < 3; i++) {
        q->b.failed |= q->part[i].failed;
        buf_free(&q->part[i]);
    }
}

static void incidents_done(server_req *rq, void *ud)
{
    inc_read *q = ud;
    if (q->rc != 0)
        reply_error(rq, q->rc > 0 ? 404 : 500, q->err);
    else if (q->b.failed)
        reply_error(rq, 500, "out of memory");
    else
        reply(rq, 200, &q->b);
    buf_free(&q->b);
    free(q);
}

static void read_incidents(server_req *rq, long long id)
{
    inc_read *q = calloc(1, sizeof *q);
    if (!q) {
        reply_error(rq, 500, "out of memory");
        return;
    }
    q->id = id;
    q->all = rq->query && strstr(rq->query, "all=1");
    if (daemon_api_read(rq, incidents_fn, incidents_done, q) < 0) {
        free(q);
        reply_error(rq, 500, "out of memory");
    }
}

static void get_incidents(server_req *rq)
{
    read_incidents(rq, 0);
}

static long long incident_id(const char *s)
{
    if (!strncmp(s, "INC-", 4) || !strncmp(s, "inc-", 4))
        s += 4;
    char *end;
    long long n = strtoll(s, &end, 10);
    return *s && !*end && n > 0 ? n : 0;
}

static void get_incident(server_req *rq, long long id)
{
    read_incidents(rq, id);
}

/* POST /incidents/ID/ack {by} and /resolve {summary}: answered once the
 * store has committed the change. */
static void moved(store_req *r)
{
    server_req *rq = r->ud;
    if (r->rc == STORE_ENOTFOUND)
        reply_error(rq, 404, r->err);
    else if (r->rc == STORE_ESTATE)
        reply_error(rq, 409, r->err);
    else if (r->rc < 0)
        reply_error(rq, 500, r->err);
    else {
        buf_t b = BUF_INIT;
        buf_fmt(&b, "{\"id\":\"INC-%lld\",\"status\":\"%s\"}", r->id, r->status);
        reply(rq, 200, &b);
        buf_free(&b);
        clock_kick(); /* the notifications the change owes */
    }
    free(r->text);
    free(r->actor);
    free(r);
}

static void post_incident(server_req *rq, long long id, const char *action)
{
    if (strcmp(action, "/ack") && strcmp(action, "/resolve")) {
        reply_error(rq, 404, "POST /incidents/ID/ack or /incidents/ID/resolve");
        return;
    }
    if (!body_table(rq))
        return;
    int bad = 0;
    const char *by = body_string("by", &bad);
    const char *summary = body_string("summary", &bad);
    if (bad) {
        reply_error(rq, 400, "by and summary must be strings");
        return;
    }
    store_req *r = calloc(1, sizeof *r);
    if (!r) {
        reply_error(rq, 500, "out of memory");
        return;
    }
    r->type = STORE_INC_MOVE;
    r->id = id;
    r->to = !strcmp(action, "/ack") ? "acknowledged" : "resolved";
    r->text = summary && r->to[0] == 'r' ? strdup(summary) : NULL;
    char actor[300];
    snprintf(actor, sizeof actor, "%s", by ? by : "api");
    r->actor = strdup(actor);
    r->done = moved;
    r->ud = rq;
    if (store_submit(daemon_g.db, r) < 0) {
        free(r->text);
        free(r->actor);
        free(r);
        reply_error(rq, 500, "out of memory");
    }
}

/* ---- runs ------------------------------------------------------------------------- */

static int query_int(const char *q, const char *name, int def)
{
    char key[32];
    snprintf(key, sizeof key, "%s=", name);
    for (const char *p = q; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (!strncmp(p, key, strlen(key)))
            return (int)strtol(p + strlen(key), NULL, 10);
        if (!strchr(p, '&'))
            break;
    }
    return def;
}

static void get_runs(server_req *rq)
{
    int limit = query_int(rq->query, "limit", 50);
    if (limit <= 0 || limit > 1000)
        limit = 50;
    buf_t b = BUF_INIT;
    buf_addstr(&b, "{\"active\":[");
    int k = 0;
    list_node *n;
    LIST_FOREACH(n, &daemon_g.runs)
    {
        d_run *d = LIST_ENTRY(n, d_run, node);
        if (d->run->done)
            continue;
        buf_addstr(&b, k++ ? ",{\"id\":" : "{\"id\":");
        buf_add_json(&b, d->id, strlen(d->id));
        buf_addstr(&b, ",\"runbook\":");
        buf_add_json(&b, d->runbook, strlen(d->runbook));
        buf_addstr(&b, ",\"trigger\":");
        buf_add_json(&b, d->trigger, strlen(d->trigger));
        buf_fmt(&b, ",\"started\":%.0f,\"waiting\":%s}", d->started,
                confirm_pending(d->run) ? "true" : "false");
    }
    buf_addstr(&b, "],\"runs\":[");
    char err[512];
    rows_to r = {&b, 0, NULL};
    if (daemon_g.db->be->runs(daemon_g.db, NULL, limit, row_into, &r, err, sizeof err) != 0) {
        buf_free(&b);
        reply_error(rq, 500, err);
        return;
    }
    buf_addstr(&b, "]}");
    reply(rq, 200, &b);
    buf_free(&b);
}

static void get_run(server_req *rq, const char *id)
{
    buf_t b = BUF_INIT;
    d_run *d = daemon_find_run(id);
    buf_addstr(&b, "{\"id\":");
    buf_add_json(&b, id, strlen(id));
    if (d && !d->run->done) {
        const char *q = confirm_pending(d->run);
        buf_addstr(&b, ",\"status\":\"running\",\"runbook\":");
        buf_add_json(&b, d->runbook, strlen(d->runbook));
        if (q) {
            /* The question as asked may hold a secret() value: redacted
             * like the run's log lines. */
            char *red = redact_dup(q, strlen(q), NULL);
            buf_addstr(&b, ",\"question\":");
            if (red)
                buf_add_json(&b, red, strlen(red));
            else
                buf_addstr(&b, "\"(withheld)\"");
            free(red);
        }
    }
    char err[512];
    rows_to r = {&b, 0, NULL};
    buf_addstr(&b, ",\"records\":[");
    int rc = daemon_g.db->be->run(daemon_g.db, id, row_into, &r, err, sizeof err);
    buf_addstr(&b, "]}");
    if (rc < 0 || (rc > 0 && !d)) {
        buf_free(&b);
        reply_error(rq, rc < 0 ? 500 : 404, rc < 0 ? err : "no such run");
        return;
    }
    reply(rq, 200, &b);
    buf_free(&b);
}

static int encode_top(lua_State *L)
{
    tn_json_encode(L, 1);
    return 1;
}

static void post_runs(server_req *rq)
{
    if (!body_table(rq))
        return;
    int bad = 0;
    const char *name = body_string("runbook", &bad);
    if (!name || bad) {
        reply_error(rq, 400,
                    "the body must name a runbook: {\"runbook\": \"NAME\", \"params\": {}}");
        return;
    }
    const char *params = NULL;
    lua_getfield(scratch, 1, "params");
    if (lua_istable(scratch, -1) && lua_rawlen(scratch, -1) > 0) {
        reply_error(rq, 400, "params must be a JSON object, not an array");
        return;
    }
    if (lua_istable(scratch, -1)) {
        lua_pushcfunction(scratch, encode_top);
        lua_insert(scratch, -2);
        if (lua_pcall(scratch, 1, 1, 0) == LUA_OK)
            params = lua_tostring(scratch, -1);
    } else if (!lua_isnil(scratch, -1)) {
        reply_error(rq, 400, "params must be a JSON object");
        return;
    }
    char id[40], err[1024];
    int rc = daemon_start_run(name, "api", params, NULL, NULL, 0, id, sizeof id, err, sizeof err);
    if (rc != 0) {
        reply_error(rq, rc > 0 ? 404 : daemon_g.draining ? 503 : 400, err);
        return;
    }
    buf_t b = BUF_INIT;
    buf_addstr(&b, "{\"id\":");
    buf_add_json(&b, id, strlen(id));
    buf_addstr(&b, ",\"runbook\":");
    buf_add_json(&b, name, strlen(name));
    buf_addc(&b, '}');
    reply(rq, 202, &b);
    buf_free(&b);
}

static void post_run(server_req *rq, const char *id, const char *action)
{
    int yes = !strcmp(action, "/approve");
    if (!yes && strcmp(action, "/deny")) {
        reply_error(rq, 404, "POST /runs/ID/approve or /runs/ID/deny");
        return;
    }
    d_run *d = daemon_find_run(id);
    if (!d || d->run->done) {
        reply_error(rq, 404, "no such run is running");
        return;
    }
    if (confirm_answer(d->run, yes) < 0) {
        reply_error(rq, 409, "the run is not waiting for an approval");
        return;
    }
    buf_t b = BUF_INIT;
    buf_addstr(&b, "{\"id\":");
    buf_add_json(&b, id, strlen(id));
    buf_fmt(&b, ",\"approved\":%s}", yes ? "true" : "false");
    reply(rq, 200, &b);
    buf_free(&b);
}

/* ---- dispatch ------------------------------------------------------------------- */

static void get_health(server_req *rq)
{
    buf_t b = BUF_INIT;
    int books = 0;
    list_node *n;
    LIST_FOREACH(n, &daemon_g.gen->books)
    books++;
    /* A store the clock cannot read means no escalation fires: a monitor
     * polling /healthz must see it (503, "store" says why). */
    const char *failing = clock_failing();
    buf_fmt(&b, "{\"status\":\"%s\",\"runbooks\":%d,\"runs\":%d,\"uptime\":%.0f",
            daemon_g.draining ? "stopping"
            : failing         ? "degraded"
                              : "ok",
            books, daemon_g.nruns, (double)time(NULL) - daemon_g.started);
    if (failing) {
        size_t len;
        char *red = redact_dup(failing, strlen(failing), &len);
        buf_addstr(&b, ",\"store\":");
        buf_add_json(&b, red ? red : "(withheld)", red ? len : 10);
        free(red);
    }
    buf_addstr(&b, "}");
    reply(rq, daemon_g.draining || failing ? 503 : 200, &b);
    buf_free(&b);
}

int daemon_api_hook(server_req *rq, const char *source);
void daemon_api_metrics(server_req *rq);

static void on_request(server_req *rq, void *ud)
{
    (void)ud;
    int r = rq->route;
    if (!strcmp(rq->method, "POST") && !token_ok(rq)) {
        reply_error(rq, 401,
                    daemon_g.token ? "a valid Authorization: Bearer token is required"
                                   : "no api_token is configured: POST routes are disabled");
        return;
    }
    char id[128];
    const char *rest;
    switch (r) {
    case R_HEALTH:
        get_health(rq);
        return;
    case R_METRICS:
        daemon_api_metrics(rq);
        return;
    case R_INCIDENTS:
        get_incidents(rq);
        return;
    case R_INCIDENT:
    case R_INCIDENT_POST: {
        long long n =
            segment(rq->path, "/incidents/", id, sizeof id, &rest) == 0 ? incident_id(id) : 0;
        if (!n) {
            reply_error(rq, 404, "no such incident (INC-<n>)");
        } else if (r == R_INCIDENT) {
            if (*rest)
                reply_error(rq, 404, "GET /incidents/ID");
            else
                get_incident(rq, n);
        } else {
            post_incident(rq, n, rest);
        }
        return;
    }
    case R_RUNS:
        get_runs(rq);
        return;
    case R_RUNS_POST:
        post_runs(rq);
        return;
    case R_RUN:
    case R_RUN_POST:
        if (segment(rq->path, "/runs/", id, sizeof id, &rest) < 0)
            reply_error(rq, 404, "no such run");
        else if (r == R_RUN)
            *rest ? reply_error(rq, 404, "GET /runs/ID") : get_run(rq, id);
        else
            post_run(rq, id, rest);
        return;
    case R_HOOK:
        if (segment(rq->path, "/hooks/", id, sizeof id, &rest) < 0 || *rest)
            reply_error(rq, 404, "POST /hooks/alertmanager, /hooks/grafana or /hooks/generic");
        else
            daemon_api_hook(rq, id);
        return;
    default: {
        /* A known path with another method is 405; anything else 404. */
        static const char *const known[] = {"/healthz", "/metrics", "/incidents", "/runs",
                                            "/hooks"};
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
            size_t k = strlen(known[i]);
            if (!strncmp(rq->path, known[i], k) && (rq->path[k] == 0 || rq->path[k] == '/')) {
                reply_error(rq, 405, "method not allowed here");
                return;
            }
        }
        reply_error(rq, 404, "no such route");
    }
    }
}

static void on_close(void *ud)
{
    (void)ud;
}

int daemon_api_open(char *err, size_t errlen)
{
    scratch = luaL_newstate();
    if (!scratch) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    *(void **)lua_getextraspace(scratch) = NULL; /* not a runbook state */
    server_opts o = {.listen = daemon_g.listen ? daemon_g.listen : "127.0.0.1:9077",
                     .routes = routes,
                     .nroutes = (int)(sizeof routes / sizeof routes[0]),
                     .max_body = 1 << 20,
                     .idle_timeout = 60,
                     .request_timeout = 10,
                     .evict_idle = 1,
                     .on_request = on_request,
                     .on_close = on_close};
    int rc = server_open(&daemon_g.srv, &o, err, errlen);
    return rc < 0 ? -1 : 0;
}

void daemon_api_close(void)
{
    if (scratch)
        lua_close(scratch);
    scratch = NULL;
}
