/* signals.c — SIGINT/SIGTERM into the loop (see signals.h). */
#include "signals.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "engine.h"

static uv_async_t wake;
static int installed;
static signals_fn handler;
static void *handler_ud;

static void on_signal(int signum)
{
    if (engine_interrupted)
        _exit(130);
    engine_interrupted = signum;
    uv_async_send(&wake); /* async-signal-safe */
}

static void on_wake(uv_async_t *h)
{
    (void)h;
    if (handler)
        handler((int)engine_interrupted, handler_ud);
}

int signals_install(signals_fn fn, void *ud)
{
    if (installed)
        return UV_EBUSY;
    int rc = uv_async_init(tn_loop(), &wake, on_wake);
    if (rc < 0)
        return rc;
    uv_unref((uv_handle_t *)&wake);
    handler = fn;
    handler_ud = ud;
    installed = 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return 0;
}

void signals_uninstall(void)
{
    if (!installed)
        return;
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    uv_close((uv_handle_t *)&wake, NULL);
    installed = 0;
    handler = NULL;
}
