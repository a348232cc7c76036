/* alerts_router.c — the config's `alerts` routes, and what an alert may start:
 * dedup while a run for the same runbook and key is alive, a cooldown after
 * each start; one bounded hash table of runbook+key entries, whose expired
 * cooldowns are swept when it is full.  Pure logic on a caller-given clock. */
#include "alerts.h"

#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "engine.h"
#include "lpattern.h"
#include "util.h"

typedef struct matcher {
    char *label;
    char **values; /* any of them */
    int nvalues;
    int re; /* values are anchored Lua patterns (match_re) */
} matcher;

typedef struct route {
    alerts_route pub; /* first: the daemon's view */
    char *runbook;
    matcher *m;
    int nm;
    char **key; /* label names; NULL: the fingerprint */
    int nkey;
} route;

/* One runbook+key: its live runs and when its cooldown ends. */
typedef struct entry {
    struct entry *next; /* bucket chain */
    uint64_t hash;
    int alive;
    double until; /* last start + cooldown */
    size_t rlen;  /* runbook bytes, then '\0', then the key */
    char id[];
} entry;

struct alerts_router {
    route *routes;
    int nroutes;
    alerts_counters c;
    entry **buckets;
    size_t nbuckets; /* a power of two */
    int count, max_entries;
    lua_State *pl; /* match_re's patterns run here (made by the first route that has one) */
    tn_state *pst; /* its engine face: only the CPU deadline */
    int find_ref;
};

/* ---- configuration -------------------------------------------------------- */

static void routes_free(route *rs, int n)
{
    for (int i = 0; i < n; i++) {
        route *r = &rs[i];
        free(r->runbook);
        for (int j = 0; j < r->nm; j++) {
            free(r->m[j].label);
            for (int k = 0; k < r->m[j].nvalues; k++)
                free(r->m[j].values[k]);
            free(r->m[j].values);
        }
        free(r->m);
        for (int j = 0; j < r->nkey; j++)
            free(r->key[j]);
        free(r->key);
    }
    free(rs);
}

/* The list at idx (a string is a list of one): strdup'd strings. */
static int read_strings(lua_State *L, int idx, char ***out, int *nout)
{
    if (lua_type(L, idx) == LUA_TSTRING) {
        *out = calloc(1, sizeof **out);
        if (!*out || !(**out = strdup(lua_tostring(L, idx))))
            return -1;
        *nout = 1;
        return 0;
    }
    if (!lua_istable(L, idx))
        return -1;
    lua_Unsigned n = lua_rawlen(L, idx);
    if (n == 0 || n > 64)
        return -1;
    *out = calloc(n, sizeof **out);
    if (!*out)
        return -1;
    for (lua_Unsigned i = 1; i <= n; i++) {
        int t = lua_rawgeti(L, idx, (lua_Integer)i);
        if (t == LUA_TSTRING)
            (*out)[i - 1] = strdup(lua_tostring(L, -1));
        lua_pop(L, 1);
        if (t != LUA_TSTRING || !(*out)[i - 1])
            return -1;
        *nout = (int)i;
    }
    return 0;
}

/* Whether p is a well-formed Lua pattern, by lstrlib's own rules (which it
 * only applies when matching reaches the fault): a bad pattern is a config
 * error at load, not an alert silently unrouted at 3 a.m. */
static const char *pattern_fault(const char *p)
{
    int level = 0, closed = 0;
    for (; *p; p++) {
        if (*p == '%') {
            p++;
            if (!*p)
                return "ends with '%'";
            if (*p == 'b') {
                if (!p[1] || !p[2])
                    return "missing arguments to '%b'";
                p += 2;
            } else if (*p == 'f') {
                if (p[1] != '[')
                    return "missing '[' after '%f'";
            } else if (*p >= '0' && *p <= '9' && (*p == '0' || *p - '0' > closed)) {
                return "invalid capture index";
            }
        } else if (*p == '[') {
            p++;
            if (*p == '^')
                p++;
            do { /* the first ']' is a member, not the end */
                if (!*p)
                    return "missing ']'";
                if (*p == '%' && !*++p)
                    return "missing ']'";
                p++;
            } while (*p != ']');
        } else if (*p == '(') {
            if (level == 32)
                return "too many captures";
            if (p[1] == ')') { /* a position capture: closed at once */
                p++;
                closed++;
            } else {
                level++;
            }
        } else if (*p == ')') {
            if (!level)
                return "invalid pattern capture";
            level--;
            closed++;
        }
    }
    return level ? "unfinished capture" : NULL;
}

