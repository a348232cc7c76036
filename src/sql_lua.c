/* sql_lua.c — the `sql` Lua module (see sql_lua.h): arguments to text parameters,
 * results to typed Lua values, errors, dry runs, transactions.  Connections,
 * pooling, timeouts and cancel live in sql_pool.c. */
#include "sql_lua.h"

#include "dl_libs.h"
#include <errno.h>
#include <lauxlib.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"
#include "redact.h"
#include "sql_dry.h"
#include "sql_pool.h"
#include "sql_stmt.h"
#include "task.h"
#include "util.h"

#define DB_MT "tocsin.sql.db"
#define TX_MT "tocsin.sql.tx"
#define SQL_DEFAULT_TIMEOUT 10.0
#define SQL_DEFAULT_MAX_RESULT ((size_t)64 << 20)
#define SQL_ACTION_MAX 200
/* The server's analysis of one statement (its parse tree as text). */
#define SQL_ANALYSIS_MAX ((size_t)16 << 20)
/* Registry key of sql_tx.lua's table (tx, dry). */
#define SQL_LUA_KEY "tocsin.sql.lua"

/* Type OIDs (pg_type.h is a server header). */
enum {
    OID_BOOL = 16,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_OID = 26,
    OID_JSON = 114,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_JSONB = 3802,
};

/* What the caller wants back. */
enum { K_ROWS, K_EXEC, K_ONE, K_ACQUIRE, K_CTL, K_ANALYZE };

typedef struct sql_db {
    sql_pool *pool;
    double timeout;
    size_t max_result;
} sql_db;

typedef struct sql_tx {
    sql_conn *conn; /* NULL once released */
    sql_pool *pool;
    double timeout;
    size_t max_result;
} sql_tx;

/* One call: the pool's op first (sql_op_free frees the whole block), then
 * the parameter pointers and the texts they point to. */
typedef struct lua_op {
    sql_op op;
    tn_task *task;
    int kind;
    int dry;        /* wrapped for a dry run: a refused write becomes an action */
    int report;     /* the caller's own statement: reported with tn_run_call */
    uint64_t start; /* uv_hrtime() when it started */
    buf_t capture;  /* K_ANALYZE: the server's parse tree */
} lua_op;

/* ---- parameters --------------------------------------------------------- */

static void push_number_text(lua_State *L, int idx)
{
    if (lua_isinteger(L, idx)) {
        lua_pushfstring(L, "%I", (LUAI_UACINT)lua_tointeger(L, idx));
        return;
    }
    double d = lua_tonumber(L, idx);
    char text[64];
    if (isnan(d)) {
        lua_pushliteral(L, "NaN");
    } else if (isinf(d)) {
        lua_pushstring(L, d > 0 ? "Infinity" : "-Infinity");
    } else if (d == floor(d) && fabs(d) < 9.2e18) {
        /* 3.0 goes out as "3", which an integer column accepts. */
        snprintf(text, sizeof text, "%.0f", d);
        lua_pushstring(L, text);
    } else {
        /* The shortest text that reads back as the same double. */
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(text, sizeof text, "%.*g", prec, d);
            if (strtod(text, NULL) == d)
                break;
        }
        lua_pushstring(L, text);
    }
}

/* Converts the arguments first..last to text (nil and json.null: SQL NULL;
 * tables: JSON) and copies them with the statement into one allocation. */
