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
#include "config.h"
#include "engine.h"
#include "modules.h"
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
    int json, rows;
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
    if (!strcmp(rec, "timeline")) {
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

static void collect(void *ud, const char *json)
{
    buf_t *b = ud;
    buf_addstr(b, json);
    buf_addc(b, '\n');
}

static void push_records(lua_State *L, void *ud)
{
    lua_createtable(L, 0, 1);
    lua_pushstring(L, ud);
    lua_setfield(L, -2, "records");
}

typedef struct {
    int failed;
    FILE *f;
} pm_out;

/* Only what the script prints goes to the output; its failure to stderr. */
static void pm_event(const tn_event *ev, void *ud)
{
    pm_out *o = ud;
    if (ev->type == TN_EV_PRINT) {
        fwrite(ev->text, 1, ev->len, o->f);
        fputc('\n', o->f);
    } else if (ev->type == TN_EV_RUN_END && !ev->ok) {
        o->failed = 1;
        fprintf(stderr, "tocsin postmortem: %s\n", ev->error ? ev->error : "failed");
    }
}

static void pm_done(tn_run *r, void *ud)
{
    (void)r;
    (void)ud;
    uv_stop(tn_loop());
}

static int postmortem(tn_config *cfg, store *db, long long id, FILE *f)
{
    char err[2048];
    buf_t rows = BUF_INIT;
    int rc = db->be->incident(db, id, collect, &rows, err, sizeof err);
    if (rc != 0 || rows.failed) {
        err_line("tocsin: ", rows.failed ? "out of memory" : err);
        buf_free(&rows);
        return rc > 0 ? EXIT_NOTFOUND : EXIT_FAILED;
    }
    tn_state *st = tn_state_new("embedded:postmortem", &cfg->settings, err, sizeof err);
    if (!st) {
        err_line("tocsin: ", err);
        buf_free(&rows);
        return EXIT_FAILED;
    }
    pm_out out = {0, f};
    tn_run_opts o = {.on_event = pm_event, .event_ud = &out, .on_done = pm_done};
    run_launch_opts lo = {
        .push_params = push_records, .params_ud = (void *)buf_str(&rows), .trigger = "cli"};
    tn_run *r = NULL;
    int code = EXIT_OK;
    if (run_launch_script(st, &lo, &o, &r, err, sizeof err) < 0) {
        err_line("tocsin: ", err);
        code = EXIT_FAILED;
    } else {
        uv_run(tn_loop(), UV_RUN_DEFAULT);
        code = r->done && !out.failed ? EXIT_OK : EXIT_FAILED;
        if (!r->done)
            tn_run_cancel(r);
        tn_run_free(r);
    }
    tn_state_free(st);
    buf_free(&rows);
    return code;
}

static void write_draft(tn_config *cfg, store *db, long long id)
{
    const char *path = cfg->state && !strncmp(cfg->state, "sqlite:", 7) ? cfg->state + 7 : NULL;
    const char *slash = path ? strrchr(path, '/') : NULL;
    buf_t dir = BUF_INIT, file = BUF_INIT;
    if (slash)
        buf_fmt(&dir, "%.*s/postmortems", (int)(slash - path), path);
    else
        buf_addstr(&dir, "postmortems");
    buf_fmt(&file, "%s/INC-%lld.md", buf_str(&dir), id);
    FILE *f = NULL;
    if (!dir.failed && !file.failed && (mkdir(buf_str(&dir), 0700) == 0 || errno == EEXIST))
        f = fopen(buf_str(&file), "w");
    if (!f) {
        fprintf(stderr, "tocsin: warning: cannot write the post-mortem draft %s: %s\n",
                buf_str(&file), strerror(errno));
    } else {
        int rc = postmortem(cfg, db, id, f);
        if (fclose(f) != 0 || rc != EXIT_OK)
            fprintf(stderr, "tocsin: warning: the post-mortem draft %s is incomplete\n",
                    buf_str(&file));
        else
            printf("post-mortem draft: %s\n", buf_str(&file));
    }
    buf_free(&dir);
    buf_free(&file);
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
    int code = EXIT_OK;
    if (!strcmp(cmd, "postmortem")) {
        code = postmortem(&cfg, db, id, stdout);
    } else if (!strcmp(cmd, "incidents") || !strcmp(cmd, "incident")) {
        view v = {luaL_newstate(), json, 0};
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
        /* P0, P1 and recurring P2 need a post-mortem: the draft is written at
         * once, next to the state store (the playbook gives 24 h). */
        if (code == EXIT_OK && !strcmp(cmd, "resolve") && r.needs_postmortem)
            write_draft(&cfg, db, id);
    }
    store_close(db);
    modules_shutdown();
    config_free(&cfg);
    return code;
}