/* match (values compared as text) or match_re (Lua patterns, anchored at
 * both ends as Alertmanager anchors its regexes) of the route at idx. */
static int patterns_open(alerts_router *r);

static int read_matchers(lua_State *L, int idx, const char *field, int re, route *r, const char *w,
                         char *err, size_t errlen)
{
    lua_pushstring(L, field);
    int t = lua_rawget(L, idx);
    int m = lua_gettop(L);
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        return 0; /* every alert */
    }
    if (t != LUA_TTABLE) {
        lua_pop(L, 1);
        snprintf(err, errlen, "%s.%s must be a table of label = %s", w, field,
                 re ? "pattern" : "value");
        return -1;
    }
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, m)) {
        lua_pop(L, 1);
        n++;
    }
    matcher *nm =
        n > ALERTS_MAX_LABELS ? NULL : realloc(r->m, (size_t)(r->nm + n + 1) * sizeof *nm);
    if (!nm) {
        lua_pop(L, 1);
        snprintf(err, errlen, "%s.%s has too many labels", w, field);
        return -1;
    }
    r->m = nm;
    lua_pushnil(L);
    while (lua_next(L, m)) {
        matcher *mt = &r->m[r->nm];
        memset(mt, 0, sizeof *mt);
        mt->re = re;
        int ok = lua_type(L, -2) == LUA_TSTRING;
        if (ok) {
            r->nm++;
            mt->label = strdup(lua_tostring(L, -2));
            ok = mt->label && read_strings(L, lua_gettop(L), &mt->values, &mt->nvalues) == 0;
        }
        if (!ok) {
            if (lua_type(L, -2) == LUA_TSTRING)
                snprintf(err, errlen, "%s.%s.%.64s must be a string or a list of strings", w, field,
                         lua_tostring(L, -2));
            else
                snprintf(err, errlen, "%s.%s must be a table of label = %s", w, field,
                         re ? "pattern" : "value");
            lua_pop(L, 3);
            return -1;
        }
        for (int k = 0; re && k < mt->nvalues; k++) {
            const char *fault = pattern_fault(mt->values[k]);
            if (fault) {
                snprintf(err, errlen, "%s.%s.%.64s: malformed pattern (%s)", w, field, mt->label,
                         fault);
                lua_pop(L, 3);
                return -1;
            }
            /* Anchored: "db%-%d+" is the whole value, not a part of it. */
            const char *v = mt->values[k];
            size_t len = strlen(v);
            int has_end = 0;
            if (len && v[len - 1] == '$') { /* "%$" is a literal dollar ("%%$" is not) */
                size_t esc = 0;
                while (esc < len - 1 && v[len - 2 - esc] == '%')
                    esc++;
                has_end = esc % 2 == 0;
            }
            char *a = malloc(len + 3);
            if (!a) {
                lua_pop(L, 3);
                snprintf(err, errlen, "config: alerts: out of memory");
                return -1;
            }
            snprintf(a, len + 3, "%s%s%s", v[0] == '^' ? "" : "^", v, has_end ? "" : "$");
            free(mt->values[k]);
            mt->values[k] = a;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return 0;
}

static int read_route(lua_State *L, int idx, int i, route *r, char *err, size_t errlen)
{
    static const char *const fields[] = {"match", "match_re", "runbook", "cooldown",
                                         "key",   "continue", NULL};
    char w[48];
    snprintf(w, sizeof w, "config: alerts[%d]", i);
    if (!lua_istable(L, idx)) {
        snprintf(err, errlen,
                 "%s must be a table such as {match = {alertname = \"X\"}, "
                 "runbook = \"name\"}",
                 w);
        return -1;
    }
    /* An unknown field is a typo ("cooldwn") that would silently change
     * what runs at 3 a.m.: refused. */
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        int known = 0;
        for (int k = 0; fields[k] && lua_type(L, -1) == LUA_TSTRING; k++)
            known |= !strcmp(lua_tostring(L, -1), fields[k]);
        if (!known) {
            lua_pop(L, 1);
            snprintf(err, errlen,
                     "%s has an unknown field (known: match, match_re, runbook, cooldown, "
                     "key, continue)",
                     w);
            return -1;
        }
    }
    lua_pushliteral(L, "runbook");
    if (lua_rawget(L, idx) != LUA_TSTRING || !lua_rawlen(L, -1)) {
        lua_pop(L, 1);
        snprintf(err, errlen, "%s.runbook must be a runbook's name", w);
        return -1;
    }
    r->runbook = strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
    r->pub.runbook = r->runbook;

    lua_pushliteral(L, "cooldown");
    int t = lua_rawget(L, idx);
    r->pub.cooldown = ALERTS_DEFAULT_COOLDOWN;
    if (t == LUA_TNUMBER)
        r->pub.cooldown = lua_tonumber(L, -1);
    else if (t == LUA_TSTRING)
        r->pub.cooldown = tn_parse_duration(lua_tostring(L, -1));
    else if (t == LUA_TBOOLEAN && !lua_toboolean(L, -1))
        r->pub.cooldown = 0;
    else if (t != LUA_TNIL)
        r->pub.cooldown = -1;
    lua_pop(L, 1);
    if (!(r->pub.cooldown >= 0) || !isfinite(r->pub.cooldown)) {
        snprintf(err, errlen, "%s.cooldown must be a duration such as \"5m\", seconds, or false",
                 w);
        return -1;
    }

    lua_pushliteral(L, "continue");
    t = lua_rawget(L, idx);
    r->pub.cont = t == LUA_TBOOLEAN && lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (t != LUA_TNIL && t != LUA_TBOOLEAN) {
        snprintf(err, errlen, "%s.continue must be true or false", w);
        return -1;
    }

    lua_pushliteral(L, "key");
    t = lua_rawget(L, idx);
    int bad = t != LUA_TNIL && read_strings(L, lua_gettop(L), &r->key, &r->nkey) < 0;
    lua_pop(L, 1);
    if (bad) {
        snprintf(err, errlen, "%s.key must be a label name or a list of label names", w);
        return -1;
    }

    return read_matchers(L, idx, "match", 0, r, w, err, errlen) < 0 ||
                   read_matchers(L, idx, "match_re", 1, r, w, err, errlen) < 0
               ? -1
               : 0;
}

