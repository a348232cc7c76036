/* bench/curl_raw.c — the ceiling of Tocsin's HTTP client: libcurl alone, no
 * Lua, doing the GETs bench/http_get.lua does (C transfers in flight, each
 * handle set up once and re-added N/C times, the body collected into a
 * buffer).  Two loops, the two ways to drive a multi handle:
 *   poll  curl_multi_poll + curl_multi_perform (curl's own loop)
 *   uv    the multi socket interface on libuv (docs/examples/multi-uv.c:
 *         one uv_poll per socket, one uv_timer), as Tocsin does
 * The connection cache holds C connections (CURLMOPT_MAXCONNECTS), so every
 * transfer after the first C can reuse one.
 * Usage: curl_raw poll|uv URL N C
 * Prints: "curl_raw MODE: <n> requests in <s> s = <r> req/s, <k> connects,
 *          <f> failed, <u> us CPU/req"
 * Built by bench/http.sh and bench/http_sweep.sh:
 *   cc -O2 bench/curl_raw.c $(pkg-config --cflags --libs libcurl libuv) */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <uv.h>

typedef struct xfer {
    CURL *easy;
    char *body;
    size_t n, cap;
    long left; /* requests this handle still has to make */
} xfer;

static CURLM *multi;
static long ndone, nfailed, nconnects;

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    size_t len = size * nmemb;
    if (x->n + len > x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 1024;
        while (cap < x->n + len)
            cap *= 2;
        char *b = realloc(x->body, cap);
        if (!b)
            return 0;
        x->body = b;
        x->cap = cap;
    }
    memcpy(x->body + x->n, p, len);
    x->n += len;
    return len;
}

/* Every finished transfer: count it, start the handle's next one. */
static void reap(void)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *e = m->easy_handle;
        CURLcode rc = m->data.result;
        xfer *x;
        long status = 0, conns = 0;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &conns);
        curl_multi_remove_handle(multi, e);
        ndone++;
        nconnects += conns;
        if (rc != CURLE_OK || status != 200) {
            if (nfailed++ == 0)
                fprintf(stderr, "curl_raw: %s (status %ld)\n", curl_easy_strerror(rc), status);
        }
        x->n = 0;
        if (--x->left > 0)
            curl_multi_add_handle(multi, e);
    }
}

/* ---- the libuv loop (multi-uv.c) --------------------------------------- */

static uv_loop_t *loop;
static uv_timer_t timer;

typedef struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
} sock_ctx;

static void ctx_close_cb(uv_handle_t *h)
{
    free(h->data);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    sock_ctx *c = p->data;
    int flags = 0, running;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(multi, c->fd, flags, &running);
    reap();
}

static void on_timer(uv_timer_t *t)
{
    int running;
    (void)t;
    curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
    reap();
}

static int on_timeout_change(CURLM *m, long ms, void *u)
{
    (void)m;
    (void)u;
    if (ms < 0)
        uv_timer_stop(&timer);
    else
        uv_timer_start(&timer, on_timer, (uint64_t)ms, 0);
    return 0;
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *u, void *sockp)
{
    sock_ctx *c = sockp;
    (void)e;
    (void)u;
    if (what == CURL_POLL_REMOVE) {
        if (c) {
            uv_poll_stop(&c->poll);
            uv_close((uv_handle_t *)&c->poll, ctx_close_cb);
            curl_multi_assign(multi, fd, NULL);
        }
        return 0;
    }
    if (!c) {
        c = malloc(sizeof *c);
        if (!c || uv_poll_init_socket(loop, &c->poll, fd) != 0) {
            free(c);
            return -1;
        }
        c->fd = fd;
        c->poll.data = c;
        curl_multi_assign(multi, fd, c);
    }
    int ev = 0;
    if (what & CURL_POLL_IN)
        ev |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        ev |= UV_WRITABLE;
    return uv_poll_start(&c->poll, ev, on_poll) == 0 ? 0 : -1;
}

/* ---- main -------------------------------------------------------------- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_secs(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc != 5 || (strcmp(argv[1], "poll") && strcmp(argv[1], "uv"))) {
        fprintf(stderr, "usage: curl_raw poll|uv URL N C\n");
        return 2;
    }
    int use_uv = !strcmp(argv[1], "uv");
    const char *url = argv[2];
    long n = atol(argv[3]), c = atol(argv[4]);
    if (n <= 0 || c <= 0)
        return 2;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, c);
    if (use_uv) {
        loop = uv_default_loop();
        uv_timer_init(loop, &timer);
        curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timeout_change);
    }
    xfer *xs = calloc((size_t)c, sizeof *xs);
    long per = n / c;
    for (long i = 0; i < c; i++) {
        xfer *x = &xs[i];
        x->easy = curl_easy_init();
        x->left = per + 1; /* + a warm-up request that opens the connection */
        curl_easy_setopt(x->easy, CURLOPT_URL, url);
        curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
        curl_easy_setopt(x->easy, CURLOPT_PRIVATE, (char *)x);
        curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
    }
    /* Warm-up: one request per handle, all at once, so the measured part
     * starts with C open connections (as bench/http_get.lua does). */
    int running = 1;
    for (long i = 0; i < c; i++) {
        xs[i].left = 1;
        curl_multi_add_handle(multi, xs[i].easy);
    }
    if (use_uv) {
        int r;
        curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &r);
        reap();
        while (ndone < c)
            uv_run(loop, UV_RUN_ONCE);
    } else {
        while (ndone < c) {
            curl_multi_perform(multi, &running);
            reap();
            if (ndone < c)
                curl_multi_poll(multi, NULL, 0, 1000, NULL);
        }
    }
    long warm_failed = nfailed;
    ndone = nfailed = nconnects = 0;

    double t0 = now(), cpu0 = cpu_secs();
    for (long i = 0; i < c; i++) {
        xs[i].left = per;
        curl_multi_add_handle(multi, xs[i].easy);
    }
    long total = per * c;
    if (use_uv) {
        int r;
        curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &r);
        reap();
        while (ndone < total)
            uv_run(loop, UV_RUN_ONCE);
    } else {
        while (ndone < total) {
            curl_multi_perform(multi, &running);
            reap();
            if (ndone < total)
                curl_multi_poll(multi, NULL, 0, 1000, NULL);
        }
    }
    double secs = now() - t0, cpu = cpu_secs() - cpu0;
    printf("curl_raw %s: %ld requests in %.3f s = %.0f req/s, %ld connects, %ld failed, %.1f us "
           "CPU/req\n",
           argv[1], total, secs, (double)total / secs, nconnects, nfailed + warm_failed,
           cpu * 1e6 / (double)total);
    for (long i = 0; i < c; i++) {
        curl_easy_cleanup(xs[i].easy);
        free(xs[i].body);
    }
    free(xs);
    curl_multi_cleanup(multi);
    if (use_uv) {
        uv_close((uv_handle_t *)&timer, NULL);
        uv_run(loop, UV_RUN_DEFAULT);
    }
    curl_global_cleanup();
    return 0;
}
