/* sql_lua.c — the `sql` Lua module (see sql_lua.h): arguments to text parameters,
 * results to typed Lua values, errors, dry runs, transactions.  Connections,
 * pooling, timeouts and cancel live in sql_pool.c. */
#include "sql_lua.h"

#include <errno.h>
#include <lauxlib.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"
#include "sql_pool.h"
#include "task.h"
#include "util.h"

#define DB_MT "tocsin.sql.db"
#define TX_MT "tocsin.sql.tx"
#define SQL_DEFAULT_TIMEOUT 10.0
#define SQL_ACTION_MAX 200

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
enum { K_ROWS, K_EXEC, K_ONE, K_ACQUIRE, K_CTL };

typedef struct sql_db {
    sql_pool *pool;
    double timeout;
} sql_db;

typedef struct sql_tx {
    sql_conn *conn; /* NULL once released */
    sql_pool *pool;
    double timeout;
} sql_tx;

/* One call: the pool's op first (sql_op_free frees the whole block), then
 * the parameter pointers and the texts they point to. */
typedef struct lua_op {
    sql_op op;
    tn_task *task;
    int kind;
    int dry; /* wrapped for a dry run: a refused write becomes an action */
} lua_op;

/* ---- parameters --------------------------------------------------------- */

static void push_number_text(lua_State *L, int idx)
{
    if (lua_isinteger(L, idx)) {
        lua_pushfstring(L, "%I", (LUAI_UACINT)lua_tointeger(L, idx));
        return;
    }
    double d = lua_tonumber(L, idx);
    char buf[64];
    if (isnan(d)) {
        lua_pushliteral(L, "NaN");
    } else if (isinf(d)) {
        lua_pushstring(L, d > 0 ? "Infinity" : "-Infinity");
    } else if (d == floor(d) && fabs(d) < 9.2e18) {
        /* 3.0 goes out as "3", which an integer column accepts. */
        snprintf(buf, sizeof buf, "%.0f", d);
        lua_pushstring(L, buf);
    } else {
        /* The shortest text that reads back as the same double. */
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, d);
            if (strtod(buf, NULL) == d)
                break;
        }
        lua_pushstring(L, buf);
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