int alerts_router_configure(alerts_router *r, lua_State *L, int idx, char *err, size_t errlen)
{
    idx = lua_absindex(L, idx);
    if (lua_isnil(L, idx)) {
        routes_free(r->routes, r->nroutes);
        r->routes = NULL;
        r->nroutes = 0;
        return 0;
    }
    if (!lua_istable(L, idx)) {
        snprintf(err, errlen, "config: alerts must be a list of routes");
        return -1;
    }
    lua_Unsigned n = lua_rawlen(L, idx), count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        count++;
    }
    if (count != n) { /* alerts = {db = {...}}: named routes would be silently ignored */
        snprintf(err, errlen,
                 "config: alerts must be a list of routes ({ {match = ..., "
                 "runbook = ...}, ... })");
        return -1;
    }
    if (n > ALERTS_MAX_ROUTES) {
        snprintf(err, errlen, "config: alerts has more than %d routes", ALERTS_MAX_ROUTES);
        return -1;
    }
    route *rs = calloc(n + 1, sizeof *rs);
    if (!rs || !lua_checkstack(L, 8)) {
        free(rs);
        snprintf(err, errlen, "config: alerts: out of memory");
        return -1;
    }
    for (lua_Unsigned i = 0; i < n; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i + 1);
        int rc = read_route(L, lua_gettop(L), (int)i + 1, &rs[i], err, errlen);
        lua_pop(L, 1);
        if (rc < 0 || !rs[i].runbook) {
            if (rc == 0)
                snprintf(err, errlen, "config: alerts: out of memory");
            routes_free(rs, (int)i + 1);
            return -1;
        }
    }
    for (lua_Unsigned i = 0; i < n; i++)
        for (int j = 0; j < rs[i].nm; j++)
            if (rs[i].m[j].re && patterns_open(r) < 0) {
                routes_free(rs, (int)n);
                snprintf(err, errlen, "config: alerts: out of memory");
                return -1;
            }
    routes_free(r->routes, r->nroutes);
    r->routes = rs;
    r->nroutes = (int)n;
    return 0;
}