static lua_op *op_build(lua_State *L, const char *sql, size_t sqllen, int first, int last)
{
    int n = last >= first ? last - first + 1 : 0;
    if (n > 65535)
        luaL_error(L, "too many SQL parameters (%d)", n);
    luaL_checkstack(L, n + 8, "too many SQL parameters");
    int base = lua_gettop(L);
    size_t total = sizeof(lua_op) + (size_t)n * sizeof(char *) + sqllen + 1;
    for (int i = 0; i < n; i++) {
        int idx = first + i;
        switch (lua_type(L, idx)) {
        case LUA_TNIL:
            lua_pushnil(L);
            break;
        case LUA_TBOOLEAN:
            lua_pushstring(L, lua_toboolean(L, idx) ? "true" : "false");
            break;
        case LUA_TNUMBER:
            push_number_text(L, idx);
            break;
        case LUA_TSTRING: {
            size_t len;
            const char *s = lua_tolstring(L, idx, &len);
            if (strlen(s) != len)
                luaL_argerror(L, idx, "a SQL text parameter cannot contain a NUL byte");
            lua_pushvalue(L, idx);
            break;
        }
        case LUA_TTABLE:
            tn_json_encode(L, idx);
            break;
        default:
            if (tn_is_null(L, idx)) {
                lua_pushnil(L);
                break;
            }
            luaL_argerror(L, idx, "SQL parameters are nil, booleans, numbers, strings or tables");
        }
        if (!lua_isnil(L, -1))
            total += lua_rawlen(L, -1) + 1;
    }
    lua_op *o = calloc(1, total);
    if (!o)
        luaL_error(L, "out of memory");
    const char **params = (const char **)(o + 1);
    char *s = (char *)(params + n);
    memcpy(s, sql, sqllen + 1);
    o->op.sql = s;
    s += sqllen + 1;
    for (int i = 0; i < n; i++) {
        size_t len;
        const char *v = lua_tolstring(L, base + 1 + i, &len);
        if (!v) {
            params[i] = NULL;
            continue;
        }
        memcpy(s, v, len + 1);
        params[i] = s;
        s += len + 1;
    }
    lua_settop(L, base);
    o->op.nparams = n;
    o->op.params = params;
    return o;
}

/* ---- results ------------------------------------------------------------ */

/* v is NUL-terminated (len bytes before the NUL). */
static void push_value(lua_State *L, const char *v, size_t len, Oid type)
{
    switch (type) {
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_OID: {
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (errno || *end)
            lua_pushlstring(L, v, len);
        else
            lua_pushinteger(L, (lua_Integer)x);
        break;
    }
    case OID_FLOAT4:
    case OID_FLOAT8:
        /* strtod reads "NaN", "Infinity" and "-Infinity" too. */
        lua_pushnumber(L, strtod(v, NULL));
        break;
    case OID_BOOL:
        lua_pushboolean(L, v[0] == 't');
        break;
    case OID_JSON:
    case OID_JSONB:
        if (tn_json_decode(L, v, (size_t)len) < 0) {
            lua_pop(L, 1);
            lua_pushlstring(L, v, len);
        }
        break;
    default: /* text, numeric (no precision lost), timestamps, ... */
        lua_pushlstring(L, v, len);
        break;
    }
}

/* One row from the op's row buffer at *pos (see sql_op.rows). */
static void push_row(lua_State *L, const PGresult *r, const char **pos, int cols)
{
    int ncols = PQnfields(r);
    const char *p = *pos;
    lua_createtable(L, 0, ncols);
    for (int j = 0; j < ncols; j++) {
        uint32_t len;
        memcpy(&len, p, sizeof len);
        p += sizeof len;
        lua_rawgeti(L, cols, j + 1);
        if (len == UINT32_MAX) {
            tn_push_null(L);
        } else {
            push_value(L, p, len, PQftype(r, j));
            p += len + 1;
        }
        lua_rawset(L, -3);
    }
    *pos = p;
}

/* Pushes rows (an array with .columns), or with one set the first row or nil;
 * op NULL: no rows, no columns. */
static void push_rows(lua_State *L, const sql_op *op, int one)
{
    const PGresult *r = op ? op->res : NULL;
    int nrows = r ? op->nrows : 0, ncols = r ? PQnfields(r) : 0;
    const char *pos = r ? op->rows.p : NULL;
    luaL_checkstack(L, 8, NULL);
    lua_createtable(L, ncols, 0);
    for (int j = 0; j < ncols; j++) {
        lua_pushstring(L, PQfname(r, j));
        lua_rawseti(L, -2, j + 1);
    }
    int cols = lua_gettop(L);
    if (one) {
        if (nrows > 0)
            push_row(L, r, &pos, cols);
        else
            lua_pushnil(L);
    } else {
        lua_createtable(L, nrows, 1);
        for (int i = 0; i < nrows; i++) {
            push_row(L, r, &pos, cols);
            lua_rawseti(L, -2, i + 1);
        }
        lua_pushvalue(L, cols);
        lua_setfield(L, -2, "columns");
    }
    lua_remove(L, cols);
}

static const char *kind_name(int fail)
{
    switch (fail) {
    case SQL_FAIL_AUTH:
        return "auth";
    case SQL_FAIL_TIMEOUT:
        return "timeout";
    case SQL_FAIL_QUERY:
        return "query";
    case SQL_FAIL_LIMIT:
        return "limit";
    default:
        return "connect";
    }
}

