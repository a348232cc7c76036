/* events.c — run events: redacted once, then delivered to the run's own
 * consumer and to every subscriber.  Outside any run (a runbook file's top
 * level printing while it loads) there is no consumer: the text goes to
 * stdout/stderr, redacted all the same. */
#include "events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "engine.h"
#include "redact.h"
#include "run.h"

#define MAX_SUBSCRIBERS 16

static struct {
    tn_event_fn fn;
    void *ud;
} subs[MAX_SUBSCRIBERS];
static int nsubs;

int tn_events_subscribe(tn_event_fn fn, void *ud)
{
    if (nsubs == MAX_SUBSCRIBERS)
        return -1;
    subs[nsubs].fn = fn;
    subs[nsubs].ud = ud;
    nsubs++;
    return 0;
}

void tn_events_unsubscribe(tn_event_fn fn, void *ud)
{
    for (int i = 0; i < nsubs; i++)
        if (subs[i].fn == fn && subs[i].ud == ud) {
            memmove(subs + i, subs + i + 1, (size_t)(nsubs - i - 1) * sizeof subs[0]);
            nsubs--;
            return;
        }
}

static const char withheld[] = "(text withheld: out of memory while redacting it)";

/* Redacted copies live in a small arena freed after delivery. */
typedef struct {
    char *owned[10];
    int n;
} arena;

static const char *clean(arena *a, const char *s, size_t n, size_t *outn)
{
    if (!s)
        return NULL;
    if (outn)
        *outn = n;
    if (!redact_needed(s, n))
        return s;
    size_t m;
    char *r = a->n < 10 ? redact_dup(s, n, &m) : NULL;
    if (!r) {
        if (outn)
            *outn = sizeof withheld - 1;
        return withheld;
    }
    a->owned[a->n++] = r;
    if (outn)
        *outn = m;
    return r;
}

static const char *clean_str(arena *a, const char *s)
{
    return s ? clean(a, s, strlen(s), NULL) : NULL;
}

static void fallback(const tn_event *ev)
{
    buf_t b = BUF_INIT;
    if (ev->type == TN_EV_PRINT) {
        buf_add(&b, ev->text, ev->len);
        buf_addc(&b, '\n');
        fwrite(buf_str(&b), 1, b.n, stdout);
        fflush(stdout);
    } else if (ev->type == TN_EV_LOG) {
        buf_fmt(&b, "%s: %s", ev->level, ev->text);
        if (ev->fields_text)
            buf_fmt(&b, " %s", ev->fields_text);
        buf_addc(&b, '\n');
        if (b.failed)
            fputs("(log line lost: out of memory)\n", stderr);
        else
            fwrite(buf_str(&b), 1, b.n, stderr);
    }
    buf_free(&b);
}

void events_emit(tn_event *ev)
{
    tn_run *r = ev->run;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ev->ts = (double)ts.tv_sec + ts.tv_nsec / 1e9;
    ev->run_id = r ? r->id : "";
    ev->runbook = r ? r->st->name : "";
    ev->incident = r ? r->incident : 0;
    arena a = {{0}, 0};
    ev->title = clean_str(&a, ev->title);
    ev->error = clean_str(&a, ev->error);
    ev->fields = clean_str(&a, ev->fields);
    ev->fields_text = clean_str(&a, ev->fields_text);
    ev->target = clean_str(&a, ev->target);
    ev->params = clean_str(&a, ev->params);
    if (ev->text)
        ev->text = clean(&a, ev->text, ev->len ? ev->len : strlen(ev->text), &ev->len);
    /* Actions were redacted when they were recorded (tn_run_action). */
    if (!r)
        fallback(ev);
    else if (r->on_event)
        r->on_event(ev, r->event_ud);
    for (int i = 0; i < nsubs; i++)
        subs[i].fn(ev, subs[i].ud);
    for (int i = 0; i < a.n; i++)
        free(a.owned[i]);
}

void events_log(tn_run *r, const char *level, const char *msg, const char *fields_json,
                const char *fields_text)
{
    tn_event ev = {.type = TN_EV_LOG, .run = r, .level = level, .text = msg};
    ev.len = strlen(msg);
    ev.fields = fields_json;
    ev.fields_text = fields_text;
    events_emit(&ev);
}
