/* fuzz_http_request.c — libFuzzer target for the HTTP server's request path:
 * the bytes one connection receives, through the same parser callbacks,
 * limits (body, headers, in-flight budget), routing and pipelining a socket
 * connection uses (server_parse).  The first byte picks the limits and the
 * size of the reads the rest arrives in; server.c's own assertions (state
 * transitions, every request freed and its budget returned) are on. */
#include <stddef.h>
#include <stdint.h>

#include "server.h"

static const char *const routes[] = {
    "GET /api/health", "GET /api/*", "* /x", "POST /echo", "DELETE /*", "PUT /a/b/c",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t cfg = data[0];
    server_opts o = {
        .routes = routes,
        .nroutes = (int)(sizeof routes / sizeof *routes),
        .max_body = cfg & 1 ? 64 : 0,      /* small, or the 1 MiB default */
        .max_inflight = cfg & 2 ? 100 : 0, /* small, or the default */
    };
    size_t chunk = (size_t)(cfg >> 2); /* 0: one read; else reads of 1..63 bytes */
    int status, found;
    char err[256];
    int n =
        server_parse(&o, (const char *)data + 1, size - 1, chunk, &status, &found, err, sizeof err);
    if (n < 0 || found > n || (status && (status < 400 || status > 599)))
        __builtin_trap();
    return 0;
}
