/* catalog.c — runbook discovery, loading and lint.  Every runbook value that
 * becomes text here may hold a secret read at load time: lines are redacted
 * before they are reported. */
#include "catalog.h"

#include <dirent.h>
#include <lauxlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "redact.h"
#include "util.h"

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

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **catalog_dir_files(const char *dir, int *n)
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
        char **nv = realloc(v, (size_t)(*n + 1) * sizeof *v);
        if (!nv)
            break;
        v = nv;
        buf_t b = BUF_INIT;
        buf_fmt(&b, "%s/%s", dir, e->d_name);
        if (!(v[*n] = buf_take(&b, NULL)))
            break;
        (*n)++;
    }
    closedir(d);
    if (v)
        qsort(v, (size_t)*n, sizeof *v, cmp_str);
    return v;
}

/* scripts/runbooks/x.lua requires from scripts/lib. */
void catalog_add_lib_path(tn_config *c, const char *path)
{
    buf_t b = BUF_INIT;
    const char *slash = strrchr(path, '/');
    if (slash)
        buf_fmt(&b, "%.*s/../lib", (int)(slash - path), path);
    else
        buf_addstr(&b, "../lib");
    if (!b.failed && is_dir(buf_str(&b)))
        config_add_lib_path(c, buf_str(&b));
    buf_free(&b);
}

tn_state *catalog_load(tn_config *c, const char *path, int *rc, char *err, size_t errlen)
{
    catalog_add_lib_path(c, path);
    tn_state *st = tn_state_new(path, &c->settings, err, errlen);
    if (!st) {
        *rc = -1;
        return NULL;
    }
    *rc = tn_state_load(st, err, errlen);
    return st;
}

static char *redacted(const char *s)
{
    char *r = redact_dup(s, strlen(s), NULL);
    return r ? r : strdup("(error withheld: out of memory while redacting it)");
}

int catalog_scan(tn_config *c, catalog *out)
{
    out->v = NULL;
    out->n = 0;
    for (int i = 0; c->runbook_dirs && c->runbook_dirs[i]; i++) {
        int n;
        char **files = catalog_dir_files(c->runbook_dirs[i], &n);
        for (int j = 0; j < n; j++) {
            catalog_entry *v = realloc(out->v, (size_t)(out->n + 1) * sizeof *v);
            if (!v) {
                for (; j < n; j++)
                    free(files[j]);
                free(files);
                return -1;
            }
            out->v = v;
            catalog_entry *e = &v[out->n++];
            char err[2048];
            e->path = files[j];
            e->st = catalog_load(c, files[j], &e->rc, err, sizeof err);
            e->error = e->rc < 0 ? redacted(err) : NULL;
            if (e->rc < 0) {
                tn_state_free(e->st);
                e->st = NULL;
            }
        }
        free(files);
    }
    return 0;
}

void catalog_free(catalog *cat)
{
    for (int i = 0; i < cat->n; i++) {
        free(cat->v[i].path);
        free(cat->v[i].error);
        tn_state_free(cat->v[i].st);
    }
    free(cat->v);
    cat->v = NULL;
    cat->n = 0;
}

char *catalog_find(tn_config *c, const char *name)
{
    if (strchr(name, '/') || ends_with(name, ".lua"))
        return is_file(name) ? strdup(name) : NULL;
    for (int i = 0; c->runbook_dirs && c->runbook_dirs[i]; i++) {
        buf_t b = BUF_INIT;
        buf_fmt(&b, "%s/%s.lua", c->runbook_dirs[i], name);
        if (!b.failed && is_file(buf_str(&b)))
            return buf_take(&b, NULL);
        buf_free(&b);
    }
    /* The `name` field of a runbook in those folders (what `list` shows). */
    char *found = NULL;
    for (int i = 0; !found && c->runbook_dirs && c->runbook_dirs[i]; i++) {
        int n;
        char **files = catalog_dir_files(c->runbook_dirs[i], &n);
        for (int j = 0; j < n; j++) {
            char err[256];
            int rc;
            tn_state *st = found ? NULL : catalog_load(c, files[j], &rc, err, sizeof err);
            if (st && rc == 0 && !strcmp(tn_state_name(st), name))
                found = strdup(files[j]);
            tn_state_free(st);
            free(files[j]);
        }
        free(files);
    }
    return found;
}

