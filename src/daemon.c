/* daemon.c — `tocsin daemon`: one libuv loop that loads the config and the
 * runbooks, serves the HTTP API (daemon_api.c), runs the schedules and the
 * incident clock, and starts runs through the same run_launch the CLI uses.
 *
 * Versions.  A config and the runbooks loaded with it form a generation;
 * SIGHUP loads a new one and swaps it in only when it loads, and a runbook
 * file edited on disk is re-checked and swapped into the current one only
 * when it loads.  A run keeps the state it started on: replaced states are
 * retired and freed when their last run ends.
 *
 * Signals are libuv signal handles, not signals.c: SIGTERM must not cancel
 * running Lua (engine_interrupted would); it stops intake and gives the runs
 * a grace period. */
#include "daemon.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "buf.h"
#include "catalog.h"
#include "clock.h"
#include "confirm_lua.h"
#include "engine.h"
#include "metrics.h"
#include "modules.h"
#include "redact.h"
#include "util.h"

daemon_t daemon_g;

#define DEFAULT_LISTEN "127.0.0.1:9077"
#define DEFAULT_GRACE 30.0

/* ---- logs: one JSON object per line on stderr ----------------------------- */

static void log_time(buf_t *b)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char t[40];
    strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm);
    buf_fmt(b, "{\"time\":\"%s.%03ldZ\"", t, ts.tv_nsec / 1000000);
}

static void log_str(buf_t *b, const char *name, const char *v)
{
    buf_fmt(b, ",\"%s\":", name);
    /* Redacted here too: daemon messages carry runbook values (errors). */
    char *r = v ? redact_dup(v, strlen(v), NULL) : NULL;
    buf_add_json(b, r ? r : v ? "(withheld)" : "", r ? strlen(r) : v ? 10 : 0);
    free(r);
}

static void log_emit(buf_t *b)
{
    buf_addstr(b, "}\n");
    if (!b->failed)
        fwrite(buf_str(b), 1, b->n, stderr);
    buf_free(b);
}

void daemon_log(const char *level, const char *msg, ...)
{
    buf_t b = BUF_INIT;
    log_time(&b);
    log_str(&b, "level", level);
    log_str(&b, "msg", msg);
    va_list ap;
    va_start(ap, msg);
    const char *k;
    while ((k = va_arg(ap, const char *))) {
        const char *v = va_arg(ap, const char *);
        log_str(&b, k, v);
    }
    va_end(ap);
    log_emit(&b);
}

/* Every run's events as log lines (already redacted by events.c). */
static void log_event(const tn_event *ev, void *ud)
{
    (void)ud;
    buf_t b = BUF_INIT;
    const char *level = "info";
    switch (ev->type) {
    case TN_EV_LOG:
        if (!strcmp(ev->level, "debug"))
            return;
        level = ev->level;
        break;
    case TN_EV_RUN_END:
        level = ev->ok ? "info" : "error";
        break;
    case TN_EV_STEP_END:
        level = ev->ok ? "info" : "warn";
        break;
    case TN_EV_PRINT:
        /* The clock's runs print its protocol ("done ID TEXT"), logged once
         * as "incident clock" by clock_report. */
        if (ev->runbook && !strcmp(ev->runbook, "tocsin-clock"))
            return;
        break;
    case TN_EV_RUN_START:
    case TN_EV_ACTION:
        break;
    default:
        return;
    }
    log_time(&b);
    log_str(&b, "level", level);
    log_str(&b, "run", ev->run_id);
    log_str(&b, "runbook", ev->runbook);
    switch (ev->type) {
    case TN_EV_RUN_START:
        log_str(&b, "msg", "run started");
        log_str(&b, "trigger", ev->trigger);
        break;
    case TN_EV_RUN_END:
        log_str(&b, "msg", ev->ok ? "run finished" : "run failed");
        buf_fmt(&b, ",\"ok\":%s,\"duration\":%.3f,\"steps_failed\":%d", ev->ok ? "true" : "false",
                ev->duration, ev->steps_failed);
        if (ev->error)
            log_str(&b, "error", ev->error);
        break;
    case TN_EV_STEP_END:
        log_str(&b, "msg", "step");
        log_str(&b, "step", ev->title);
        buf_fmt(&b, ",\"ok\":%s,\"duration\":%.3f", ev->ok ? "true" : "false", ev->duration);
        if (ev->error)
            log_str(&b, "error", ev->error);
        break;
    case TN_EV_ACTION:
        log_str(&b, "msg", "dry-run action");
        log_str(&b, "action", ev->text);
        break;
    default: /* log, print */
        buf_addstr(&b, ",\"msg\":");
        buf_add_json(&b, ev->text, ev->len);
        if (ev->type == TN_EV_LOG && ev->fields)
            buf_fmt(&b, ",\"fields\":%s", ev->fields);
    }
    log_emit(&b);
}

