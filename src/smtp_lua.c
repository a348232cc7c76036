/* smtp_lua.c — smtp{...}: one mail over SMTP.  The message comes from
 * mail_msg.c (next to the wire, so no caller can inject a header); libcurl
 * sends it on a libuv pool thread while the task that asked is suspended.
 *
 * Not on the process-wide multi (http_multi.c) as HTTP is: libcurl's SMTP
 * ends every mail inside its "done" step, which sends the final "." and
 * then waits for the server's reply synchronously (smtp_done ->
 * smtp_block_statemach, in 7.88 as in today's 8.x); FORBID_REUSE's QUIT
 * waits too.  On the multi that wait froze the loop — every runbook, the
 * daemon's API — for as long as the server took, up to the timeout (a
 * server answering "." after 300 ms stalled the loop 305 ms).  As PQcancel
 * in sql_net.c, the blocking call goes to the pool instead. */
#include "smtp_lua.h"

#include "buf.h"
#include "dl_libs.h"
#include "list.h"
#include "mail_msg.h"
#include "redact.h"
#include "task.h"
#include "util.h"

#include <curl/curl.h>
#include <lauxlib.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#define SMTP_DEFAULT_TIMEOUT 10.0
#define SMTP_MAX_RCPT 100
#define SMTP_MAX_MESSAGE ((size_t)16 << 20)
#define SMTP_REPLY_MAX 256
/* Sends running at once: libuv's pool has 4 threads (UV_THREADPOOL_SIZE)
 * and sql_net.c needs them for DNS; a hung mail server holds one for up to
 * its timeout.  Further sends wait in smtp_waiting. */
#define SMTP_MAX_RUNNING 2

typedef struct smtp_send {
    uv_work_t work;
    CURL *easy;
    tn_task *task;
    atomic_int cancelled;    /* set on the loop, read by curl's callbacks on the pool */
    int submitted;           /* handed to the pool (else waiting for a turn) */
    list_node node;          /* in smtp_waiting or smtp_running */
    struct curl_slist *rcpt; /* the envelope's recipients (curl does not copy it) */
    buf_t msg;               /* the message, CRLF line endings, read by curl in place */
    size_t sent;
    char *where;   /* scheme://host:port, without user info: for messages */
    char *rcpts;   /* "a@x, b@x": for messages */
    char *subject; /* the subject as one line: for the dry run's action */
    CURLcode result;
    char reply[SMTP_REPLY_MAX]; /* the server's last 4xx/5xx reply line */
    char errbuf[CURL_ERROR_SIZE];
} smtp_send;

static void smtp_free(smtp_send *s)
{
    if (!s)
        return;
    if (s->easy)
        curl_easy_cleanup(s->easy);
    curl_slist_free_all(s->rcpt);
    buf_free(&s->msg);
    free(s->where);
    free(s->rcpts);
    free(s->subject);
    free(s);
}

/* "smtp://user:pw@host:587/x" -> "smtp://host:587": what messages show. */
static char *url_where(const char *url)
{
    const char *auth = strstr(url, "://");
    if (!auth)
        return strdup(url);
    auth += 3;
    size_t an = strcspn(auth, "/?#");
    const char *host = auth;
    for (size_t i = 0; i < an; i++)
        if (auth[i] == '@')
            host = auth + i + 1;
    buf_t b = BUF_INIT;
    buf_add(&b, url, (size_t)(auth - url));
    buf_add(&b, host, (size_t)(auth + an - host));
    return buf_take(&b, NULL);
}

/* ---- the transfer -------------------------------------------------------- */

/* The callbacks below run on the pool thread. */

static size_t on_read(char *dst, size_t size, size_t n, void *ud)
{
    smtp_send *s = ud;
    if (atomic_load(&s->cancelled))
        return CURL_READFUNC_ABORT;
    size_t room = size * n, left = s->msg.n - s->sent;
    if (room > left)
        room = left;
    memcpy(dst, s->msg.p + s->sent, room);
    s->sent += room;
    return room;
}

/* curl hands every server reply line to the header callback: the last
 * refusal is what a failure quotes ("550 5.1.1 <x@y>: no such user").  Only
 * 4xx/5xx lines are kept: after a failed RCPT curl still ends the session,
 * and the QUIT's "221 Bye" must not replace the reason. */
