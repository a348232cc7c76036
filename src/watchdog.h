/* watchdog.h — one deadline for the loop thread, watched from another thread.
 *
 * The loop thread sets a deadline (hrtime ns) before it runs code that may
 * not return to the loop (Lua running at full speed, with no count hook) and
 * clears it afterwards: two atomic stores, no system call. A helper thread
 * wakes every few milliseconds while deadlines are being set; when one has
 * passed, or *interrupt became nonzero, it sends a signal to the loop thread,
 * and the handler calls on_due there (so on_due may do what a signal handler
 * on the loop thread may do, such as lua_sethook). It signals again on each
 * tick while the deadline stays passed, so on_due must tolerate repeats and
 * late arrivals (after a clear or a newer set). The helper sleeps on a
 * condition variable after a second without deadlines. */
#ifndef TOCSIN_WATCHDOG_H
#define TOCSIN_WATCHDOG_H

#include <signal.h>
#include <stdint.h>

/* Installs the handler and starts the helper thread, once; call it on the
 * loop thread. 0, or a negative errno (then nothing is watched: the caller
 * must bound its code another way). */
int watchdog_start(void (*on_due)(void), volatile sig_atomic_t *interrupt);

/* Watches deadline (uv_hrtime() ns, nonzero) instead of the previous one. */
void watchdog_set(uint64_t deadline);

/* Nothing to watch (a late signal may still arrive). */
void watchdog_clear(void);

#endif