/* ---- generations ------------------------------------------------------------ */

static long long mtime_ns(const struct stat *sb)
{
    return (long long)sb->st_mtim.tv_sec * 1000000000LL + sb->st_mtim.tv_nsec;
}

static d_book *book_find(d_gen *g, const char *name)
{
    list_node *n;
    LIST_FOREACH(n, &g->books)
    {
        d_book *b = LIST_ENTRY(n, d_book, node);
        if (!strcmp(b->name, name))
            return b;
    }
    return NULL;
}

int daemon_has_runbook(d_gen *g, const char *name)
{
    return book_find(g, name) != NULL;
}

static d_book *book_by_path(d_gen *g, const char *path)
{
    list_node *n;
    LIST_FOREACH(n, &g->books)
    {
        d_book *b = LIST_ENTRY(n, d_book, node);
        if (!strcmp(b->path, path))
            return b;
    }
    return NULL;
}

static void book_free(d_book *b)
{
    tn_state_free(b->st);
    free(b->path);
    free(b->name);
    free(b);
}

/* A state that was replaced: freed now if no run uses it, else when its
 * last run ends. */
static void retire(d_gen *g, const char *path, tn_state *st)
{
    if (!st)
        return;
    if (st->nruns == 0) {
        tn_state_free(st);
        return;
    }
    d_book *r = calloc(1, sizeof *r);
    if (!r)
        return; /* leaked rather than freed under a run */
    r->st = st;
    r->path = strdup(path);
    r->name = strdup(st->name ? st->name : "?");
    list_push_back(&g->retired, &r->node);
}

/* Loads one runbook file: the state (a runbook, not an ad-hoc script), or
 * NULL with err. */
static tn_state *load_book(d_gen *g, const char *path, char *err, size_t errlen)
{
    int rc;
    tn_state *st = catalog_load(&g->cfg, path, &rc, err, errlen);
    if (st && rc == 1) {
        snprintf(err, errlen, "%s: an ad-hoc script, not a runbook (it returns no table with run)",
                 path);
        rc = -1;
    }
    if (rc < 0 || !st) {
        tn_state_free(st);
        return NULL;
    }
    return st;
}

static int gen_add_book(d_gen *g, const char *path, tn_state *st, const struct stat *sb)
{
    d_book *b = calloc(1, sizeof *b);
    if (!b)
        return -1;
    b->path = strdup(path);
    b->name = strdup(tn_state_name(st));
    b->st = st;
    b->mtime_ns = mtime_ns(sb);
    b->size = (long long)sb->st_size;
    list_push_back(&g->books, &b->node);
    return 0;
}

static void gen_free(d_gen *g)
{
    list_node *n;
    while ((n = list_first(&g->books))) {
        list_remove(n);
        book_free(LIST_ENTRY(n, d_book, node));
    }
    while ((n = list_first(&g->retired))) {
        list_remove(n);
        book_free(LIST_ENTRY(n, d_book, node));
    }
    config_free(&g->cfg);
    free(g);
}

static void log_load_error(const char *what, const char *err)
{
    daemon_log("error", what, "error", err, NULL);
}

/* A new generation from the config at path: NULL with err when the config
 * does not load.  Runbooks that do not load are logged and left out. */
