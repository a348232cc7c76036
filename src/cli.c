/* cli.c — the command line: run, check, list, version and --help; finding
 * runbooks, wiring a run to the terminal or a JSON event stream, exit codes. */
#include "cli.h"

#include <curl/curl.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "buf.h"
#include "catalog.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "engine.h"
#include "modules.h"
#include "out_json.h"
#include "out_tty.h"
#include "redact.h"
#include "run.h"
#include "signals.h"
#include "store.h"
#include "util.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_NOTFOUND = 3, EXIT_INTERRUPTED = 130 };

static const char usage_main[] =
    "usage: tocsin COMMAND [ARGS]\n"
    "\n"
    "Incident-response automation: runbooks in Lua, run now or by a daemon.\n"
    "\n"
    "commands:\n"
    "  run RUNBOOK [--dry-run] [--set key=value]... [--yes] [--json] [--config FILE]\n"
    "  check [PATH]...        compile + lint runbooks and config; non-zero on any problem\n"
    "  list                   runbooks found: name, severity, title, triggers\n"
    "  history [--runbook NAME] [--limit N] [--json] | history RUN-ID\n"
    "                         runs recorded in the state store, or one with its steps\n"
    "  cron EXPR [--tz ZONE] [--from TIME] [-n N]   next fire times (ISO 8601)\n"
    "  version                versions of tocsin and its libraries\n"
    "\n"
    "  incidents [--all] [--json]   open incidents (all with --all)\n"
    "  incident ID [--json]   one incident with its whole timeline\n"
    "  ack ID [--by NAME]     acknowledge (stops the response clock)\n"
    "  resolve ID [--summary TEXT]\n"
    "  note ID TEXT           add a note to an incident's timeline\n"
    "  postmortem ID          Markdown post-mortem draft on stdout\n"
    "\n"
    "  daemon [--config FILE] schedules, alert intake, HTTP API, incident clock\n"
    "  schedules              the config's schedules, each with its next run\n"
    "\n"
    "  demo                   the whole loop on the simulated ETP Express, in seconds\n"
    "\n"
    "`tocsin COMMAND --help` describes a command; the manual is docs/ in the\n"
    "source tree (docs/README.md: Lua API, config, CLI and daemon API, incidents).\n";

static const char usage_run[] =
    "usage: tocsin run RUNBOOK [--dry-run] [--set key=value]... [--yes] [--json] [--config FILE]\n"
    "\n"
    "Runs a runbook now. RUNBOOK is a name found in the configured runbook folders\n"
    "(default: runbooks/ and scripts/runbooks/) or a path to a .lua file.\n"
    "\n"
    "  --dry-run        reads happen, writes don't: HTTP other than GET/HEAD, shell\n"
    "                   commands not marked readonly and SQL writes are listed, not done\n"
    "  --set key=value  override ctx.params.key (repeatable)\n"
    "  --yes            answer yes to every confirm()\n"
    "  --json           one JSON object per event on stdout instead of live steps\n"
    "  --config FILE    config file (default: $TOCSIN_CONFIG, then ./tocsin.lua)\n"
    "  --debug          show log.debug lines\n"
    "\n"
    "exit status: 0 success, 1 the runbook failed, 2 usage or configuration error,\n"
    "3 runbook not found, 130 interrupted\n";

static const char usage_history[] =
    "usage: tocsin history [--runbook NAME] [--limit N] [--json] [--config FILE]\n"
    "       tocsin history RUN-ID [--json] [--config FILE]\n"
    "\n"
    "Lists the runs recorded in the state store (config `state`, default\n"
    ".tocsin/state.db), newest first (default limit 20); with a run id, that run\n"
    "with its steps and its transcript (primitive calls, logs, dry-run actions).\n";

static const char usage_check[] =
    "usage: tocsin check [PATH]... [--config FILE]\n"
    "\n"
    "Compiles and lints runbooks (files or folders; default: the configured runbook\n"
    "folders) and the config. Prints one line per problem as file:line: message and\n"
    "exits non-zero when there is any.\n";