static size_t on_reply(char *p, size_t size, size_t n, void *ud)
{
    smtp_send *s = ud;
    size_t len = size * n, k = 0;
    if (len < 3 || (p[0] != '4' && p[0] != '5'))
        return size * n;
    while (len && (p[len - 1] == '\r' || p[len - 1] == '\n'))
        len--;
    for (size_t i = 0; i < len && k + 1 < sizeof s->reply; i++) {
        unsigned char c = (unsigned char)p[i];
        s->reply[k++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    s->reply[k] = '\0';
    return size * n;
}

/* Called by curl at least once a second, also while it waits for a reply:
 * a cancelled send stops there.  An abort counts as premature in curl, so
 * its SMTP "done" sends no final "." (which would deliver a truncated mail)
 * and the connection closes without a QUIT. */
static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    smtp_send *s = ud;
    return atomic_load(&s->cancelled) ? 1 : 0;
}

static const char *smtp_kind(CURLcode rc, long code)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        return "connect";
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return "dns";
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_LOGIN_DENIED:
    case CURLE_AUTH_ERROR:
        return "auth";
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
    default:
        break;
    }
    if (code >= 400)
        return "rejected";
    if (rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING)
        return "connect"; /* the connection broke before the server answered */
    return "protocol";
}

/* The scheduler's hand-off: true, or nil, err.  L == NULL: the task was
 * cancelled after the transfer ended; only free.  Everything is copied off
 * s and s freed before the first push, so a push that raises leaks nothing. */
static int smtp_push(lua_State *L, void *op)
{
    smtp_send *s = op;
    if (!L) {
        smtp_free(s);
        return 0;
    }
    long code = 0;
    curl_off_t us = 0;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(s->easy, CURLINFO_TOTAL_TIME_T, &us);
    const char *kind = s->result == CURLE_OK ? "ok" : smtp_kind(s->result, code);
    tn_run_call(tn_task_run(s->task), "smtp", s->where, (double)us / 1e6, kind);
    if (s->result == CURLE_OK) {
        smtp_free(s);
        lua_pushboolean(L, 1);
        return 1;
    }
    char msg[1024];
    const char *why = s->errbuf[0] ? s->errbuf : curl_easy_strerror(s->result);
    /* The reply is quoted when it is the one that failed (not an earlier
     * refusal curl worked around, such as EHLO's before HELO). */
    char codes[8];
    snprintf(codes, sizeof codes, "%03ld", code);
    int quote = code >= 400 && code < 600 && strncmp(s->reply, codes, 3) == 0;
    snprintf(msg, sizeof msg, "mail to %s via %s failed: %s%s%s%s", s->rcpts, s->where, why,
             quote ? " (server: " : "", quote ? s->reply : "", quote ? ")" : "");
    smtp_free(s);
    tn_err_fail(L, kind, "%s", msg);
    if (code >= 400) { /* an earlier 250 says nothing about a TLS failure */
        lua_pushinteger(L, code);
        lua_setfield(L, -2, "code");
    }
    return 2;
}

static list_node smtp_waiting = {&smtp_waiting, &smtp_waiting};
static list_node smtp_running = {&smtp_running, &smtp_running};
static int smtp_nrunning;

static void smtp_work(uv_work_t *w)
{
    smtp_send *s = w->data;
    s->result = curl_easy_perform(s->easy);
}

static void smtp_start_waiting(void);

static void smtp_after(uv_work_t *w, int status)
{
    smtp_send *s = w->data;
    list_remove(&s->node);
    smtp_nrunning--;
    if (status == UV_ECANCELED)
        s->result = CURLE_ABORTED_BY_CALLBACK;
    if (atomic_load(&s->cancelled))
        smtp_free(s);
    else
        tn_task_wake(s->task, smtp_push, s);
    curl_global_cleanup(); /* smtp_submit's */
    smtp_start_waiting();
}

/* Hands s to the pool.  curl's global state is held for the send (a
 * reference count, taken and dropped on the loop thread): a send still
 * running at exit keeps it alive after http_multi_shutdown's cleanup. */
static int smtp_submit(smtp_send *s)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    s->work.data = s;
    if (uv_queue_work(tn_loop(), &s->work, smtp_work, smtp_after) < 0) {
        curl_global_cleanup();
        return -1;
    }
    s->submitted = 1;
    list_push_back(&smtp_running, &s->node);
    smtp_nrunning++;
    return 0;
}

/* A send that cannot start fails its task. */
static void smtp_start_waiting(void)
{
    while (!list_empty(&smtp_waiting) && smtp_nrunning < SMTP_MAX_RUNNING) {
        smtp_send *s = LIST_ENTRY(smtp_waiting.next, smtp_send, node);
        list_remove(&s->node);
        if (smtp_submit(s) < 0) {
            s->result = CURLE_FAILED_INIT;
            tn_task_wake(s->task, smtp_push, s);
        }
    }
}