static d_gen *gen_load(const char *config_path, char *err, size_t errlen)
{
    static int ids;
    d_gen *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    list_init(&g->books);
    list_init(&g->retired);
    g->id = ++ids;
    if (config_load(&g->cfg, config_path, err, errlen) < 0) {
        free(g);
        return NULL;
    }
    for (int i = 0; g->cfg.runbook_dirs && g->cfg.runbook_dirs[i]; i++) {
        int n;
        char **files = catalog_dir_files(g->cfg.runbook_dirs[i], &n);
        for (int j = 0; j < n; j++) {
            char lerr[2048];
            struct stat sb;
            tn_state *st = NULL;
            if (stat(files[j], &sb) == 0)
                st = load_book(g, files[j], lerr, sizeof lerr);
            else
                snprintf(lerr, sizeof lerr, "%s: %s", files[j], strerror(errno));
            if (!st) {
                log_load_error("runbook not loaded", lerr);
            } else if (book_find(g, tn_state_name(st))) {
                daemon_log("error", "runbook not loaded: its name is taken", "path", files[j],
                           "name", tn_state_name(st), NULL);
                tn_state_free(st);
            } else if (gen_add_book(g, files[j], st, &sb) < 0) {
                tn_state_free(st);
            }
            free(files[j]);
        }
        free(files);
    }
    return g;
}

static int gen_count(d_gen *g)
{
    int k = 0;
    list_node *n;
    LIST_FOREACH(n, &g->books)
    k++;
    return k;
}

/* ---- the config's daemon fields ------------------------------------------------ */

/* Pushes field `name` of the config's snapshot onto the config's own state
 * (nil when there is none); the caller pops. */
static lua_State *cfg_field(tn_config *c, const char *name)
{
    if (!c->st || c->ref == LUA_NOREF)
        return NULL;
    lua_State *L = c->st->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);
    lua_pushstring(L, name);
    lua_rawget(L, -2);
    lua_remove(L, -2);
    return L;
}

static char *cfg_string(tn_config *c, const char *name)
{
    lua_State *L = cfg_field(c, name);
    if (!L)
        return NULL;
    char *s = lua_type(L, -1) == LUA_TSTRING ? strdup(lua_tostring(L, -1)) : NULL;
    lua_pop(L, 1);
    return s;
}

static double cfg_duration(tn_config *c, const char *name, double def)
{
    lua_State *L = cfg_field(c, name);
    if (!L)
        return def;
    double v = def;
    if (lua_type(L, -1) == LUA_TNUMBER)
        v = lua_tonumber(L, -1);
    else if (lua_type(L, -1) == LUA_TSTRING && tn_parse_duration(lua_tostring(L, -1)) >= 0)
        v = tn_parse_duration(lua_tostring(L, -1));
    lua_pop(L, 1);
    return v;
}

/* ---- runs ------------------------------------------------------------------------ */

static uv_timer_t reaper;
static void daemon_reap(uv_timer_t *t);
void daemon_sched_run_ended(int schedule);
int daemon_sched_start(d_gen *g, char *err, size_t errlen);
void daemon_sched_stop(void);

static void on_run_done(tn_run *r, void *ud)
{
    (void)r;
    (void)ud;
    uv_timer_start(&reaper, daemon_reap, 0, 0); /* the run is freed after this returns */
}

d_run *daemon_find_run(const char *id)
{
    list_node *n;
    LIST_FOREACH(n, &daemon_g.runs)
    {
        d_run *d = LIST_ENTRY(n, d_run, node);
        if (!strcmp(d->id, id))
            return d;
    }
    return NULL;
}

/* Whether a run started for this alert key is alive (dedup). */
int daemon_alert_alive(const char *key)
{
    list_node *n;
    LIST_FOREACH(n, &daemon_g.runs)
    {
        d_run *d = LIST_ENTRY(n, d_run, node);
        if (d->alert_key && !strcmp(d->alert_key, key) && !d->run->done)
            return 1;
    }
    return 0;
}

