/* out_tty.c — run events for people: on a terminal, the running step's line
 * is redrawn in place with a spinner and becomes ✓/✗ with its duration; off a
 * terminal, one plain line per finished step.  Text from events is already
 * redacted; on a terminal its control characters are shown, not obeyed. */
#include "out_tty.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"

static const char *const spin_glyphs[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};

static const char *c_(out_tty *o, const char *code)
{
    return o->color ? code : "";
}

/* Event text: neutralised on a terminal. */
static void text(out_tty *o, buf_t *b, const char *s, size_t n)
{
    if (o->live)
        buf_add_safe(b, s, n);
    else
        buf_add(b, s, n);
}

static void textz(out_tty *o, buf_t *b, const char *s)
{
    text(o, b, s, strlen(s));
}

static void indent(buf_t *b, int depth)
{
    for (int i = 0; i < depth; i++)
        buf_addstr(b, "  ");
}

static void draw_active(out_tty *o)
{
    buf_t b = BUF_INIT;
    buf_addstr(&b, "\r\033[K");
    indent(&b, o->active_depth);
    buf_fmt(&b, "%s%s%s ", c_(o, "\033[36m"), spin_glyphs[o->spin % 10], c_(o, "\033[0m"));
    buf_addstr(&b, o->active_title);
    double secs = (double)(uv_hrtime() - o->active_start) / 1e9;
    if (secs >= 1)
        buf_fmt(&b, " %s(%.0fs)%s", c_(o, "\033[2m"), secs, c_(o, "\033[0m"));
    if (!b.failed) {
        fwrite(buf_str(&b), 1, b.n, o->f);
        fflush(o->f);
    }
    buf_free(&b);
}

static void spin_cb(uv_timer_t *h)
{
    out_tty *o = h->data;
    if (!o->active || o->prompting)
        return;
    o->spin++;
    draw_active(o);
}

/* Before any other line: take the live step line off the screen. */
static void clear_active(out_tty *o)
{
    if (o->live && o->active) {
        fputs("\r\033[K", o->f);
        fflush(o->f);
        o->active = 0;
    }
}

static void redraw_active(out_tty *o)
{
    if (o->live && o->active_title && !o->active && !o->prompting) {
        o->active = 1;
        draw_active(o);
    }
}

void out_tty_init(out_tty *o, FILE *f, FILE *logf, int live, int color, int debug)
{
    memset(o, 0, sizeof *o);
    o->f = f;
    o->logf = logf;
    o->live = live;
    o->color = color;
    o->debug = debug;
}

void out_tty_close(out_tty *o)
{
    clear_active(o);
    free(o->active_title);
    o->active_title = NULL;
    if (o->spinner_init) {
        uv_timer_stop(&o->spinner);
        uv_close((uv_handle_t *)&o->spinner, NULL);
        o->spinner_init = 0;
    }
    fflush(o->f);
}

static void emit(out_tty *o, FILE *f, buf_t *b)
{
    clear_active(o);
    if (b->failed)
        fputs("(output line lost: out of memory)\n", f);
    else
        fwrite(buf_str(b), 1, b->n, f);
    fflush(f);
    buf_free(b);
    redraw_active(o);
}

static void run_end(out_tty *o, const tn_event *ev)
{
    buf_t b = BUF_INIT;
    if (ev->dry_run) {
        buf_fmt(&b, "\n%sDry run:%s %d action%s would have been taken%s\n", c_(o, "\033[1m"),
                c_(o, "\033[0m"), ev->nactions, ev->nactions == 1 ? "" : "s",
                ev->nactions ? ":" : ".");
        for (int i = 0; i < ev->nactions; i++) {
            buf_fmt(&b, "  %d. ", i + 1);
            textz(o, &b, ev->actions[i]);
            buf_addc(&b, '\n');
        }
    }
    if (ev->error) {
        buf_addstr(&b, c_(o, "\033[31m"));
        textz(o, &b, ev->error);
        buf_fmt(&b, "%s\n", c_(o, "\033[0m"));
    }
    char failed[64] = "";
    if (ev->steps_failed)
        snprintf(failed, sizeof failed, ", %d step%s failed", ev->steps_failed,
                 ev->steps_failed == 1 ? "" : "s");
    if (ev->ok) {
        buf_fmt(&b, "%s✓ ", c_(o, ev->steps_failed ? "\033[33m" : "\033[32m"));
        textz(o, &b, ev->runbook);
        buf_fmt(&b, "%s finished%s in %.2fs\n", c_(o, "\033[0m"), failed, ev->duration);
    } else {
        buf_fmt(&b, "%s✗ ", c_(o, "\033[31m"));
        textz(o, &b, ev->runbook);
        buf_fmt(&b, "%s %s%s after %.2fs\n", c_(o, "\033[0m"),
                ev->canceled ? "interrupted" : "failed", failed, ev->duration);
    }
    emit(o, ev->error ? o->logf : o->f, &b);
}

