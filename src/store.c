/* store.c — the store's dispatch (a backend by the DSN's scheme) and the run
 * recorder: a tn_events subscriber that turns every run event into a row.
 * Events arrive redacted, so nothing secret reaches the store. */
#include "store.h"

#include <stdio.h>
#include <string.h>

#include <tocsin/tocsin.h>

#include "buf.h"
#include "run.h"

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
            (*out)->policy = store_policy_default;
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

/* ---- the SLA: what each change schedules ------------------------------- */

#define MINUTE 60.0
#define HOUR 3600.0

const store_policy store_policy_default = {
    .respond = {15 * MINUTE, 1 * HOUR, 4 * HOUR, 24 * HOUR},
    .escalate = {30 * MINUTE, 2 * HOUR, 8 * HOUR, 48 * HOUR},
    .commander = {60 * MINUTE, 4 * HOUR, 16 * HOUR, 0},
    .update = {30 * MINUTE, 30 * MINUTE, 0, 0},
    .review = 48 * HOUR,
    .actions = 7 * 24 * HOUR,
};

void store_set_policy(store *s, const store_policy *p)
{
    s->policy = *p;
}

static int sev_index(const char *sev)
{
    return sev && sev[0] == 'P' && sev[1] >= '0' && sev[1] <= '3' && !sev[2] ? sev[1] - '0' : 1;
}

static int plan_add(store_deadline *out, int n, const char *kind, const char *role, double after,
                    double every, const char *text)
{
    if (n < STORE_PLAN_MAX)
        out[n++] = (store_deadline){kind, role, after, every, text};
    return n;
}

int store_plan_open(const store_policy *p, const char *sev, store_deadline *out)
{
    int i = sev_index(sev), n = 0;
    /* The first responder at once; a P0 calls the incident commander at
     * once too (the playbook's IC acts on every P0), and the 4x escalation
     * still fires for it. */
    n = plan_add(out, n, "opened", "first_responder", 0, 0, NULL);
    if (i == 0)
        n = plan_add(out, n, "opened", "incident_commander", 0, 0, NULL);
    if (p->respond[i] > 0)
        n = plan_add(out, n, "reminder", "first_responder", p->respond[i], 0, NULL);
    if (p->escalate[i] > 0)
        n = plan_add(out, n, "escalated", "escalation_engineer", p->escalate[i], 0, NULL);
    if (p->commander[i] > 0)
        n = plan_add(out, n, "escalated", "incident_commander", p->commander[i], 0, NULL);
    if (p->update[i] > 0)
        n = plan_add(out, n, "status_update", "product_owner", p->update[i], p->update[i], NULL);
    return n;
}

int store_plan_move(const store_policy *p, const char *sev, const char *to, int needs_pm,
                    const char *text, store_deadline *out, const char *const **cancel)
{
    static const char *const on_ack[] = {"reminder", NULL};
    static const char *const on_resolve[] = {"reminder", "escalated", "status_update", NULL};
    static const char *const none[] = {NULL};
    int i = sev_index(sev), n = 0;
    *cancel = none;
    if (!strcmp(to, "acknowledged")) {
        *cancel = on_ack; /* the response clock stops; escalation runs on */
        n = plan_add(out, n, "acknowledged", NULL, 0, 0, text);
    } else if (!strcmp(to, "mitigated")) {
        n = plan_add(out, n, "mitigated", NULL, 0, 0, text);
    } else if (!strcmp(to, "resolved")) {
        *cancel = on_resolve;
        n = plan_add(out, n, "resolved", NULL, 0, 0, text);
        /* The stakeholders who had status updates hear of the resolution. */
        if (p->update[i] > 0)
            n = plan_add(out, n, "resolved", "product_owner", 0, 0, text);
        if (needs_pm) {
            /* The playbook's post-incident timeline: the draft (written at
             * once), the review meeting, the action items. */
            n = plan_add(out, n, "draft", NULL, 0, 0, NULL);
            n = plan_add(out, n, "review", "incident_commander", p->review, 0, NULL);
            n = plan_add(out, n, "actions", "incident_commander", p->review + p->actions, 0, NULL);
        }
    }
    return n;
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

/* A run's transcript keeps its first STORE_TRANSCRIPT_MAX entries (calls,
 * logs, prints, dry-run actions); past that it counts them, and says how
 * many at the end. A runbook looping over 100,000 queries would otherwise
 * write 100,000 rows (47 MB a benchmark run) and spend its CPU on the store,
 * for a transcript nobody reads to the end; a post-mortem needs the first
 * minutes and the outcome, both kept. Steps, warnings and errors are always
 * recorded. */
#define STORE_TRANSCRIPT_MAX 10000

static void record(const tn_event *ev, void *ud)
{
    store *s = ud;
    /* The incident clock's own runs are not runbook runs: what they did
     * goes on the incidents' timelines. */
    if (!ev->run || (ev->run->trigger && !strcmp(ev->run->trigger, "clock")))
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
        if (ev->run->unrecorded) {
            char said[160];
            snprintf(said, sizeof said,
                     "transcript limit: %lu more entries (calls, logs, prints) after the first %d "
                     "were not recorded",
                     ev->run->unrecorded, STORE_TRANSCRIPT_MAX);
            store_rec e = {.run_id = ev->run_id,
                           .ts = ev->ts,
                           .incident = ev->incident,
                           .type = STORE_ENTRY,
                           .kind = "log",
                           .text = said};
            store_write(s, &e);
        }
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
        /* Warnings and errors are kept past the limit: the post-mortem's. */
        int grave = ev->type == TN_EV_LOG && ev->level &&
                    (!strcmp(ev->level, "error") || !strcmp(ev->level, "warn"));
        if (ev->run->recorded >= STORE_TRANSCRIPT_MAX && !grave) {
            ev->run->unrecorded++;
            return;
        }
        ev->run->recorded++;
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