static void set_field(lua_State *L, const char *name, const char *v)
{
    if (v && *v) {
        lua_pushstring(L, v);
        lua_setfield(L, -2, name);
    }
}

/* nil, err for a server error: kind from the SQLSTATE class. */
static int push_query_error(lua_State *L, const PGresult *r)
{
    const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    const char *kind = "query";
    if (!st)
        st = "";
    if (!strncmp(st, "28", 2))
        kind = "auth";
    else if ((!strncmp(st, "08", 2) && strcmp(st, "08P01")) || !strncmp(st, "57P0", 4))
        kind = "connect"; /* 08P01 (protocol violation) is a wrong parameter count */
    else if (!strcmp(st, "57014"))
        kind = msg && strstr(msg, "statement timeout") ? "timeout" : "canceled";
    lua_pushnil(L);
    tn_err_push(L, kind, "%s", msg ? msg : PQresultErrorMessage(r));
    set_field(L, "sqlstate", st);
    set_field(L, "detail", PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL));
    set_field(L, "hint", PQresultErrorField(r, PG_DIAG_MESSAGE_HINT));
    return 2;
}

/* The statement as one line for the dry run's list of actions, with why it
 * was not sent when that is not the server's refusal.  Secrets are replaced
 * first: collapsing whitespace or cutting the line could otherwise turn a
 * secret into text the output's filter no longer recognises. */
static void record_dry_action(tn_run *run, const char *sql, const char *why)
{
    char *red = redact_dup(sql, strlen(sql), NULL);
    buf_t line = BUF_INIT;
    if (!red) {
        tn_run_action(run, "sql", "(a statement; not shown: out of memory)");
        return;
    }
    size_t shown = 0;
    int space = 0;
    const char *s = red;
    for (; *s && shown < SQL_ACTION_MAX; s++) {
        if (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') {
            space = shown > 0;
            continue;
        }
        if (space) {
            buf_addc(&line, ' ');
            shown++;
        }
        space = 0;
        buf_addc(&line, *s);
        shown++;
    }
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
        s++;
    if (*s)
        buf_addstr(&line, "...");
    if (why) {
        char *rwhy = redact_dup(why, strlen(why), NULL);
        buf_fmt(&line, " [not sent: %s]", rwhy ? rwhy : "not a plain read");
        free(rwhy);
    }
    free(red);
    tn_run_action(run, "sql",
                  line.failed ? "(a statement; not shown: out of memory)" : buf_str(&line));
    buf_free(&line);
}

/* A statement the dry run did not send: success-shaped, listed as an action. */
static int push_dry_skipped(lua_State *L, tn_run *run, int kind, const char *sql, const char *why)
{
    record_dry_action(run, sql, why);
    switch (kind) {
    case K_EXEC:
        lua_pushinteger(L, 0);
        return 1;
    case K_ONE:
        lua_pushnil(L);
        return 1;
    default:
        push_rows(L, NULL, 0);
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "dry_run");
        return 1;
    }
}

static void tx_new(lua_State *L, sql_conn *c, sql_pool *pool, double timeout, size_t max_result);

/* K_ANALYZE: {refuse = why | nil, funcs = '{...}', objs = '{...}'} from the
 * server's parse tree of the statement. */
static int push_analysis(lua_State *L, lua_op *o)
{
    buf_t funcs = BUF_INIT, objs = BUF_INIT;
    const char *why = o->capture.failed ? "the server's analysis of it is too large to check"
                                        : sql_dry_scan(buf_str(&o->capture), o->capture.n,
                                                       o->op.sql, &funcs, &objs);
    lua_createtable(L, 0, 3);
    if (why) {
        lua_pushstring(L, why);
        lua_setfield(L, -2, "refuse");
    } else {
        lua_pushstring(L, buf_str(&funcs));
        lua_setfield(L, -2, "funcs");
        lua_pushstring(L, buf_str(&objs));
        lua_setfield(L, -2, "objs");
    }
    buf_free(&funcs);
    buf_free(&objs);
    return 1;
}

