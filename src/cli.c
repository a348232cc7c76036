/* cli.c — the command line: run, check, list, version and --help; finding
 * runbooks, wiring a run to the terminal or a JSON event stream, exit codes. */
#include "cli.h"

#include <curl/curl.h>
#include <dirent.h>
#include <lauxlib.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "confirm_lua.h"
#include "engine.h"
#include "http_lua.h"
#include "output.h"
#include "redact.h"
#include "run.h"
#include "server.h"
#include "shell_lua.h"
#include "sql_lua.h"

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
    "  version                versions of tocsin and its libraries\n"
    "\n"
    "  daemon, incidents, incident, ack, resolve, postmortem, history, demo:\n"
    "                         not in this build yet\n"
    "\n"
    "`tocsin COMMAND --help` describes a command.\n";

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

static const char usage_check[] =
    "usage: tocsin check [PATH]... [--config FILE]\n"
    "\n"
    "Compiles and lints runbooks (files or folders; default: the configured runbook\n"
    "folders) and the config. Prints one line per problem as file:line: message and\n"
    "exits non-zero when there is any.\n";

static const char usage_list[] =
    "usage: tocsin list [--config FILE] [--json]\n"
    "\n"
    "Lists the runbooks found in the configured folders: name, severity, title, triggers.\n";

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

/* ---- finding runbooks -------------------------------------------------- */

static int is_file(const char *p)
{
    struct stat s;
    return stat(p, &s) == 0 && S_ISREG(s.st_mode);
}

static int is_dir(const char *p)
{
    struct stat s;
    return stat(p, &s) == 0 && S_ISDIR(s.st_mode);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

static char **dir_files(const char *dir, int *n);

/* A path to a .lua file, or NAME looked up as DIR/NAME.lua, or else as the
 * `name` field of a runbook in those folders (what `tocsin list` shows). */
static char *find_runbook(tn_config *c, const char *name)
{
    if (strchr(name, '/') || ends_with(name, ".lua"))
        return is_file(name) ? strdup(name) : NULL;
    for (int i = 0; c->runbook_dirs && c->runbook_dirs[i]; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s.lua", c->runbook_dirs[i], name);
        if (is_file(p))
            return strdup(p);
    }
    char *found = NULL;
    for (int i = 0; c->runbook_dirs && c->runbook_dirs[i]; i++) {
        int n;
        char **files = dir_files(c->runbook_dirs[i], &n);
        for (int j = 0; j < n; j++) {
            char err[256];
            tn_state *st = found ? NULL : tn_state_new(files[j], &c->settings, err, sizeof err);
            if (st && tn_state_load(st, err, sizeof err) == 0) {
                const char *rn = engine_runbook_string(st, "name");
                if (rn && !strcmp(rn, name))
                    found = strdup(files[j]);
            }
            tn_state_free(st);
            free(files[j]);
        }
        free(files);
    }
    return found;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .lua files of a folder, sorted. */
static char **dir_files(const char *dir, int *n)
{
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char **v = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !ends_with(e->d_name, ".lua"))
            continue;
        char **nv = realloc(v, (*n + 1) * sizeof *v);
        if (!nv)
            break;
        v = nv;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        v[*n] = malloc(len);
        snprintf(v[*n], len, "%s/%s", dir, e->d_name);
        (*n)++;
    }
    closedir(d);
    if (v)
        qsort(v, *n, sizeof *v, cmp_str);
    return v;
}

/* ---- run --------------------------------------------------------------- */

typedef struct {
    tn_run *run;
    int interrupted;
    uv_async_t wake; /* the signal handler's way into the loop */
} run_ctx;

static void on_run_done(tn_run *r, void *ud)
{
    (void)r;
    (void)ud;
    uv_stop(tn_loop());
}

/* SIGINT/SIGTERM: a plain handler rather than uv_signal, because a runbook
 * spinning in Lua never returns to the loop; the flag makes the CPU hook raise
 * in whatever Lua is running, and the async wakes the loop to cancel the run. */
static uv_async_t *signal_wake;

static void on_signal(int signum)
{
    if (engine_interrupted)
        _exit(EXIT_INTERRUPTED); /* a second ^C: the operator means it */
    engine_interrupted = signum;
    if (signal_wake)
        uv_async_send(signal_wake); /* async-signal-safe */
}