static const char usage_list[] =
    "usage: tocsin list [--config FILE] [--json]\n"
    "\n"
    "Lists the runbooks found in the configured folders: name, severity, title, triggers.\n"
    "  --json           one JSON object per runbook (name, title, severity, path, triggers)\n";

/* An error line from loading a file or the config: the file may have read a
 * secret before it failed, so it is redacted like everything a run prints. */
static void put_error(FILE *f, const char *prefix, const char *msg)
{
    char *r = redact_dup(msg, strlen(msg), NULL);
    fprintf(f, "%s%s\n", prefix, r ? r : "(error)");
    free(r);
}

/* A line built from runbook values (names, titles, triggers): redacted too. */
static void put_redacted(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_redacted(FILE *f, const char *fmt, ...)
{
    char *line = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    char *r = redact_dup(line, (size_t)n, NULL);
    fputs(r ? r : "", f);
    free(r);
    free(line);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* ---- run --------------------------------------------------------------- */

typedef struct {
    tn_run *run; /* NULL once freed */
    int interrupted;
    int draining; /* the run ended: the clock sends what it owes */
} run_ctx;

static void on_run_done(tn_run *r, void *ud)
{
    (void)r;
    (void)ud;
    uv_stop(tn_loop());
}

static void on_interrupt(int signum, void *ud)
{
    run_ctx *rc = ud;
    if (rc->draining) {
        /* Stop waiting for the notifications still going: their deadlines
         * are claimed, and taken over when the claim's lease ends. */
        fprintf(stderr,
                "\ninterrupted (signal %d): notifications still going are left to the "
                "next process\n",
                signum);
        rc->draining = 0;
        uv_stop(tn_loop());
        return;
    }
    if (rc->interrupted || !rc->run)
        return;
    rc->interrupted = 1;
    fprintf(stderr, "\ninterrupted (signal %d): cancelling the run\n", signum);
    for (const module_reg *m = modules_list; m->name; m++)
        if (!strcmp(m->name, "shell"))
            m->shutdown(); /* kill the children's process groups now */
    tn_run_cancel(rc->run);
}

static void push_config_params(lua_State *L, void *ud)
{
    config_push_params(ud, L);
}

static void print_config_error(FILE *f, const char *prefix, const char *err)
{
    put_error(f, prefix, err);
}

static int cmd_run(int argc, char **argv)
{
    const char *runbook = NULL, *config_path = NULL;
    int dry = 0, yes = 0, json = 0, debug = 0;
    const char **sets = calloc((size_t)argc + 1, sizeof *sets);
    int nsets = 0, code = EXIT_USAGE;
    if (!sets)
        return EXIT_FAILED;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_run, stdout);
            free(sets);
            return EXIT_OK;
        } else if (!strcmp(a, "--dry-run"))
            dry = 1;
        else if (!strcmp(a, "--yes") || !strcmp(a, "-y"))
            yes = 1;
        else if (!strcmp(a, "--json"))
            json = 1;
        else if (!strcmp(a, "--debug"))
            debug = 1;
        else if (!strcmp(a, "--set") || !strcmp(a, "--config")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "tocsin run: %s needs a value\n", a);
                goto out;
            }
            if (!strcmp(a, "--config"))
                config_path = argv[++i];
            else if (!strchr(argv[i + 1], '=') || argv[i + 1][0] == '=') {
                fprintf(stderr, "tocsin run: --set takes key=value (got '%s')\n", argv[i + 1]);
                goto out;
            } else
                sets[nsets++] = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "tocsin run: unknown option %s\n%s", a, usage_run);
            goto out;
        } else if (!runbook)
            runbook = a;
        else {
            fprintf(stderr, "tocsin run: one runbook at a time (got '%s' and '%s')\n", runbook, a);
            goto out;
        }
    }
    if (!runbook) {
        fprintf(stderr, "tocsin run: which runbook?\n%s", usage_run);
        goto out;
    }
    char err[2048];
    tn_config cfg;
    if (config_load(&cfg, config_path, err, sizeof err) < 0) {
        print_config_error(stderr, "tocsin: ", err);
        goto out;
    }
    char *path = catalog_find(&cfg, runbook);
    if (!path) {
        fprintf(stderr, "tocsin: runbook '%s' not found", runbook);
        if (!strchr(runbook, '/') && !ends_with(runbook, ".lua")) {
            fprintf(stderr, " (looked in:");
            for (int i = 0; cfg.runbook_dirs[i]; i++)
                fprintf(stderr, " %s/", cfg.runbook_dirs[i]);
            fprintf(stderr, ")");
        }
        fprintf(stderr, "\n");
        config_free(&cfg);
        code = EXIT_NOTFOUND;
        goto out;
    }
    cfg.settings.dry_run = dry;
    cfg.settings.assume_yes = yes;

    run_ctx rc = {0};
    signals_install(on_interrupt, &rc);
    /* Load it as a runbook first (its name, limits and declared params);
     * an ad-hoc script runs its top level as the task, on a fresh state so
     * its top level runs once. */
    int load_rc = -1;
    catalog_add_lib_path(&cfg, path); /* as catalog_load does: <dir>/../lib */
    tn_state *st = tn_state_new(path, &cfg.settings, err, sizeof err);
    if (st) {
        st->quiet_load = 1;
        load_rc = tn_state_load(st, err, sizeof err);
        if (load_rc == 1 || load_rc == TN_LOAD_RAISED) {
            load_rc = 1;
            tn_state_free(st);
            st = tn_state_new(path, &cfg.settings, err, sizeof err);
        }
    }
    if (!st || load_rc < 0) {
        put_error(stderr, "", err);
        tn_state_free(st);
        signals_uninstall();
        modules_shutdown();
        free(path);
        config_free(&cfg);
        code = engine_interrupted ? EXIT_INTERRUPTED : EXIT_FAILED;
        goto out;
    }

    /* Every run is recorded; a store that cannot be opened is said, and the
     * run goes on unrecorded (the runbook matters more than its record). */
    store *db = NULL;
    char serr[1024];
    if (store_open(&db, cfg.state, serr, sizeof serr) < 0) {
        put_error(stderr, "tocsin: warning: this run is not recorded: ", serr);
        db = NULL;
    } else {
        store_set_policy(db, &cfg.policy);
        store_record_start(db);
        store_current = db;
        /* Deadlines fall due while the run works (a dry run fires none). */
        if (!dry)
            cli_clock_start(&cfg, db, stderr);
    }

    out_tty tty;
    out_json jw = {stdout, debug};
    int isterm = isatty(1);
    out_tty_init(&tty, stdout, stderr, isterm && !json, isterm && !getenv("NO_COLOR"), debug);
    tn_run_opts o = {.dry_run = dry,
                     .assume_yes = yes,
                     .on_event = json ? out_json_event : out_tty_event,
                     .event_ud = json ? (void *)&jw : (void *)&tty,
                     .on_done = on_run_done};
    sets[nsets] = NULL;
    run_launch_opts lo = {
        .push_params = push_config_params, .params_ud = &cfg, .sets = sets, .trigger = "cli"};
    tn_run *r = NULL;
    int lrc = load_rc == 1 ? run_launch_script(st, &lo, &o, &r, err, sizeof err)
                           : run_launch(st, &lo, &o, &r, err, sizeof err);
    if (lrc < 0) {
        fprintf(stderr, "tocsin run: %s\n", err);
        code = lrc == RUN_EUSAGE ? EXIT_USAGE : EXIT_FAILED;
    } else {
        rc.run = r;
        uv_run(tn_loop(), UV_RUN_DEFAULT);
        if (!r->done) {
            /* The loop ran dry with the run still waiting: nothing can wake it. */
            tn_run_log(r, "error", "the run is waiting for something that can never happen", NULL,
                       NULL);
            r->stalled = 1;
            tn_run_cancel(r);
        }
        code = rc.interrupted || engine_interrupted ? EXIT_INTERRUPTED
               : r->ok                              ? EXIT_OK
                                                    : EXIT_FAILED;
        tn_run_free(r);
        rc.run = NULL;
    }
    out_tty_close(&tty);
    if (!rc.interrupted && !engine_interrupted) {
        rc.draining = 1;
        cli_clock_finish();
        rc.draining = 0;
    } else
        clock_stop();
    if (db) {
        store_current = NULL;
        store_record_stop(db);
        if (store_flush(db, serr, sizeof serr) < 0)
            put_error(stderr, "tocsin: warning: the run's record is incomplete: ", serr);
        store_close(db);
    }
    signals_uninstall();
    modules_shutdown();
    tn_state_free(st);
    free(path);
    config_free(&cfg);