static int push_result(lua_State *L, lua_op *o)
{
    sql_op *op = &o->op;
    PGresult *r = op->res;
    if (op->fail && !(op->fail == SQL_FAIL_QUERY && r))
        return tn_err_fail(L, kind_name(op->fail), "%s", op->msg);
    if (op->fail == SQL_FAIL_QUERY) {
        const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        /* 25006: read-only transaction; 25001: cannot run inside a transaction
         * block (VACUUM, CREATE INDEX CONCURRENTLY): writes a dry run skips. */
        if (o->dry && st && (!strcmp(st, "25006") || !strcmp(st, "25001")))
            return push_dry_skipped(L, tn_task_run(o->task), o->kind, op->sql, NULL);
        return push_query_error(L, r);
    }
    switch (o->kind) {
    case K_ACQUIRE: {
        tx_new(L, op->conn, op->pool, op->timeout, op->max_result);
        op->conn = NULL;
        return 1;
    }
    case K_CTL:
        lua_pushboolean(L, 1);
        return 1;
    case K_ANALYZE:
        return push_analysis(L, o);
    case K_EXEC: {
        const char *n = r ? PQcmdTuples(r) : "";
        lua_pushinteger(L, (lua_Integer)strtoll(n, NULL, 10));
        return 1;
    }
    default:
        push_rows(L, op, o->kind == K_ONE);
        return 1;
    }
}

static int push_protected(lua_State *L)
{
    lua_op *o = lua_touserdata(L, 1);
    lua_pop(L, 1);
    return push_result(L, o);
}

/* The outcome of a call for tn_run_call: "ok", or err.kind when the results
 * from idx on are nil, err. */
static const char *call_outcome(lua_State *L, int idx)
{
    if (lua_gettop(L) > idx && lua_isnil(L, idx) && lua_istable(L, idx + 1)) {
        lua_getfield(L, idx + 1, "kind");
        const char *k = lua_tostring(L, -1);
        lua_pop(L, 1); /* the string stays alive in the error table */
        if (k)
            return k;
    }
    return "ok";
}

static void report_call(tn_run *run, const sql_pool *pool, uint64_t start, const char *outcome)
{
    tn_run_call(run, "sql", sql_pool_target(pool), (double)(uv_hrtime() - start) / 1e9, outcome);
}

static int op_push(lua_State *L, void *p)
{
    lua_op *o = p;
    int rc = LUA_OK, top = 0;
    if (L) {
        /* Building rows may raise (memory limit): the op is freed either way. */
        top = lua_gettop(L);
        lua_pushcfunction(L, push_protected);
        lua_pushlightuserdata(L, o);
        rc = lua_pcall(L, 1, LUA_MULTRET, 0);
        if (rc != LUA_OK) {
            /* Delivered as an error value like every other failure. */
            const char *msg = lua_tostring(L, -1);
            char why[200];
            snprintf(why, sizeof why, "%s", msg ? msg : "error");
            lua_settop(L, top);
            if (rc == LUA_ERRMEM)
                tn_err_fail(L, "limit", "the result does not fit in the runbook's memory limit");
            else
                tn_err_fail(L, "query", "could not convert the result: %s", why);
        }
        if (o->report)
            report_call(tn_task_run(o->task), o->op.pool, o->start, call_outcome(L, top + 1));
    } else if (o->report) {
        report_call(tn_task_run(o->task), o->op.pool, o->start, "canceled");
    }
    /* An acquired connection nobody took (task cancelled after the wake-up,
     * or the tx object could not be made) goes back to the pool. */
    if (o->kind == K_ACQUIRE && !o->op.fail && o->op.conn)
        sql_conn_release(o->op.conn);
    buf_free(&o->capture);
    sql_op_free(&o->op);
    if (!L)
        return 0;
    return lua_gettop(L) - top;
}

static void op_done(sql_op *op)
{
    lua_op *o = (lua_op *)op;
    tn_task_wake(o->task, op_push, o);
}

static void op_cancel(void *p)
{
    lua_op *o = p;
    sql_op_abandon(&o->op);
    if (o->report)
        report_call(tn_task_run(o->task), o->op.pool, o->start, "canceled");
    if (o->kind == K_ACQUIRE && o->op.conn)
        sql_conn_release(o->op.conn);
    buf_free(&o->capture);
    sql_op_free(&o->op);
}

/* Where a statement runs and with which limits: a db's pool or a tx's
 * connection. */
typedef struct sql_target {
    sql_pool *pool;
    sql_conn *held;
    double timeout;
    size_t max_result;
    int self; /* argument 1 is the db or tx */
} sql_target;

