/* http_multi.c — the one libcurl multi handle of the process on the libuv
 * loop: CURLMOPT_SOCKETFUNCTION + CURLMOPT_TIMERFUNCTION, one uv_poll per
 * socket, one uv_timer for curl's timeout, curl_multi_socket_action, then
 * curl_multi_info_read to hand finished transfers to their owners.  In front
 * of the multi, a queue per host holds the transfers over the host's cap. */
#include "http_multi.h"

#include "task.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

/* Idle connections kept open for reuse, at least: curl's default (4 x the
 * number of transfers in the multi at that moment) would drop most of them
 * whenever a burst of requests is followed by a quieter period.  It grows
 * with the transfers in flight (multi_grow_cache): a cache smaller than
 * those closes a connection at nearly every transfer's end, and the next
 * transfer opens one again. */
#define HTTP_MIN_CONNECTS 256L

/* One uv_poll per socket curl asks us to watch.  Connection sockets (opened
 * through on_open_socket) keep theirs from open to close: between transfers
 * a kept-alive connection stays registered with epoll, unreferenced, so the
 * next transfer on it costs no epoll_ctl (uv_poll_start re-registers every
 * time it is called).  Other sockets (the resolver's) follow multi-uv.c. */
typedef struct http_sock {
    uv_poll_t poll;
    curl_socket_t fd;
    int events;  /* UV_READABLE|UV_WRITABLE curl asked for; 0: none */
    int polling; /* the uv_poll is started with these events */
    int ours;    /* opened by on_open_socket, closed by on_close_socket */
    int active;  /* curl asked to read it: connected and in use, so curl
                    closes it through on_close_socket from now on */
    int swept;   /* listed in `removed` since the last sweep */
} http_sock;

static CURLM *multi;
static uv_timer_t timer;
static http_sock **socks; /* connection sockets by fd */
static size_t nsocks;

static void check_done(void);

/* Sockets curl stopped watching during the current curl call before it ever
 * read from them.  curl 7.88 closes a socket that is still connecting (a
 * transfer removed mid-connect, a failed connect) with close() and not
 * through on_close_socket; its uv_poll would then name a dead fd and libuv
 * aborts on the next epoll_ctl.  After each curl call we look at these few
 * fds and drop the watcher of any that is gone.  A socket curl has read from
 * is connected and "active" in curl (cf-socket.c): curl closes those through
 * on_close_socket, so a kept-alive connection costs no check per transfer. */
static http_sock **removed;
static size_t nremoved, capremoved;

static void sock_close(http_sock *s);

static void sweep_removed(void)
{
    for (size_t i = 0; i < nremoved; i++) {
        http_sock *s = removed[i];
        s->swept = 0;
        if ((size_t)s->fd < nsocks && socks[s->fd] == s && fcntl(s->fd, F_GETFD) == -1 &&
            errno == EBADF) {
            socks[s->fd] = NULL;
            sock_close(s);
        }
    }
    nremoved = 0;
}

static void note_removed(http_sock *s)
{
    if (s->swept)
        return;
    if (nremoved == capremoved) {
        size_t cap = capremoved ? capremoved * 2 : 16;
        http_sock **t = realloc(removed, cap * sizeof *t);
        if (!t)
            return;
        removed = t;
        capremoved = cap;
    }
    s->swept = 1;
    removed[nremoved++] = s;
}

static void sock_close_cb(uv_handle_t *h)
{
    free(h->data);
}

static void sock_close(http_sock *s)
{
    /* uv_close stops the watcher at once, while fd still names this socket;
     * only the memory waits for the callback. */
    uv_close((uv_handle_t *)&s->poll, sock_close_cb);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    http_sock *s = p->data;
    int flags = 0, running;
    if (status < 0)
        s->polling = 0; /* libuv stopped the watcher (POLLERR) */
    if (!s->events) {
        /* An idle kept-alive connection became readable: the server closed
         * it (or misbehaves).  curl notices when it next tries to reuse it. */
        uv_poll_stop(&s->poll);
        s->polling = 0;
        return;
    }
    if (status < 0) {
        /* Let curl read and write: the failing call gives it the real
         * error (e.g. "connection reset by peer"), not just "poll error". */
        flags = CURL_CSELECT_IN | CURL_CSELECT_OUT;
    } else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    curl_multi_socket_action(multi, s->fd, flags, &running);
    /* s stays valid until its close callback, which cannot run before we
     * return: if curl still wants the socket, watch it again. */
    if (status < 0 && !uv_is_closing((uv_handle_t *)&s->poll) && s->events && !s->polling &&
        uv_poll_start(&s->poll, s->events, on_poll) == 0)
        s->polling = s->events;
    check_done();
}