static void on_signal_wake(uv_async_t *h)
{
    run_ctx *rc = h->data;
    if (rc->interrupted)
        return;
    rc->interrupted = 1;
    fprintf(stderr, "\ninterrupted (signal %d): cancelling the run\n", (int)engine_interrupted);
    shell_lua_shutdown();
    tn_run_cancel(rc->run);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Lets every module release its handles, then closes the loop. */
static void shutdown_loop(void)
{
    http_lua_shutdown();
    server_shutdown();
    shell_lua_shutdown();
    sql_lua_shutdown();
    confirm_lua_shutdown();
    for (int i = 0; i < 50 && uv_run(tn_loop(), UV_RUN_NOWAIT); i++)
        ;
    uv_walk(tn_loop(), close_walk, NULL);
    uv_run(tn_loop(), UV_RUN_DEFAULT);
    uv_loop_close(tn_loop());
}

static void lib_path_of_runbook(tn_config *c, const char *path)
{
    /* scripts/runbooks/x.lua requires from scripts/lib. */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        snprintf(slash, sizeof dir - (size_t)(slash - dir), "/../lib");
    else
        snprintf(dir, sizeof dir, "../lib");
    if (is_dir(dir))
        config_add_lib_path(c, dir);
}

static int cmd_run(int argc, char **argv)
{
    const char *runbook = NULL, *config_path = NULL;
    int dry = 0, yes = 0, json = 0, debug = 0;
    char **sets = calloc((size_t)argc + 1, sizeof *sets);
    int nsets = 0;
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
                free(sets);
                return EXIT_USAGE;
            }
            if (!strcmp(a, "--config"))
                config_path = argv[++i];
            else if (!strchr(argv[i + 1], '=')) {
                fprintf(stderr, "tocsin run: --set takes key=value (got '%s')\n", argv[i + 1]);
                free(sets);
                return EXIT_USAGE;
            } else
                sets[nsets++] = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "tocsin run: unknown option %s\n%s", a, usage_run);
            free(sets);
            return EXIT_USAGE;
        } else if (!runbook)
            runbook = a;
        else {
            fprintf(stderr, "tocsin run: one runbook at a time (got '%s' and '%s')\n", runbook, a);
            free(sets);
            return EXIT_USAGE;
        }
    }
    if (!runbook) {
        fprintf(stderr, "tocsin run: which runbook?\n%s", usage_run);
        free(sets);
        return EXIT_USAGE;
    }
    char err[2048];
    tn_config cfg;
    if (config_load(&cfg, config_path, err, sizeof err) < 0) {
        put_error(stderr, "tocsin: ", err);
        free(sets);
        return EXIT_USAGE;
    }
    char *path = find_runbook(&cfg, runbook);
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
        free(sets);
        return EXIT_NOTFOUND;
    }
    lib_path_of_runbook(&cfg, path);
    cfg.settings.dry_run = dry;
    cfg.settings.assume_yes = yes;
    tn_state *st = tn_state_new(path, &cfg.settings, err, sizeof err);
    if (!st) {
        put_error(stderr, "", err);
        free(path);
        config_free(&cfg);
        free(sets);
        return EXIT_FAILED;
    }

    tn_out out;
    int tty = isatty(1);
    int color = tty && !getenv("NO_COLOR");
    out_init(&out, stdout, json ? stdout : stderr,
             json  ? OUT_MODE_JSON
             : tty ? OUT_MODE_TTY
                   : OUT_MODE_PLAIN,
             color);
    out.debug = debug;

    /* Root task: C.main(chunk, params, sets, run_id, dry_run). */
    lua_State *L = st->L;
    lua_getfield(L, LUA_REGISTRYINDEX, "tocsin.internals");
    lua_getfield(L, -1, "main");
    lua_remove(L, -2);
    lua_rawgeti(L, LUA_REGISTRYINDEX, st->chunk_ref);
    config_push_params(&cfg, L);
    lua_newtable(L);
    for (int i = 0; i < nsets; i++) {
        const char *eq = strchr(sets[i], '=');
        lua_pushlstring(L, sets[i], (size_t)(eq - sets[i]));
        lua_pushstring(L, eq + 1);
        lua_settable(L, -3);
    }
    run_ctx rc = {0};
    char run_id[40];
    snprintf(run_id, sizeof run_id, "run-%lx-%x", (unsigned long)time(NULL), (unsigned)getpid());
    tn_run_opts o = {
        .dry_run = dry, .assume_yes = yes, .out = &out, .on_done = on_run_done, .id = run_id};
    lua_pushstring(L, run_id);
    lua_pushboolean(L, dry);
    tn_run *r = tn_run_start(st, 5, &o);
    rc.run = r;
    out_run_begin(r, st->name);

    uv_async_init(tn_loop(), &rc.wake, on_signal_wake);
    rc.wake.data = &rc;
    uv_unref((uv_handle_t *)&rc.wake);
    signal_wake = &rc.wake;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    uv_run(tn_loop(), UV_RUN_DEFAULT);
    if (!r->done) {
        /* The loop ran dry with the run still waiting: nothing can wake it. */
        out_log(r, "error", "the run is waiting for something that can never happen", NULL, NULL);
        tn_run_cancel(r);
        r->canceled = 0;
    }
    out_run_end(r);
    out_close(&out);
    int code = rc.interrupted || engine_interrupted ? EXIT_INTERRUPTED
               : r->ok                              ? EXIT_OK
                                                    : EXIT_FAILED;
    tn_run_free(r);
    signal_wake = NULL;
    shutdown_loop();
    tn_state_free(st);
    free(path);
    config_free(&cfg);
    free(sets);
    return code;
}