int alerts_router_configure_from(alerts_router *r, const tn_config *c, char *err, size_t errlen)
{
    if (!c->st || c->ref == LUA_NOREF) { /* no config file: no routes */
        routes_free(r->routes, r->nroutes);
        r->routes = NULL;
        r->nroutes = 0;
        return 0;
    }
    lua_State *L = c->st->L;
    int top = lua_gettop(L);
    if (!lua_checkstack(L, 12)) {
        snprintf(err, errlen, "config: alerts: out of memory");
        return -1;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);
    lua_pushliteral(L, "alerts");
    lua_rawget(L, -2);
    int rc = alerts_router_configure(r, L, -1, err, errlen);
    lua_settop(L, top);
    return rc;
}

/* ---- the table ---------------------------------------------------------- */

alerts_router *alerts_router_new(int max_entries)
{
    alerts_router *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->max_entries = max_entries > 0 ? max_entries : ALERTS_MAX_ENTRIES;
    return r;
}

static void entry_remove(alerts_router *r, entry *e)
{
    entry **pp = &r->buckets[e->hash & (r->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    free(e);
    r->count--;
}

void alerts_router_free(alerts_router *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nbuckets; i++)
        for (entry *e = r->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    free(r->buckets);
    routes_free(r->routes, r->nroutes);
    if (r->pl)
        lua_close(r->pl);
    free(r->pst);
    free(r);
}

static uint64_t id_hash(const char *runbook, const char *key)
{
    uint64_t h = 14695981039346656037ULL;
    for (const char *s = runbook;; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ULL; /* the NUL too: a separator */
        if (!*s)
            break;
    }
    for (const char *s = key; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static entry *entry_find(const alerts_router *r, const char *runbook, const char *key, uint64_t h)
{
    if (!r->nbuckets)
        return NULL;
    size_t rl = strlen(runbook);
    for (entry *e = r->buckets[h & (r->nbuckets - 1)]; e; e = e->next)
        if (e->hash == h && e->rlen == rl && !memcmp(e->id, runbook, rl) &&
            !strcmp(e->id + rl + 1, key))
            return e;
    return NULL;
}

void alerts_router_expire(alerts_router *r, double now)
{
    for (size_t i = 0; i < r->nbuckets; i++)
        for (entry *e = r->buckets[i], *next; e; e = next) {
            next = e->next;
            if (!e->alive && e->until <= now)
                entry_remove(r, e);
        }
}

/* Room for one more entry: expired cooldowns go first, then the one whose
 * cooldown ends soonest (counted evicted); live runs are never dropped (their
 * end must find them), so a table full of them refuses (-1). */
static int make_room(alerts_router *r, double now)
{
    if (r->count < r->max_entries)
        return 0;
    alerts_router_expire(r, now);
    if (r->count < r->max_entries)
        return 0;
    entry *victim = NULL;
    for (size_t i = 0; i < r->nbuckets; i++)
        for (entry *e = r->buckets[i]; e; e = e->next)
            if (!e->alive && (!victim || e->until < victim->until))
                victim = e;
    if (!victim)
        return -1;
    entry_remove(r, victim);
    r->c.evicted++;
    return 0;
}

static int grow(alerts_router *r)
{
    size_t nb = r->nbuckets ? r->nbuckets * 2 : 64;
    entry **b = calloc(nb, sizeof *b);
    if (!b)
        return -1;
    for (size_t i = 0; i < r->nbuckets; i++)
        for (entry *e = r->buckets[i], *next; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
        }
    free(r->buckets);
    r->buckets = b;
    r->nbuckets = nb;
    return 0;
}

/* The live run's entry (found or made): alive + 1, cooldown from now. */
static int mark_started(alerts_router *r, const char *runbook, const char *key, double cooldown,
                        double now)
{
    uint64_t h = id_hash(runbook, key);
    entry *e = entry_find(r, runbook, key, h);
    if (!e) {
        if (make_room(r, now) < 0)
            return -1;
        if ((size_t)r->count >= r->nbuckets && grow(r) < 0)
            return -1;
        size_t rl = strlen(runbook), kl = strlen(key);
        e = malloc(sizeof *e + rl + kl + 2);
        if (!e)
            return -1;
        e->hash = h;
        e->alive = 0;
        e->rlen = rl;
        memcpy(e->id, runbook, rl + 1);
        memcpy(e->id + rl + 1, key, kl + 1);
        size_t bi = h & (r->nbuckets - 1);
        e->next = r->buckets[bi];
        r->buckets[bi] = e;
        r->count++;
    }
    e->alive++;
    e->until = now + cooldown;
    return 0;
}

int alerts_run_started(alerts_router *r, const char *runbook, const char *key, double cooldown,
                       double now)
{
    return mark_started(r, runbook, key, cooldown, now);
}

void alerts_run_ended(alerts_router *r, const char *runbook, const char *key)
{
    entry *e = entry_find(r, runbook, key, id_hash(runbook, key));
    if (e && e->alive > 0)
        e->alive--; /* kept: its cooldown runs on (swept once over) */
}

void alerts_run_not_started(alerts_router *r, const char *runbook, const char *key)
{
    entry *e = entry_find(r, runbook, key, id_hash(runbook, key));
    if (e && e->alive > 0 && --e->alive == 0)
        entry_remove(r, e); /* no run happened: nothing to cool down from */
}

/* ---- routing ------------------------------------------------------------- */

/* ---- match_re: Lua patterns -------------------------------------------------
 * Run by lpattern, the matcher runbooks use, in a private state.  Its CPU
 * bound is the engine's own load deadline (lpattern looks at it every ~1 ms
 * of matching): a pattern that backtracks too long fails that match, counted,
 * instead of stalling the daemon's loop. */

#define PATTERN_BUDGET_NS 2000000 /* 2 ms per value and pattern */

static int patterns_setup(lua_State *L)
{
    lua_newtable(L);
    lpattern_register(L);
    lua_getfield(L, -1, "find");
    lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX));
    return 1;
}

static int patterns_open(alerts_router *r)
{
    static char name[] = "alert route patterns";
    if (r->pl)
        return 0;
    r->pst = calloc(1, sizeof *r->pst);
    r->pl = luaL_newstate();
    if (!r->pst || !r->pl)
        return -1;
    r->pst->L = r->pl;
    r->pst->path = r->pst->name = name;
    *(tn_state **)lua_getextraspace(r->pl) = r->pst;
    lua_pushcfunction(r->pl, patterns_setup);
    if (lua_pcall(r->pl, 0, 1, 0) != LUA_OK)
        return -1;
    r->find_ref = (int)lua_tointeger(r->pl, -1);
    lua_settop(r->pl, 0);
    return 0;
}

typedef struct pattern_call {
    int ref;
    const char *s, *p;
} pattern_call;

static int pattern_find(lua_State *L)
{
    pattern_call *c = lua_touserdata(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);
    lua_pushstring(L, c->s);
    lua_pushstring(L, c->p);
    lua_call(L, 2, 1);
    return 1;
}

/* 1 when the anchored pattern p matches s whole; 0 otherwise, or when it
 * failed (counted). */
static int pattern_match(alerts_router *r, const char *s, const char *p)
{
    if (!r->pl)
        return 0;
    lua_State *L = r->pl;
    pattern_call c = {r->find_ref, s, p};
    r->pst->load_deadline = uv_hrtime() + PATTERN_BUDGET_NS;
    lua_pushcfunction(L, pattern_find);
    lua_pushlightuserdata(L, &c);
    int rc = lua_pcall(L, 1, 1, 0), hit = rc == LUA_OK && !lua_isnil(L, -1);
    if (rc != LUA_OK) {
        r->c.pattern_failures++;
        lua_sethook(L, NULL, 0, 0); /* engine_cpu_raise leaves a hook that raises */
    }
    lua_settop(L, 0);
    return hit;
}

static int route_matches(alerts_router *r, const route *rt, const alerts_alert *a)
{
    for (int i = 0; i < rt->nm; i++) {
        const matcher *m = &rt->m[i];
        const char *v = alerts_label(a, m->label);
        if (!v)
            v = ""; /* Prometheus: an absent label equals "" */
        int any = 0;
        for (int k = 0; k < m->nvalues && !any; k++)
            any = m->re ? pattern_match(r, v, m->values[k]) : !strcmp(v, m->values[k]);
        if (!any)
            return 0;
    }
    return 1;
}

/* The dedup key: the fingerprint, or {name="value",...} of the route's key
 * labels in the route's order, quoted as Prometheus prints a label set. */
static void route_key(const route *rt, const alerts_alert *a, char *out, size_t n)
{
    if (!rt->nkey) {
        snprintf(out, n, "%s", a->fingerprint);
        return;
    }
    buf_t b = BUF_INIT;
    buf_init(&b, 1 << 20);
    buf_addc(&b, '{');
    for (int i = 0; i < rt->nkey; i++) {
        const char *v = alerts_label(a, rt->key[i]);
        buf_fmt(&b, "%s%s=\"", i ? "," : "", rt->key[i]);
        for (const char *s = v ? v : ""; *s; s++) {
            if (*s == '"' || *s == '\\')
                buf_addc(&b, '\\');
            buf_addc(&b, *s);
        }
        buf_addc(&b, '"');
    }
    buf_addc(&b, '}');
    if (!b.failed && b.n < n) {
        memcpy(out, b.p, b.n + 1);
    } else {
        /* Too long to keep (or no memory for it): its hash stands for it. */
        uint64_t h = 14695981039346656037ULL;
        for (size_t i = 0; !b.failed && i < b.n; i++)
            h = (h ^ (unsigned char)b.p[i]) * 1099511628211ULL;
        snprintf(out, n, "%s#%016llx", b.failed ? a->fingerprint : "key", (unsigned long long)h);
    }
    buf_free(&b);
}

int alerts_admit(alerts_router *r, const alerts_alert *a, double now, alerts_decision *out, int max)
{
    int n = 0;
    for (int i = 0; i < r->nroutes && n < max; i++) {
        route *rt = &r->routes[i];
        if (!route_matches(r, rt, a))
            continue;
        alerts_decision *d = &out[n++];
        memset(d, 0, sizeof *d);
        d->route = i;
        d->runbook = rt->runbook;
        route_key(rt, a, d->key, sizeof d->key);
        rt->pub.routed++;
        if (a->resolved) {
            d->verdict = ALERTS_RESOLVED;
            rt->pub.resolved++;
            r->c.resolved++;
        } else {
            entry *e = entry_find(r, rt->runbook, d->key, id_hash(rt->runbook, d->key));
            if (e && e->alive) {
                d->verdict = ALERTS_DEDUPLICATED;
                rt->pub.deduplicated++;
                r->c.deduplicated++;
            } else if (e && e->until > now && rt->pub.cooldown > 0) {
                d->verdict = ALERTS_COOLING;
                d->wait = e->until - now;
                rt->pub.cooled_down++;
                r->c.cooled_down++;
            } else if (mark_started(r, rt->runbook, d->key, rt->pub.cooldown, now) < 0) {
                d->verdict = ALERTS_THROTTLED;
                r->c.throttled++;
            } else {
                d->verdict = ALERTS_START;
                rt->pub.started++;
                r->c.started++;
            }
        }
        if (!rt->pub.cont)
            break;
    }
    if (!n)
        r->c.unrouted++;
    return n;
}

int alerts_receive(alerts_router *r, alerts_source src, const char *body, size_t n,
                   alerts_batch **out, char *err, size_t errlen)
{
    int rc = alerts_parse(src, body, n, out, err, errlen);
    if ((unsigned)src < ALERTS_NSOURCES) {
        if (rc < 0)
            r->c.rejected[src]++;
        else
            r->c.received[src] += (uint64_t)(*out)->n;
    }
    return rc;
}

int alerts_router_nroutes(const alerts_router *r)
{
    return r->nroutes;
}

const alerts_route *alerts_router_route(const alerts_router *r, int i)
{
    return i >= 0 && i < r->nroutes ? &r->routes[i].pub : NULL;
}

const alerts_counters *alerts_router_counters(const alerts_router *r)
{
    return &r->c;
}

int alerts_router_entries(const alerts_router *r)
{
    return r->count;
}
