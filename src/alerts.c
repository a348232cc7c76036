/* alerts.c — webhook bodies into alerts: Alertmanager v4, Grafana (unified
 * alerting, and the legacy ruleName/state form) and generic JSON, decoded by
 * json.c into a private Lua state and copied into one arena per body; the
 * fingerprint Alertmanager would compute; ctx.alert's JSON.  Every bound is
 * checked and named in the error the daemon returns as its 400. */
#include "alerts.h"

#include <lauxlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"

static const char *const source_names[ALERTS_NSOURCES] = {"alertmanager", "grafana", "generic"};

const char *alerts_source_name(alerts_source s)
{
    return (unsigned)s < ALERTS_NSOURCES ? source_names[s] : "unknown";
}

int alerts_source_from_name(const char *name)
{
    for (int i = 0; name && i < ALERTS_NSOURCES; i++)
        if (!strcmp(name, source_names[i]))
            return i;
    return -1;
}

/* ---- the arena: one body's strings and arrays, freed at once ---------- */

typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    max_align_t data[];
} arena_block;

static void *arena_alloc(alerts_batch *b, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    arena_block *a = b->arena;
    if (!a || a->cap - a->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        arena_block *nb = malloc(sizeof *nb + cap);
        if (!nb)
            return NULL;
        nb->used = 0;
        nb->cap = cap;
        nb->next = a;
        b->arena = a = nb;
    }
    void *p = (char *)a->data + a->used;
    a->used += n;
    return p;
}

static const char *arena_str(alerts_batch *b, const char *s, size_t n)
{
    char *p = arena_alloc(b, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

void alerts_batch_free(alerts_batch *b)
{
    if (!b)
        return;
    for (arena_block *a = b->arena, *next; a; a = next) {
        next = a->next;
        free(a);
    }
    free(b);
}

/* ---- fingerprints ------------------------------------------------------ */

#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL

static uint64_t fnv_add(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= FNV_PRIME;
    }
    return h;
}

/* prometheus/common model.labelSetToFingerprint: name, 0xff, value, 0xff. */
void alerts_fingerprint(const alerts_kv *labels, int n, char out[17])
{
    uint64_t h = FNV_OFFSET;
    for (int i = 0; i < n; i++) {
        h = fnv_add(h, labels[i].name, strlen(labels[i].name));
        h = fnv_add(h, "\xff", 1);
        h = fnv_add(h, labels[i].value, strlen(labels[i].value));
        h = fnv_add(h, "\xff", 1);
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

const char *alerts_label(const alerts_alert *a, const char *name)
{
    int lo = 0, hi = a->nlabels - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(a->labels[mid].name, name);
        if (!c)
            return a->labels[mid].value;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

/* ---- parsing ------------------------------------------------------------ */

typedef struct parser {
    lua_State *L;
    alerts_batch *b;
    alerts_source src;
    char *err;
    size_t errlen;
    size_t mem, mem_max; /* the decoder's heap, bounded */
    int over;            /* an allocation was refused by that bound */
    const char *body;
    size_t n;
} parser;

static int fail(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, p->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int oom(parser *p)
{
    return fail(p, "out of memory");
}

/* A name from the body, fit for an error message: printable ASCII only
 * (the message goes back to the sender and into logs), cut at 64 bytes. */
static const char *shown(const char *s, size_t n, char out[80])
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < 64; i++)
        out[k++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (n > 64) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
    return out;
}

/* The bounded allocator of the decoding state: a hostile body cannot make
 * the decoder take more than mem_max (it then fails with "not enough memory"). */
static void *parser_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    parser *p = ud;
    if (!ptr)
        osize = 0;
    if (nsize == 0) {
        p->mem -= osize;
        free(ptr);
        return NULL;
    }
    if (nsize > osize && p->mem + (nsize - osize) > p->mem_max) {
        p->over = 1;
        return NULL;
    }
    void *np = realloc(ptr, nsize);
    if (np)
        p->mem = p->mem - osize + nsize;
    return np;
}

/* Entries of the table at idx (any keys). */
static long table_count(lua_State *L, int idx)
{
    long count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        count++;
    }
    return count;
}

/* The table at idx is a JSON array (keys 1..n, as json.c makes them; an
 * empty table is both an array and an object): n, or -1. */
static long array_len(lua_State *L, int idx)
{
    if (!lua_istable(L, idx))
        return -1;
    lua_Unsigned n = lua_rawlen(L, idx);
    return (lua_Unsigned)table_count(L, idx) == n ? (long)n : -1;
}

/* An optional string field of the table at idx: 0 and *out (NULL when
 * absent or null), or -1 naming where.  Numbers are not taken as text. */
static int opt_text(parser *p, int idx, const char *field, const char *where, size_t max,
                    const char **out)
{
    lua_State *L = p->L;
    *out = NULL;
    int t = lua_getfield(L, idx, field);
    if (t == LUA_TNIL || tn_is_null(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    if (t != LUA_TSTRING) {
        lua_pop(L, 1);
        return fail(p, "%s%s%s must be a string", where, *where ? "." : "", field);
    }
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    if (n > max || memchr(s, '\0', n)) {
        lua_pop(L, 1);
        return fail(p, "%s%s%s %s", where, *where ? "." : "", field,
                    n > max ? "is too long" : "contains a NUL byte");
    }
    *out = arena_str(p->b, s, n);
    lua_pop(L, 1);
    return *out ? 0 : oom(p);
}

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const alerts_kv *)a)->name, ((const alerts_kv *)b)->name);
}