/* Fills in what every operation of a task needs. */
static void op_init(lua_op *o, tn_task *t, int kind, const sql_target *to)
{
    o->task = t;
    o->kind = kind;
    o->start = uv_hrtime();
    o->op.pool = to->pool;
    o->op.held = to->held;
    o->op.timeout = to->timeout;
    o->op.max_result = to->max_result;
    o->op.done = op_done;
}

/* An operation with no statement text of the caller's (acquire, BEGIN, ...). */
static lua_op *op_plain(lua_State *L, tn_task *t, int kind, const sql_target *to)
{
    lua_op *o = calloc(1, sizeof *o);
    if (!o)
        luaL_error(L, "out of memory");
    op_init(o, t, kind, to);
    return o;
}

static const char *const kind_names[] = {"rows", "exec", "one", NULL};

/* The dry run's path finished: report it as one call. */
static int dry_done(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    int base = (int)ctx;
    const sql_pool *pool = lua_touserdata(L, base + 1);
    uint64_t start = (uint64_t)lua_tointeger(L, base + 2);
    report_call(tn_task_run(tn_task_current(L)), pool, start, call_outcome(L, base + 3));
    return lua_gettop(L) - (base + 2);
}

/* Starts the statement at argument sqlidx (parameters follow it) and
 * suspends the task until it ends.  In a dry run the statement goes through
 * sql_tx.lua's dry() instead (self: the db or tx at argument 1, or none). */
static int run_stmt(lua_State *L, const sql_target *to, int kind, int sqlidx)
{
    size_t len;
    const char *sql = luaL_checklstring(L, sqlidx, &len);
    tn_task *t = tn_task_current(L);
    if (tn_run_is_dry(tn_task_run(t))) {
        int base = lua_gettop(L);
        luaL_checkstack(L, base + 8, "too many SQL parameters");
        lua_pushlightuserdata(L, to->pool);
        lua_pushinteger(L, (lua_Integer)uv_hrtime());
        lua_getfield(L, LUA_REGISTRYINDEX, SQL_LUA_KEY);
        lua_getfield(L, -1, "dry");
        lua_remove(L, -2);
        if (to->self) {
            lua_pushvalue(L, 1);
        } else { /* sql.query(dsn, ...): a db for the call */
            sql_db *db = lua_newuserdatauv(L, sizeof *db, 0);
            db->pool = to->pool;
            db->timeout = to->timeout;
            db->max_result = to->max_result;
            luaL_setmetatable(L, DB_MT);
        }
        lua_pushboolean(L, to->held != NULL);
        lua_pushstring(L, kind_names[kind]);
        for (int i = sqlidx; i <= base; i++)
            lua_pushvalue(L, i);
        lua_callk(L, 4 + base - sqlidx, LUA_MULTRET, base, dry_done);
        return dry_done(L, LUA_OK, base);
    }
    lua_op *o = op_build(L, sql, len, sqlidx + 1, lua_gettop(L));
    op_init(o, t, kind, to);
    o->report = 1;
    sql_op_start(&o->op);
    return tn_task_suspend(L, t, op_cancel, o);
}

/* ---- secrets and options ------------------------------------------------ */

/* The DSN, its password and, in a URI, the password as written (maybe
 * percent-encoded) are secrets from now on. */
static int register_secrets(const char *dsn)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &err);
    if (!opts) {
        PQfreemem(err);
        return -1;
    }
    redact_add(dsn, strlen(dsn));
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (o->val && !strcmp(o->keyword, "password"))
            redact_add(o->val, strlen(o->val));
    PQconninfoFree(opts);
    const char *p = strstr(dsn, "://");
    if (p) {
        p += 3;
        size_t auth = strcspn(p, "/?");
        const char *at = NULL;
        for (size_t i = 0; i < auth; i++)
            if (p[i] == '@')
                at = p + i;
        const char *colon = at ? memchr(p, ':', (size_t)(at - p)) : NULL;
        if (colon)
            redact_add(colon + 1, (size_t)(at - colon - 1));
    }
    return 0;
}

