/* http_multi.c — the one libcurl multi handle of the process on the libuv
 * loop: CURLMOPT_SOCKETFUNCTION + CURLMOPT_TIMERFUNCTION, one uv_poll per
 * socket, one uv_timer for curl's timeout, curl_multi_socket_action, then
 * curl_multi_info_read to hand finished transfers to their owners. */
#include "http_multi.h"

#include "task.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

/* Idle connections kept open for reuse.  curl's default (4 x the number of
 * transfers in the multi at that moment) would drop most of them whenever a
 * burst of requests is followed by a quieter period. */
#define HTTP_MAX_CONNECTS 256L

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
    int swept;   /* listed in `removed` since the last sweep */
} http_sock;

static CURLM *multi;
static uv_timer_t timer;
static http_sock **socks; /* connection sockets by fd */
static size_t nsocks;

static void check_done(void);

/* Sockets curl stopped watching during the current curl call.  curl 7.88
 * closes a socket that is still connecting (a transfer removed mid-connect)
 * with close() and not through on_close_socket; its uv_poll would then name a
 * dead fd and libuv aborts on the next epoll_ctl.  After each curl call we
 * look at these few fds and drop the watcher of any that is gone. */
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
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
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

/* Hands finished transfers to their owners. */
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
        job->done(job, rc);
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
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, HTTP_MAX_CONNECTS);
    uv_timer_init(tn_loop(), &timer);
    return 0;
}

int http_multi_add(CURL *easy, http_job *job)
{
    if (multi_init() < 0)
        return -1;
    curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)job);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
    return curl_multi_add_handle(multi, easy) == CURLM_OK ? 0 : -1;
}

void http_multi_remove(CURL *easy)
{
    /* Closes the connection if the transfer was midway (on_close_socket). */
    if (multi) {
        curl_multi_remove_handle(multi, easy);
        sweep_removed();
    }
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
    uv_timer_stop(&timer);
    uv_close((uv_handle_t *)&timer, NULL);
    curl_global_cleanup();
}
