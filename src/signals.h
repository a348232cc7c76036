/* signals.h — SIGINT/SIGTERM while runbooks run.  A plain handler rather than
 * uv_signal, because a runbook spinning in Lua never returns to the loop: the
 * handler sets engine_interrupted (every Lua instruction then raises
 * "canceled") and wakes the loop, where on_signal runs.  A second signal
 * exits at once with status 130: the operator means it. */
#ifndef TOCSIN_SIGNALS_H
#define TOCSIN_SIGNALS_H

typedef void (*signals_fn)(int signum, void *ud);

/* 0, or a libuv error code. */
int signals_install(signals_fn on_signal, void *ud);
/* Restores the default handlers and closes the wake-up handle (run the loop
 * afterwards so it closes). */
void signals_uninstall(void);

#endif