static void step_start(out_tty *o, const tn_event *ev)
{
    if (!o->live)
        return;
    buf_t b = BUF_INIT;
    /* A nested step: the parent's line becomes a heading. */
    if (o->active_title) {
        clear_active(o);
        indent(&b, o->active_depth);
        buf_fmt(&b, "%s▸%s ", c_(o, "\033[36m"), c_(o, "\033[0m"));
        buf_addstr(&b, o->active_title);
        buf_addc(&b, '\n');
        if (!b.failed)
            fwrite(buf_str(&b), 1, b.n, o->f);
        buf_free(&b);
        free(o->active_title);
        o->active_title = NULL;
    }
    buf_add_safe(&b, ev->title, strlen(ev->title));
    o->active_title = buf_take(&b, NULL);
    if (!o->active_title)
        return;
    o->active_step = ev->step;
    o->active_depth = ev->depth;
    o->active_start = uv_hrtime();
    o->active = 1;
    if (!o->spinner_init) {
        uv_timer_init(tn_loop(), &o->spinner);
        uv_unref((uv_handle_t *)&o->spinner);
        o->spinner.data = o;
        o->spinner_init = 1;
        uv_timer_start(&o->spinner, spin_cb, 100, 100);
    }
    if (!o->prompting)
        draw_active(o);
}

static void step_end(out_tty *o, const tn_event *ev)
{
    buf_t b = BUF_INIT;
    if (o->active_step == ev->step && o->active_title) {
        free(o->active_title);
        o->active_title = NULL;
    }
    indent(&b, ev->depth);
    if (ev->ok)
        buf_fmt(&b, "%s✓%s ", c_(o, "\033[32m"), c_(o, "\033[0m"));
    else
        buf_fmt(&b, "%s✗%s ", c_(o, "\033[31m"), c_(o, "\033[0m"));
    textz(o, &b, ev->title);
    if (ev->duration >= 1)
        buf_fmt(&b, " %s(%.2fs)%s", c_(o, "\033[2m"), ev->duration, c_(o, "\033[0m"));
    else
        buf_fmt(&b, " %s(%.0f ms)%s", c_(o, "\033[2m"), ev->duration * 1000, c_(o, "\033[0m"));
    if (ev->error) {
        buf_addc(&b, '\n');
        indent(&b, ev->depth + 1);
        buf_addstr(&b, c_(o, "\033[31m"));
        textz(o, &b, ev->error);
        buf_addstr(&b, c_(o, "\033[0m"));
    }
    buf_addc(&b, '\n');
    emit(o, o->f, &b);
}

static const char *level_color(const char *level)
{
    if (!strcmp(level, "error"))
        return "\033[31m";
    if (!strcmp(level, "warn"))
        return "\033[33m";
    if (!strcmp(level, "debug"))
        return "\033[2m";
    return "\033[34m";
}

static void log_line(out_tty *o, const tn_event *ev)
{
    if (!strcmp(ev->level, "debug") && !o->debug)
        return;
    buf_t b = BUF_INIT;
    time_t now = (time_t)ev->ts;
    struct tm tm;
    localtime_r(&now, &tm);
    buf_fmt(&b, "%s%02d:%02d:%02d %-5s%s ", c_(o, level_color(ev->level)), tm.tm_hour, tm.tm_min,
            tm.tm_sec, ev->level, c_(o, "\033[0m"));
    text(o, &b, ev->text, ev->len);
    if (ev->fields_text) {
        buf_addc(&b, ' ');
        textz(o, &b, ev->fields_text);
    }
    buf_addc(&b, '\n');
    emit(o, o->logf, &b);
}

void out_tty_event(const tn_event *ev, void *ud)
{
    out_tty *o = ud;
    buf_t b = BUF_INIT;
    switch (ev->type) {
    case TN_EV_RUN_START:
    case TN_EV_CALL:
        break;
    case TN_EV_RUN_END:
        run_end(o, ev);
        break;
    case TN_EV_STEP_START:
        step_start(o, ev);
        break;
    case TN_EV_STEP_END:
        step_end(o, ev);
        break;
    case TN_EV_LOG:
        log_line(o, ev);
        break;
    case TN_EV_PRINT:
        text(o, &b, ev->text, ev->len);
        buf_addc(&b, '\n');
        emit(o, o->f, &b);
        break;
    case TN_EV_ACTION:
        buf_fmt(&b, "%s[dry-run] would %s:%s ", c_(o, "\033[33m"), ev->kind, c_(o, "\033[0m"));
        text(o, &b, ev->text, ev->len);
        buf_addc(&b, '\n');
        emit(o, o->f, &b);
        break;
    case TN_EV_PROMPT:
        /* The question stays on screen: no spinner over it until answered. */
        if (ev->begin) {
            clear_active(o);
            o->prompting = 1;
        } else {
            o->prompting = 0;
            redraw_active(o);
        }
        break;
    }
}
