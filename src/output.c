/* output.c — what a run shows: steps, logs, prints and dry-run actions, as
 * live terminal lines or one JSON object per event.  Every string is redacted
 * before it is written. */
#include "output.h"

#include <lauxlib.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redact.h"
#include "util.h"

/* ---- a growing line buffer --------------------------------------------- */

typedef struct {
    char *p;
    size_t n, cap;
} buf;

static void b_add(buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void b_str(buf *b, const char *s)
{
    b_add(b, s, strlen(s));
}

static void b_fmt(buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        b_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Redacted text, appended raw. */
static void b_text(buf *b, const char *s, size_t n)
{
    if (!redact_needed(s, n)) {
        b_add(b, s, n);
        return;
    }
    size_t m;
    char *r = redact_dup(s, n, &m);
    if (r)
        b_add(b, r, m);
    free(r);
}

/* Redacted text as a JSON string literal. */
static void b_json(buf *b, const char *s, size_t n)
{
    char *r = NULL;
    if (redact_needed(s, n) && (r = redact_dup(s, n, &n)))
        s = r;
    b_add(b, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        b_add(b, s + start, i - start);
        start = i + 1;
        switch (c) {
        case '"':
            b_add(b, "\\\"", 2);
            break;
        case '\\':
            b_add(b, "\\\\", 2);
            break;
        case '\n':
            b_add(b, "\\n", 2);
            break;
        case '\r':
            b_add(b, "\\r", 2);
            break;
        case '\t':
            b_add(b, "\\t", 2);
            break;
        default:
            b_fmt(b, "\\u%04x", c);
            break;
        }
    }
    b_add(b, s + start, n - start);
    b_add(b, "\"", 1);
    free(r);
}

static void b_jstr(buf *b, const char *s)
{
    b_json(b, s, strlen(s));
}

static void json_head(buf *b, tn_run *r, const char *event)
{
    b_str(b, "{\"event\":\"");
    b_str(b, event);
    b_str(b, "\",\"run\":");
    b_jstr(b, r->id);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    b_fmt(b, ",\"ts\":%.3f", ts.tv_sec + ts.tv_nsec / 1e9);
}

/* ---- the terminal ------------------------------------------------------ */

static const char *const spin_glyphs[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};

static const char *c_(tn_out *o, const char *code)
{
    return o->color ? code : "";
}

static void draw_active(tn_out *o)
{
    buf b = {0};
    b_str(&b, "\r\033[K");
    for (int i = 0; i < o->active_depth; i++)
        b_str(&b, "  ");
    b_fmt(&b, "%s%s%s ", c_(o, "\033[36m"), spin_glyphs[o->spin % 10], c_(o, "\033[0m"));
    b_str(&b, o->active_title);
    double secs = (uv_hrtime() - o->active_start) / 1e9;
    if (secs >= 1)
        b_fmt(&b, " %s(%.0fs)%s", c_(o, "\033[2m"), secs, c_(o, "\033[0m"));
    fwrite(b.p, 1, b.n, o->f);
    fflush(o->f);
    free(b.p);
}

static void spin_cb(uv_timer_t *h)
{
    tn_out *o = h->data;
    if (!o->active)
        return;
    o->spin++;
    draw_active(o);
}

/* Before any other line: take the live step line off the screen. */
static void clear_active(tn_out *o)
{
    if (o->mode == OUT_MODE_TTY && o->active) {
        fputs("\r\033[K", o->f);
        o->active = 0;
    }
}

static void redraw_active(tn_out *o)
{
    if (o->mode == OUT_MODE_TTY && o->active_title && !o->active) {
        o->active = 1;
        draw_active(o);
    }
}

void out_init(tn_out *o, FILE *f, FILE *logf, int mode, int color)
{
    memset(o, 0, sizeof *o);
    o->f = f;
    o->logf = logf;
    o->mode = mode;
    o->color = color;
}

void out_close(tn_out *o)
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

static void emit(tn_out *o, FILE *f, buf *b)
{
    if (!b->p)
        return;
    clear_active(o);
    fwrite(b->p, 1, b->n, f);
    fflush(f);
    free(b->p);
    redraw_active(o);
}

void out_run_begin(tn_run *r, const char *runbook)
{
    tn_out *o = r->out;
    if (!o || o->mode != OUT_MODE_JSON)
        return;
    buf b = {0};
    json_head(&b, r, "tn_run_start");
    b_str(&b, ",\"runbook\":");
    b_jstr(&b, runbook);
    b_fmt(&b, ",\"dry_run\":%s}\n", r->dry_run ? "true" : "false");
    emit(o, o->f, &b);
}

void out_run_end(tn_run *r)
{
    tn_out *o = r->out;
    if (!o)
        return;
    double secs = (r->ended_ns - r->started_ns) / 1e9;
    buf b = {0};
    if (o->mode == OUT_MODE_JSON) {
        json_head(&b, r, "run_end");
        b_fmt(&b, ",\"ok\":%s,\"duration\":%.3f", r->ok ? "true" : "false", secs);
        if (r->error) {
            b_str(&b, ",\"error\":");
            b_jstr(&b, r->error);
        }
        if (r->limit)
            b_str(&b, ",\"kind\":\"limit\"");
        if (r->canceled)
            b_str(&b, ",\"canceled\":true");
        if (r->dry_run) {
            b_str(&b, ",\"actions\":[");
            for (int i = 0; i < r->nactions; i++) {
                if (i)
                    b_str(&b, ",");
                b_jstr(&b, r->actions[i]);
            }
            b_str(&b, "]");
        }
        b_str(&b, "}\n");
        emit(o, o->f, &b);
        return;
    }
    if (r->dry_run) {
        b_fmt(&b, "\n%sDry run:%s %d action%s would have been taken%s\n", c_(o, "\033[1m"),
              c_(o, "\033[0m"), r->nactions, r->nactions == 1 ? "" : "s", r->nactions ? ":" : ".");
        for (int i = 0; i < r->nactions; i++) {
            b_fmt(&b, "  %d. ", i + 1);
            b_text(&b, r->actions[i], strlen(r->actions[i]));
            b_str(&b, "\n");
        }
    }
    if (r->error) {
        b_fmt(&b, "%s", c_(o, "\033[31m"));
        b_text(&b, r->error, strlen(r->error));
        b_fmt(&b, "%s\n", c_(o, "\033[0m"));
    }
    if (r->ok)
        b_fmt(&b, "%s✓ %s%s finished in %.2fs\n", c_(o, "\033[32m"), r->st->name, c_(o, "\033[0m"),
              secs);
    else
        b_fmt(&b, "%s✗ %s%s %s after %.2fs\n", c_(o, "\033[31m"), r->st->name, c_(o, "\033[0m"),
              r->canceled ? "interrupted" : "failed", secs);
    emit(o, r->error ? o->logf : o->f, &b);
}

void out_step_begin(tn_run *r, int id, int depth, const char *title)
{
    tn_out *o = r->out;
    if (!o)
        return;
    buf b = {0};
    if (o->mode == OUT_MODE_JSON) {
        json_head(&b, r, "step_start");
        b_fmt(&b, ",\"step\":%d,\"depth\":%d,\"title\":", id, depth);
        b_jstr(&b, title);
        b_str(&b, "}\n");
        emit(o, o->f, &b);
        return;
    }
    if (o->mode != OUT_MODE_TTY)
        return;
    /* A nested step: the parent's line becomes a heading. */
    if (o->active_title) {
        clear_active(o);
        for (int i = 0; i < o->active_depth; i++)
            b_str(&b, "  ");
        b_fmt(&b, "%s▸%s ", c_(o, "\033[36m"), c_(o, "\033[0m"));
        b_str(&b, o->active_title);
        b_str(&b, "\n");
        fwrite(b.p, 1, b.n, o->f);
        free(b.p);
        free(o->active_title);
    }
    size_t m;
    o->active_title = redact_dup(title, strlen(title), &m);
    o->active_step = id;
    o->active_depth = depth;
    o->active_start = uv_hrtime();
    o->active = 1;
    if (!o->spinner_init) {
        uv_timer_init(tn_loop(), &o->spinner);
        uv_unref((uv_handle_t *)&o->spinner);
        o->spinner.data = o;
        o->spinner_init = 1;
        uv_timer_start(&o->spinner, spin_cb, 100, 100);
    }
    draw_active(o);
}

void out_step_end(tn_run *r, int id, int depth, const char *title, int ok, double secs,
                  const char *err)
{
    tn_out *o = r->out;
    if (!o)
        return;
    buf b = {0};
    if (o->mode == OUT_MODE_JSON) {
        json_head(&b, r, "step_end");
        b_fmt(&b, ",\"step\":%d,\"depth\":%d,\"title\":", id, depth);
        b_jstr(&b, title);
        b_fmt(&b, ",\"ok\":%s,\"duration\":%.3f", ok ? "true" : "false", secs);
        if (err) {
            b_str(&b, ",\"error\":");
            b_jstr(&b, err);
        }
        b_str(&b, "}\n");
        emit(o, o->f, &b);
        return;
    }
    if (o->active_step == id) {
        free(o->active_title);
        o->active_title = NULL;
    }
    for (int i = 0; i < depth; i++)
        b_str(&b, "  ");
    if (ok)
        b_fmt(&b, "%s✓%s ", c_(o, "\033[32m"), c_(o, "\033[0m"));
    else
        b_fmt(&b, "%s✗%s ", c_(o, "\033[31m"), c_(o, "\033[0m"));
    b_text(&b, title, strlen(title));
    if (secs >= 1)
        b_fmt(&b, " %s(%.2fs)%s", c_(o, "\033[2m"), secs, c_(o, "\033[0m"));
    else
        b_fmt(&b, " %s(%.0f ms)%s", c_(o, "\033[2m"), secs * 1000, c_(o, "\033[0m"));
    if (err) {
        b_str(&b, "\n");
        for (int i = 0; i <= depth; i++)
            b_str(&b, "  ");
        b_fmt(&b, "%s", c_(o, "\033[31m"));
        b_text(&b, err, strlen(err));
        b_fmt(&b, "%s", c_(o, "\033[0m"));
    }
    b_str(&b, "\n");
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

void out_log_json(tn_run *r, const char *level, const char *msg, const char *fields_json)
{
    tn_out *o = r ? r->out : NULL;
    if (!o) {
        /* Outside a run (load time): plain stderr, still redacted. */
        buf b = {0};
        b_fmt(&b, "%s: ", level);
        b_text(&b, msg, strlen(msg));
        if (fields_json) {
            b_str(&b, " ");
            b_text(&b, fields_json, strlen(fields_json));
        }
        b_str(&b, "\n");
        fwrite(b.p, 1, b.n, stderr);
        free(b.p);
        return;
    }
    if (!strcmp(level, "debug") && !o->debug)
        return;
    buf b = {0};
    if (o->mode == OUT_MODE_JSON) {
        json_head(&b, r, "log");
        b_str(&b, ",\"level\":");
        b_jstr(&b, level);
        b_str(&b, ",\"msg\":");
        b_jstr(&b, msg);
        if (fields_json) {
            b_str(&b, ",\"fields\":");
            b_text(&b, fields_json, strlen(fields_json));
        }
        b_str(&b, "}\n");
        emit(o, o->f, &b);
        return;
    }
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    b_fmt(&b, "%s%02d:%02d:%02d %-5s%s ", c_(o, level_color(level)), tm.tm_hour, tm.tm_min,
          tm.tm_sec, level, c_(o, "\033[0m"));
    b_text(&b, msg, strlen(msg));
    if (fields_json) {
        b_str(&b, " ");
        b_text(&b, fields_json, strlen(fields_json));
    }
    b_str(&b, "\n");
    emit(o, o->logf, &b);
}

void out_log(tn_run *r, const char *level, const char *msg, const char *key, const char *value)
{
    if (!key) {
        out_log_json(r, level, msg, NULL);
        return;
    }
    buf b = {0};
    b_str(&b, "{");
    b_jstr(&b, key);
    b_str(&b, ":");
    b_jstr(&b, value ? value : "");
    b_str(&b, "}");
    out_log_json(r, level, msg, b.p);
    free(b.p);
}

void out_print(tn_run *r, const char *text, size_t n)
{
    tn_out *o = r ? r->out : NULL;
    buf b = {0};
    if (o && o->mode == OUT_MODE_JSON) {
        json_head(&b, r, "print");
        b_str(&b, ",\"text\":");
        b_json(&b, text, n);
        b_str(&b, "}\n");
        emit(o, o->f, &b);
        return;
    }
    b_text(&b, text, n);
    b_str(&b, "\n");
    if (o)
        emit(o, o->f, &b);
    else {
        fwrite(b.p, 1, b.n, stdout);
        free(b.p);
    }
}

void out_action(tn_run *r, const char *what, const char *text)
{
    tn_out *o = r->out;
    if (!o)
        return;
    buf b = {0};
    if (o->mode == OUT_MODE_JSON) {
        json_head(&b, r, "action");
        b_str(&b, ",\"kind\":");
        b_jstr(&b, what);
        b_str(&b, ",\"text\":");
        b_jstr(&b, text);
        b_str(&b, ",\"dry_run\":true}\n");
        emit(o, o->f, &b);
        return;
    }
    b_fmt(&b, "%s[dry-run] would %s:%s ", c_(o, "\033[33m"), what, c_(o, "\033[0m"));
    b_text(&b, text, strlen(text));
    b_str(&b, "\n");
    emit(o, o->f, &b);
}

/* ---- Lua --------------------------------------------------------------- */

static tn_run *current_run(lua_State *L)
{
    tn_state *st = engine_state_of(L);
    return st->current ? tn_task_run(st->current) : NULL;
}

/* print(...): tab-separated tostring() of the arguments, to the run's output. */
int tn_lua_print(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        if (i > 1)
            luaL_addchar(&b, '\t');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    out_print(current_run(L), s, len);
    return 0;
}

/* Human log lines show fields as key=value; the JSON stream gets an object. */
static void fields_text(lua_State *L, int idx, buf *b)
{
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        size_t n;
        const char *k = luaL_tolstring(L, -2, &n);
        if (b->n)
            b_add(b, " ", 1);
        b_add(b, k, n);
        b_add(b, "=", 1);
        lua_pop(L, 1);
        if (lua_istable(L, -1))
            tn_json_encode(L, -1);
        else
            luaL_tolstring(L, -1, NULL);
        const char *v = lua_tolstring(L, -1, &n);
        /* Redact before quoting: the quoted spelling of a secret (a newline
         * shown as a space) is no longer recognisable afterwards. */
        char *r = NULL;
        if (redact_needed(v, n) && (r = redact_dup(v, n, &n)))
            v = r;
        if (lua_istable(L, -2) || (n && !strpbrk(v, " \t\n\"="))) {
            b_add(b, v, n);
        } else {
            b_add(b, "\"", 1);
            for (size_t i = 0; i < n; i++) {
                if (v[i] == '"' || v[i] == '\\')
                    b_add(b, "\\", 1);
                b_add(b, v[i] == '\n' ? " " : v + i, 1);
            }
            b_add(b, "\"", 1);
        }
        free(r);
        lua_pop(L, 2);
    }
}

static int log_at(lua_State *L, const char *level)
{
    const char *msg = luaL_tolstring(L, 1, NULL);
    tn_run *r = current_run(L);
    if (!lua_istable(L, 2)) {
        out_log_json(r, level, msg, NULL);
        return 0;
    }
    if (r && r->out && r->out->mode == OUT_MODE_JSON) {
        tn_json_encode(L, 2);
        out_log_json(r, level, msg, lua_tostring(L, -1));
        return 0;
    }
    buf b = {0};
    fields_text(L, 2, &b);
    out_log_json(r, level, msg, b.p);
    free(b.p);
    return 0;
}

static int l_debug(lua_State *L)
{
    return log_at(L, "debug");
}
static int l_info(lua_State *L)
{
    return log_at(L, "info");
}
static int l_warn(lua_State *L)
{
    return log_at(L, "warn");
}
static int l_error(lua_State *L)
{
    return log_at(L, "error");
}

int luaopen_tn_log(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"debug", l_debug}, {"info", l_info}, {"warn", l_warn}, {"error", l_error}, {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}

/* __step_begin(title) -> id, start time */
int tn_lua_step_begin(lua_State *L)
{
    const char *title = luaL_checkstring(L, 1);
    tn_task *t = tn_task_current(L);
    tn_run *r = tn_task_run(t);
    int id = ++r->next_step;
    out_step_begin(r, id, (*task_step_depth(t))++, title);
    lua_pushinteger(L, id);
    lua_pushnumber(L, uv_hrtime() / 1e9);
    return 2;
}

/* __step_end(id, title, started, ok [, err]) */
int tn_lua_step_end(lua_State *L)
{
    int id = (int)luaL_checkinteger(L, 1);
    const char *title = luaL_checkstring(L, 2);
    double started = luaL_checknumber(L, 3);
    int ok = lua_toboolean(L, 4);
    const char *err = NULL;
    if (!lua_isnoneornil(L, 5))
        err = luaL_tolstring(L, 5, NULL);
    tn_task *t = tn_task_current(L);
    tn_run *r = tn_task_run(t);
    int *depth = task_step_depth(t);
    if (*depth > 0)
        (*depth)--;
    if (!ok)
        r->steps_failed++;
    out_step_end(r, id, *depth, title, ok, uv_hrtime() / 1e9 - started, err);
    return 0;
}
