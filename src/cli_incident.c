/* cli_incident.c — the incident commands: incidents, incident ID, ack, resolve,
 * note.  Reads go straight to the store; changes are store requests like the
 * ones runbooks make, so the status machine and the timeline are the same
 * whoever acts. */
#include <errno.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "buf.h"
#include "cli.h"
#include "clock.h"
#include "config.h"
#include "engine.h"
#include "modules.h"
#include "postmortem.h"
#include "redact.h"
#include "run.h"
#include "store.h"
#include "util.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_NOTFOUND = 3 };

static const char usage[] =
    "usage: tocsin incidents [--all] [--json] [--config FILE]\n"
    "       tocsin incident ID [--json] [--config FILE]\n"
    "       tocsin ack ID [--by NAME] [--config FILE]\n"
    "       tocsin resolve ID [--summary TEXT] [--config FILE]\n"
    "       tocsin note ID TEXT [--config FILE]\n"
    "       tocsin postmortem ID [--config FILE]\n"
    "\n"
    "Incidents live in the state store (config `state`). An incident moves\n"
    "triggered -> acknowledged -> mitigated -> resolved, forward only; every change\n"
    "and note goes on its timeline with who made it. `postmortem` writes the\n"
    "playbook's post-mortem (template post-mortem) as Markdown on stdout, filled\n"
    "from the incident and its timeline: blameless, roles instead of names.\n";

static void err_line(const char *prefix, const char *msg)
{
    char *r = redact_dup(msg, strlen(msg), NULL);
    fprintf(stderr, "%s%s\n", prefix, r ? r : "(error)");
    free(r);
}

static int parse_id(const char *s, long long *id)
{
    char *end;
    if (!strncmp(s, "INC-", 4) || !strncmp(s, "inc-", 4))
        s += 4;
    long long n = strtoll(s, &end, 10);
    if (*s == 0 || *end || n <= 0)
        return -1;
    *id = n;
    return 0;
}

/* ---- reads ---------------------------------------------------------------- */

typedef struct {
    lua_State *L;
    int json, rows, deadlines;
} view;

static void field(lua_State *L, const char *k, char *out, size_t n)
{
    lua_getfield(L, -1, k);
    int ok = lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER;
    snprintf(out, n, "%s", ok ? lua_tostring(L, -1) : "");
    lua_pop(L, 1);
}

static void when(const char *secs, char *out, size_t n)
{
    if (!*secs) {
        snprintf(out, n, "-");
        return;
    }
    time_t t = (time_t)strtod(secs, NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm);
}