static void free_retired(d_gen *g)
{
    list_node *n, *nx;
    LIST_FOREACH_SAFE(n, nx, &g->retired)
    {
        d_book *b = LIST_ENTRY(n, d_book, node);
        if (b->st->nruns == 0) {
            list_remove(n);
            book_free(b);
        }
    }
}

static void (*alert_ended_hook)(const char *runbook, const char *key);
void daemon_set_alert_ended_hook(void (*fn)(const char *runbook, const char *key))
{
    alert_ended_hook = fn;
}

static void daemon_reap(uv_timer_t *t)
{
    (void)t;
    list_node *n, *nx;
    LIST_FOREACH_SAFE(n, nx, &daemon_g.runs)
    {
        d_run *d = LIST_ENTRY(n, d_run, node);
        if (!d->run->done)
            continue;
        list_remove(n);
        daemon_g.nruns--;
        d_gen *g = d->gen;
        g->nruns--;
        if (d->alert_key && alert_ended_hook)
            alert_ended_hook(d->runbook, d->alert_key);
        if (d->schedule)
            daemon_sched_run_ended(d->schedule);
        tn_run_free(d->run);
        free(d->runbook);
        free(d->trigger);
        free(d->alert_key);
        free(d);
        free_retired(g);
        if (g != daemon_g.gen && g->nruns == 0)
            gen_free(g);
    }
    if (daemon_g.draining && daemon_g.nruns == 0)
        uv_stop(tn_loop());
}

typedef struct {
    tn_config *cfg;
    const char *json;
} params_src;

