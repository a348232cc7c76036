/* incident_lua.c — incidents from runbooks: incident.open{title=, severity=,
 * scenario=, summary=, dedup_key=} → inc (reusing an open incident with the
 * same dedup_key), inc:note/ack/mitigate/resolve/escalate, and
 * incident.count{dedup_key=, since=} (how often one was opened).  Each call is a
 * store request (store.h) answered once committed; the run that opened or
 * joined an incident has its steps written to the incident's timeline.  A dry
 * run changes no incident: the calls are listed as actions. */
#include "incident_lua.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "engine.h"
#include "redact.h"
#include "run.h"
#include "store.h"
#include "task.h"
#include "util.h"

#define INC_MT "tocsin.incident"

typedef struct inc_op {
    store_req req;
    tn_task *task;
    int canceled;
} inc_op;

static void op_free(inc_op *op)
{
    store_req *r = &op->req;
    free(r->title);
    free(r->severity);
    free(r->scenario);
    free(r->summary);
    free(r->dedup_key);
    free(r->run_id);
    free(r->text);
    free(r->actor);
    free(r->role);
    free(op);
}

/* Everything stored is redacted first: the timeline and the post-mortem
 * are written from it. */
static char *dup_opt(const char *s)
{
    return s ? redact_dup(s, strlen(s), NULL) : NULL;
}

/* Pushes the incident object {id=, title=, severity=, status=}. */
static void push_incident(lua_State *L, long long id, const char *title, const char *severity,
                          const char *status, int dry)
{
    lua_createtable(L, 0, 6);
    if (dry)
        lua_pushliteral(L, "INC-dry-run");
    else
        lua_pushfstring(L, "INC-%I", (lua_Integer)id);
    lua_setfield(L, -2, "id");
    lua_pushstring(L, title ? title : "");
    lua_setfield(L, -2, "title");
    lua_pushstring(L, severity);
    lua_setfield(L, -2, "severity");
    lua_pushstring(L, status);
    lua_setfield(L, -2, "status");
    if (dry) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "dry_run");
    }
    luaL_setmetatable(L, INC_MT);
}

/* The scheduler's hand-off: inc (open), true (the others), or nil, err. */
static int op_push(lua_State *L, void *p)
{
    inc_op *op = p;
    store_req *r = &op->req;
    int n = 0;
    if (L) {
        if (r->rc == STORE_ENOTFOUND) {
            n = tn_err_fail(L, "notfound", "%s", r->err);
        } else if (r->rc == STORE_ESTATE) {
            n = tn_err_fail(L, "state", "%s", r->err);
        } else if (r->rc < 0) {
            n = tn_err_fail(L, "store", "%s", r->err);
        } else if (r->type == STORE_INC_COUNT) {
            lua_pushinteger(L, (lua_Integer)r->id);
            n = 1;
        } else if (r->type == STORE_INC_OPEN) {
            tn_run *run = tn_task_run(op->task);
            run->incident = r->id; /* its steps go on the timeline from now on */
            push_incident(L, r->id, r->title, r->severity_out, r->status, 0);
            lua_pushboolean(L, r->reused);
            lua_setfield(L, -2, "reused");
            n = 1;
        } else {
            lua_pushstring(L, r->status);
            n = 1;
        }
    }
    op_free(op);
    return n;
}

static void op_done(store_req *r)
{
    inc_op *op = r->ud;
    if (r->rc == 0)
        clock_kick(); /* the change may owe notifications: now */
    if (op->canceled) {
        op_free(op);
        return;
    }
    tn_task_wake(op->task, op_push, op);
}

static void op_cancel(void *p)
{
    inc_op *op = p;
    op->canceled = 1; /* the store still answers: op_done frees it then */
}

static int submit(lua_State *L, tn_task *t, inc_op *op)
{
    op->task = t;
    op->req.done = op_done;
    op->req.ud = op;
    if (!store_current || store_submit(store_current, &op->req) < 0) {
        int none = !store_current;
        op_free(op);
        return tn_err_fail(L, "store", "%s",
                           none ? "incidents need a state store (config `state`), and none is open"
                                : "out of memory queueing a request to the state store");
    }
    return tn_task_suspend(L, t, op_cancel, op);
}