static int smtp_enqueue(smtp_send *s)
{
    if (smtp_nrunning < SMTP_MAX_RUNNING)
        return smtp_submit(s);
    list_push_back(&smtp_waiting, &s->node);
    return 0;
}

/* A running send is told to stop (curl notices within a second; one not
 * started yet never starts) and smtp_after frees it. */
static void smtp_stop(smtp_send *s)
{
    atomic_store(&s->cancelled, 1);
    uv_cancel((uv_req_t *)&s->work);
}

/* The task was cancelled while its mail was waiting or in flight; no wake
 * follows. */
static void smtp_cancel(void *op)
{
    smtp_send *s = op;
    if (s->submitted) {
        smtp_stop(s);
        return;
    }
    list_remove(&s->node);
    smtp_free(s);
}

void smtp_lua_shutdown(void)
{
    list_node *q, *n;
    LIST_FOREACH_SAFE(q, n, &smtp_waiting)
    {
        list_remove(q);
        smtp_free(LIST_ENTRY(q, smtp_send, node));
    }
    LIST_FOREACH(q, &smtp_running)
    {
        smtp_stop(LIST_ENTRY(q, smtp_send, node));
    }
}

/* ---- smtp{...} ----------------------------------------------------------- */

typedef struct smtp_opts {
    const char *url, *from, *subject, *body, *username, *password, *cacert;
    size_t fromn, subjectn, bodyn, passwordn;
    const char *to[SMTP_MAX_RCPT];
    size_t ton[SMTP_MAX_RCPT];
    int nto, starttls, insecure;
    double timeout;
} smtp_opts;

/* Reads the options table at 1 (may raise: nothing is allocated yet).  The
 * strings stay valid while the table holds them: no Lua code runs between
 * here and the copies curl and the message make of them. */
static const char *read_opts(lua_State *L, smtp_opts *o)
{
    memset(o, 0, sizeof *o);
    o->url = tn_opt_string(L, 1, "url", NULL, NULL);
    o->from = tn_opt_string(L, 1, "from", NULL, &o->fromn);
    o->subject = tn_opt_string(L, 1, "subject", "", &o->subjectn);
    o->body = tn_opt_string(L, 1, "body", "", &o->bodyn);
    o->username = tn_opt_string(L, 1, "username", NULL, NULL);
    o->password = tn_opt_string(L, 1, "password", NULL, &o->passwordn);
    o->cacert = tn_opt_string(L, 1, "cacert", NULL, NULL);
    o->insecure = tn_opt_bool(L, 1, "insecure", 0);
    o->timeout = tn_opt_duration(L, 1, "timeout", SMTP_DEFAULT_TIMEOUT);
    if (!o->url)
        return "'url' is missing (smtp://host:587 or smtps://host:465)";
    if (strncasecmp(o->url, "smtp://", 7) && strncasecmp(o->url, "smtps://", 8))
        return "'url' must start with smtp:// or smtps://";
    if (!o->from)
        return "'from' is missing";
    /* STARTTLS by default when there is a password to protect. */
    o->starttls = tn_opt_bool(L, 1, "starttls", o->username && !strncasecmp(o->url, "smtp:", 5));
    int t = lua_getfield(L, 1, "to");
    if (t == LUA_TSTRING) {
        o->to[0] = lua_tolstring(L, -1, &o->ton[0]);
        o->nto = 1;
    } else if (t == LUA_TTABLE) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
        if (n > SMTP_MAX_RCPT)
            return "'to' has more than 100 recipients";
        for (lua_Integer i = 1; i <= n; i++) {
            if (lua_rawgeti(L, -1, i) != LUA_TSTRING)
                return "'to' must be an address or a list of addresses";
            o->to[o->nto] = lua_tolstring(L, -1, &o->ton[o->nto]);
            o->nto++;
            lua_pop(L, 1);
        }
    } else if (t != LUA_TNIL) {
        return "'to' must be an address or a list of addresses";
    }
    lua_pop(L, 1);
    if (o->nto == 0)
        return "'to' names no recipient";
    return NULL;
}