static void row(void *ud, const char *json)
{
    view *v = ud;
    if (v->json) {
        printf("%s\n", json);
        return;
    }
    lua_State *L = v->L;
    if (tn_json_decode(L, json, strlen(json)) < 0 || !lua_istable(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    char rec[16], id[32], title[512], sev[8], status[16], opened[32], t[64], kind[32], text[2048],
        actor[256];
    field(L, "record", rec, sizeof rec);
    if (!strcmp(rec, "deadline")) {
        if (!v->deadlines++)
            printf("deadlines:\n");
        field(L, "due", t, sizeof t);
        when(t, opened, sizeof opened);
        field(L, "kind", kind, sizeof kind);
        field(L, "role", actor, sizeof actor);
        static const struct {
            const char *kind, *what;
        } names[] = {{"review", "post-mortem review meeting"},
                     {"actions", "post-mortem action items"},
                     {"reminder", "reminder, unless acknowledged"},
                     {"escalated", "escalation, unless resolved"},
                     {"status_update", "status update"},
                     {"draft", "post-mortem draft"}};
        const char *what = kind;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (!strcmp(kind, names[i].kind))
                what = names[i].what;
        printf("  %s  %s%s%s%s\n", opened, what, *actor ? " (" : "", actor, *actor ? ")" : "");
    } else if (!strcmp(rec, "timeline")) {
        field(L, "ts", t, sizeof t);
        when(t, opened, sizeof opened);
        field(L, "kind", kind, sizeof kind);
        field(L, "text", text, sizeof text);
        field(L, "actor", actor, sizeof actor);
        printf("  %s  %-12s %s%s%s%s\n", opened, kind, text, *actor ? " (" : "", actor,
               *actor ? ")" : "");
    } else {
        field(L, "id", id, sizeof id);
        field(L, "title", title, sizeof title);
        field(L, "severity", sev, sizeof sev);
        field(L, "status", status, sizeof status);
        field(L, "opened", t, sizeof t);
        when(t, opened, sizeof opened);
        if (!strcmp(rec, "incident")) {
            printf("%s  %s  %s  %s\n  opened %s\n", id, sev, status, title, opened);
            static const char *const marks[] = {"acknowledged", "mitigated", "resolved", NULL};
            for (int i = 0; marks[i]; i++) {
                field(L, marks[i], t, sizeof t);
                if (*t) {
                    when(t, opened, sizeof opened);
                    printf("  %s %s\n", marks[i], opened);
                }
            }
            field(L, "summary", text, sizeof text);
            if (*text)
                printf("  summary: %s\n", text);
            printf("timeline:\n");
        } else {
            if (!v->rows)
                printf("%-10s %-4s %-13s %-19s %s\n", "ID", "SEV", "STATUS", "OPENED", "TITLE");
            printf("%-10s %-4s %-13s %-19s %s\n", id, sev, status, opened, title);
        }
    }
    v->rows++;
    lua_pop(L, 1);
}

/* ---- post-mortem ------------------------------------------------------------ */

typedef struct {
    FILE *f;
    int done, ok;
} pm_out;

static void pm_rendered(int ok, const char *text, size_t len, const char *err, void *ud)
{
    pm_out *o = ud;
    o->done = 1;
    o->ok = ok;
    if (ok)
        fwrite(text, 1, len, o->f);
    else
        err_line("tocsin postmortem: ", err);
    uv_stop(tn_loop());
}

static int postmortem(tn_config *cfg, store *db, long long id, FILE *f)
{
    char err[2048];
    pm_out out = {f, 0, 0};
    int rc = postmortem_render(cfg, db, id, pm_rendered, &out, err, sizeof err);
    if (rc != 0) {
        err_line("tocsin: ", err);
        return rc > 0 ? EXIT_NOTFOUND : EXIT_FAILED;
    }
    while (!out.done)
        uv_run(tn_loop(), UV_RUN_DEFAULT);
    return out.ok ? EXIT_OK : EXIT_FAILED;
}

/* ---- the incident clock ------------------------------------------------------- */

static int clock_on;

static void clock_report(const char *text, void *ud)
{
    char *r = redact_dup(text, strlen(text), NULL);
    fprintf(ud, "%s\n", r ? r : text);
    free(r);
}

/* Console notifications are the firing runs' log lines. */
static void clock_event(const tn_event *ev, void *ud)
{
    (void)ud;
    /* A console channel's line is "notify NAME: ..." at info ("notified
     * NAME" is the outcome, shown by the report). */
    int console = ev->type == TN_EV_LOG && !strcmp(ev->level, "info") && ev->len > 7 &&
                  !strncmp(ev->text, "notify ", 7);
    if (ev->type == TN_EV_LOG &&
        (console || !strcmp(ev->level, "warn") || !strcmp(ev->level, "error")))
        fprintf(stderr, "tocsin: %s: %.*s\n", ev->level, (int)ev->len, ev->text);
}

void cli_clock_start(tn_config *cfg, store *db, FILE *f)
{
    char err[1024];
    clock_opts o = {
        .db = db, .cfg = cfg, .on_event = clock_event, .report = clock_report, .report_ud = f};
    clock_on = clock_start(&o, err, sizeof err) == 0;
    if (!clock_on)
        err_line("tocsin: warning: the incident clock is not running: ", err);
}

void cli_clock_finish(void)
{
    if (!clock_on)
        return;
    /* What is due now (the notifications this command owes) goes out
     * before the command ends; later deadlines wait for the next process. */
    clock_drain(30);
    clock_stop();
    clock_on = 0;
}

/* ---- changes ---------------------------------------------------------------- */

static void on_done(store_req *r)
{
    *(int *)r->ud = 1;
    uv_stop(tn_loop());
}

static int change(store *db, store_req *r)
{
    int done = 0;
    r->done = on_done;
    r->ud = &done;
    if (store_submit(db, r) < 0) {
        fprintf(stderr, "tocsin: out of memory\n");
        return EXIT_FAILED;
    }
    while (!done)
        uv_run(tn_loop(), UV_RUN_DEFAULT);
    if (r->rc == STORE_ENOTFOUND) {
        err_line("tocsin: ", r->err);
        return EXIT_NOTFOUND;
    }
    if (r->rc < 0) {
        err_line("tocsin: ", r->err);
        return EXIT_FAILED;
    }
    printf("INC-%lld %s\n", r->id, r->status);
    return EXIT_OK;
}

int cli_incident_main(const char *cmd, int argc, char **argv)
{
    const char *config_path = NULL, *id_arg = NULL, *by = NULL, *summary = NULL, *text = NULL;
    int json = 0, all = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--all")) {
            all = 1;
        } else if ((!strcmp(a, "--config") || !strcmp(a, "--by") || !strcmp(a, "--summary")) &&
                   i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(a, "--config"))
                config_path = v;
            else if (!strcmp(a, "--by"))
                by = v;
            else
                summary = v;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "tocsin %s: unknown option %s\n%s", cmd, a, usage);
            return EXIT_USAGE;
        } else if (!id_arg && strcmp(cmd, "incidents")) {
            id_arg = a;
        } else if (!text && !strcmp(cmd, "note")) {
            text = a;
        } else {
            fprintf(stderr, "tocsin %s: unexpected argument '%s'\n%s", cmd, a, usage);
            return EXIT_USAGE;
        }
    }
    long long id = 0;
    if (strcmp(cmd, "incidents")) {
        if (!id_arg || parse_id(id_arg, &id) < 0) {
            fprintf(stderr, "tocsin %s: which incident? (INC-<n>)\n%s", cmd, usage);
            return EXIT_USAGE;
        }
        if (!strcmp(cmd, "note") && (!text || !*text)) {
            fprintf(stderr, "tocsin note: the note's text is missing\n%s", usage);
            return EXIT_USAGE;
        }
    }
    char err[2048];
    tn_config cfg;
    if (config_load(&cfg, config_path, err, sizeof err) < 0) {
        err_line("tocsin: ", err);
        return EXIT_USAGE;
    }
    store *db;
    if (store_open(&db, cfg.state, err, sizeof err) < 0) {
        err_line("tocsin: ", err);
        config_free(&cfg);
        return EXIT_FAILED;
    }
    store_set_policy(db, &cfg.policy);
    int code = EXIT_OK;
    if (!strcmp(cmd, "postmortem")) {
        code = postmortem(&cfg, db, id, stdout);
    } else if (!strcmp(cmd, "incidents") || !strcmp(cmd, "incident")) {
        view v = {luaL_newstate(), json, 0, 0};
        if (!v.L) {
            code = EXIT_FAILED;
        } else {
            *(void **)lua_getextraspace(v.L) = NULL; /* not a runbook state */
            int rc = !strcmp(cmd, "incidents")
                         ? db->be->incidents(db, all, row, &v, err, sizeof err)
                         : db->be->incident(db, id, row, &v, err, sizeof err);
            if (rc != 0) {
                err_line("tocsin: ", err);
                code = rc > 0 ? EXIT_NOTFOUND : EXIT_FAILED;
            } else if (!strcmp(cmd, "incidents") && !v.rows && !json) {
                fprintf(stderr, all ? "no incidents\n" : "no open incidents\n");
            }
            lua_close(v.L);
        }
    } else {
        store_req r;
        memset(&r, 0, sizeof r);
        r.id = id;
        char actor[256];
        snprintf(actor, sizeof actor, "%s", by ? by : getenv("USER") ? getenv("USER") : "cli");
        r.actor = actor;
        if (!strcmp(cmd, "ack")) {
            r.type = STORE_INC_MOVE;
            r.to = "acknowledged";
        } else if (!strcmp(cmd, "resolve")) {
            r.type = STORE_INC_MOVE;
            r.to = "resolved";
            r.text = (char *)summary;
        } else {
            r.type = STORE_INC_NOTE;
            r.kind = "note";
            r.text = (char *)text;
        }
        code = change(db, &r);
        /* The notifications the change owes (and a P0/P1's post-mortem
         * draft, next to the state store) are the clock's. */
        if (code == EXIT_OK) {
            cli_clock_start(&cfg, db, stdout);
            cli_clock_finish();
        }
    }
    store_close(db);
    modules_shutdown();
    config_free(&cfg);
    return code;
}