out:
    free(sets);
    return code;
}

/* ---- check and list ---------------------------------------------------- */

static void report_stdout(void *ud, const char *line)
{
    (void)ud;
    printf("%s\n", line);
}

static void on_interrupt_load(int signum, void *ud)
{
    (void)signum;
    (void)ud;
}

static int cmd_check(int argc, char **argv)
{
    const char *config_path = NULL;
    char **paths = calloc((size_t)argc + 1, sizeof *paths);
    int npaths = 0;
    if (!paths)
        return EXIT_FAILED;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_check, stdout);
            free(paths);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--config") && i + 1 < argc)
            config_path = argv[++i];
        else if (argv[i][0] == '-') {
            fprintf(stderr, "tocsin check: unknown option %s\n%s", argv[i], usage_check);
            free(paths);
            return EXIT_USAGE;
        } else
            paths[npaths++] = argv[i];
    }
    char err[2048];
    tn_config cfg;
    if (config_load(&cfg, config_path, err, sizeof err) < 0) {
        put_error(stdout, "", err);
        free(paths);
        return EXIT_USAGE;
    }
    signals_install(on_interrupt_load, NULL);
    int checked = 0;
    int problems = catalog_check(&cfg, paths, npaths, report_stdout, NULL, &checked);
    printf("%d file%s checked%s, %d problem%s\n", checked, checked == 1 ? "" : "s",
           cfg.path ? " (and the config)" : "", problems, problems == 1 ? "" : "s");
    signals_uninstall();
    modules_shutdown();
    config_free(&cfg);
    free(paths);
    if (engine_interrupted)
        return EXIT_INTERRUPTED;
    return problems ? EXIT_FAILED : EXIT_OK;
}