/* ---- check and list ---------------------------------------------------- */

static const char *const known_fields[] = {"name",     "title",    "severity", "params",
                                           "triggers", "limits",   "run",      "description",
                                           "tags",     "scenario", NULL};

/* Lints the runbook table of a loaded state; prints problems; returns their count. */
static int lint_runbook(tn_state *st)
{
    lua_State *L = st->L;
    int problems = 0;
    lua_rawgeti(L, LUA_REGISTRYINDEX, st->runbook_ref);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        int known = 0;
        if (lua_type(L, -2) == LUA_TSTRING)
            for (int i = 0; known_fields[i]; i++)
                known |= !strcmp(lua_tostring(L, -2), known_fields[i]);
        if (!known) {
            put_redacted(stdout, "%s: unknown runbook field '%s'\n", st->path,
                         lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "(non-string key)");
            problems++;
        }
        lua_pop(L, 1);
    }
    static const struct {
        const char *field;
        int type;
    } types[] = {{"name", LUA_TSTRING},  {"title", LUA_TSTRING},   {"severity", LUA_TSTRING},
                 {"params", LUA_TTABLE}, {"triggers", LUA_TTABLE}, {"limits", LUA_TTABLE}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        lua_pushstring(L, types[i].field); /* raw: no runbook metamethods here */
        int t = lua_rawget(L, -2);
        if (t != LUA_TNIL && t != types[i].type) {
            put_redacted(stdout, "%s: field '%s' must be a %s (got %s)\n", st->path, types[i].field,
                         lua_typename(L, types[i].type), lua_typename(L, t));
            problems++;
        }
        lua_pop(L, 1);
    }
    const char *sev = engine_runbook_string(st, "severity");
    if (sev && !(strlen(sev) == 2 && sev[0] == 'P' && sev[1] >= '0' && sev[1] <= '3')) {
        put_redacted(stdout, "%s: severity must be P0, P1, P2 or P3 (got '%s')\n", st->path, sev);
        problems++;
    }
    lua_pop(L, 1);
    return problems;
}

static int check_file(tn_config *c, const char *path, int explicit_path, int *checked)
{
    char err[2048];
    (*checked)++;
    lib_path_of_runbook(c, path);
    tn_state *st = tn_state_new(path, &c->settings, err, sizeof err);
    if (!st) {
        put_error(stdout, "", err);
        return 1;
    }
    int problems = 0;
    int rc = tn_state_load(st, err, sizeof err);
    if (rc < 0) {
        put_error(stdout, "", err);
        problems++;
    } else if (rc == 1) {
        if (!explicit_path) {
            printf("%s: does not return a runbook table (ad-hoc scripts are run by path, "
                   "not kept in runbook folders)\n",
                   path);
            problems++;
        }
    } else {
        problems += lint_runbook(st);
    }
    tn_state_free(st);
    return problems;
}

