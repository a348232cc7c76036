/* output.h — what a run shows: steps, logs, prints and dry-run actions, as
 * live terminal lines (spinner, ✓/✗, durations) or one JSON object per event.
 * Every string passes through the redaction filter on its way out. */
#ifndef TOCSIN_OUTPUT_H
#define TOCSIN_OUTPUT_H

#include <stdio.h>

#include "run.h"

enum { OUT_MODE_PLAIN, OUT_MODE_TTY, OUT_MODE_JSON };

struct tn_out {
    FILE *f;    /* steps, prints, actions, run summary */
    FILE *logf; /* log lines (plain/tty modes) */
    int mode;
    int color;
    int debug; /* show log.debug */
    /* live step line (tty) */
    int active; /* a step line is drawn without its newline */
    int active_step;
    int active_depth;
    char *active_title;
    uint64_t active_start;
    int spin;
    uv_timer_t spinner;
    int spinner_init;
};

void out_init(tn_out *o, FILE *f, FILE *logf, int mode, int color);
void out_close(tn_out *o);

void out_run_begin(tn_run *r, const char *runbook);
void out_run_end(tn_run *r);
void out_step_begin(tn_run *r, int id, int depth, const char *title);
void out_step_end(tn_run *r, int id, int depth, const char *title, int ok, double secs,
                  const char *err);
/* fields_json: an encoded JSON object, or NULL. */
void out_log(tn_run *r, const char *level, const char *msg, const char *key, const char *value);
void out_log_json(tn_run *r, const char *level, const char *msg, const char *fields_json);
void out_print(tn_run *r, const char *text, size_t n);
void out_action(tn_run *r, const char *what, const char *text);

/* Lua: print, log.*, and the prelude's step hooks. */
int luaopen_tn_log(lua_State *L);
int tn_lua_print(lua_State *L);
int tn_lua_step_begin(lua_State *L);
int tn_lua_step_end(lua_State *L);

#endif
