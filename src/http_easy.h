/* http_easy.h — the http module's libcurl easy handles, pooled.  What every
 * request shares (callbacks, User-Agent, protocols) is set once per handle;
 * a request sets only what differs (http_easy_setup), and
 * http_easy_release gives the handle its own options back, so nothing of a
 * request leaks into the next one on the same handle. */
#ifndef TOCSIN_HTTP_EASY_H
#define TOCSIN_HTTP_EASY_H

#include "buf.h"

#include <curl/curl.h>
#include <stddef.h>

#ifndef TOCSIN_VERSION
#define TOCSIN_VERSION "dev"
#endif

/* Sent as a header line, not CURLOPT_USERAGENT (which libcurl formats
 * again for every request).  A request with headers of its own carries this
 * line in its list unless it names a User-Agent itself; one without uses the
 * handle's list, this line alone. */
#define HTTP_EASY_USER_AGENT "User-Agent: tocsin/" TOCSIN_VERSION

/* A request as libcurl is to send it.  The strings, the body and the header
 * list must outlive the transfer. */
typedef struct http_easy_req {
    const char *url;
    const char *method; /* upper case: GET, HEAD, POST, PUT, ... */
    const char *body;   /* sent when has_body (NULL: empty) */
    size_t bodyn;
    int has_body;               /* POSTFIELDS: a body, or POST/PUT/PATCH without one */
    struct curl_slist *headers; /* NULL: none but the User-Agent */
    long connect_timeout_ms;    /* 0: libcurl's */
    size_t max_body;            /* a larger response body fails the transfer */
    int follow;                 /* follow redirects (at most 10) */
    int insecure;               /* no TLS peer or host verification */
    int decode;                 /* Accept-Encoding offered and the answer decoded */
} http_easy_req;

/* A handle and what its transfer fills.  max_body and over_limit belong to
 * the request it runs; the rest is the pool's. */
typedef struct http_easy {
    CURL *curl;
    buf_t body; /* response body */
    buf_t head; /* header lines of the last response (a redirect's dropped) */
    size_t max_body;
    int over_limit; /* the body passed max_body: CURLE_WRITE_ERROR is "limit" */
    int set;        /* options this request changed (http_easy.c) */
    struct http_easy *next;
    char errbuf[CURL_ERROR_SIZE];
} http_easy;

/* A handle from the pool, or a new one; NULL when out of memory. */
http_easy *http_easy_acquire(void);

/* Sets q's options on h, each one that differs from the handle's own.
 * 0, or -1 when libcurl refuses one (out of memory). */
int http_easy_setup(http_easy *h, const http_easy_req *q);

/* Back to the pool (or freed), with the handle's own options again.  Not
 * while h is in the multi. */
void http_easy_release(http_easy *h);

/* Process exit: frees the pool; later releases free their handle. */
void http_easy_shutdown(void);

#endif