static void on_timer(uv_timer_t *h)
{
    int running;
    (void)h;
    curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done();
}

static http_sock *sock_new(curl_socket_t fd, int ours)
{
    http_sock *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (uv_poll_init_socket(tn_loop(), &s->poll, fd) != 0) {
        free(s);
        return NULL;
    }
    s->fd = fd;
    s->ours = ours;
    s->poll.data = s;
    return s;
}

/* CURLOPT_OPENSOCKETFUNCTION: a connection socket, watched until closed. */
static curl_socket_t on_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
    (void)clientp;
    (void)purpose;
    curl_socket_t fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
    if (fd == CURL_SOCKET_BAD)
        return fd;
    if ((size_t)fd >= nsocks) {
        size_t n = nsocks ? nsocks : 64;
        while (n <= (size_t)fd)
            n *= 2;
        http_sock **t = realloc(socks, n * sizeof *t);
        if (!t)
            goto fail;
        memset(t + nsocks, 0, (n - nsocks) * sizeof *t);
        socks = t;
        nsocks = n;
    }
    if (socks[fd]) {
        /* A stale entry: that socket was closed without on_close_socket. */
        sock_close(socks[fd]);
        socks[fd] = NULL;
    }
    if (!(socks[fd] = sock_new(fd, 1)))
        goto fail;
    return fd;
fail:
    close(fd);
    return CURL_SOCKET_BAD;
}

/* CURLOPT_CLOSESOCKETFUNCTION: curl is done with a connection socket (it
 * sent CURL_POLL_REMOVE before). */
static int on_close_socket(void *clientp, curl_socket_t fd)
{
    (void)clientp;
    if ((size_t)fd < nsocks && socks[fd]) {
        sock_close(socks[fd]);
        socks[fd] = NULL;
    }
    return close(fd);
}

/* CURLMOPT_SOCKETFUNCTION: start, change or stop watching one socket. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    http_sock *s = socketp;
    (void)easy;
    (void)userp;
    if (!s && (size_t)fd < nsocks)
        s = socks[fd];
    if (what == CURL_POLL_REMOVE) {
        if (!s)
            return 0;
        curl_multi_assign(multi, fd, NULL);
        s->events = 0;
        if (s->ours) {
            /* Keep the registration for the connection's next transfer, but
             * don't let an idle connection keep the loop alive. */
            uv_unref((uv_handle_t *)&s->poll);
            if (!s->active)
                note_removed(s);
        } else {
            sock_close(s);
        }
        return 0;
    }
    if (!s && !(s = sock_new(fd, 0)))
        return -1;
    if (!socketp)
        curl_multi_assign(multi, fd, s);
    int events = 0;
    if (what & CURL_POLL_IN) {
        events |= UV_READABLE;
        s->active = 1; /* curl watches a connecting socket for writing only */
    }
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    if (!s->events)
        uv_ref((uv_handle_t *)&s->poll);
    s->events = events;
    if (s->polling == events)
        return 0;
    s->polling = events;
    return uv_poll_start(&s->poll, events, on_poll) == 0 ? 0 : -1;
}

/* CURLMOPT_TIMERFUNCTION: curl wants socket_action(TIMEOUT) in ms (-1: never). */
static int on_timeout_change(CURLM *m, long ms, void *userp)
{
    (void)m;
    (void)userp;
    if (ms < 0)
        uv_timer_stop(&timer);
    else
        uv_timer_start(&timer, on_timer, (uint64_t)ms, 0);
    return 0;
}

/* ---- hosts and their queues ------------------------------------------- */

/* A host seen lately: its transfers in flight and those waiting.  Idle
 * entries are kept (a task doing one request after another to the same host
 * would otherwise allocate one per request) up to HTTP_HOSTS_KEEP entries. */
struct http_host {
    http_host *next; /* in its hash chain */
    list_node queue; /* http_job.node, first come first served */
    int running;
    unsigned hash;
    char key[]; /* "scheme://host:port", lower case */
};