static void push_value(lua_State *L, const PGresult *r, int row, int col, Oid type)
{
    if (PQgetisnull(r, row, col)) {
        tn_push_null(L);
        return;
    }
    const char *v = PQgetvalue(r, row, col);
    int len = PQgetlength(r, row, col);
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

static void push_row(lua_State *L, const PGresult *r, int row, int cols)
{
    int ncols = PQnfields(r);
    lua_createtable(L, 0, ncols);
    for (int j = 0; j < ncols; j++) {
        lua_rawgeti(L, cols, j + 1);
        push_value(L, r, row, j, PQftype(r, j));
        lua_rawset(L, -3);
    }
}

/* Pushes rows (an array with .columns), or with one set the first row or nil. */
static void push_rows(lua_State *L, const PGresult *r, int one)
{
    int nrows = r ? PQntuples(r) : 0, ncols = r ? PQnfields(r) : 0;
    luaL_checkstack(L, 8, NULL);
    lua_createtable(L, ncols, 0);
    for (int j = 0; j < ncols; j++) {
        lua_pushstring(L, PQfname(r, j));
        lua_rawseti(L, -2, j + 1);
    }
    int cols = lua_gettop(L);
    if (one) {
        if (nrows > 0)
            push_row(L, r, 0, cols);
        else
            lua_pushnil(L);
    } else {
        lua_createtable(L, nrows, 1);
        for (int i = 0; i < nrows; i++) {
            push_row(L, r, i, cols);
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

/* The statement as one line for the dry run's list of actions. */
static void record_dry_action(lua_op *o)
{
    char buf[SQL_ACTION_MAX + 4];
    size_t j = 0;
    int space = 0;
    for (const char *s = o->op.sql; *s && j < SQL_ACTION_MAX; s++) {
        if (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') {
            space = j > 0;
            continue;
        }
        if (space)
            buf[j++] = ' ';
        space = 0;
        if (j < SQL_ACTION_MAX)
            buf[j++] = *s;
    }
    buf[j] = '\0';
    if (strlen(o->op.sql) > j && j >= SQL_ACTION_MAX)
        strcpy(buf + j, "...");
    tn_run_action(tn_task_run(o->task), "sql", buf);
}

/* A write the dry run skipped: success-shaped, listed as an action. */
static int push_dry_skipped(lua_State *L, lua_op *o)
{
    record_dry_action(o);
    switch (o->kind) {
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

/* Server functions a READ ONLY transaction still lets through although
 * they act on other sessions or the server (the playbook's resolution query
 * is a pg_terminate_backend): a dry run does not send a statement naming one. */
static int acts_beyond_tx(const char *sql)
{
    static const char *const fns[] = {
        "pg_terminate_backend",
        "pg_cancel_backend",
        "pg_reload_conf",
        "pg_rotate_logfile",
        "pg_stat_reset",
        "pg_switch_wal",
        "pg_promote",
        "pg_advisory_lock",
        "pg_try_advisory_lock",
        "dblink",
        NULL,
    };
    for (int i = 0; fns[i]; i++)
        if (strcasestr(sql, fns[i]))
            return 1;
    return 0;
}

static void tx_new(lua_State *L, sql_conn *c, sql_pool *pool, double timeout);

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
            return push_dry_skipped(L, o);
        return push_query_error(L, r);
    }
    switch (o->kind) {
    case K_ACQUIRE: {
        tx_new(L, op->conn, op->pool, op->timeout);
        op->conn = NULL;
        return 1;
    }
    case K_CTL:
        lua_pushboolean(L, 1);
        return 1;
    case K_EXEC: {
        const char *n = r ? PQcmdTuples(r) : "";
        lua_pushinteger(L, (lua_Integer)strtoll(n, NULL, 10));
        return 1;
    }
    default:
        push_rows(L, r, o->kind == K_ONE);
        return 1;
    }
}

static int push_protected(lua_State *L)
{
    lua_op *o = lua_touserdata(L, 1);
    lua_pop(L, 1);
    return push_result(L, o);
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
    }
    /* An acquired connection nobody took (task cancelled after the wake-up,
     * or the tx object could not be made) goes back to the pool. */
    if (o->kind == K_ACQUIRE && !o->op.fail && o->op.conn)
        sql_conn_release(o->op.conn);
    sql_op_free(&o->op);
    if (!L)
        return 0;
    if (rc != LUA_OK)
        return lua_error(L);
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
    if (o->kind == K_ACQUIRE && o->op.conn)
        sql_conn_release(o->op.conn);
    sql_op_free(&o->op);
}

/* Fills in what every operation of a task needs. */
static void op_init(lua_op *o, tn_task *t, int kind, sql_pool *pool, sql_conn *held, double timeout)
{
    o->task = t;
    o->kind = kind;
    o->op.pool = pool;
    o->op.held = held;
    o->op.timeout = timeout;
    o->op.done = op_done;
}

/* An operation with no statement text of the caller's (acquire, BEGIN, ...). */
static lua_op *op_plain(lua_State *L, tn_task *t, int kind, sql_pool *pool, sql_conn *held,
                        double timeout)
{
    lua_op *o = calloc(1, sizeof *o);
    if (!o)
        luaL_error(L, "out of memory");
    op_init(o, t, kind, pool, held, timeout);
    return o;
}

/* Starts the statement at argument sqlidx (parameters follow it) and
 * suspends the task until it ends. */
static int run_stmt(lua_State *L, sql_pool *pool, sql_conn *held, double timeout, int kind,
                    int sqlidx)
{
    size_t len;
    const char *sql = luaL_checklstring(L, sqlidx, &len);
    tn_task *t = tn_task_current(L);
    lua_op *o = op_build(L, sql, len, sqlidx + 1, lua_gettop(L));
    op_init(o, t, kind, pool, held, timeout);
    if (tn_run_is_dry(tn_task_run(t))) {
        /* Every statement of a dry run runs in a READ ONLY transaction (inside
         * db:tx, a savepoint of the tx's READ ONLY one), so a write fails with
         * 25006 and changes nothing.  PQsendQueryParams takes exactly one
         * statement, so "COMMIT; INSERT ..." cannot escape it. */
        o->dry = 1;
        if (acts_beyond_tx(o->op.sql)) {
            int n = push_dry_skipped(L, o);
            sql_op_free(&o->op);
            return n;
        }
        if (held) {
            o->op.pre = "SAVEPOINT tocsin_dry";
            o->op.post_ok = "RELEASE SAVEPOINT tocsin_dry";
            o->op.post_err = "ROLLBACK TO SAVEPOINT tocsin_dry";
        } else {
            o->op.pre = "BEGIN READ ONLY";
            o->op.post_ok = o->op.post_err = "ROLLBACK";
        }
    }
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

/* ---- Lua: sql ----------------------------------------------------------- */

static int l_open(lua_State *L)
{
    const char *dsn = luaL_checkstring(L, 1);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    /* max = 0: not given; a new pool gets the default, an existing one keeps its own. */
    double max = tn_opt_number(L, 2, "max", 0);
    double timeout = opt_timeout(L, 2, SQL_DEFAULT_TIMEOUT);
    if (max != 0 && !(max >= 1 && max <= 10000))
        luaL_argerror(L, 2, "max must be between 1 and 10000");
    sql_pool *p = pool_for(L, dsn, (int)max);
    sql_db *db = lua_newuserdatauv(L, sizeof *db, 0);
    db->pool = p;
    db->timeout = timeout;
    luaL_setmetatable(L, DB_MT);
    return 1;
}

/* sql.query(dsn, sql, ...) */
static int l_query_once(lua_State *L)
{
    const char *dsn = luaL_checkstring(L, 1);
    sql_pool *p = pool_for(L, dsn, 0);
    return run_stmt(L, p, NULL, SQL_DEFAULT_TIMEOUT, K_ROWS, 2);
}

/* ---- Lua: db ------------------------------------------------------------ */

static int db_query(lua_State *L)
{
    sql_db *db = luaL_checkudata(L, 1, DB_MT);
    return run_stmt(L, db->pool, NULL, db->timeout, K_ROWS, 2);
}

static int db_exec(lua_State *L)
{
    sql_db *db = luaL_checkudata(L, 1, DB_MT);
    return run_stmt(L, db->pool, NULL, db->timeout, K_EXEC, 2);
}

static int db_one(lua_State *L)
{
    sql_db *db = luaL_checkudata(L, 1, DB_MT);
    return run_stmt(L, db->pool, NULL, db->timeout, K_ONE, 2);
}

/* db:_acquire() -> tx | nil, err: a connection of the pool, held. */
static int db_acquire(lua_State *L)
{
    sql_db *db = luaL_checkudata(L, 1, DB_MT);
    tn_task *t = tn_task_current(L);
    lua_op *o = op_plain(L, t, K_ACQUIRE, db->pool, NULL, db->timeout);
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
    return 1;
}

static int db_tostring(lua_State *L)
{
    /* Never the DSN: it holds the password. */
    lua_pushfstring(L, "sql.db (%p)", lua_touserdata(L, 1));
    return 1;
}

/* ---- Lua: tx ------------------------------------------------------------ */

static void tx_new(lua_State *L, sql_conn *c, sql_pool *pool, double timeout)
{
    sql_tx *tx = lua_newuserdatauv(L, sizeof *tx, 0);
    tx->conn = c;
    tx->pool = pool;
    tx->timeout = timeout;
    luaL_setmetatable(L, TX_MT);
}

static sql_tx *tx_check(lua_State *L)
{
    sql_tx *tx = luaL_checkudata(L, 1, TX_MT);
    if (!tx->conn)
        luaL_error(L, "this transaction is over (use tx only inside its db:tx function)");
    return tx;
}

static int tx_query(lua_State *L)
{
    sql_tx *tx = tx_check(L);
    return run_stmt(L, tx->pool, tx->conn, tx->timeout, K_ROWS, 2);
}

static int tx_exec(lua_State *L)
{
    sql_tx *tx = tx_check(L);
    return run_stmt(L, tx->pool, tx->conn, tx->timeout, K_EXEC, 2);
}

static int tx_one(lua_State *L)
{
    sql_tx *tx = tx_check(L);
    return run_stmt(L, tx->pool, tx->conn, tx->timeout, K_ONE, 2);
}

/* tx:_ctl("begin" | "commit" | "rollback") -> true | nil, err */
static int tx_ctl(lua_State *L)
{
    static const char *const what[] = {"begin", "commit", "rollback", NULL};
    sql_tx *tx = tx_check(L);
    int w = luaL_checkoption(L, 2, NULL, what);
    tn_task *t = tn_task_current(L);
    lua_op *o = op_plain(L, t, K_CTL, tx->pool, tx->conn, tx->timeout);
    static const char *const stmt[] = {"BEGIN", "COMMIT", "ROLLBACK"};
    o->op.sql = w == 0 && tn_run_is_dry(tn_task_run(t)) ? "BEGIN READ ONLY" : stmt[w];
    sql_op_start(&o->op);
    return tn_task_suspend(L, t, op_cancel, o);
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

/* db:tx(fn), in Lua because fn yields between the C primitives.  A <close>
 * variable gives the connection back even when the task is cancelled. */
static const char tx_lua[] =
    "local pcall, error, select, type = ...\n"
    "local function finish(tx, ok, ...)\n"
    "  if ok and not (select('#', ...) >= 2 and (...) == nil and select(2, ...) ~= nil) then\n"
    "    local cok, cerr = tx:_ctl('commit')\n"
    "    tx:_release()\n"
    "    if not cok then return nil, cerr end\n"
    "    return ...\n"
    "  end\n"
    "  tx:_ctl('rollback')\n"
    "  tx:_release()\n"
    "  if not ok then error((...), 0) end\n"
    "  return nil, (select(2, ...))\n"
    "end\n"
    "return function(db, fn)\n"
    "  if type(fn) ~= 'function' then error('db:tx expects a function', 2) end\n"
    "  local tx <close>, err = db:_acquire()\n"
    "  if not tx then return nil, err end\n"
    "  local ok, berr = tx:_ctl('begin')\n"
    "  if not ok then return nil, berr end\n"
    "  return finish(tx, pcall(fn, tx))\n"
    "end\n";

/* ---- module ------------------------------------------------------------- */

static void push_tx_fn(lua_State *L)
{
    if (luaL_loadbufferx(L, tx_lua, sizeof tx_lua - 1, "=sql.tx", "t") != LUA_OK)
        lua_error(L);
    lua_getglobal(L, "pcall");
    lua_getglobal(L, "error");
    lua_getglobal(L, "select");
    lua_getglobal(L, "type");
    lua_call(L, 4, 1);
}

int sql_lua_open(lua_State *L)
{
    static const luaL_Reg db_methods[] = {
        {"query", db_query},      {"exec", db_exec},   {"one", db_one},
        {"_acquire", db_acquire}, {"stats", db_stats}, {NULL, NULL},
    };
    static const luaL_Reg tx_methods[] = {
        {"query", tx_query}, {"exec", tx_exec},        {"one", tx_one},
        {"_ctl", tx_ctl},    {"_release", tx_release}, {NULL, NULL},
    };
    luaL_newmetatable(L, DB_MT);
    luaL_newlib(L, db_methods);
    push_tx_fn(L);
    lua_setfield(L, -2, "tx");
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