int smtp_lua_send(lua_State *L)
{
    tn_task *t = tn_task_current(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    smtp_opts o;
    const char *bad = read_opts(L, &o);
    if (bad)
        return tn_err_fail(L, "invalid", "smtp: %s", bad);
    /* Whatever happens next, the password is a secret from now on. */
    if (o.password && redact_add(o.password, o.passwordn) < 0)
        return luaL_error(L, "out of memory");

    char err[256];
    mail_mailbox from, to[SMTP_MAX_RCPT];
    if (mail_msg_mailbox(o.from, o.fromn, &from, "'from'", err, sizeof err) < 0)
        return tn_err_fail(L, "invalid", "smtp: %s", err);
    for (int i = 0; i < o.nto; i++) {
        char what[32];
        snprintf(what, sizeof what, "'to' #%d", i + 1);
        if (mail_msg_mailbox(o.to[i], o.ton[i], &to[i], what, err, sizeof err) < 0)
            return tn_err_fail(L, "invalid", "smtp: %s", err);
    }

    /* From here on: C memory only, no Lua call until s is handed over. */
    smtp_send *s = calloc(1, sizeof *s);
    if (!s)
        return luaL_error(L, "out of memory");
    list_init(&s->node);
    buf_init(&s->msg, SMTP_MAX_MESSAGE);
    size_t subjn = 0;
    s->subject = mail_msg_subject_line(o.subject, o.subjectn, &subjn);
    s->where = url_where(o.url);
    buf_t rl = BUF_INIT;
    for (int i = 0; i < o.nto; i++) {
        if (i)
            buf_add(&rl, ", ", 2);
        buf_add(&rl, to[i].addr, to[i].addrn);
    }
    s->rcpts = buf_take(&rl, NULL);
    if (!s->subject || !s->where || !s->rcpts)
        goto nomem;
    mail_msg_build(&s->msg, &from, to, o.nto, s->subject, subjn, o.body, o.bodyn);
    if (s->msg.failed) {
        smtp_free(s);
        return tn_err_fail(L, "invalid", "smtp: the message is larger than %zu bytes",
                           (size_t)SMTP_MAX_MESSAGE);
    }

    tn_run *run = tn_task_run(t);
    if (tn_run_is_dry(run)) {
        buf_t a = BUF_INIT;
        buf_fmt(&a, "mail to %s via %s: %s", s->rcpts, s->where, s->subject);
        tn_run_action(run, "email", buf_str(&a));
        buf_free(&a);
        smtp_free(s);
        lua_pushboolean(L, 1);
        return 1;
    }

    char path[MAIL_MSG_MAX_ADDR + 3];
    for (int i = 0; i < o.nto; i++) {
        snprintf(path, sizeof path, "<%.*s>", (int)to[i].addrn, to[i].addr);
        struct curl_slist *l = curl_slist_append(s->rcpt, path);
        if (!l)
            goto nomem;
        s->rcpt = l;
    }
    if (!(s->easy = curl_easy_init()))
        goto nomem;
    CURL *e = s->easy;
    long ms = o.timeout > 86400 ? 86400000L : (long)(o.timeout * 1000 + 0.5);
    snprintf(path, sizeof path, "<%.*s>", (int)from.addrn, from.addr);
    curl_easy_setopt(e, CURLOPT_URL, o.url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, path);
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, s->rcpt);
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(e, CURLOPT_READDATA, s);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)s->msg.n);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_reply);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms);
    /* The wait for the QUIT's reply ignores CURLOPT_TIMEOUT: this bounds it
     * (curl's default is 120 s).  The connection closes at the end of the
     * send, on the pool thread: kept in the handle's cache, its QUIT would
     * come from curl_easy_cleanup, on the loop. */
    curl_easy_setopt(e, CURLOPT_SERVER_RESPONSE_TIMEOUT, ms > 0 ? (ms + 999) / 1000 : 0L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    if (o.starttls)
        curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL); /* fail closed */
    if (o.insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (o.cacert)
        curl_easy_setopt(e, CURLOPT_CAINFO, o.cacert);
    if (o.username)
        curl_easy_setopt(e, CURLOPT_USERNAME, o.username);
    if (o.password)
        curl_easy_setopt(e, CURLOPT_PASSWORD, o.password);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L); /* not on the main thread */
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, s);
    s->task = t;
    if (smtp_enqueue(s) < 0) {
        smtp_free(s);
        return tn_err_fail(L, "protocol", "smtp: could not start the transfer");
    }
    return tn_task_suspend(L, t, smtp_cancel, s);
nomem:
    smtp_free(s);
    const char *why = dl_libs_error(DL_LIBCURL); /* libcurl is loaded on first use */
    return luaL_error(L, "email: %s", why ? why : "out of memory");
}