#define HTTP_HOST_BUCKETS 64
#define HTTP_HOSTS_KEEP 64
#define HTTP_HOST_KEY_MAX 300

static http_host *hosts[HTTP_HOST_BUCKETS];
static int nhosts;
static int host_max = HTTP_MULTI_HOST_MAX_DEFAULT;
static int nrunning;                         /* transfers in the multi */
static long maxconnects = HTTP_MIN_CONNECTS; /* CURLMOPT_MAXCONNECTS now */
static int nqueued;                          /* transfers in the hosts' queues */
static uv_timer_t qtimer;                    /* queue service: deadlines, room */
static uint64_t qtimer_due;                  /* 0: not armed */

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 'a' - 'A') : c;
}

size_t http_multi_host_key(const char *url, char *out, size_t cap)
{
    const char *p = url, *scheme = "http";
    size_t sn = 4, n = 0;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '+' || *p == '-' || *p == '.')
        p++;
    if (p > url && p[0] == ':' && p[1] == '/' && p[2] == '/') {
        scheme = url;
        sn = (size_t)(p - url);
        p += 3;
    } else {
        p = url; /* no scheme: curl takes it as http */
    }
    const char *auth = p, *end = p + strcspn(p, "/?#");
    for (const char *q = auth; q < end; q++)
        if (*q == '@')
            auth = q + 1;
    const char *host = auth, *hend, *port = NULL;
    if (*host == '[') {
        hend = memchr(host, ']', (size_t)(end - host));
        if (!hend)
            return 0;
        hend++;
        if (hend < end && *hend == ':')
            port = hend + 1;
        else if (hend != end)
            return 0;
    } else {
        hend = memchr(host, ':', (size_t)(end - host));
        if (hend)
            port = hend + 1;
        else
            hend = end;
    }
    if (hend == host || sn + 3 + (size_t)(hend - host) + 7 >= cap)
        return 0;
    for (size_t i = 0; i < sn; i++)
        out[n++] = lower(scheme[i]);
    memcpy(out + n, "://", 3);
    n += 3;
    for (const char *q = host; q < hend; q++)
        out[n++] = lower(*q);
    long pn = 0;
    if (port && port < end) {
        for (const char *q = port; q < end; q++) {
            if (*q < '0' || *q > '9')
                return 0;
            pn = pn * 10 + (*q - '0');
            if (pn > 65535)
                return 0;
        }
    } else {
        pn = (sn == 5 && out[4] == 's') ? 443 : 80; /* https, else http (or refused) */
    }
    char digits[8];
    size_t nd = 0;
    do
        digits[nd++] = (char)('0' + pn % 10);
    while ((pn /= 10) > 0);
    out[n++] = ':';
    while (nd)
        out[n++] = digits[--nd];
    out[n] = '\0';
    return n;
}

static unsigned key_hash(const char *k, size_t n)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)k[i]) * 16777619u;
    return h;
}

/* The entry for url's host, created if new; NULL: not capped (an odd URL,
 * or out of memory). */
static http_host *host_get(const char *url)
{
    char key[HTTP_HOST_KEY_MAX];
    size_t n = http_multi_host_key(url, key, sizeof key);
    if (!n)
        return NULL;
    unsigned h = key_hash(key, n);
    http_host **b = &hosts[h % HTTP_HOST_BUCKETS];
    for (http_host *e = *b; e; e = e->next)
        if (e->hash == h && !strcmp(e->key, key))
            return e;
    http_host *e = malloc(sizeof *e + n + 1);
    if (!e)
        return NULL;
    memcpy(e->key, key, n + 1);
    e->hash = h;
    e->running = 0;
    list_init(&e->queue);
    e->next = *b;
    *b = e;
    nhosts++;
    return e;
}

/* Forgets an idle entry when there are many. */
static void host_trim(http_host *e)
{
    if (e->running || !list_empty(&e->queue) || nhosts <= HTTP_HOSTS_KEEP)
        return;
    for (http_host **pp = &hosts[e->hash % HTTP_HOST_BUCKETS]; *pp; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            free(e);
            nhosts--;
            return;
        }
    }
}

static int host_has_room(const http_host *e)
{
    return host_max <= 0 || e->running < host_max;
}