/* The value on top as label text: strings, and (generic bodies, where
 * {"code": 500} is natural) numbers and booleans.  NULL to skip (null), or
 * sets *bad. */
static const char *value_text(parser *p, size_t *n, int *bad)
{
    lua_State *L = p->L;
    int t = lua_type(L, -1);
    *bad = 0;
    if (t == LUA_TSTRING)
        return lua_tolstring(L, -1, n);
    if (tn_is_null(L, -1))
        return NULL;
    if (p->src == ALERTS_GENERIC && (t == LUA_TNUMBER || t == LUA_TBOOLEAN)) {
        if (t == LUA_TBOOLEAN)
            lua_pushstring(L, lua_toboolean(L, -1) ? "true" : "false");
        else
            luaL_tolstring(L, -1, NULL); /* integers stay integers: "500" */
        lua_replace(L, -2);
        return lua_tolstring(L, -1, n);
    }
    *bad = 1;
    return NULL;
}

/* One entry (key at -2, value at -1) into kv[*n]: 0, or -1. */
static int map_entry(parser *p, const char *where, int labels, size_t maxval, alerts_kv *kv, int *n)
{
    lua_State *L = p->L;
    char nb[80];
    if (lua_type(L, -2) != LUA_TSTRING)
        return fail(p, "%s must be an object", where);
    size_t kn;
    const char *k = lua_tolstring(L, -2, &kn);
    if (kn == 0)
        return fail(p, "%s has an empty name", where);
    if (kn > ALERTS_MAX_NAME || memchr(k, '\0', kn))
        return fail(p, "%s has a name %s (%s)", where,
                    kn > ALERTS_MAX_NAME ? "longer than 256 bytes" : "with a NUL byte",
                    shown(k, kn, nb));
    size_t vn = 0;
    int bad;
    const char *v = value_text(p, &vn, &bad);
    if (bad)
        return fail(p, "%s.%s must be a string", where, shown(k, kn, nb));
    if (!v || (labels && vn == 0))
        return 0; /* Prometheus: an empty label is no label */
    if (vn > maxval || memchr(v, '\0', vn))
        return fail(p, "%s.%s %s", where, shown(k, kn, nb),
                    vn > maxval ? "is too long" : "contains a NUL byte");
    if (*n >= ALERTS_MAX_LABELS)
        return fail(p, "%s has more than %d entries", where, ALERTS_MAX_LABELS);
    kv[*n].name = arena_str(p->b, k, kn);
    kv[*n].value = arena_str(p->b, v, vn);
    if (!kv[*n].name || !kv[*n].value)
        return oom(p);
    (*n)++;
    return 0;
}

/* The object field `field` of the table at idx as sorted name/value pairs
 * (absent or null: none). */