static int cmd_check(int argc, char **argv)
{
    const char *config_path = NULL;
    char **paths = calloc((size_t)argc + 1, sizeof *paths);
    int npaths = 0;
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
    int problems = 0, checked = 0;
    if (npaths == 0)
        for (int i = 0; cfg.runbook_dirs[i]; i++)
            if (is_dir(cfg.runbook_dirs[i]))
                paths[npaths++] = cfg.runbook_dirs[i];
    for (int i = 0; i < npaths; i++) {
        if (is_dir(paths[i])) {
            int n;
            char **files = dir_files(paths[i], &n);
            for (int j = 0; j < n; j++) {
                problems += check_file(&cfg, files[j], 0, &checked);
                free(files[j]);
            }
            free(files);
        } else if (is_file(paths[i])) {
            problems += check_file(&cfg, paths[i], 1, &checked);
        } else {
            printf("%s: no such file or folder\n", paths[i]);
            problems++;
        }
    }
    printf("%d file%s checked%s, %d problem%s\n", checked, checked == 1 ? "" : "s",
           cfg.path ? " (and the config)" : "", problems, problems == 1 ? "" : "s");
    config_free(&cfg);
    free(paths);
    return problems ? EXIT_FAILED : EXIT_OK;
}

static void print_triggers(lua_State *L, FILE *out)
{
    /* The triggers table at the top: alert = {k = v}, schedule/every/cron. */
    int first = 1;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        if (lua_type(L, -2) == LUA_TSTRING) {
            fprintf(out, "%s%s", first ? "" : "; ", lua_tostring(L, -2));
            first = 0;
            if (lua_istable(L, -1)) {
                int f2 = 1;
                lua_pushnil(L);
                while (lua_next(L, -2)) {
                    if (lua_type(L, -2) == LUA_TSTRING && lua_isstring(L, -1)) {
                        fprintf(out, "%s%s=%s", f2 ? " " : ",", lua_tostring(L, -2),
                                lua_tostring(L, -1));
                        f2 = 0;
                    }
                    lua_pop(L, 1);
                }
            } else if (lua_isstring(L, -1)) {
                fprintf(out, " %s", lua_tostring(L, -1));
            }
        }
        lua_pop(L, 1);
    }
    if (first)
        fprintf(out, "-");
}

/* One row of `tocsin list`: name, severity, title, triggers. */
static void list_row(tn_state *st)
{
    const char *sev = engine_runbook_string(st, "severity");
    const char *title = engine_runbook_string(st, "title");
    char *row = NULL;
    size_t rowlen = 0;
    FILE *out = open_memstream(&row, &rowlen);
    if (!out)
        return;
    fprintf(out, "%-24s %-4s %-40s ", st->name, sev ? sev : "-", title ? title : "-");
    lua_State *L = st->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, st->runbook_ref);
    lua_pushliteral(L, "triggers");
    if (lua_rawget(L, -2) == LUA_TTABLE)
        print_triggers(L, out);
    else
        fprintf(out, "-");
    lua_pop(L, 2);
    fclose(out);
    put_redacted(stdout, "%s\n", row);
    free(row);
}

static int cmd_list(int argc, char **argv)
{
    const char *config_path = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_list, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--config") && i + 1 < argc)
            config_path = argv[++i];
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
    int broken = 0, found = 0;
    printf("%-24s %-4s %-40s %s\n", "NAME", "SEV", "TITLE", "TRIGGERS");
    for (int i = 0; cfg.runbook_dirs[i]; i++) {
        int n;
        char **files = dir_files(cfg.runbook_dirs[i], &n);
        for (int j = 0; j < n; j++) {
            tn_state *st = tn_state_new(files[j], &cfg.settings, err, sizeof err);
            int rc = st ? tn_state_load(st, err, sizeof err) : -1;
            if (rc < 0) {
                put_error(stderr, "", err);
                broken++;
            } else if (rc == 0) {
                found++;
                list_row(st);
            }
            tn_state_free(st);
            free(files[j]);
        }
        free(files);
    }
    if (!found && !broken)
        fprintf(stderr, "no runbooks found\n");
    config_free(&cfg);
    return broken ? EXIT_FAILED : EXIT_OK;
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
    static const char *const later[] = {"daemon",     "incidents", "incident", "ack", "resolve",
                                        "postmortem", "history",   "demo",     NULL};
    for (int i = 0; later[i]; i++)
        if (!strcmp(cmd, later[i])) {
            fprintf(stderr, "tocsin %s: not in this build yet\n", cmd);
            return EXIT_USAGE;
        }
    fprintf(stderr, "tocsin: unknown command '%s'\n%s", cmd, usage_main);
    return EXIT_USAGE;
}