static void report_line(catalog_report_fn report, void *ud, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report_line(catalog_report_fn report, void *ud, const char *fmt, ...)
{
    buf_t b = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vfmt(&b, fmt, ap);
    va_end(ap);
    char *r = b.failed ? NULL : redact_dup(buf_str(&b), b.n, NULL);
    report(ud, r ? r : "(problem withheld: out of memory)");
    free(r);
    buf_free(&b);
}

static const char *const known_fields[] = {"name",     "title",    "severity", "params",
                                           "triggers", "limits",   "run",      "description",
                                           "tags",     "scenario", NULL};

int catalog_lint(tn_state *st, catalog_report_fn report, void *ud)
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
            report_line(report, ud, "%s: unknown runbook field '%s'", st->path,
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
            report_line(report, ud, "%s: field '%s' must be a %s (got %s)", st->path,
                        types[i].field, lua_typename(L, types[i].type), lua_typename(L, t));
            problems++;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    const char *sev = engine_runbook_string(st, "severity");
    if (sev && !(strlen(sev) == 2 && sev[0] == 'P' && sev[1] >= '0' && sev[1] <= '3')) {
        report_line(report, ud, "%s: severity must be P0, P1, P2 or P3 (got '%s')", st->path, sev);
        problems++;
    }
    return problems;
}

typedef struct {
    char *name, *path;
} seen_name;

static int check_one(tn_config *c, const char *path, int explicit_path, catalog_report_fn report,
                     void *ud, seen_name **seen, int *nseen)
{
    char err[2048];
    int rc;
    tn_state *st = catalog_load(c, path, &rc, err, sizeof err);
    int problems = 0;
    if (rc < 0) {
        report_line(report, ud, "%s", err);
        problems++;
    } else if (rc == 1) {
        if (!explicit_path) {
            report_line(report, ud,
                        "%s: does not return a runbook table (ad-hoc scripts are run by "
                        "path, not kept in runbook folders)",
                        path);
            problems++;
        }
    } else {
        problems += catalog_lint(st, report, ud);
        const char *name = tn_state_name(st);
        for (int i = 0; i < *nseen; i++)
            if (!strcmp((*seen)[i].name, name)) {
                report_line(report, ud, "%s: runbook name '%s' is also the name of %s", path, name,
                            (*seen)[i].path);
                problems++;
                break;
            }
        seen_name *v = realloc(*seen, (size_t)(*nseen + 1) * sizeof *v);
        if (v) {
            *seen = v;
            v[*nseen].name = strdup(name);
            v[*nseen].path = strdup(path);
            (*nseen)++;
        }
    }
    tn_state_free(st);
    return problems;
}

/* The library modules under dir (recursively): each compiles.  Their
 * behaviour is the runbooks' tests'; a syntax error is found here. */
static int check_lib(const char *dir, catalog_report_fn report, void *ud, int *checked, int depth)
{
    int problems = 0;
    DIR *d = depth < 16 ? opendir(dir) : NULL;
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        buf_t b = BUF_INIT;
        buf_fmt(&b, "%s/%s", dir, e->d_name);
        if (b.failed) {
            buf_free(&b);
            continue;
        }
        if (is_dir(buf_str(&b))) {
            problems += check_lib(buf_str(&b), report, ud, checked, depth + 1);
        } else if (ends_with(e->d_name, ".lua")) {
            lua_State *L = luaL_newstate();
            if (L) {
                *(void **)lua_getextraspace(L) = NULL; /* not a runbook state */
                (*checked)++;
                if (luaL_loadfilex(L, buf_str(&b), "t") != LUA_OK) {
                    report_line(report, ud, "%s", lua_tostring(L, -1));
                    problems++;
                }
                lua_close(L);
            }
        }
        buf_free(&b);
    }
    closedir(d);
    return problems;
}

