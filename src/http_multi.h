/* http_multi.h — the process-wide libcurl multi handle, driven by the libuv
 * loop through curl's multi socket interface (as in docs/examples/multi-uv.c).
 * Sharing one multi shares its connection cache: connections are kept alive
 * across calls, tasks and runbooks.  Transfers to one host (scheme, host,
 * port) beyond http_multi_set_host_max wait in a queue, first come first
 * served: libcurl looks through every connection to a host for an idle one
 * on each request, so thousands of them would make every request slow. */
#ifndef TOCSIN_HTTP_MULTI_H
#define TOCSIN_HTTP_MULTI_H

#include "list.h"

#include <curl/curl.h>
#include <stdint.h>

/* Transfers in flight per host when nothing sets another cap. */
#define HTTP_MULTI_HOST_MAX_DEFAULT 64

typedef struct http_host http_host;

/* A transfer's owner embeds this.  start is called when the transfer may
 * begin (at once, or when its host has room): it returns an easy handle set
 * up for it (initialised with http_multi_easy_init), or NULL (out of memory:
 * the transfer ends with CURLE_OUT_OF_MEMORY).  A request waiting in a queue
 * thus holds no easy handle.  done is called once the transfer ended and its
 * handle was removed from the multi (easy still names it) — from the loop,
 * never from inside a libcurl call, but still inside a libuv callback: only
 * wake tasks (tn_task_wake) there, run no Lua.  The fields after done are
 * http_multi's. */
typedef struct http_job http_job;
struct http_job {
    CURL *(*start)(http_job *job);
    void (*done)(http_job *job, CURLcode rc);
    CURL *easy;        /* what start returned; NULL before */
    http_host *host;   /* the host it counts against (NULL: not capped) */
    list_node node;    /* in host->queue while waiting */
    uint64_t deadline; /* loop time (ms) its timeout ends; 0: none */
    int state;         /* HTTP_JOB_IDLE, _QUEUED, _RUNNING */
    int started;       /* the transfer reached libcurl (else nothing was sent) */
};

enum { HTTP_JOB_IDLE, HTTP_JOB_QUEUED, HTTP_JOB_RUNNING };

/* Once per easy handle (its options survive every transfer): NOSIGNAL and
 * the socket open/close callbacks. */
void http_multi_easy_init(CURL *easy);

/* Starts the transfer (job->start, then into the multi), or queues it
 * behind its host's transfers in flight.  url names the host (scheme, host
 * and port are read from it); timeout_ms (0: none) covers the wait in the
 * queue and the transfer: http_multi sets CURLOPT_TIMEOUT_MS to what is left
 * when the transfer starts, and a transfer still queued at its deadline ends
 * with CURLE_OPERATION_TIMEDOUT (job->started == 0).  Creates the multi at
 * the first call (no libcurl work happens before).  0, or -1 when libcurl
 * cannot be initialised, start fails or libcurl refuses the handle (no done
 * call follows; job->easy is what start returned, if anything). */
int http_multi_add(http_job *job, const char *url, long timeout_ms);

/* Stops a transfer before it is done (running or queued): no done call
 * follows.  Not from inside a libcurl callback. */
void http_multi_remove(http_job *job);

/* The cap on transfers in flight per host (n <= 0: none).  Applies to
 * transfers started from now on; queued ones start as room is made. */
void http_multi_set_host_max(int n);

/* "scheme://host:port" of url into out (lower case, the scheme's default
 * port filled in, user info dropped): the key of the host's cap.  Its
 * length, or 0 when url is too odd to tell (then the transfer is not capped
 * and libcurl reports what is wrong) or the key does not fit in cap. */
size_t http_multi_host_key(const char *url, char *out, size_t cap);

/* Process exit, after every transfer was removed: closes the cached
 * connections and the libuv handles (run the loop afterwards so their close
 * callbacks free them). */
void http_multi_shutdown(void);

#endif
