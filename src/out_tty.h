/* out_tty.h — the terminal consumer of run events: live step lines (spinner,
 * ✓/✗, durations) on a terminal, plain lines otherwise; logs to their own
 * stream; the run's summary (dry-run actions, error, final line). */
#ifndef TOCSIN_OUT_TTY_H
#define TOCSIN_OUT_TTY_H

#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include <tocsin/tocsin.h>

typedef struct out_tty {
    FILE *f;    /* steps, prints, actions, run summary */
    FILE *logf; /* log lines */
    int live;   /* a terminal: spinner, the step line redrawn in place */
    int color;
    int debug;  /* show log.debug */
    int active; /* a step line is drawn without its newline */
    int prompting;
    int active_step;
    int active_depth;
    char *active_title;
    uint64_t active_start;
    int spin;
    uv_timer_t spinner;
    int spinner_init;
} out_tty;

void out_tty_init(out_tty *o, FILE *f, FILE *logf, int live, int color, int debug);
/* A tn_event_fn: ud is the out_tty. */
void out_tty_event(const tn_event *ev, void *ud);
/* Takes the live line off the screen and closes the spinner (run the loop
 * afterwards so the handle closes). */
void out_tty_close(out_tty *o);

#endif