/* A cache smaller than the transfers in flight closes connections that the
 * next transfers then open again (nearly one per request at 1,000 in flight). */
static void multi_grow_cache(void)
{
    if (nrunning <= maxconnects)
        return;
    while (maxconnects < nrunning)
        maxconnects *= 2;
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, maxconnects);
}

/* Has job's owner set up a handle, and hands it to libcurl.  0, or
 * CURLE_OUT_OF_MEMORY (no handle), CURLE_FAILED_INIT (refused). */
static CURLcode job_start(http_job *job, long timeout_ms)
{
    if (!(job->easy = job->start(job)))
        return CURLE_OUT_OF_MEMORY;
    curl_easy_setopt(job->easy, CURLOPT_PRIVATE, (char *)job);
    curl_easy_setopt(job->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    if (curl_multi_add_handle(multi, job->easy) != CURLM_OK)
        return CURLE_FAILED_INIT;
    job->state = HTTP_JOB_RUNNING;
    job->started = 1;
    if (job->host)
        job->host->running++;
    nrunning++;
    multi_grow_cache();
    return CURLE_OK;
}

/* The transfer left the multi (done or removed): its slot is free. */
static void job_stopped(http_job *job)
{
    assert(job->state == HTTP_JOB_RUNNING && nrunning > 0 &&
           (!job->host || job->host->running > 0));
    job->state = HTTP_JOB_IDLE;
    nrunning--;
    if (job->host)
        job->host->running--;
}

/* Ms left before job's deadline: > 0, or 0 when there is none, or -1 when
 * it has passed. */
static long job_time_left(const http_job *job, uint64_t now)
{
    if (!job->deadline)
        return 0;
    return job->deadline > now ? (long)(job->deadline - now) : -1;
}

static void on_qtimer(uv_timer_t *h);

static void queue_push(http_host *e, http_job *job)
{
    assert(job->state == HTTP_JOB_IDLE && !list_linked(&job->node));
    job->state = HTTP_JOB_QUEUED;
    list_push_back(&e->queue, &job->node);
    nqueued++;
}

/* Takes job out of its host's queue.  The timer goes with the last one: a
 * deadline nobody waits for must not keep the loop alive. */
static void queue_take(http_job *job)
{
    assert(job->state == HTTP_JOB_QUEUED && nqueued > 0);
    list_remove(&job->node);
    job->state = HTTP_JOB_IDLE;
    if (--nqueued == 0) {
        uv_timer_stop(&qtimer);
        qtimer_due = 0;
    }
}

static void qtimer_set(uint64_t due)
{
    if (qtimer_due && qtimer_due <= due)
        return;
    uint64_t now = uv_now(tn_loop());
    qtimer_due = due;
    uv_timer_start(&qtimer, on_qtimer, due > now ? due - now : 0, 0);
}

/* Starts e's queued transfers while it has room.  A transfer whose deadline
 * passed in the queue ends there, with CURLE_OPERATION_TIMEDOUT: from the
 * loop only (done may be called), never from http_multi_remove. */
static void host_pump(http_host *e)
{
    uint64_t now = uv_now(tn_loop());
    list_node *q;
    while (host_has_room(e) && (q = list_first(&e->queue))) {
        http_job *job = LIST_ENTRY(q, http_job, node);
        queue_take(job);
        long left = job_time_left(job, now);
        CURLcode rc = left < 0 ? CURLE_OPERATION_TIMEDOUT : job_start(job, left);
        if (rc != CURLE_OK) {
            job->host = NULL;
            job->done(job, rc);
        }
    }
}

/* The queue service: queued transfers whose deadline passed end, hosts with
 * room (after a cancel, or a larger cap) start theirs, and the timer is set
 * for the next deadline.  Looks at every queued transfer: it runs at a
 * deadline or after a cancel, not per request. */
static void on_qtimer(uv_timer_t *h)
{
    (void)h;
    qtimer_due = 0;
    uint64_t now = uv_now(tn_loop()), next = 0;
    for (int b = 0; b < HTTP_HOST_BUCKETS; b++) {
        for (http_host *e = hosts[b], *en; e; e = en) {
            en = e->next;
            list_node *q, *qn;
            LIST_FOREACH_SAFE(q, qn, &e->queue)
            {
                http_job *job = LIST_ENTRY(q, http_job, node);
                if (job_time_left(job, now) < 0) {
                    queue_take(job);
                    job->done(job, CURLE_OPERATION_TIMEDOUT);
                }
            }
            host_pump(e);
            LIST_FOREACH(q, &e->queue)
            {
                http_job *job = LIST_ENTRY(q, http_job, node);
                if (job->deadline && (!next || job->deadline < next))
                    next = job->deadline;
            }
            host_trim(e);
        }
    }
    if (next)
        qtimer_set(next);
}

/* ---- finished transfers ------------------------------------------------ */

/* Hands finished transfers to their owners, and their slots to the next
 * transfers queued for the same host. */
static void check_done(void)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode rc = m->data.result; /* m is invalid once the handle is removed */
        http_job *job = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&job);
        curl_multi_remove_handle(multi, easy);
        http_host *e = job->host;
        job_stopped(job);
        job->host = NULL;
        job->done(job, rc);
        if (e) {
            host_pump(e);
            host_trim(e);
        }
    }
    sweep_removed();
}