static const char *severity_of(lua_State *L, int idx, tn_state *st)
{
    const char *sev = tn_opt_string(L, idx, "severity", NULL, NULL);
    if (!sev)
        sev = engine_runbook_string(st, "severity");
    if (!sev)
        luaL_error(L, "incident.open: severity is required (P0, P1, P2 or P3), or set the "
                      "runbook's severity");
    if (!(strlen(sev) == 2 && sev[0] == 'P' && sev[1] >= '0' && sev[1] <= '3'))
        luaL_error(L, "incident.open: severity must be P0, P1, P2 or P3 (got '%s')", sev);
    return sev;
}

/* incident.open{title=, severity=, scenario=, summary=, dedup_key=} */
static int l_open(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    const char *title = tn_opt_string(L, 1, "title", NULL, NULL);
    if (!title || !*title)
        return luaL_error(L, "incident.open: title is required");
    tn_task *t = tn_task_current(L);
    tn_run *run = tn_task_run(t);
    const char *sev = severity_of(L, 1, engine_state_of(L));
    if (tn_run_is_dry(run)) {
        char line[512];
        snprintf(line, sizeof line, "open %s incident: %s", sev, title);
        tn_run_action(run, "incident", line);
        push_incident(L, 0, title, sev, "triggered", 1);
        return 1;
    }
    inc_op *op = calloc(1, sizeof *op);
    if (!op)
        return luaL_error(L, "out of memory");
    store_req *r = &op->req;
    r->type = STORE_INC_OPEN;
    r->title = dup_opt(title);
    r->severity = dup_opt(sev);
    r->scenario = dup_opt(tn_opt_string(L, 1, "scenario", NULL, NULL));
    r->summary = dup_opt(tn_opt_string(L, 1, "summary", NULL, NULL));
    r->dedup_key = dup_opt(tn_opt_string(L, 1, "dedup_key", NULL, NULL));
    r->run_id = dup_opt(run->id);
    char actor[300];
    snprintf(actor, sizeof actor, "runbook %s", engine_state_of(L)->name);
    r->actor = dup_opt(actor);
    if (!r->title || !r->severity || !r->run_id || !r->actor) {
        op_free(op);
        return luaL_error(L, "out of memory");
    }
    return submit(L, t, op);
}

/* incident.count{dedup_key=, since=} -> how many incidents with that key
 * were opened at or after `since` (Unix seconds; default: ever), resolved
 * ones included: what a rule like "more than 3 times a day, escalate" needs.
 * A read: it runs in a dry run too. */
static int l_count(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    const char *key = tn_opt_string(L, 1, "dedup_key", NULL, NULL);
    if (!key || !*key)
        return luaL_error(L, "incident.count: dedup_key is required");
    lua_getfield(L, 1, "since");
    int isnum = 0;
    double since = lua_isnil(L, -1) ? 0 : lua_tonumberx(L, -1, &isnum);
    if (!lua_isnil(L, -1) && !isnum)
        return luaL_error(L, "incident.count: since must be a number (Unix seconds)");
    lua_pop(L, 1);
    inc_op *op = calloc(1, sizeof *op);
    if (!op)
        return luaL_error(L, "out of memory");
    op->req.type = STORE_INC_COUNT;
    op->req.dedup_key = dup_opt(key); /* stored keys were redacted the same way */
    op->req.since = since;
    if (!op->req.dedup_key) {
        op_free(op);
        return luaL_error(L, "out of memory");
    }
    return submit(L, tn_task_current(L), op);
}

static long long check_inc(lua_State *L, int *dry)
{
    if (!lua_istable(L, 1) || luaL_getmetafield(L, 1, "__name") != LUA_TSTRING ||
        strcmp(lua_tostring(L, -1), "incident"))
        luaL_argerror(L, 1, "an incident (from incident.open)");
    lua_pop(L, 1);
    lua_getfield(L, 1, "dry_run");
    *dry = lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, 1, "id");
    const char *id = lua_tostring(L, -1);
    long long n = 0;
    if (!*dry && (!id || sscanf(id, "INC-%lld", &n) != 1 || n <= 0))
        luaL_argerror(L, 1, "an incident (from incident.open)");
    lua_pop(L, 1);
    return n;
}

/* The role inc:escalate(level) notifies: a role name, or a level of the
 * playbook's path (2: the escalation engineer, 3: the incident commander). */
