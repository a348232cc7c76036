/* store.c — the store's dispatch (a backend by the DSN's scheme) and the run
 * recorder: a tn_events subscriber that turns every run event into a row.
 * Events arrive redacted, so nothing secret reaches the store. */
#include "store.h"

#include <stdio.h>
#include <string.h>

#include <tocsin/tocsin.h>

#include "buf.h"

extern const store_backend store_sqlite_backend;

static const store_backend *const backends[] = {&store_sqlite_backend, NULL};

int store_open(store **out, const char *dsn, char *err, size_t errlen)
{
    const char *colon = strchr(dsn, ':');
    for (int i = 0; colon && backends[i]; i++) {
        const store_backend *be = backends[i];
        if (strlen(be->scheme) == (size_t)(colon - dsn) &&
            !strncmp(dsn, be->scheme, (size_t)(colon - dsn))) {
            if (be->open(out, colon + 1, err, errlen) < 0)
                return -1;
            (*out)->be = be;
            return 0;
        }
    }
    snprintf(err, errlen, "state '%s': unknown kind of store (expected sqlite:PATH)", dsn);
    return -1;
}

store *store_current;

int store_status_rank(const char *status)
{
    static const char *const order[] = {"triggered", "acknowledged", "mitigated", "resolved", NULL};
    for (int i = 0; order[i]; i++)
        if (!strcmp(status, order[i]))
            return i;
    return -1;
}

int store_submit(store *s, store_req *r)
{
    return s->be->submit(s, r);
}

int store_write(store *s, const store_rec *rec)
{
    return s->be->write(s, rec);
}

int store_flush(store *s, char *err, size_t errlen)
{
    return s->be->flush(s, err, errlen);
}

void store_close(store *s)
{
    if (s)
        s->be->close(s);
}

/* ---- the run recorder ------------------------------------------------- */

static void record(const tn_event *ev, void *ud)
{
    store *s = ud;
    if (!ev->run)
        return;
    store_rec r = {.run_id = ev->run_id, .ts = ev->ts, .incident = ev->incident};
    switch (ev->type) {
    case TN_EV_RUN_START:
        r.type = STORE_RUN_START;
        r.runbook = ev->runbook;
        r.trigger = ev->trigger;
        r.params = ev->params;
        r.dry_run = ev->dry_run;
        break;
    case TN_EV_RUN_END:
        r.type = STORE_RUN_END;
        r.ok = ev->ok;
        r.error = ev->error;
        r.steps_failed = ev->steps_failed;
        break;
    case TN_EV_STEP_END:
        r.type = STORE_STEP;
        r.step = ev->step;
        r.depth = ev->depth;
        r.title = ev->title;
        r.ok = ev->ok;
        r.error = ev->error;
        r.duration = ev->duration;
        break;
    case TN_EV_CALL:
    case TN_EV_ACTION:
    case TN_EV_LOG:
    case TN_EV_PRINT: {
        /* The transcript keeps the whole text: a long print or log line is
         * not cut (the store's own limits apply, not a stack buffer's). */
        buf_t line = BUF_INIT;
        if (ev->type == TN_EV_CALL)
            buf_fmt(&line, "%s %s %s %.3fs", ev->kind, ev->target ? ev->target : "",
                    ev->outcome ? ev->outcome : "", ev->duration);
        else if (ev->type == TN_EV_ACTION)
            buf_fmt(&line, "%s: ", ev->kind);
        else if (ev->type == TN_EV_LOG)
            buf_fmt(&line, "%s ", ev->level);
        if (ev->type != TN_EV_CALL)
            buf_add(&line, ev->text, ev->len);
        if (ev->type == TN_EV_LOG && ev->fields_text)
            buf_fmt(&line, " %s", ev->fields_text);
        r.type = STORE_ENTRY;
        r.kind = ev->type == TN_EV_CALL     ? "call"
                 : ev->type == TN_EV_ACTION ? "action"
                 : ev->type == TN_EV_LOG    ? "log"
                                            : "print";
        r.text = line.failed ? "(entry lost: out of memory)" : buf_str(&line);
        store_write(s, &r);
        buf_free(&line);
        return;
    }
    default:
        return;
    }
    store_write(s, &r);
}

int store_record_start(store *s)
{
    return tn_events_subscribe(record, s);
}

void store_record_stop(store *s)
{
    tn_events_unsubscribe(record, s);
}