static int read_map(parser *p, int idx, const char *field, const char *where, int labels,
                    const alerts_kv **out, int *nout)
{
    lua_State *L = p->L;
    char w[160];
    snprintf(w, sizeof w, "%s.%s", where, field);
    *out = NULL;
    *nout = 0;
    int t = lua_getfield(L, idx, field);
    if (t == LUA_TNIL || tn_is_null(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    if (t != LUA_TTABLE) {
        lua_pop(L, 1);
        return fail(p, "%s must be an object", w);
    }
    int top = lua_gettop(L), n = 0;
    long count = table_count(L, top);
    if (count > ALERTS_MAX_LABELS)
        return fail(p, "%s has more than %d entries", w, ALERTS_MAX_LABELS);
    alerts_kv *kv = arena_alloc(p->b, (size_t)(count ? count : 1) * sizeof *kv);
    if (!kv)
        return oom(p);
    lua_pushnil(L);
    while (lua_next(L, top)) {
        if (map_entry(p, w, labels, labels ? ALERTS_MAX_VALUE : ALERTS_MAX_TEXT, kv, &n) < 0)
            return -1; /* the caller resets the stack */
        lua_settop(L, top + 1);
    }
    lua_pop(L, 1);
    qsort(kv, (size_t)n, sizeof *kv, kv_cmp);
    *out = kv;
    *nout = n;
    return 0;
}

static int set_status(parser *p, alerts_alert *a, const char *status, const char *where)
{
    if (!status)
        status = p->b->status && !strcmp(p->b->status, "resolved") ? "resolved" : "firing";
    if (strcmp(status, "firing") && strcmp(status, "resolved")) {
        char nb[80];
        return fail(p, "%s.status must be \"firing\" or \"resolved\" (not \"%s\")", where,
                    shown(status, strlen(status), nb));
    }
    a->resolved = status[0] == 'r';
    a->status = a->resolved ? "resolved" : "firing";
    return 0;
}

static int finish_alert(parser *p, alerts_alert *a, const char *where, const char *fp)
{
    if (a->nlabels == 0)
        return fail(p, "%s has no labels", where);
    if (fp && *fp) {
        a->fingerprint = fp;
        return 0;
    }
    char h[17];
    alerts_fingerprint(a->labels, a->nlabels, h);
    a->fingerprint = arena_str(p->b, h, 16);
    return a->fingerprint ? 0 : oom(p);
}

/* An alert with labels = {...} (Alertmanager, Grafana, structured generic). */
static int read_alert(parser *p, int idx, alerts_alert *a, const char *where)
{
    const char *status, *fp;
    if (read_map(p, idx, "labels", where, 1, &a->labels, &a->nlabels) < 0 ||
        read_map(p, idx, "annotations", where, 0, &a->annotations, &a->nannotations) < 0 ||
        opt_text(p, idx, "status", where, ALERTS_MAX_VALUE, &status) < 0 ||
        opt_text(p, idx, "startsAt", where, ALERTS_MAX_VALUE, &a->starts_at) < 0 ||
        opt_text(p, idx, "endsAt", where, ALERTS_MAX_VALUE, &a->ends_at) < 0 ||
        opt_text(p, idx, "generatorURL", where, ALERTS_MAX_TEXT, &a->generator_url) < 0 ||
        opt_text(p, idx, "fingerprint", where, ALERTS_MAX_VALUE, &fp) < 0 ||
        set_status(p, a, status, where) < 0)
        return -1;
    if (p->src == ALERTS_GRAFANA) {
        /* Grafana's links beside the alert, kept for the runbook. */
        static const char *const extras[] = {"silenceURL", "dashboardURL", "panelURL",
                                             "imageURL",   "valueString",  NULL};
        alerts_kv *kv = arena_alloc(p->b, sizeof extras / sizeof *extras * sizeof *kv);
        if (!kv)
            return oom(p);
        for (int i = 0; extras[i]; i++) {
            const char *v;
            if (opt_text(p, idx, extras[i], where, ALERTS_MAX_TEXT, &v) < 0)
                return -1;
            if (v && *v)
                kv[a->nextra++] = (alerts_kv){extras[i], v};
        }
        a->extra = kv;
    }
    return finish_alert(p, a, where, fp);
}

static int is_special(const char *k)
{
    static const char *const special[] = {"status",       "fingerprint", "startsAt", "endsAt",
                                          "generatorURL", "annotations", NULL};
    for (int i = 0; special[i]; i++)
        if (!strcmp(k, special[i]))
            return 1;
    return 0;
}

/* A flat generic alert: its scalar fields are the labels (objects, arrays
 * and nulls are skipped), but for the fields an alert has by name. */
static int read_flat(parser *p, int idx, alerts_alert *a, const char *where)
{
    lua_State *L = p->L;
    const char *status, *fp;
    if (read_map(p, idx, "annotations", where, 0, &a->annotations, &a->nannotations) < 0 ||
        opt_text(p, idx, "status", where, ALERTS_MAX_VALUE, &status) < 0 ||
        opt_text(p, idx, "startsAt", where, ALERTS_MAX_VALUE, &a->starts_at) < 0 ||
        opt_text(p, idx, "endsAt", where, ALERTS_MAX_VALUE, &a->ends_at) < 0 ||
        opt_text(p, idx, "generatorURL", where, ALERTS_MAX_TEXT, &a->generator_url) < 0 ||
        opt_text(p, idx, "fingerprint", where, ALERTS_MAX_VALUE, &fp) < 0 ||
        set_status(p, a, status, where) < 0)
        return -1;
    int n = 0, top = lua_gettop(L);
    long count = table_count(L, idx);
    if (count > ALERTS_MAX_LABELS + 8) /* a few are the alert's own fields */
        return fail(p, "%s has more than %d fields", where, ALERTS_MAX_LABELS);
    alerts_kv *kv = arena_alloc(p->b, (size_t)(count ? count : 1) * sizeof *kv);
    if (!kv)
        return oom(p);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int t = lua_type(L, -1);
        if (lua_type(L, -2) == LUA_TSTRING &&
            (t == LUA_TSTRING || t == LUA_TNUMBER || t == LUA_TBOOLEAN)) {
            if (!is_special(lua_tostring(L, -2)) &&
                map_entry(p, where, 1, ALERTS_MAX_VALUE, kv, &n) < 0)
                return -1;
        }
        lua_settop(L, top + 1);
    }
    qsort(kv, (size_t)n, sizeof *kv, kv_cmp);
    a->labels = kv;
    a->nlabels = n;
    return finish_alert(p, a, where, fp);
}

/* Legacy Grafana (before unified alerting): one rule's state as one alert:
 * alertname = ruleName plus the rule's tags as labels.  "pending" and
 * "paused" are no alert (0 alerts); "ok" is resolved. */
static int read_grafana_legacy(parser *p, int idx)
{
    lua_State *L = p->L;
    alerts_batch *b = p->b;
    const char *rule, *state, *url, *msg;
    if (opt_text(p, idx, "ruleName", "", ALERTS_MAX_VALUE, &rule) < 0 ||
        opt_text(p, idx, "state", "", ALERTS_MAX_VALUE, &state) < 0 ||
        opt_text(p, idx, "ruleUrl", "", ALERTS_MAX_TEXT, &url) < 0 ||
        opt_text(p, idx, "message", "", ALERTS_MAX_TEXT, &msg) < 0)
        return -1;
    if (!rule || !*rule || !state)
        return fail(p, "a Grafana body needs alerts[] (unified alerting) or ruleName and "
                       "state (legacy alerting)");
    int firing = !strcmp(state, "alerting") || !strcmp(state, "no_data");
    if (!firing && strcmp(state, "ok"))
        return 0;
    alerts_alert *a = b->alerts = arena_alloc(b, sizeof *a);
    alerts_kv *kv = arena_alloc(b, ALERTS_MAX_LABELS * sizeof *kv);
    if (!a || !kv)
        return oom(p);
    memset(a, 0, sizeof *a);
    a->source = ALERTS_GRAFANA;
    int n = 0;
    kv[n++] = (alerts_kv){"alertname", rule};
    if (lua_getfield(L, idx, "tags") == LUA_TTABLE) {
        int top = lua_gettop(L);
        lua_pushnil(L);
        while (lua_next(L, top)) {
            if (lua_type(L, -2) == LUA_TSTRING && !strcmp(lua_tostring(L, -2), "alertname")) {
                lua_pop(L, 1);
                continue; /* the rule's name wins */
            }
            if (map_entry(p, "tags", 1, ALERTS_MAX_VALUE, kv, &n) < 0)
                return -1;
            lua_settop(L, top + 1);
        }
    } else if (!lua_isnil(L, -1) && !tn_is_null(L, -1)) {
        return fail(p, "tags must be an object");
    }
    lua_pop(L, 1);
    qsort(kv, (size_t)n, sizeof *kv, kv_cmp);
    a->labels = kv;
    a->nlabels = n;
    a->status = firing ? "firing" : "resolved";
    a->resolved = !firing;
    a->generator_url = url;
    if (msg && *msg) {
        alerts_kv *ann = arena_alloc(b, sizeof *ann);
        if (!ann)
            return oom(p);
        *ann = (alerts_kv){"message", msg};
        a->annotations = ann;
        a->nannotations = 1;
    }
    b->n = 1;
    return finish_alert(p, a, "alert", NULL);
}

/* The alerts[] array at idx: each entry read by its form. */
static int read_alerts(parser *p, int idx, const char *name)
{
    lua_State *L = p->L;
    alerts_batch *b = p->b;
    long n = array_len(L, idx);
    if (n < 0)
        return fail(p, "%s must be an array", name);
    if (n > ALERTS_MAX_ALERTS)
        return fail(p, "%s has more than %d alerts", name, ALERTS_MAX_ALERTS);
    if (n == 0)
        return 0; /* an empty group: b->alerts stays NULL (memset(NULL, 0, 0) is UB) */
    b->alerts = arena_alloc(b, (size_t)n * sizeof *b->alerts);
    if (!b->alerts)
        return oom(p);
    memset(b->alerts, 0, (size_t)n * sizeof *b->alerts);
    for (int i = 0; i < (int)n; i++) {
        char where[64];
        snprintf(where, sizeof where, "%s[%d]", name, i);
        lua_rawgeti(L, idx, i + 1);
        int item = lua_gettop(L);
        if (!lua_istable(L, item))
            return fail(p, "%s must be an object", where);
        alerts_alert *a = &b->alerts[i];
        a->source = p->src;
        int structured = lua_getfield(L, item, "labels") != LUA_TNIL;
        lua_pop(L, 1);
        if (p->src != ALERTS_GENERIC && !structured)
            return fail(p, "%s.labels must be an object", where);
        if ((structured ? read_alert(p, item, a, where) : read_flat(p, item, a, where)) < 0)
            return -1;
        lua_settop(L, item - 1);
        b->n = i + 1;
    }
    return 0;
}

static int read_group(parser *p, int idx)
{
    alerts_batch *b = p->b;
    if (opt_text(p, idx, "receiver", "", ALERTS_MAX_VALUE, &b->receiver) < 0 ||
        opt_text(p, idx, "groupKey", "", ALERTS_MAX_TEXT, &b->group_key) < 0 ||
        opt_text(p, idx, "externalURL", "", ALERTS_MAX_TEXT, &b->external_url) < 0 ||
        opt_text(p, idx, "status", "", ALERTS_MAX_VALUE, &b->status) < 0)
        return -1;
    if (b->status && strcmp(b->status, "firing") && strcmp(b->status, "resolved")) {
        char nb[80];
        return fail(p, "status must be \"firing\" or \"resolved\" (not \"%s\")",
                    shown(b->status, strlen(b->status), nb));
    }
    if (p->src == ALERTS_ALERTMANAGER) {
        /* Absent is taken as 4; another version may mean other fields. */
        int t = lua_getfield(p->L, idx, "version");
        if (t != LUA_TNIL && !tn_is_null(p->L, -1) &&
            (t != LUA_TSTRING || strcmp(lua_tostring(p->L, -1), "4")))
            return fail(p, "version must be \"4\" (Alertmanager's webhook version 4)");
        lua_pop(p->L, 1);
    }
    if (p->src == ALERTS_GRAFANA &&
        (opt_text(p, idx, "title", "", ALERTS_MAX_TEXT, &b->title) < 0 ||
         opt_text(p, idx, "message", "", ALERTS_MAX_TEXT, &b->message) < 0))
        return -1;
    return 0;
}

static int parse_body(parser *p)
{
    lua_State *L = p->L;
    if (tn_json_decode(L, p->body, p->n) != 0) {
        const char *m = lua_tostring(L, -1);
        if (p->over)
            return fail(p, "the body takes more than %zu MiB to decode", p->mem_max >> 20);
        return fail(p, "the body is not JSON: %s", m ? m : "(no message)");
    }
    p->mem_max += (size_t)1 << 20; /* room to walk what decoded near the bound */
    if (!lua_checkstack(L, 32))
        return oom(p);
    int top = lua_gettop(L);
    if (p->src == ALERTS_GENERIC && array_len(L, top) > 0)
        return read_alerts(p, top, "alerts"); /* a bare array of alerts */
    if (!lua_istable(L, top) || array_len(L, top) > 0)
        return fail(p, "the body must be a JSON object");
    if (read_group(p, top) < 0)
        return -1;
    int has_alerts = lua_getfield(L, top, "alerts") != LUA_TNIL;
    if (has_alerts)
        return read_alerts(p, top + 1, "alerts");
    lua_pop(L, 1);
    if (p->src == ALERTS_ALERTMANAGER)
        return fail(p, "alerts must be an array (an Alertmanager webhook version 4 body)");
    if (p->src == ALERTS_GRAFANA)
        return read_grafana_legacy(p, top);
    /* Generic: one alert, structured or flat. */
    alerts_alert *a = p->b->alerts = arena_alloc(p->b, sizeof *a);
    if (!a)
        return oom(p);
    memset(a, 0, sizeof *a);
    a->source = ALERTS_GENERIC;
    int structured = lua_getfield(L, top, "labels") != LUA_TNIL;
    lua_pop(L, 1);
    p->b->status = NULL; /* the alert's own, read below */
    if ((structured ? read_alert(p, top, a, "alert") : read_flat(p, top, a, "alert")) < 0)
        return -1;
    p->b->n = 1;
    return 0;
}

/* Protected: a memory error while walking (a field name interned, a number
 * turned into text) ends the parse, not the process. */
static int parse_protected(lua_State *L)
{
    parser *p = lua_touserdata(L, 1);
    lua_pushinteger(L, parse_body(p));
    return 1;
}

int alerts_parse(alerts_source src, const char *body, size_t n, alerts_batch **out, char *err,
                 size_t errlen)
{
    *out = NULL;
    parser p = {.src = src, .err = err, .errlen = errlen, .body = body, .n = n};
    if ((unsigned)src >= ALERTS_NSOURCES)
        return fail(&p, "unknown alert source");
    /* The decoded body costs a few times its size; a bound well above that. */
    p.mem_max = ((size_t)8 << 20) + 16 * n;
    p.b = calloc(1, sizeof *p.b);
    if (!p.b)
        return oom(&p);
    p.b->source = src;
    p.L = lua_newstate(parser_alloc, &p);
    if (!p.L) {
        alerts_batch_free(p.b);
        return oom(&p);
    }
    *(void **)lua_getextraspace(p.L) = NULL; /* not an engine state: no CPU budget */
    lua_pushcfunction(p.L, parse_protected);
    lua_pushlightuserdata(p.L, &p);
    int rc = lua_pcall(p.L, 1, 1, 0) == LUA_OK ? (int)lua_tointeger(p.L, -1)
             : p.over ? fail(&p, "the body takes more than %zu MiB to read", p.mem_max >> 20)
                      : oom(&p);
    lua_close(p.L);
    if (rc < 0) {
        alerts_batch_free(p.b);
        return -1;
    }
    *out = p.b;
    return 0;
}

/* ---- ctx.alert ------------------------------------------------------------ */

static void add_str(buf_t *o, const char *name, const char *v)
{
    if (!v)
        return;
    buf_addc(o, ',');
    buf_add_json(o, name, strlen(name));
    buf_addc(o, ':');
    buf_add_json(o, v, strlen(v));
}

static void add_map(buf_t *o, const char *name, const alerts_kv *kv, int n)
{
    buf_addc(o, ',');
    buf_add_json(o, name, strlen(name));
    buf_addstr(o, ":{");
    for (int i = 0; i < n; i++) {
        if (i)
            buf_addc(o, ',');
        buf_add_json(o, kv[i].name, strlen(kv[i].name));
        buf_addc(o, ':');
        buf_add_json(o, kv[i].value, strlen(kv[i].value));
    }
    buf_addc(o, '}');
}

char *alerts_alert_json(const alerts_batch *b, const alerts_alert *a, const alerts_decision *d)
{
    buf_t o = BUF_INIT;
    buf_addstr(&o, "{\"source\":");
    const char *src = alerts_source_name(a->source);
    buf_add_json(&o, src, strlen(src));
    add_str(&o, "status", a->status);
    add_map(&o, "labels", a->labels, a->nlabels);
    add_map(&o, "annotations", a->annotations, a->nannotations);
    add_str(&o, "startsAt", a->starts_at);
    add_str(&o, "endsAt", a->ends_at);
    add_str(&o, "generatorURL", a->generator_url);
    add_str(&o, "fingerprint", a->fingerprint);
    if (b) {
        add_str(&o, "receiver", b->receiver);
        add_str(&o, "groupKey", b->group_key);
        add_str(&o, "externalURL", b->external_url);
        add_str(&o, "title", b->title);
        add_str(&o, "message", b->message);
    }
    for (int i = 0; i < a->nextra; i++)
        add_str(&o, a->extra[i].name, a->extra[i].value);
    if (d) {
        add_str(&o, "dedup_key", d->key);
        add_str(&o, "runbook", d->runbook);
    }
    buf_addc(&o, '}');
    return buf_take(&o, NULL);
}