static const char *escalate_role(const char *level)
{
    return !level                ? "escalation_engineer"
           : !strcmp(level, "1") ? "first_responder"
           : !strcmp(level, "2") ? "escalation_engineer"
           : !strcmp(level, "3") ? "incident_commander"
                                 : level;
}

/* inc:ack(who) / inc:mitigate(text) / inc:resolve(summary) / inc:note(text) /
 * inc:escalate(level, reason) */
static int change(lua_State *L, store_req_type type, const char *to, const char *kind)
{
    int dry;
    long long id = check_inc(L, &dry);
    const char *a = luaL_optstring(L, 2, NULL);
    const char *b = luaL_optstring(L, 3, NULL);
    tn_task *t = tn_task_current(L);
    tn_run *run = tn_task_run(t);
    char text[1024] = "";
    char actor[300];
    snprintf(actor, sizeof actor, "runbook %s", engine_state_of(L)->name);
    if (to && !strcmp(to, "acknowledged")) {
        if (a)
            snprintf(actor, sizeof actor, "%s", a);
    } else if (kind && !strcmp(kind, "escalated")) {
        snprintf(text, sizeof text, "escalated to %s%s%s", escalate_role(a), b ? ": " : "",
                 b ? b : "");
    } else if (a) {
        snprintf(text, sizeof text, "%s", a);
    }
    if (type == STORE_INC_NOTE && kind && !strcmp(kind, "note") && !a)
        return luaL_argerror(L, 2, "the note's text");
    if (dry && to) {
        /* The dry incident follows the same status machine. */
        lua_getfield(L, 1, "status");
        const char *cur = lua_tostring(L, -1);
        int bad = !cur || store_status_rank(to) <= store_status_rank(cur);
        if (bad) {
            int n = tn_err_fail(L, "state", "INC-dry-run is %s: it cannot become %s",
                                cur ? cur : "?", to);
            return n;
        }
        lua_pop(L, 1);
    }
    if (dry) {
        char line[1200];
        snprintf(line, sizeof line, "%s incident%s%s",
                 to     ? to
                 : kind ? kind
                        : "change",
                 *text ? ": " : "", text);
        tn_run_action(run, "incident", line);
        if (to) {
            lua_pushstring(L, to);
            lua_setfield(L, 1, "status");
        }
        lua_pushstring(L, to ? to : "triggered");
        return 1;
    }
    inc_op *op = calloc(1, sizeof *op);
    if (!op)
        return luaL_error(L, "out of memory");
    store_req *r = &op->req;
    r->type = type;
    r->id = id;
    r->to = to;
    r->kind = kind;
    r->text = *text ? dup_opt(text) : NULL;
    r->actor = dup_opt(actor);
    if (kind && !strcmp(kind, "escalated")) {
        /* The role to notify now: a role name, or a level of the playbook's
         * path (2: the escalation engineer, 3: the incident commander). */
        r->role = dup_opt(escalate_role(a));
    }
    run->incident = id; /* acting on an incident it did not open joins it */
    lua_settop(L, 1);   /* keep inc: its status is set from the answer */
    return submit(L, t, op);
}

static int l_ack(lua_State *L)
{
    return change(L, STORE_INC_MOVE, "acknowledged", NULL);
}
static int l_mitigate(lua_State *L)
{
    return change(L, STORE_INC_MOVE, "mitigated", NULL);
}
static int l_resolve(lua_State *L)
{
    return change(L, STORE_INC_MOVE, "resolved", NULL);
}
static int l_note(lua_State *L)
{
    return change(L, STORE_INC_NOTE, NULL, "note");
}
static int l_escalate(lua_State *L)
{
    return change(L, STORE_INC_NOTE, NULL, "escalated");
}

int incident_lua_open(lua_State *L)
{
    if (luaL_newmetatable(L, INC_MT)) {
        static const luaL_Reg methods[] = {{"__note", l_note},         {"__ack", l_ack},
                                           {"__mitigate", l_mitigate}, {"__resolve", l_resolve},
                                           {"__escalate", l_escalate}, {NULL, NULL}};
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushliteral(L, "incident");
        lua_setfield(L, -2, "__name");
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {{"open", l_open}, {"count", l_count}, {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}
