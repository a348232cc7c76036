/* clock.h — the incident clock: fires the store's due deadlines (SPEC.md
 * section 5: the notifications a change owes, the SLA's reminder and
 * escalations, status updates, the post-mortem draft and its follow-ups).
 * Deadlines are rows in the store; the clock claims due ones in a
 * transaction with a lease before it fires them, and marks each fired after,
 * so every deadline fires once whichever process runs the clock (the CLI
 * while it works, the daemon), also after a restart or a crash (a claim
 * whose process died is taken over when its lease ends).
 *
 * Firing is a run of the embedded clock.lua (notify through the config's
 * contacts) in a state of its own, several at once: a slow channel delays
 * nothing else.  One clock per process. */
#ifndef TOCSIN_CLOCK_H
#define TOCSIN_CLOCK_H

#include <tocsin/tocsin.h>

#include "config.h"
#include "store.h"

typedef struct clock_opts {
    store *db;
    const tn_config *cfg;
    double poll; /* seconds between looks for deadlines other processes made; 0: 1 */
    /* The firing runs' events (console notifications are log lines), or NULL. */
    tn_event_fn on_event;
    void *event_ud;
    /* What each fired deadline did (its timeline text), or NULL. */
    void (*report)(const char *text, void *ud);
    void *report_ud;
    /* A problem of the clock's (its store failing, said once while it
     * lasts), with report_ud; NULL: a line on stderr. */
    void (*error)(const char *msg, void *ud);
} clock_opts;

/* Starts the clock (a first look at once).  0, or -1 with err. */
int clock_start(const clock_opts *o, char *err, size_t errlen);
/* The config changed (the daemon's SIGHUP): fire with cfg from now on; the
 * previous one may be freed once this returns. */
void clock_set_config(const tn_config *cfg);
/* Why the last look at the store failed, or NULL while it works (the
 * daemon's /healthz: deadlines are not firing). */
const char *clock_failing(void);
/* Look now: something changed (an incident was opened, acknowledged...). */
void clock_kick(void);
/* Runs the loop until nothing is due and nothing is firing, or max_secs
 * passed (the CLI, before it exits). */
void clock_drain(double max_secs);
/* Stops: firing runs are cancelled (their deadlines are taken over when
 * their lease ends) and everything is freed. */
void clock_stop(void);

#endif
