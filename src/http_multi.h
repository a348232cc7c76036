/* http_multi.h — the process-wide libcurl multi handle, driven by the libuv
 * loop through curl's multi socket interface (as in docs/examples/multi-uv.c).
 * Sharing one multi shares its connection cache: connections are kept alive
 * across calls, tasks and runbooks.  The `http` module runs on it; any other
 * libcurl user (SMTP for mail, say) can too. */
#ifndef TOCSIN_HTTP_MULTI_H
#define TOCSIN_HTTP_MULTI_H

#include <curl/curl.h>

/* A transfer's owner embeds this.  done is called once the transfer ended
 * and its handle was removed from the multi — from the loop, never from
 * inside a libcurl call, but still inside a libuv callback: only wake tasks
 * (tn_task_wake) there, run no Lua. */
typedef struct http_job http_job;
struct http_job {
    void (*done)(http_job *job, CURLcode rc);
};

/* Starts an easy handle the caller has set up.  Sets its CURLOPT_PRIVATE
 * (to job), NOSIGNAL and socket open/close callbacks.  Creates the multi
 * at the first call (no libcurl work happens before).  0, or -1 when
 * libcurl cannot be initialised or refuses the handle. */
int http_multi_add(CURL *easy, http_job *job);

/* Stops a transfer before it is done: no done call follows.  Not from
 * inside a libcurl callback. */
void http_multi_remove(CURL *easy);

/* Process exit, after every transfer was removed: closes the cached
 * connections and the libuv handles (run the loop afterwards so their close
 * callbacks free them). */
void http_multi_shutdown(void);

#endif
