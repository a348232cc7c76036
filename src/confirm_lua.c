/* confirm_lua.c — operator approvals on the terminal: one question at a time,
 * read from stdin without blocking the loop; --yes answers every question;
 * with no terminal (or on timeout) the default answer is taken.
 *
 * An answer counts only for the question it was typed after: input pending
 * when a question is asked (a late "y" to a question that timed out, keys
 * hit while a step ran) is discarded, so it cannot approve the next one. */
#include "confirm_lua.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include "redact.h"
#include "run.h"
#include "util.h"

typedef struct prompt {
    tn_task *task;
    char *question;
    int def, answer;
    int timed;
    int asked; /* tn_run_prompt(run, 1) was reported: owes the (run, 0) */
    uv_timer_t timer;
    struct prompt *next;
} prompt;

static uv_tty_t tty;
static int tty_ready, reading;
static prompt *queue;
static char line[512];
static size_t linelen;

/* Drops whatever was typed before the question: the terminal's queue (the
 * kernel's, shared by every descriptor of the tty) and our partial line. */
static void discard_pending_input(void)
{
    tcflush(0, TCIFLUSH);
    linelen = 0;
}

static void ask(prompt *p)
{
    if (!p->asked) {
        p->asked = 1;
        discard_pending_input();
        /* Live renderers (a step's spinner) stop drawing over the question. */
        tn_run_prompt(tn_task_run(p->task), 1);
    }
    char *q = redact_dup(p->question, strlen(p->question), NULL);
    fprintf(stderr, "\r\033[K? %s [%s] ", q ? q : "", p->def ? "Y/n" : "y/N");
    fflush(stderr);
    free(q);
}

static void prompt_free_cb(uv_handle_t *h)
{
    prompt *p = h->data;
    free(p->question);
    free(p);
}

static void prompt_free(prompt *p)
{
    if (p->timed) {
        uv_timer_stop(&p->timer);
        uv_close((uv_handle_t *)&p->timer, prompt_free_cb);
    } else {
        free(p->question);
        free(p);
    }
}

static int prompt_push(lua_State *L, void *op)
{
    prompt *p = op;
    if (L)
        lua_pushboolean(L, p->answer);
    prompt_free(p);
    return L ? 1 : 0;
}