static int multi_init(void)
{
    if (multi)
        return 0;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    if (!(multi = curl_multi_init())) {
        curl_global_cleanup();
        return -1;
    }
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timeout_change);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, maxconnects);
    uv_timer_init(tn_loop(), &timer);
    uv_timer_init(tn_loop(), &qtimer);
    return 0;
}

void http_multi_easy_init(CURL *easy)
{
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
}

int http_multi_add(http_job *job, const char *url, long timeout_ms)
{
    if (multi_init() < 0)
        return -1;
    assert(job->state == HTTP_JOB_IDLE);
    job->started = 0;
    job->easy = NULL;
    list_init(&job->node);
    job->deadline = timeout_ms > 0 ? uv_now(tn_loop()) + (uint64_t)timeout_ms : 0;
    http_host *e = job->host = host_get(url);
    if (e && (!host_has_room(e) || !list_empty(&e->queue))) {
        queue_push(e, job);
        if (job->deadline)
            qtimer_set(job->deadline);
        return 0;
    }
    if (job_start(job, timeout_ms) != CURLE_OK) {
        job->state = HTTP_JOB_IDLE;
        job->host = NULL;
        if (e)
            host_trim(e);
        return -1;
    }
    return 0;
}

void http_multi_remove(http_job *job)
{
    if (!multi)
        return;
    if (job->state == HTTP_JOB_QUEUED) {
        http_host *e = job->host;
        queue_take(job);
        job->host = NULL;
        host_trim(e);
        return;
    }
    if (job->state != HTTP_JOB_RUNNING)
        return;
    /* Closes the connection if the transfer was midway (on_close_socket). */
    curl_multi_remove_handle(multi, job->easy);
    sweep_removed();
    http_host *e = job->host;
    job_stopped(job);
    job->host = NULL;
    /* The next transfer queued for the host starts from the loop: done must
     * not be called from here (a cancel, with Lua on the stack). */
    if (e && !list_empty(&e->queue))
        qtimer_set(uv_now(tn_loop()));
}

void http_multi_set_host_max(int n)
{
    host_max = n > 0 ? n : 0;
    if (multi && nqueued)
        qtimer_set(uv_now(tn_loop())); /* a larger cap: start what fits now */
}

void http_multi_shutdown(void)
{
    if (!multi)
        return;
    curl_multi_cleanup(multi); /* closes the cached connections: on_close_socket */
    multi = NULL;
    /* Sockets curl never closed (none expected) lose their watchers too. */
    for (size_t i = 0; i < nsocks; i++)
        if (socks[i])
            sock_close(socks[i]);
    free(socks);
    socks = NULL;
    nsocks = 0;
    free(removed);
    removed = NULL;
    nremoved = capremoved = 0;
    for (int b = 0; b < HTTP_HOST_BUCKETS; b++) {
        while (hosts[b]) {
            http_host *e = hosts[b];
            hosts[b] = e->next;
            free(e);
        }
    }
    nhosts = 0;
    nrunning = nqueued = 0;
    maxconnects = HTTP_MIN_CONNECTS;
    qtimer_due = 0;
    uv_timer_stop(&qtimer);
    uv_close((uv_handle_t *)&qtimer, NULL);
    uv_timer_stop(&timer);
    uv_close((uv_handle_t *)&timer, NULL);
    curl_global_cleanup();
}