static void list_json(tn_state *st, const char *path)
{
    const char *sev = engine_runbook_string(st, "severity");
    const char *title = engine_runbook_string(st, "title");
    char *trig = catalog_triggers_json(st);
    buf_t b = BUF_INIT;
    buf_addstr(&b, "{\"name\":");
    buf_add_json(&b, tn_state_name(st), strlen(tn_state_name(st)));
    buf_addstr(&b, ",\"title\":");
    if (title)
        buf_add_json(&b, title, strlen(title));
    else
        buf_addstr(&b, "null");
    buf_addstr(&b, ",\"severity\":");
    if (sev)
        buf_add_json(&b, sev, strlen(sev));
    else
        buf_addstr(&b, "null");
    buf_addstr(&b, ",\"path\":");
    buf_add_json(&b, path, strlen(path));
    buf_fmt(&b, ",\"triggers\":%s}", trig ? trig : "{}");
    free(trig);
    put_redacted(stdout, "%s\n", buf_str(&b));
    buf_free(&b);
}

static int cmd_list(int argc, char **argv)
{
    const char *config_path = NULL;
    int json = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_list, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--config") && i + 1 < argc)
            config_path = argv[++i];
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else {
            fprintf(stderr, "tocsin list: unknown argument %s\n%s", argv[i], usage_list);
            return EXIT_USAGE;
        }
    }
    char err[2048];
    tn_config cfg;
    if (config_load(&cfg, config_path, err, sizeof err) < 0) {
        put_error(stderr, "tocsin: ", err);
        return EXIT_USAGE;
    }
    signals_install(on_interrupt_load, NULL);
    catalog cat;
    catalog_scan(&cfg, &cat);
    int broken = 0, found = 0;
    if (!json)
        printf("%-24s %-4s %-40s %s\n", "NAME", "SEV", "TITLE", "TRIGGERS");
    for (int i = 0; i < cat.n; i++) {
        catalog_entry *e = &cat.v[i];
        if (e->rc < 0) {
            fprintf(stderr, "%s\n", e->error);
            broken++;
        } else if (e->rc == 0) {
            found++;
            if (json) {
                list_json(e->st, e->path);
            } else {
                const char *sev = engine_runbook_string(e->st, "severity");
                const char *title = engine_runbook_string(e->st, "title");
                char *trig = catalog_triggers_text(e->st);
                put_redacted(stdout, "%-24s %-4s %-40s %s\n", tn_state_name(e->st), sev ? sev : "-",
                             title ? title : "-", trig ? trig : "-");
                free(trig);
            }
        }
    }
    if (!found && !broken)
        fprintf(stderr, "no runbooks found\n");
    catalog_free(&cat);
    signals_uninstall();
    modules_shutdown();
    config_free(&cfg);
    if (engine_interrupted)
        return EXIT_INTERRUPTED;
    return broken ? EXIT_FAILED : EXIT_OK;
}