/* ctx.params: the config's params, then the request's (a JSON object). */
static void push_params(lua_State *L, void *ud)
{
    params_src *p = ud;
    config_push_params(p->cfg, L);
    if (!p->json)
        return;
    if (tn_json_decode(L, p->json, strlen(p->json)) < 0 || !lua_istable(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_settable(L, -5);
    }
    lua_pop(L, 1);
}

int daemon_start_run(const char *name, const char *trigger, const char *params_json,
                     const char *alert_json, const char *alert_key, int schedule, char *id_out,
                     size_t idlen, char *err, size_t errlen)
{
    d_gen *g = daemon_g.gen;
    if (daemon_g.draining) {
        snprintf(err, errlen, "the daemon is stopping: no new runs");
        return -1;
    }
    d_book *b = book_find(g, name);
    if (!b) {
        snprintf(err, errlen, "no runbook '%s'", name);
        return 1;
    }
    d_run *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    params_src ps = {&g->cfg, params_json};
    run_launch_opts lo = {
        .push_params = push_params, .params_ud = &ps, .trigger = trigger, .alert_json = alert_json};
    tn_run_opts o = {.on_done = on_run_done, .ud = d};
    int rc = run_launch(b->st, &lo, &o, &d->run, err, errlen);
    if (rc < 0) {
        free(d);
        return -1;
    }
    d->gen = g;
    d->book = b;
    d->st = b->st;
    snprintf(d->id, sizeof d->id, "%s", d->run->id);
    d->runbook = strdup(name);
    d->trigger = strdup(trigger);
    d->alert_key = alert_key ? strdup(alert_key) : NULL;
    d->schedule = schedule;
    d->started = (double)time(NULL);
    list_push_back(&daemon_g.runs, &d->node);
    daemon_g.nruns++;
    g->nruns++;
    if (id_out)
        snprintf(id_out, idlen, "%s", d->id);
    return 0;
}

/* ---- hot reload ------------------------------------------------------------------- */

typedef struct watch {
    uv_fs_event_t ev;
    char *dir;
    struct watch *next;
} watch;

static watch *watches;
static uv_timer_t settle;

/* Re-reads the current generation's runbook folders: an edited file is
 * loaded and swapped in when it loads (a broken edit is logged with its
 * file:line and the previous version keeps serving); a new file is added;
 * a removed one stops being served. */
static void rescan(uv_timer_t *t)
{
    (void)t;
    d_gen *g = daemon_g.gen;
    for (int i = 0; g->cfg.runbook_dirs && g->cfg.runbook_dirs[i]; i++) {
        int n;
        char **files = catalog_dir_files(g->cfg.runbook_dirs[i], &n);
        for (int j = 0; j < n; j++) {
            struct stat sb;
            d_book *b = book_by_path(g, files[j]);
            if (stat(files[j], &sb) != 0 ||
                (b && b->mtime_ns == mtime_ns(&sb) && b->size == (long long)sb.st_size)) {
                free(files[j]);
                continue;
            }
            char err[2048];
            tn_state *st = load_book(g, files[j], err, sizeof err);
            if (b) {
                b->mtime_ns = mtime_ns(&sb); /* this version is judged: not again */
                b->size = (long long)sb.st_size;
            }
            d_book *other = st ? book_find(g, tn_state_name(st)) : NULL;
            if (!st) {
                daemon_log("error",
                           b ? "reload refused: the previous version keeps serving"
                             : "runbook not loaded",
                           "path", files[j], "error", err, NULL);
            } else if (other && other != b) {
                daemon_log("error", "reload refused: another runbook has this name", "path",
                           files[j], "name", tn_state_name(st), NULL);
                tn_state_free(st);
            } else if (b) {
                retire(g, b->path, b->st);
                b->st = st;
                if (strcmp(b->name, tn_state_name(st))) {
                    free(b->name);
                    b->name = strdup(tn_state_name(st));
                }
                daemon_log("info", "runbook reloaded", "path", files[j], "name", b->name, NULL);
            } else if (gen_add_book(g, files[j], st, &sb) == 0) {
                daemon_log("info", "runbook added", "path", files[j], "name", tn_state_name(st),
                           NULL);
            } else {
                tn_state_free(st);
            }
            free(files[j]);
        }
        free(files);
    }
    /* Files gone from disk stop being served. */
    list_node *n, *nx;
    LIST_FOREACH_SAFE(n, nx, &g->books)
    {
        d_book *b = LIST_ENTRY(n, d_book, node);
        if (access(b->path, F_OK) == 0)
            continue;
        daemon_log("info", "runbook removed", "path", b->path, "name", b->name, NULL);
        list_remove(n);
        retire(g, b->path, b->st);
        b->st = NULL;
        book_free(b);
    }
}

static void on_fs_event(uv_fs_event_t *h, const char *file, int events, int status)
{
    (void)h;
    (void)events;
    (void)status;
    if (file && !strstr(file, ".lua"))
        return;
    /* Editors write in several steps: look once things settle. */
    uv_timer_start(&settle, rescan, 150, 0);
}

static void watch_start(d_gen *g)
{
    for (int i = 0; g->cfg.runbook_dirs && g->cfg.runbook_dirs[i]; i++) {
        watch *w = calloc(1, sizeof *w);
        if (!w)
            return;
        w->dir = strdup(g->cfg.runbook_dirs[i]);
        uv_fs_event_init(tn_loop(), &w->ev);
        if (!w->dir || uv_fs_event_start(&w->ev, on_fs_event, w->dir, 0) != 0) {
            uv_close((uv_handle_t *)&w->ev, NULL);
            uv_run(tn_loop(), UV_RUN_NOWAIT);
            free(w->dir);
            free(w);
            continue;
        }
        w->next = watches;
        watches = w;
    }
}

static void watch_closed(uv_handle_t *h)
{
    watch *w = h->data;
    free(w->dir);
    free(w);
}

static void watch_stop(void)
{
    while (watches) {
        watch *w = watches;
        watches = w->next;
        w->ev.data = w;
        uv_close((uv_handle_t *)&w->ev, watch_closed);
    }
}

/* ---- signals ------------------------------------------------------------------------ */

static uv_signal_t sig_term, sig_int, sig_hup;
static uv_timer_t grace;
static const char *config_path;

static void grace_over(uv_timer_t *t)
{
    (void)t;
    daemon_log("warn", "grace period over: cancelling the runs still going", NULL);
    list_node *n;
    LIST_FOREACH(n, &daemon_g.runs)
    {
        d_run *d = LIST_ENTRY(n, d_run, node);
        tn_run_cancel(d->run);
    }
}

static void drain(int signum)
{
    if (daemon_g.draining) {
        if (signum == SIGINT)
            grace_over(NULL);
        return;
    }
    daemon_g.draining = 1;
    char n[16];
    snprintf(n, sizeof n, "%d", daemon_g.nruns);
    daemon_log("info", "stopping: no new runs, waiting for the running ones", "signal",
               signum == SIGTERM ? "SIGTERM" : "SIGINT", "runs", n, NULL);
    daemon_sched_stop();
    watch_stop();
    if (daemon_g.srv) {
        server_close(daemon_g.srv, 1);
        daemon_g.srv = NULL;
    }
    if (daemon_g.nruns == 0) {
        uv_stop(tn_loop());
        return;
    }
    double secs = cfg_duration(&daemon_g.gen->cfg, "grace", DEFAULT_GRACE);
    uv_timer_start(&grace, grace_over, tn_secs_to_ms(secs), 0);
}

static void reload(void)
{
    char err[2048];
    d_gen *g = gen_load(config_path, err, sizeof err);
    if (!g) {
        log_load_error("config reload refused: the previous config keeps serving", err);
        return;
    }
    char *state = g->cfg.state;
    if (strcmp(state, daemon_g.gen->cfg.state))
        daemon_log("warn", "the state store cannot change without a restart", "state",
                   daemon_g.gen->cfg.state, NULL);
    /* A rotated api_token takes effect now; the listen address needs a
     * restart (the socket is bound). */
    free(daemon_g.token);
    daemon_g.token = cfg_string(&g->cfg, "api_token");
    char *listen = cfg_string(&g->cfg, "listen");
    if ((listen || daemon_g.listen) &&
        (!listen || !daemon_g.listen || strcmp(listen, daemon_g.listen)))
        daemon_log("warn", "the listen address cannot change without a restart", "listen",
                   daemon_g.listen ? daemon_g.listen : DEFAULT_LISTEN, NULL);
    free(listen);
    d_gen *old = daemon_g.gen;
    daemon_sched_stop();
    daemon_g.gen = g;
    store_set_policy(daemon_g.db, &g->cfg.policy);
    clock_set_config(&g->cfg);
    if (daemon_sched_start(g, err, sizeof err) < 0)
        log_load_error("schedules not started", err);
    if (daemon_hooks_configure(g, err, sizeof err) < 0)
        log_load_error("alert routes not changed", err);
    watch_stop();
    watch_start(g);
    char n[16];
    snprintf(n, sizeof n, "%d", gen_count(g));
    daemon_log("info", "config reloaded", "runbooks", n, NULL);
    if (old->nruns == 0)
        gen_free(old);
}

static void on_signal(uv_signal_t *h, int signum)
{
    (void)h;
    if (signum == SIGHUP)
        reload();
    else
        drain(signum);
}

/* ---- main ---------------------------------------------------------------------------- */

static const char usage[] =
    "usage: tocsin daemon [--config FILE]\n"
    "\n"
    "Loads the config and its runbooks, runs the schedules, the incident clock\n"
    "and the HTTP API (config `listen`, default " DEFAULT_LISTEN "), and logs one\n"
    "JSON object per line on stderr. An edited runbook is swapped in once it\n"
    "loads; SIGHUP reloads the config; SIGTERM stops intake, lets running runs\n"
    "finish (config `grace`, default 30 s) and exits 0.\n";

static void clock_report(const char *text, void *ud)
{
    (void)ud;
    daemon_log("info", "incident clock", "did", text, NULL);
}

static void clock_error(const char *msg, void *ud)
{
    (void)ud;
    daemon_log("error", msg, NULL);
}

int daemon_main(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            config_path = argv[++i];
        } else {
            fprintf(stderr, "tocsin daemon: unexpected argument '%s'\n%s", argv[i], usage);
            return 2;
        }
    }
    char err[2048];
    memset(&daemon_g, 0, sizeof daemon_g);
    list_init(&daemon_g.runs);
    daemon_g.started = (double)time(NULL);
    uv_timer_init(tn_loop(), &reaper);
    uv_timer_init(tn_loop(), &settle);
    uv_timer_init(tn_loop(), &grace);
    uv_unref((uv_handle_t *)&grace);
    d_gen *g = gen_load(config_path, err, sizeof err);
    if (!g) {
        log_load_error("config not loaded", err);
        return 2;
    }
    daemon_g.gen = g;
    confirm_lua_set_remote(1);
    if (store_open(&daemon_g.db, g->cfg.state, err, sizeof err) < 0) {
        log_load_error("state store not opened", err);
        gen_free(g);
        return 1;
    }
    store_set_policy(daemon_g.db, &g->cfg.policy);
    store_record_start(daemon_g.db);
    store_current = daemon_g.db;
    tn_events_subscribe(log_event, NULL);
    daemon_g.listen = cfg_string(&g->cfg, "listen");
    daemon_g.token = cfg_string(&g->cfg, "api_token");
    int code = 0;
    if (daemon_api_open(err, sizeof err) < 0) {
        log_load_error("API not started", err);
        code = 1;
        goto out;
    }
    /* Its own changes kick the clock; the poll is for deadlines other
     * processes (a CLI run) write: 5 s late at most, and an idle daemon
     * costs next to nothing.  Its runs' events reach log_event. */
    clock_opts co = {
        .db = daemon_g.db, .poll = 5, .cfg = &g->cfg, .report = clock_report, .error = clock_error};
    if (clock_start(&co, err, sizeof err) < 0)
        log_load_error("incident clock not started", err);
    if (daemon_sched_start(g, err, sizeof err) < 0)
        log_load_error("schedules not started", err);
    if (daemon_hooks_configure(g, err, sizeof err) < 0)
        log_load_error("alert routes not loaded", err);
    if (daemon_metrics_init() < 0)
        log_load_error("metrics not started", "out of memory");
    watch_start(g);
    uv_signal_init(tn_loop(), &sig_term);
    uv_signal_init(tn_loop(), &sig_int);
    uv_signal_init(tn_loop(), &sig_hup);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    uv_signal_start(&sig_hup, on_signal, SIGHUP);
    {
        char n[16], port[16];
        snprintf(n, sizeof n, "%d", gen_count(g));
        snprintf(port, sizeof port, "%d", server_port(daemon_g.srv));
        daemon_log("info", "tocsin daemon started", "listen",
                   daemon_g.listen ? daemon_g.listen : DEFAULT_LISTEN, "port", port, "runbooks", n,
                   "state", g->cfg.state, NULL);
    }
    while (!daemon_g.draining || daemon_g.nruns > 0)
        if (uv_run(tn_loop(), UV_RUN_DEFAULT) == 0 && !daemon_g.draining)
            break;
    daemon_log("info", "tocsin daemon stopped", NULL);
    uv_close((uv_handle_t *)&sig_term, NULL);
    uv_close((uv_handle_t *)&sig_int, NULL);
    uv_close((uv_handle_t *)&sig_hup, NULL);
    clock_stop();
out:
    watch_stop();
    if (daemon_g.srv)
        server_close(daemon_g.srv, 0);
    uv_close((uv_handle_t *)&reaper, NULL);
    uv_close((uv_handle_t *)&settle, NULL);
    uv_close((uv_handle_t *)&grace, NULL);
    tn_events_unsubscribe(log_event, NULL);
    store_current = NULL;
    daemon_api_settle(); /* no API read of the store in flight */
    store_record_stop(daemon_g.db);
    if (store_flush(daemon_g.db, err, sizeof err) < 0)
        log_load_error("the state store's last writes failed", err);
    store_close(daemon_g.db);
    modules_shutdown();
    daemon_hooks_free();
    metrics_shutdown();
    daemon_api_close();
    gen_free(daemon_g.gen);
    free(daemon_g.listen);
    free(daemon_g.token);
    return code;
}