int catalog_check(tn_config *c, char **paths, int npaths, catalog_report_fn report, void *ud,
                  int *checked)
{
    int problems = 0;
    seen_name *seen = NULL;
    int nseen = 0;
    *checked = 0;
    char *const *list = paths;
    int n = npaths;
    int ndirs = 0;
    while (c->runbook_dirs && c->runbook_dirs[ndirs])
        ndirs++;
    if (n == 0) {
        list = c->runbook_dirs;
        n = ndirs;
    }
    for (int i = 0; i < n; i++) {
        if (is_dir(list[i])) {
            int nf;
            char **files = catalog_dir_files(list[i], &nf);
            for (int j = 0; j < nf; j++) {
                (*checked)++;
                problems += check_one(c, files[j], 0, report, ud, &seen, &nseen);
                free(files[j]);
            }
            free(files);
            /* A project folder (scripts/): its runbooks/ are runbooks, its
             * lib/ modules must compile. */
            buf_t sub = BUF_INIT;
            buf_fmt(&sub, "%s/runbooks", list[i]);
            if (!sub.failed && is_dir(buf_str(&sub))) {
                files = catalog_dir_files(buf_str(&sub), &nf);
                for (int j = 0; j < nf; j++) {
                    (*checked)++;
                    problems += check_one(c, files[j], 0, report, ud, &seen, &nseen);
                    free(files[j]);
                }
                free(files);
            }
            buf_free(&sub);
            sub = (buf_t)BUF_INIT;
            buf_fmt(&sub, "%s/lib", list[i]);
            if (!sub.failed && is_dir(buf_str(&sub)))
                problems += check_lib(buf_str(&sub), report, ud, checked, 0);
            buf_free(&sub);
        } else if (is_file(list[i])) {
            (*checked)++;
            problems += check_one(c, list[i], 1, report, ud, &seen, &nseen);
        } else if (npaths > 0) {
            report_line(report, ud, "%s: no such file or folder", list[i]);
            problems++;
        }
    }
    for (int i = 0; i < nseen; i++) {
        free(seen[i].name);
        free(seen[i].path);
    }
    free(seen);
    return problems;
}

/* The triggers table at the top: alert = {k = v}, every = "30s", ... */
static void triggers_text(lua_State *L, buf_t *b)
{
    int first = 1;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        if (lua_type(L, -2) == LUA_TSTRING) {
            buf_fmt(b, "%s%s", first ? "" : "; ", lua_tostring(L, -2));
            first = 0;
            if (lua_istable(L, -1)) {
                int f2 = 1;
                lua_pushnil(L);
                while (lua_next(L, -2)) {
                    if (lua_type(L, -2) == LUA_TSTRING &&
                        (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER)) {
                        lua_pushvalue(L, -1);
                        buf_fmt(b, "%s%s=%s", f2 ? " " : ",", lua_tostring(L, -3),
                                lua_tostring(L, -1));
                        lua_pop(L, 1);
                        f2 = 0;
                    }
                    lua_pop(L, 1);
                }
            } else if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER) {
                lua_pushvalue(L, -1);
                buf_fmt(b, " %s", lua_tostring(L, -1));
                lua_pop(L, 1);
            }
        }
        lua_pop(L, 1);
    }
    if (first)
        buf_addc(b, '-');
}

static int push_triggers(tn_state *st)
{
    lua_State *L = st->L;
    if (st->runbook_ref == LUA_NOREF) {
        lua_pushnil(L);
        return 0;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, st->runbook_ref);
    lua_pushliteral(L, "triggers");
    int t = lua_rawget(L, -2);
    lua_remove(L, -2);
    return t == LUA_TTABLE;
}

char *catalog_triggers_text(tn_state *st)
{
    buf_t b = BUF_INIT;
    if (push_triggers(st))
        triggers_text(st->L, &b);
    else
        buf_addc(&b, '-');
    lua_pop(st->L, 1);
    return buf_take(&b, NULL);
}

static int encode_protected(lua_State *L)
{
    tn_json_encode(L, 1);
    return 1;
}

char *catalog_triggers_json(tn_state *st)
{
    lua_State *L = st->L;
    char *out = NULL;
    if (push_triggers(st)) {
        lua_pushcfunction(L, encode_protected);
        lua_insert(L, -2);
        if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING)
            out = strdup(lua_tostring(L, -1));
        st->mem_exceeded = 0;
    }
    lua_pop(L, 1);
    return out ? out : strdup("{}");
}