static double opt_timeout(lua_State *L, int idx, double def)
{
    if (!lua_istable(L, idx))
        return def;
    lua_getfield(L, idx, "timeout");
    double v = def;
    if (lua_type(L, -1) == LUA_TSTRING) {
        v = tn_parse_duration(lua_tostring(L, -1));
        if (v < 0)
            luaL_argerror(L, idx, "timeout: a number of seconds or a duration like \"500ms\"");
    } else if (!lua_isnil(L, -1)) {
        v = luaL_checknumber(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

/* The pool for a DSN (created on first use); argument 1 is the DSN. */
static sql_pool *pool_for(lua_State *L, const char *dsn, int max)
{
    /* Parsed before the pool exists, so a bad DSN leaves nothing behind. */
    const char *why = dl_libs_error(DL_LIBPQ); /* libpq is loaded on first use */
    if (why)
        luaL_error(L, "sql.open: %s", why);
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &err);
    PQfreemem(err);
    if (!opts)
        luaL_argerror(L, 1, "invalid DSN (not a PostgreSQL connection string or URI)");
    PQconninfoFree(opts);
    int created;
    sql_pool *p = sql_pool_get(dsn, max, &created);
    if (!p)
        luaL_error(L, "out of memory");
    if (created && register_secrets(dsn) < 0)
        luaL_error(L, "sql: invalid DSN (not a PostgreSQL connection string or URI)");
    return p;
}

/* statement_cache = N | true | false in sql.open's options: the bound, the
 * default's, or 0 (off); -1 when not given. */
static int opt_stmt_cache(lua_State *L, int idx)
{
    if (!lua_istable(L, idx))
        return -1;
    int v = -1;
    int t = lua_getfield(L, idx, "statement_cache");
    if (t == LUA_TBOOLEAN) {
        v = lua_toboolean(L, -1) ? SQL_STMT_DEFAULT : 0;
    } else if (t != LUA_TNIL) {
        lua_Integer n = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : -1;
        if (n < 0 || n > SQL_STMT_MAX)
            luaL_argerror(L, idx, "statement_cache must be false or a count from 0 to 1000");
        v = (int)n;
    }
    lua_pop(L, 1);
    return v;
}

/* ---- Lua: sql ----------------------------------------------------------- */

static sql_target db_target(sql_db *db)
{
    sql_target to = {db->pool, NULL, db->timeout, db->max_result, 1};
    return to;
}

static int l_open(lua_State *L)
{
    const char *dsn = luaL_checkstring(L, 1);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    /* max = 0: not given; a new pool gets the default, an existing one keeps its own. */
    double max = tn_opt_number(L, 2, "max", 0);
    double timeout = opt_timeout(L, 2, SQL_DEFAULT_TIMEOUT);
    int stmt_cache = opt_stmt_cache(L, 2);
    uint64_t max_result = tn_opt_size(L, 2, "max_result", SQL_DEFAULT_MAX_RESULT);
    if (max != 0 && !(max >= 1 && max <= 10000))
        luaL_argerror(L, 2, "max must be between 1 and 10000");
    if (max_result == 0 || max_result > SIZE_MAX / 2)
        luaL_argerror(L, 2, "max_result must be a size above 0 (bytes or \"64MiB\")");
    sql_pool *p = pool_for(L, dsn, (int)max);
    if (stmt_cache >= 0)
        sql_pool_set_stmt_cache(p, stmt_cache);
    sql_db *db = lua_newuserdatauv(L, sizeof *db, 0);
    db->pool = p;
    db->timeout = timeout;
    db->max_result = (size_t)max_result;
    luaL_setmetatable(L, DB_MT);
    return 1;
}

/* sql.query(dsn, sql, ...) */
static int l_query_once(lua_State *L)
{
    const char *dsn = luaL_checkstring(L, 1);
    sql_target to = {pool_for(L, dsn, 0), NULL, SQL_DEFAULT_TIMEOUT, SQL_DEFAULT_MAX_RESULT, 0};
    return run_stmt(L, &to, K_ROWS, 2);
}

/* sql._skip(kind, sql, why): sql_tx.lua's dry run did not send a statement. */
static int l_skip(lua_State *L)
{
    int kind = luaL_checkoption(L, 1, NULL, kind_names);
    const char *sql = luaL_checkstring(L, 2);
    const char *why = luaL_checkstring(L, 3);
    return push_dry_skipped(L, tn_task_run(tn_task_current(L)), kind, sql, why);
}

/* ---- Lua: db ------------------------------------------------------------ */

static int db_query(lua_State *L)
{
    sql_target to = db_target(luaL_checkudata(L, 1, DB_MT));
    return run_stmt(L, &to, K_ROWS, 2);
}

static int db_exec(lua_State *L)
{
    sql_target to = db_target(luaL_checkudata(L, 1, DB_MT));
    return run_stmt(L, &to, K_EXEC, 2);
}

static int db_one(lua_State *L)
{
    sql_target to = db_target(luaL_checkudata(L, 1, DB_MT));
    return run_stmt(L, &to, K_ONE, 2);
}

/* db:_acquire() -> tx | nil, err: a connection of the pool, held. */
static int db_acquire(lua_State *L)
{
    sql_target to = db_target(luaL_checkudata(L, 1, DB_MT));
    tn_task *t = tn_task_current(L);
    lua_op *o = op_plain(L, t, K_ACQUIRE, &to);
    o->op.acquire = 1;
    sql_op_start(&o->op);
    return tn_task_suspend(L, t, op_cancel, o);
}

static int db_stats(lua_State *L)
{
    sql_db *db = luaL_checkudata(L, 1, DB_MT);
    int max, total, idle, busy, waiting;
    sql_pool_stats(db->pool, &max, &total, &idle, &busy, &waiting);
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, max);
    lua_setfield(L, -2, "max");
    lua_pushinteger(L, total);
    lua_setfield(L, -2, "total");
    lua_pushinteger(L, idle);
    lua_setfield(L, -2, "idle");
    lua_pushinteger(L, busy);
    lua_setfield(L, -2, "busy");
    lua_pushinteger(L, waiting);
    lua_setfield(L, -2, "waiting");
    lua_pushinteger(L, sql_pool_stmt_cache(db->pool));
    lua_setfield(L, -2, "statement_cache");
    return 1;
}

static int db_tostring(lua_State *L)
{
    /* Never the DSN: it holds the password. */
    lua_pushfstring(L, "sql.db (%p)", lua_touserdata(L, 1));
    return 1;
}

/* ---- Lua: tx ------------------------------------------------------------ */

static void tx_new(lua_State *L, sql_conn *c, sql_pool *pool, double timeout, size_t max_result)
{
    sql_tx *tx = lua_newuserdatauv(L, sizeof *tx, 0);
    tx->conn = c;
    tx->pool = pool;
    tx->timeout = timeout;
    tx->max_result = max_result;
    luaL_setmetatable(L, TX_MT);
}

static sql_target tx_target(lua_State *L)
{
    sql_tx *tx = luaL_checkudata(L, 1, TX_MT);
    if (!tx->conn)
        luaL_error(L, "this transaction is over (use tx only inside its db:tx function)");
    sql_target to = {tx->pool, tx->conn, tx->timeout, tx->max_result, 1};
    return to;
}

static int tx_query(lua_State *L)
{
    sql_target to = tx_target(L);
    return run_stmt(L, &to, K_ROWS, 2);
}

static int tx_exec(lua_State *L)
{
    sql_target to = tx_target(L);
    return run_stmt(L, &to, K_EXEC, 2);
}

static int tx_one(lua_State *L)
{
    sql_target to = tx_target(L);
    return run_stmt(L, &to, K_ONE, 2);
}

/* A statement of sql_tx.lua's on the tx's connection, as written. */
static lua_op *tx_op(lua_State *L, const sql_target *to, int kind, int sqlidx)
{
    size_t len;
    const char *sql = luaL_checklstring(L, sqlidx, &len);
    lua_op *o = op_build(L, sql, len, sqlidx + 1, lua_gettop(L));
    op_init(o, tn_task_current(L), kind, to);
    return o;
}

static int tx_start(lua_State *L, lua_op *o)
{
    sql_op_start(&o->op);
    return tn_task_suspend(L, o->task, op_cancel, o);
}

/* tx:_q(kind, sql, ...): runs sql plainly (the dry run's own catalog query). */
static int tx_q(lua_State *L)
{
    sql_target to = tx_target(L);
    int kind = luaL_checkoption(L, 2, NULL, kind_names);
    return tx_start(L, tx_op(L, &to, kind, 3));
}

/* tx:_dq(kind, sql, ...): the dry run sends the caller's statement, checked,
 * in a savepoint of the READ ONLY transaction; a write the server still
 * refuses (25006, 25001) is listed as an action. */
static int tx_dq(lua_State *L)
{
    sql_target to = tx_target(L);
    int kind = luaL_checkoption(L, 2, NULL, kind_names);
    lua_op *o = tx_op(L, &to, kind, 3);
    o->dry = 1;
    o->op.pre = "SAVEPOINT tocsin_dry";
    o->op.post_ok = "RELEASE SAVEPOINT tocsin_dry";
    o->op.post_err = "ROLLBACK TO SAVEPOINT tocsin_dry";
    return tx_start(L, o);
}

/* tx:_analyze(sql, ...) -> {refuse=|funcs=, objs=} | nil, err: the server
 * parses and rewrites the statement (nothing is planned or run) and shows us
 * the result; the settings that make it do so end with their savepoint. */
static int tx_analyze(lua_State *L)
{
    sql_target to = tx_target(L);
    lua_op *o = tx_op(L, &to, K_ANALYZE, 2);
    buf_init(&o->capture, SQL_ANALYSIS_MAX);
    o->op.capture = &o->capture;
    o->op.prepare_only = 1;
    o->op.pre = "SAVEPOINT tocsin_dry_a; SET LOCAL debug_pretty_print = off; "
                "SET LOCAL client_min_messages = log; SET LOCAL debug_print_rewritten = on";
    o->op.post_ok = o->op.post_err =
        "ROLLBACK TO SAVEPOINT tocsin_dry_a; RELEASE SAVEPOINT tocsin_dry_a";
    return tx_start(L, o);
}

/* tx:_ctl("begin" | "commit" | "rollback") -> true | nil, err */
static int tx_ctl(lua_State *L)
{
    static const char *const what[] = {"begin", "commit", "rollback", NULL};
    sql_target to = tx_target(L);
    int w = luaL_checkoption(L, 2, NULL, what);
    tn_task *t = tn_task_current(L);
    lua_op *o = op_plain(L, t, K_CTL, &to);
    static const char *const stmt[] = {"BEGIN", "COMMIT", "ROLLBACK"};
    o->op.sql = w == 0 && tn_run_is_dry(tn_task_run(t)) ? "BEGIN READ ONLY" : stmt[w];
    o->op.simple = 1;
    return tx_start(L, o);
}

/* tx:_release(), also __close and __gc: the connection goes back to the
 * pool (rolled back there if a transaction is still open on it). */
static int tx_release(lua_State *L)
{
    sql_tx *tx = luaL_checkudata(L, 1, TX_MT);
    sql_conn *c = tx->conn;
    tx->conn = NULL;
    if (c)
        sql_conn_release(c);
    return 0;
}

/* ---- module ------------------------------------------------------------ */

/* sql_tx.lua's table {tx=, dry=}, kept in the registry, and db.tx. */
static void load_sql_lua(lua_State *L)
{
    if (embedded_lua_load(L, "sql_tx") != LUA_OK)
        lua_error(L);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, l_skip);
    lua_setfield(L, -2, "skip");
    lua_call(L, 1, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, SQL_LUA_KEY);
}