/* ---- history ------------------------------------------------------------ */

static void history_json(void *ud, const char *json)
{
    (void)ud;
    printf("%s\n", json);
}

/* A row in the table: the few fields people read, from the row's JSON. */
static int field_str(lua_State *L, const char *k, char *out, size_t n)
{
    lua_getfield(L, -1, k);
    int ok = lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER;
    snprintf(out, n, "%s", ok ? lua_tostring(L, -1) : "");
    lua_pop(L, 1);
    return ok;
}

typedef struct {
    lua_State *L;
    int rows;
} history_view;

static void history_text(void *ud, const char *json)
{
    history_view *v = ud;
    lua_State *L = v->L;
    if (tn_json_decode(L, json, strlen(json)) < 0 || !lua_istable(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    char rec[16], a[256], b[256], c[64], d[64], e[64], f[2048];
    field_str(L, "record", rec, sizeof rec);
    if (!strcmp(rec, "step")) {
        field_str(L, "depth", c, sizeof c);
        field_str(L, "title", a, sizeof a);
        field_str(L, "duration", d, sizeof d);
        int ok = field_str(L, "ok", e, sizeof e) && strcmp(e, "0");
        long depth = strtol(c, NULL, 10);
        depth = depth < 0 ? 0 : depth > 10 ? 10 : depth;
        printf("  %*s%s %s (%.2fs)", (int)depth * 2, "", ok ? "✓" : "✗", a, strtod(d, NULL));
        if (field_str(L, "error", f, sizeof f))
            printf(": %s", f);
        printf("\n");
    } else if (!strcmp(rec, "entry")) {
        field_str(L, "kind", a, sizeof a);
        field_str(L, "text", f, sizeof f);
        printf("  · %-6s %s\n", a, f);
    } else {
        field_str(L, "id", a, sizeof a);
        field_str(L, "runbook", b, sizeof b);
        field_str(L, "started", d, sizeof d);
        int ended = field_str(L, "ended", e, sizeof e);
        int ok = field_str(L, "ok", c, sizeof c) && strcmp(c, "0");
        time_t t = (time_t)strtod(d, NULL);
        struct tm tm;
        char when[32];
        localtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        char status[32];
        char dry[16];
        int is_dry = field_str(L, "dry_run", dry, sizeof dry) && strcmp(dry, "0");
        snprintf(status, sizeof status, "%s%s",
                 !ended ? "running"
                 : ok   ? "ok"
                        : "failed",
                 is_dry ? " (dry)" : "");
        char dur[32] = "-";
        if (ended)
            snprintf(dur, sizeof dur, "%.2fs", strtod(e, NULL) - strtod(d, NULL));
        char trig[64];
        field_str(L, "trigger", trig, sizeof trig);
        if (!strcmp(rec, "run")) {
            printf("%s  %s  %s  %s  %s  %s\n", a, b, when, trig, status, dur);
            if (field_str(L, "error", f, sizeof f))
                printf("  error: %s\n", f);
        } else {
            if (!v->rows)
                printf("%-28s %-24s %-19s %-8s %-14s %s\n", "RUN", "RUNBOOK", "STARTED", "TRIGGER",
                       "STATUS", "DURATION");
            printf("%-28s %-24s %-19s %-8s %-14s %s\n", a, b, when, trig, status, dur);
        }
    }
    v->rows++;
    lua_pop(L, 1);
}

static int cmd_history(int argc, char **argv)
{
    const char *config_path = NULL, *runbook = NULL, *run_id = NULL;
    int json = 0, limit = 20;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_history, stdout);
            return EXIT_OK;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if ((!strcmp(a, "--config") || !strcmp(a, "--runbook") || !strcmp(a, "--limit")) &&
                   i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(a, "--config"))
                config_path = v;
            else if (!strcmp(a, "--runbook"))
                runbook = v;
            else {
                char *end;
                long n = strtol(v, &end, 10);
                if (*end || n < 1 || n > 1000000) {
                    fprintf(stderr, "tocsin history: --limit takes a number from 1 (got '%s')\n",
                            v);
                    return EXIT_USAGE;
                }
                limit = (int)n;
            }
        } else if (a[0] == '-') {
            fprintf(stderr, "tocsin history: unknown option %s\n%s", a, usage_history);
            return EXIT_USAGE;
        } else if (!run_id) {
            run_id = a;
        } else {
            fprintf(stderr, "tocsin history: one run at a time\n%s", usage_history);
            return EXIT_USAGE;
        }
    }
    char err[2048];
    tn_config cfg;
    if (config_load(&cfg, config_path, err, sizeof err) < 0) {
        put_error(stderr, "tocsin: ", err);
        return EXIT_USAGE;
    }
    store *db;
    if (store_open(&db, cfg.state, err, sizeof err) < 0) {
        put_error(stderr, "tocsin: ", err);
        config_free(&cfg);
        return EXIT_FAILED;
    }
    history_view v = {luaL_newstate(), 0};
    int rc;
    if (v.L)
        *(void **)lua_getextraspace(v.L) = NULL; /* not a runbook state: no CPU budget */
    if (!v.L) {
        rc = -1;
        snprintf(err, sizeof err, "out of memory");
    } else if (run_id) {
        rc = db->be->run(db, run_id, json ? history_json : history_text, &v, err, sizeof err);
    } else {
        rc = db->be->runs(db, runbook, limit, json ? history_json : history_text, &v, err,
                          sizeof err);
        if (rc == 0 && !json && !v.rows)
            fprintf(stderr, "no runs recorded%s%s\n", runbook ? " for " : "",
                    runbook ? runbook : "");
    }
    if (v.L)
        lua_close(v.L);
    store_close(db);
    config_free(&cfg);
    if (rc != 0) {
        put_error(stderr, "tocsin history: ", err);
        return rc > 0 ? EXIT_NOTFOUND : EXIT_FAILED;
    }
    return EXIT_OK;
}