/* The question is off the terminal (answered, timed out or cancelled). */
static void unqueue(prompt *p)
{
    if (p->asked) {
        p->asked = 0;
        tn_run_prompt(tn_task_run(p->task), 0);
    }
    for (prompt **pp = &queue; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
}

static void alloc_cb(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    static char chunk[256];
    (void)h;
    (void)sz;
    *b = uv_buf_init(chunk, sizeof chunk);
}

static void stop_reading_if_idle(void)
{
    if (!queue && reading) {
        uv_read_stop((uv_stream_t *)&tty);
        reading = 0;
    } else if (queue) {
        ask(queue);
    }
}

static void answer(prompt *p, int yes)
{
    unqueue(p);
    p->answer = yes;
    if (p->timed)
        uv_timer_stop(&p->timer);
    tn_task_wake(p->task, prompt_push, p);
    stop_reading_if_idle();
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    (void)s;
    if (n < 0) { /* EOF: nobody will answer; defaults for all */
        while (queue) {
            fprintf(stderr, "(no input: %s)\n", queue->def ? "yes" : "no");
            answer(queue, queue->def);
        }
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        char c = b->base[i];
        if (c != '\n') {
            if (linelen < sizeof line - 1)
                line[linelen++] = c;
            continue;
        }
        line[linelen] = 0;
        char *w = line;
        while (*w == ' ' || *w == '\t' || *w == '\r')
            w++;
        char *e = w + strlen(w);
        while (e > w && (e[-1] == ' ' || e[-1] == '\r' || e[-1] == '\t'))
            *--e = 0;
        linelen = 0;
        if (!queue)
            continue;
        int yes;
        if (!*w)
            yes = queue->def;
        else if (!strcasecmp(w, "y") || !strcasecmp(w, "yes") || !strcasecmp(w, "s") ||
                 !strcasecmp(w, "sim"))
            yes = 1;
        else if (!strcasecmp(w, "n") || !strcasecmp(w, "no") || !strcasecmp(w, "nao") ||
                 !strcasecmp(w, "não"))
            yes = 0;
        else {
            ask(queue);
            continue;
        }
        answer(queue, yes);
        /* The rest of this chunk was typed before the next question (if
         * any) was asked: it answers nothing. */
        linelen = 0;
        return;
    }
}

static void timeout_cb(uv_timer_t *h)
{
    prompt *p = h->data;
    fprintf(stderr, "(no answer in time: %s)\n", p->def ? "yes" : "no");
    answer(p, p->def);
}

static void confirm_cancel(void *op)
{
    prompt *p = op;
    unqueue(p);
    prompt_free(p);
    stop_reading_if_idle();
}

/* ---- the daemon: questions answered over the API --------------------------- */

static int remote_mode;
static prompt *remote; /* questions waiting for POST /runs/ID/approve or /deny */

void confirm_lua_set_remote(int on)
{
    remote_mode = on;
}

static void remote_unlink(prompt *p)
{
    for (prompt **pp = &remote; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    if (p->asked) {
        p->asked = 0;
        tn_run_prompt(tn_task_run(p->task), 0);
    }
}

static void remote_answer(prompt *p, int yes, const char *how)
{
    remote_unlink(p);
    p->answer = yes;
    if (p->timed)
        uv_timer_stop(&p->timer);
    tn_run_log(tn_task_run(p->task), "info", p->question, "answer", how);
    tn_task_wake(p->task, prompt_push, p);
}

static void remote_timeout(uv_timer_t *h)
{
    prompt *p = h->data;
    remote_answer(p, p->def,
                  p->def ? "yes (default: no answer in time)" : "no (default: no answer in time)");
}

static void remote_cancel(void *op)
{
    prompt *p = op;
    remote_unlink(p);
    prompt_free(p);
}

const char *confirm_pending(const tn_run *r)
{
    for (prompt *p = remote; p; p = p->next)
        if (tn_task_run(p->task) == r)
            return p->question;
    return NULL;
}

int confirm_answer(const tn_run *r, int yes)
{
    for (prompt *p = remote; p; p = p->next)
        if (tn_task_run(p->task) == r) {
            remote_answer(p, yes, yes ? "yes (approved over the API)" : "no (denied over the API)");
            return 0;
        }
    return -1;
}

static int remote_confirm(lua_State *L, tn_task *t, const char *q, int def, double timeout)
{
    prompt *p = calloc(1, sizeof *p);
    if (!p || !(p->question = strdup(q))) {
        free(p);
        return luaL_error(L, "out of memory");
    }
    p->task = t;
    p->def = def;
    if (timeout >= 0) {
        p->timed = 1;
        uv_timer_init(tn_loop(), &p->timer);
        p->timer.data = p;
        uv_timer_start(&p->timer, remote_timeout, tn_secs_to_ms(timeout), 0);
    }
    p->next = remote;
    remote = p;
    p->asked = 1;
    tn_run_prompt(tn_task_run(t), 1);
    tn_run_log(tn_task_run(t), "info", q, "waiting", "POST /runs/ID/approve or /deny");
    return tn_task_suspend(L, t, remote_cancel, p);
}

int confirm_lua_confirm(lua_State *L)
{
    const char *q = luaL_checkstring(L, 1);
    int def = tn_opt_bool(L, 2, "default", 0);
    double timeout = lua_istable(L, 2) ? tn_opt_duration(L, 2, "timeout", -1) : -1;
    tn_task *t = tn_task_current(L);
    tn_run *r = tn_task_run(t);
    if (r->assume_yes) {
        tn_run_log(r, "info", q, "answer", "yes (--yes)");
        lua_pushboolean(L, 1);
        return 1;
    }
    if (remote_mode)
        return remote_confirm(L, t, q, def, timeout);
    if (!isatty(0)) {
        tn_run_log(r, "warn", q, "answer",
                   def ? "yes (default: no terminal)"
                       : "no (default: no terminal; pass --yes to approve)");
        lua_pushboolean(L, def);
        return 1;
    }
    if (!tty_ready) {
        if (uv_tty_init(tn_loop(), &tty, 0, 1) != 0)
            return luaL_error(L, "confirm: cannot read the terminal");
        tty_ready = 1;
    }
    prompt *p = calloc(1, sizeof *p);
    if (!p || !(p->question = strdup(q))) {
        free(p);
        return luaL_error(L, "out of memory");
    }
    p->task = t;
    p->def = def;
    if (timeout >= 0) {
        p->timed = 1;
        uv_timer_init(tn_loop(), &p->timer);
        p->timer.data = p;
        uv_timer_start(&p->timer, timeout_cb, (uint64_t)(timeout * 1000), 0);
    }
    prompt **pp = &queue;
    while (*pp)
        pp = &(*pp)->next;
    *pp = p;
    if (queue == p)
        ask(p);
    if (!reading) {
        uv_read_start((uv_stream_t *)&tty, alloc_cb, read_cb);
        reading = 1;
    }
    return tn_task_suspend(L, t, confirm_cancel, p);
}

void confirm_lua_shutdown(void)
{
    if (tty_ready) {
        if (reading)
            uv_read_stop((uv_stream_t *)&tty);
        uv_close((uv_handle_t *)&tty, NULL);
        tty_ready = 0;
    }
}