int sql_lua_open(lua_State *L)
{
    static const luaL_Reg db_methods[] = {
        {"query", db_query},      {"exec", db_exec},   {"one", db_one},
        {"_acquire", db_acquire}, {"stats", db_stats}, {NULL, NULL},
    };
    static const luaL_Reg tx_methods[] = {
        {"query", tx_query}, {"exec", tx_exec}, {"one", tx_one},          {"_ctl", tx_ctl},
        {"_q", tx_q},        {"_dq", tx_dq},    {"_analyze", tx_analyze}, {"_release", tx_release},
        {NULL, NULL},
    };
    luaL_newmetatable(L, DB_MT);
    luaL_newlib(L, db_methods);
    load_sql_lua(L);
    lua_getfield(L, -1, "tx");
    lua_setfield(L, -3, "tx");
    lua_pop(L, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, db_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "sql.db");
    lua_setfield(L, -2, "__name");
    lua_pop(L, 1);

    luaL_newmetatable(L, TX_MT);
    luaL_newlib(L, tx_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, tx_release);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, tx_release);
    lua_setfield(L, -2, "__gc");
    lua_pushliteral(L, "sql.tx");
    lua_setfield(L, -2, "__name");
    lua_pop(L, 1);

    static const luaL_Reg fns[] = {{"open", l_open}, {"query", l_query_once}, {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}

void sql_lua_shutdown(void)
{
    sql_pool_shutdown();
}