static int cmd_version(void)
{
    curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    int pq = PQlibVersion();
    printf("tocsin %s (%s, libuv %s, libcurl %s, libpq %d.%d)\n", TOCSIN_VERSION, LUA_RELEASE,
           uv_version_string(), cv->version, pq / 10000, pq % 10000);
    return EXIT_OK;
}

int tn_cli_main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(usage_main, stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version"))
        return cmd_version();
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 2, argv + 2);
    if (!strcmp(cmd, "check"))
        return cmd_check(argc - 2, argv + 2);
    if (!strcmp(cmd, "list"))
        return cmd_list(argc - 2, argv + 2);
    if (!strcmp(cmd, "history"))
        return cmd_history(argc - 2, argv + 2);
    if (!strcmp(cmd, "cron"))
        return cli_cron_main(argc - 2, argv + 2);
    if (!strcmp(cmd, "incidents") || !strcmp(cmd, "incident") || !strcmp(cmd, "ack") ||
        !strcmp(cmd, "resolve") || !strcmp(cmd, "note") || !strcmp(cmd, "postmortem"))
        return cli_incident_main(cmd, argc - 2, argv + 2);
    if (!strcmp(cmd, "daemon"))
        return daemon_main(argc - 2, argv + 2);
    if (!strcmp(cmd, "schedules"))
        return daemon_sched_list(argc - 2, argv + 2);
    if (!strcmp(cmd, "demo"))
        return cli_demo_main(argc - 2, argv + 2);
    fprintf(stderr, "tocsin: unknown command '%s'\n%s", cmd, usage_main);
    return EXIT_USAGE;
}
