/* http_easy.c — pooled libcurl easy handles for the http module: one
 * curl_easy_init and the shared options per handle, then per request only the
 * options that differ, undone when the handle goes back to the pool (a
 * curl_easy_reset and every option again cost more than the request). */
#include "http_easy.h"

#include "http_multi.h"

#include <stdlib.h>
#include <string.h>

#define HTTP_MAX_REDIRS 10L
/* Handles kept for reuse (each with its ~16 KiB receive buffer and our
 * buffers): as many as the transfers in flight to one host by default. */
#define HTTP_EASY_POOL_MAX 128
/* Buffers larger than this are freed instead of pooled. */
#define HTTP_EASY_BUF_KEEP ((size_t)256 << 10)

/* Options a request may change, each one given back by http_easy_release. */
enum {
    SET_HEADERS = 1,   /* CURLOPT_HTTPHEADER */
    SET_METHOD = 2,    /* NOBODY, POSTFIELDS, CUSTOMREQUEST: not a plain GET */
    SET_CTIMEOUT = 4,  /* CURLOPT_CONNECTTIMEOUT_MS */
    SET_FOLLOW = 8,    /* CURLOPT_FOLLOWLOCATION */
    SET_INSECURE = 16, /* CURLOPT_SSL_VERIFYPEER, _VERIFYHOST */
    SET_ENCODING = 32, /* CURLOPT_ACCEPT_ENCODING */
};

/* The handles' own header list. */
static struct curl_slist ua_only = {(char *)HTTP_EASY_USER_AGENT, NULL};

static http_easy *pool;
static int npool;
static int down; /* http_easy_shutdown ran: pool nothing */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    http_easy *h = ud;
    size_t len = size * n;
    if (h->body.n + len > h->max_body) {
        h->over_limit = 1;
        return 0; /* != len: curl stops with CURLE_WRITE_ERROR */
    }
    return buf_add(&h->body, p, len) == 0 ? len : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    http_easy *h = ud;
    size_t len = size * n;
    /* A status line starts a new response (a redirect followed, a 100
     * Continue): res.headers are those of the last one. */
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0)
        h->head.n = 0;
    return buf_add(&h->head, p, len) == 0 ? len : 0;
}

http_easy *http_easy_acquire(void)
{
    http_easy *h = pool;
    if (h) {
        pool = h->next;
        npool--;
        h->next = NULL;
        return h;
    }
    h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    CURL *e = h->curl = curl_easy_init();
    if (!e) {
        free(h);
        return NULL;
    }
    http_multi_easy_init(e);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, &ua_only);
    if (curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK) {
        curl_easy_cleanup(e);
        free(h);
        return NULL; /* only http and https may ever be sent */
    }
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, HTTP_MAX_REDIRS); /* when follow is set */
    return h;
}

int http_easy_setup(http_easy *h, const http_easy_req *q)
{
    CURL *e = h->curl;
    int is_get = !strcmp(q->method, "GET"), is_post = !strcmp(q->method, "POST");
    h->errbuf[0] = '\0';
    h->max_body = q->max_body;
    h->over_limit = 0;
    h->body.n = 0;
    h->head.n = 0;
    if (curl_easy_setopt(e, CURLOPT_URL, q->url) != CURLE_OK)
        return -1;
    if (q->connect_timeout_ms > 0) {
        h->set |= SET_CTIMEOUT;
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, q->connect_timeout_ms);
    }
    if (q->follow) {
        h->set |= SET_FOLLOW;
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    }
    if (q->insecure) {
        h->set |= SET_INSECURE;
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (q->decode) {
        h->set |= SET_ENCODING;
        if (curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK)
            return -1;
    }
    if (q->headers) {
        h->set |= SET_HEADERS;
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, q->headers);
    }
    if (!strcmp(q->method, "HEAD")) {
        h->set |= SET_METHOD;
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (!is_get && !is_post) {
        h->set |= SET_METHOD;
        if (curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, q->method) != CURLE_OK)
            return -1;
    }
    if (q->has_body) {
        h->set |= SET_METHOD;
        if (is_get && curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "GET") != CURLE_OK)
            return -1;
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->bodyn);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->body ? q->body : "");
    }
    return 0;
}

/* Gives the handle back the options the last request changed: the next one
 * starts from the handle's own (tests/lua/http_pool_no_leak.lua). */
static void easy_unset(http_easy *h)
{
    CURL *e = h->curl;
    if (h->set & SET_HEADERS)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, &ua_only);
    if (h->set & SET_METHOD) {
        /* POSTFIELDS NULL makes the method POST; HTTPGET then makes it GET
         * again and clears NOBODY: the handle's state after init. */
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    if (h->set & SET_CTIMEOUT)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 0L);
    if (h->set & SET_FOLLOW)
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    if (h->set & SET_INSECURE) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    }
    if (h->set & SET_ENCODING)
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, NULL);
    h->set = 0;
}

static void easy_destroy(http_easy *h)
{
    curl_easy_cleanup(h->curl);
    buf_free(&h->body);
    buf_free(&h->head);
    free(h);
}

void http_easy_release(http_easy *h)
{
    if (!h)
        return;
    if (npool >= HTTP_EASY_POOL_MAX || down) {
        easy_destroy(h);
        return;
    }
    easy_unset(h);
    buf_shrink(&h->body, HTTP_EASY_BUF_KEEP);
    buf_shrink(&h->head, HTTP_EASY_BUF_KEEP);
    h->next = pool;
    pool = h;
    npool++;
}

void http_easy_shutdown(void)
{
    down = 1;
    while (pool) {
        http_easy *h = pool;
        pool = h->next;
        easy_destroy(h);
    }
    npool = 0;
}
