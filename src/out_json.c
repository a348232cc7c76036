/* out_json.c — run events as JSON lines (`tocsin run --json`).  The text in
 * events is already redacted; this only encodes it. */
#include "out_json.h"

#include <string.h>

#include "buf.h"

static void jstr(buf_t *b, const char *s)
{
    buf_add_json(b, s ? s : "", s ? strlen(s) : 0);
}

static const char *const names[] = {"run_start", "run_end", "step_start", "step_end", "log",
                                    "print",     "action",  "call",       "prompt"};

void out_json_event(const tn_event *ev, void *ud)
{
    out_json *o = ud;
    if (ev->type == TN_EV_PROMPT)
        return;
    if (ev->type == TN_EV_LOG && !strcmp(ev->level, "debug") && !o->debug)
        return;
    buf_t b = BUF_INIT;
    buf_fmt(&b, "{\"event\":\"%s\",\"run\":", names[ev->type]);
    jstr(&b, ev->run_id);
    buf_fmt(&b, ",\"ts\":%.3f", ev->ts);
    switch (ev->type) {
    case TN_EV_RUN_START:
        buf_addstr(&b, ",\"runbook\":");
        jstr(&b, ev->runbook);
        buf_fmt(&b, ",\"dry_run\":%s", ev->dry_run ? "true" : "false");
        break;
    case TN_EV_RUN_END:
        buf_fmt(&b, ",\"ok\":%s,\"duration\":%.3f", ev->ok ? "true" : "false", ev->duration);
        if (ev->error) {
            buf_addstr(&b, ",\"error\":");
            jstr(&b, ev->error);
        }
        if (ev->limit)
            buf_addstr(&b, ",\"kind\":\"limit\"");
        if (ev->canceled)
            buf_addstr(&b, ",\"canceled\":true");
        buf_fmt(&b, ",\"steps_failed\":%d", ev->steps_failed);
        if (ev->dry_run) {
            buf_addstr(&b, ",\"actions\":[");
            for (int i = 0; i < ev->nactions; i++) {
                if (i)
                    buf_addc(&b, ',');
                jstr(&b, ev->actions[i]);
            }
            buf_addc(&b, ']');
        }
        break;
    case TN_EV_STEP_START:
    case TN_EV_STEP_END:
        buf_fmt(&b, ",\"step\":%d,\"depth\":%d,\"title\":", ev->step, ev->depth);
        jstr(&b, ev->title);
        if (ev->type == TN_EV_STEP_END) {
            buf_fmt(&b, ",\"ok\":%s,\"duration\":%.3f", ev->ok ? "true" : "false", ev->duration);
            if (ev->error) {
                buf_addstr(&b, ",\"error\":");
                jstr(&b, ev->error);
            }
        }
        break;
    case TN_EV_LOG:
        buf_addstr(&b, ",\"level\":");
        jstr(&b, ev->level);
        buf_addstr(&b, ",\"msg\":");
        buf_add_json(&b, ev->text, ev->len);
        if (ev->fields) {
            buf_addstr(&b, ",\"fields\":");
            buf_addstr(&b, ev->fields);
        }
        break;
    case TN_EV_PRINT:
        buf_addstr(&b, ",\"text\":");
        buf_add_json(&b, ev->text, ev->len);
        break;
    case TN_EV_ACTION:
        buf_addstr(&b, ",\"kind\":");
        jstr(&b, ev->kind);
        buf_addstr(&b, ",\"text\":");
        buf_add_json(&b, ev->text, ev->len);
        buf_addstr(&b, ",\"dry_run\":true");
        break;
    case TN_EV_CALL:
        buf_addstr(&b, ",\"kind\":");
        jstr(&b, ev->kind);
        buf_addstr(&b, ",\"target\":");
        jstr(&b, ev->target);
        buf_fmt(&b, ",\"duration\":%.3f,\"outcome\":", ev->duration);
        jstr(&b, ev->outcome);
        break;
    case TN_EV_PROMPT:
        break;
    }
    buf_addstr(&b, "}\n");
    if (b.failed)
        fprintf(o->f, "{\"event\":\"lost\",\"reason\":\"out of memory encoding an event\"}\n");
    else
        fwrite(buf_str(&b), 1, b.n, o->f);
    fflush(o->f);
    buf_free(&b);
}
