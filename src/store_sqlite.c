/* store_sqlite.c — the embedded state store: one SQLite file in WAL mode.
 * Writes go to a queue that one writer thread drains, committing everything
 * queued in one BEGIN IMMEDIATE transaction (group commit), so the loop never
 * waits for the disk.  A transaction that changes an incident or a deadline
 * is synced to disk before it is answered (synchronous=FULL); one holding only
 * run records (steps, the transcript of every HTTP call and SQL query) is not
 * (synchronous=NORMAL): it survives Tocsin being killed, and reaches the disk
 * with the next synced transaction or checkpoint.  A runbook making 11,000
 * queries a second spent a third of Tocsin's CPU in fdatasync.  The schema is versioned
 * (PRAGMA user_version) and migrated forward in one transaction. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

#include "buf.h"
#include "list.h"
#include "store.h"

#include <tocsin/primitive.h>

#define BUSY_TIMEOUT_MS 5000

typedef struct qrec {
    list_node node;
    store_rec r;
    char *strings;  /* the copies r's pointers point into */
    store_req *req; /* a request instead of a row */
} qrec;

typedef struct sqlite_store {
    store base;
    sqlite3 *db; /* the writer thread's */
    /* Reads (the CLI's, the daemon's API from the libuv pool) go through a
     * read-only connection of their own, opened on first use: in WAL mode
     * they neither wait for the writer's transactions nor make it wait. */
    sqlite3 *rdb;
    uv_mutex_t rmu; /* guards opening rdb */
    char *path;
    uv_thread_t thread;
    uv_mutex_t mu;
    uv_cond_t cv;    /* writer: work or stop; flushers: progress */
    list_node queue; /* of qrec */
    unsigned long queued, committed;
    int stopping;
    int failed;
    int synced; /* synchronous=FULL now (else NORMAL) */
    char error[512];
    sqlite3_stmt *st[4];  /* one prepared statement per store_rec_type */
    uv_async_t *answered; /* wakes the loop for answered requests (freed by its close) */
    int async_init;
    list_node answers; /* of qrec whose request is answered (under mu) */
    int outstanding;   /* requests submitted and not yet answered (the loop's thread) */
} sqlite_store;

/* ---- schema ------------------------------------------------------------ */

/* Each entry moves the schema from version i to i+1; never edit one that
 * has shipped, add the next. */
static const char *const migrations[] = {
    "CREATE TABLE runs ("
    "  id TEXT PRIMARY KEY, runbook TEXT NOT NULL, trigger TEXT, params TEXT,"
    "  dry_run INTEGER NOT NULL DEFAULT 0, started REAL NOT NULL, ended REAL,"
    "  ok INTEGER, error TEXT, steps_failed INTEGER);"
    "CREATE INDEX runs_by_runbook ON runs(runbook, started);"
    "CREATE INDEX runs_by_start ON runs(started);"
    "CREATE TABLE steps ("
    "  run_id TEXT NOT NULL, step INTEGER NOT NULL, depth INTEGER NOT NULL, title TEXT NOT NULL,"
    "  ok INTEGER NOT NULL, error TEXT, ended REAL NOT NULL, duration REAL NOT NULL,"
    "  PRIMARY KEY (run_id, step));"
    "CREATE TABLE entries ("
    "  id INTEGER PRIMARY KEY, run_id TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL,"
    "  ts REAL NOT NULL);"
    "CREATE INDEX entries_by_run ON entries(run_id, id);",

    "CREATE TABLE incidents ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, severity TEXT NOT NULL,"
    "  scenario TEXT, summary TEXT, dedup_key TEXT, status TEXT NOT NULL, run_id TEXT,"
    "  opened REAL NOT NULL, acknowledged REAL, mitigated REAL, resolved REAL);"
    "CREATE UNIQUE INDEX incidents_open_dedup ON incidents(dedup_key)"
    "  WHERE dedup_key IS NOT NULL AND status != 'resolved';"
    "CREATE INDEX incidents_by_status ON incidents(status, id);"
    "CREATE TABLE timeline ("
    "  id INTEGER PRIMARY KEY, incident_id INTEGER NOT NULL REFERENCES incidents(id),"
    "  ts REAL NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL, actor TEXT);"
    "CREATE INDEX timeline_by_incident ON timeline(incident_id, id);",

    /* P0/P1 always need a post-mortem; a P2 when it recurs. */
    "ALTER TABLE incidents ADD COLUMN needs_postmortem INTEGER NOT NULL DEFAULT 0;",

    /* The incident clock: every notification a change owes and every SLA
     * deadline, as rows.  A row is claimed (claimed_until: a lease) before
     * it fires and marked fired after, in transactions, so each fires once
     * whichever process runs the clock, and a claim whose process died is
     * taken over when its lease ends. */
    "CREATE TABLE deadlines ("
    "  id INTEGER PRIMARY KEY, incident_id INTEGER NOT NULL REFERENCES incidents(id),"
    "  kind TEXT NOT NULL, role TEXT, text TEXT, due REAL NOT NULL, every REAL,"
    "  created REAL NOT NULL, claimed_until REAL, claimed_by TEXT, fired REAL, canceled REAL);"
    "CREATE INDEX deadlines_pending ON deadlines(due) WHERE fired IS NULL AND canceled IS NULL;"
    "CREATE INDEX deadlines_by_incident ON deadlines(incident_id, id);",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

static const char *const insert_sql[] = {
    [STORE_RUN_START] =
        "INSERT OR REPLACE INTO runs(id, runbook, trigger, params, dry_run, started)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [STORE_RUN_END] = "UPDATE runs SET ended = ?5, ok = ?2, error = ?3, steps_failed = ?4"
                      " WHERE id = ?1",
    [STORE_STEP] = "INSERT OR REPLACE INTO steps(run_id, step, depth, title, ok, error, ended,"
                   " duration) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [STORE_ENTRY] = "INSERT INTO entries(run_id, kind, text, ts) VALUES (?1, ?2, ?3, ?4)",
};

static int fail_db(sqlite3 *db, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
    return -1;
}

static int schema_version(sqlite3 *db)
{
    sqlite3_stmt *q;
    int version = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK) {
        if (sqlite3_step(q) == SQLITE_ROW)
            version = sqlite3_column_int(q, 0);
        sqlite3_finalize(q);
    }
    return version;
}

static int migrate(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    /* The common case, a store already at this version, takes no write lock
     * (and no fsync): every CLI run opens the store. */
    if (schema_version(db) == SCHEMA_VERSION)
        return 0;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return fail_db(db, path, err, errlen);
    int version = schema_version(db); /* again, under the lock: another process may have migrated */
    if (version < 0)
        version = 0;
    if (version > SCHEMA_VERSION) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        snprintf(err, errlen,
                 "%s: schema version %d is newer than this tocsin knows (%d): upgrade tocsin", path,
                 version, SCHEMA_VERSION);
        return -1;
    }
    for (int v = version; v < SCHEMA_VERSION; v++) {
        char *msg = NULL;
        if (sqlite3_exec(db, migrations[v], NULL, NULL, &msg) != SQLITE_OK) {
            snprintf(err, errlen, "%s: migration to schema %d failed: %s", path, v + 1,
                     msg ? msg : "?");
            sqlite3_free(msg);
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", SCHEMA_VERSION);
    if (sqlite3_exec(db, pragma, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        fail_db(db, path, err, errlen);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

/* The folder of path, made when missing (".tocsin/"). */
static int make_parent(const char *path, char *err, size_t errlen)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return 0;
    char dir[4096];
    if ((size_t)(slash - path) >= sizeof dir) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = 0;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create %s: %s", path, dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- the writer ---------------------------------------------------------- */

static void bind_text(sqlite3_stmt *q, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(q, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, i);
}

static int timeline_add(sqlite_store *s, long long id, double ts, const char *kind,
                        const char *text, const char *actor);

static int write_one(sqlite_store *s, const store_rec *r)
{
    sqlite3_stmt *q = s->st[r->type];
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    bind_text(q, 1, r->run_id);
    switch (r->type) {
    case STORE_RUN_START:
        bind_text(q, 2, r->runbook);
        bind_text(q, 3, r->trigger);
        bind_text(q, 4, r->params);
        sqlite3_bind_int(q, 5, r->dry_run);
        sqlite3_bind_double(q, 6, r->ts);
        break;
    case STORE_RUN_END:
        sqlite3_bind_int(q, 2, r->ok);
        bind_text(q, 3, r->error);
        sqlite3_bind_int(q, 4, r->steps_failed);
        sqlite3_bind_double(q, 5, r->ts);
        break;
    case STORE_STEP:
        sqlite3_bind_int(q, 2, r->step);
        sqlite3_bind_int(q, 3, r->depth);
        bind_text(q, 4, r->title);
        sqlite3_bind_int(q, 5, r->ok);
        bind_text(q, 6, r->error);
        sqlite3_bind_double(q, 7, r->ts);
        sqlite3_bind_double(q, 8, r->duration);
        break;
    case STORE_ENTRY:
        bind_text(q, 2, r->kind);
        bind_text(q, 3, r->text);
        sqlite3_bind_double(q, 4, r->ts);
        break;
    }
    if (sqlite3_step(q) != SQLITE_DONE)
        return -1;
    if (r->type == STORE_STEP && r->incident) {
        char text[1024];
        snprintf(text, sizeof text, "%s %s%s%s", r->ok ? "✓" : "✗", r->title ? r->title : "",
                 r->error ? ": " : "", r->error ? r->error : "");
        return timeline_add(s, r->incident, r->ts, "step", text, r->run_id);
    }
    return 0;
}

static double now_secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int timeline_add(sqlite_store *s, long long id, double ts, const char *kind,
                        const char *text, const char *actor)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO timeline(incident_id, ts, kind, text, actor)"
                           " VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, &q, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_double(q, 2, ts);
    bind_text(q, 3, kind);
    bind_text(q, 4, text);
    bind_text(q, 5, actor);
    int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(q);
    return rc;
}

/* The incident's status, severity and post-mortem flag: 0, STORE_ENOTFOUND
 * or -1. */
static int incident_get(sqlite_store *s, long long id, char *status, size_t sn, char *sev,
                        size_t vn, int *needs_pm)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT status, severity, needs_postmortem FROM incidents WHERE id = ?1",
                           -1, &q, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        snprintf(status, sn, "%s", (const char *)sqlite3_column_text(q, 0));
        snprintf(sev, vn, "%s", (const char *)sqlite3_column_text(q, 1));
        *needs_pm = sqlite3_column_int(q, 2);
    }
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? STORE_ENOTFOUND : -1;
}

/* P0 and P1 need a post-mortem; a P2 does when the same incident (same
 * dedup_key, else same title) was opened more than twice in 30 days. */
static int flag_postmortem(sqlite_store *s, store_req *r, double ts)
{
    int count = 0;
    if (!strcmp(r->severity, "P2")) {
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(s->db,
                               "SELECT count(*) FROM incidents WHERE severity = 'P2'"
                               " AND opened > ?3 AND (dedup_key = ?1 OR (?1 IS NULL AND"
                               " dedup_key IS NULL AND title = ?2))",
                               -1, &q, NULL) != SQLITE_OK)
            return -1;
        bind_text(q, 1, r->dedup_key);
        bind_text(q, 2, r->title);
        sqlite3_bind_double(q, 3, ts - 30 * 86400.0);
        if (sqlite3_step(q) == SQLITE_ROW)
            count = sqlite3_column_int(q, 0);
        sqlite3_finalize(q);
    }
    int needs = !strcmp(r->severity, "P0") || !strcmp(r->severity, "P1") || count > 2;
    if (!needs)
        return 0;
    r->needs_postmortem = 1;
    char sql[96];
    snprintf(sql, sizeof sql, "UPDATE incidents SET needs_postmortem = 1 WHERE id = %lld", r->id);
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    if (count > 2) {
        char text[160];
        snprintf(text, sizeof text,
                 "P2 recurring: opened %d times in 30 days, a post-mortem is required", count);
        return timeline_add(s, r->id, ts, "flagged", text, NULL);
    }
    return 0;
}

/* Inserts the deadlines of a plan, due `after` seconds from ts. */
static int plan_insert(sqlite_store *s, long long id, double ts, const store_deadline *plan, int n)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO deadlines(incident_id, kind, role, text, due, every,"
                           " created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           -1, &q, NULL) != SQLITE_OK)
        return -1;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        sqlite3_reset(q);
        sqlite3_bind_int64(q, 1, id);
        bind_text(q, 2, plan[i].kind);
        bind_text(q, 3, plan[i].role);
        bind_text(q, 4, plan[i].text);
        sqlite3_bind_double(q, 5, ts + plan[i].after);
        if (plan[i].every > 0)
            sqlite3_bind_double(q, 6, plan[i].every);
        else
            sqlite3_bind_null(q, 6);
        sqlite3_bind_double(q, 7, ts);
        rc = sqlite3_step(q) == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_finalize(q);
    return rc;
}

/* Cancels the incident's pending deadlines of the given kinds. */
static int plan_cancel(sqlite_store *s, long long id, double ts, const char *const *kinds)
{
    sqlite3_stmt *q;
    if (!kinds[0])
        return 0;
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE deadlines SET canceled = ?3 WHERE incident_id = ?1 AND kind = ?2"
                           " AND fired IS NULL AND canceled IS NULL",
                           -1, &q, NULL) != SQLITE_OK)
        return -1;
    int rc = 0;
    for (int i = 0; kinds[i] && rc == 0; i++) {
        sqlite3_reset(q);
        sqlite3_bind_int64(q, 1, id);
        bind_text(q, 2, kinds[i]);
        sqlite3_bind_double(q, 3, ts);
        rc = sqlite3_step(q) == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_finalize(q);
    return rc;
}

static int dl_claim(sqlite_store *s, store_req *r, double ts);
static int dl_done(sqlite_store *s, store_req *r, double ts);

/* One request, inside the batch's transaction (a savepoint of its own, so a
 * refused move leaves nothing behind).  r->rc says how it went; the return
 * is -1 only for a database failure. */
static int run_req(sqlite_store *s, store_req *r)
{
    double ts = now_secs();
    sqlite3_stmt *q = NULL;
    r->rc = 0;
    if (r->type == STORE_DL_CLAIM)
        return dl_claim(s, r, ts);
    if (r->type == STORE_DL_DONE)
        return dl_done(s, r, ts);
    if (r->type == STORE_INC_COUNT) {
        if (sqlite3_prepare_v2(
                s->db, "SELECT count(*) FROM incidents WHERE dedup_key = ?1 AND opened >= ?2", -1,
                &q, NULL) != SQLITE_OK)
            return -1;
        bind_text(q, 1, r->dedup_key);
        sqlite3_bind_double(q, 2, r->since);
        int rc = sqlite3_step(q);
        r->id = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
        sqlite3_finalize(q);
        return rc == SQLITE_ROW ? 0 : -1;
    }
    if (r->type == STORE_INC_OPEN) {
        /* An open incident with the same dedup_key is reused. */
        if (r->dedup_key) {
            if (sqlite3_prepare_v2(s->db,
                                   "SELECT id, status, severity FROM incidents WHERE dedup_key = ?1"
                                   " AND status != 'resolved'",
                                   -1, &q, NULL) != SQLITE_OK)
                return -1;
            bind_text(q, 1, r->dedup_key);
            if (sqlite3_step(q) == SQLITE_ROW) {
                r->id = sqlite3_column_int64(q, 0);
                snprintf(r->status, sizeof r->status, "%s", sqlite3_column_text(q, 1));
                snprintf(r->severity_out, sizeof r->severity_out, "%s", sqlite3_column_text(q, 2));
                r->reused = 1;
            }
            sqlite3_finalize(q);
            if (r->reused)
                return timeline_add(s, r->id, ts, "joined", r->run_id ? r->run_id : "a run", NULL);
        }
        if (sqlite3_prepare_v2(s->db,
                               "INSERT INTO incidents(title, severity, scenario, summary,"
                               " dedup_key, status, run_id, opened) VALUES"
                               " (?1, ?2, ?3, ?4, ?5, 'triggered', ?6, ?7)",
                               -1, &q, NULL) != SQLITE_OK)
            return -1;
        bind_text(q, 1, r->title);
        bind_text(q, 2, r->severity);
        bind_text(q, 3, r->scenario);
        bind_text(q, 4, r->summary);
        bind_text(q, 5, r->dedup_key);
        bind_text(q, 6, r->run_id);
        sqlite3_bind_double(q, 7, ts);
        int rc = sqlite3_step(q);
        sqlite3_finalize(q);
        if (rc != SQLITE_DONE)
            return -1;
        r->id = sqlite3_last_insert_rowid(s->db);
        snprintf(r->status, sizeof r->status, "triggered");
        snprintf(r->severity_out, sizeof r->severity_out, "%s", r->severity);
        char text[512];
        snprintf(text, sizeof text, "%s %s opened", r->severity, r->title);
        if (timeline_add(s, r->id, ts, "opened", text, r->actor) < 0)
            return -1;
        store_deadline plan[STORE_PLAN_MAX];
        int n = store_plan_open(&s->base.policy, r->severity, plan);
        if (plan_insert(s, r->id, ts, plan, n) < 0)
            return -1;
        return flag_postmortem(s, r, ts);
    }
    if (r->type == STORE_INC_NOTE && !r->id && r->dedup_key) {
        /* A note for the open incident of a dedup key (a resolved alert). */
        if (sqlite3_prepare_v2(s->db,
                               "SELECT id FROM incidents WHERE dedup_key = ?1 AND"
                               " status != 'resolved'",
                               -1, &q, NULL) != SQLITE_OK)
            return -1;
        bind_text(q, 1, r->dedup_key);
        if (sqlite3_step(q) == SQLITE_ROW)
            r->id = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
    }
    char status[16], sev[8];
    int got = incident_get(s, r->id, status, sizeof status, sev, sizeof sev, &r->needs_postmortem);
    if (got < 0) {
        r->rc = got;
        if (got == STORE_ENOTFOUND)
            snprintf(r->err, sizeof r->err, "no incident INC-%lld", r->id);
        return got == STORE_ENOTFOUND ? 0 : -1;
    }
    snprintf(r->severity_out, sizeof r->severity_out, "%s", sev);
    if (r->type == STORE_INC_NOTE) {
        snprintf(r->status, sizeof r->status, "%s", status);
        if (timeline_add(s, r->id, ts, r->kind ? r->kind : "note", r->text ? r->text : "",
                         r->actor) < 0)
            return -1;
        /* An escalation by hand notifies the role it names, now. */
        if (r->role && strcmp(status, "resolved")) {
            store_deadline d = {"escalated", r->role, 0, 0, r->text};
            return plan_insert(s, r->id, ts, &d, 1);
        }
        return 0;
    }
    /* STORE_INC_MOVE: only forward along triggered → acknowledged →
     * mitigated → resolved. */
    if (store_status_rank(r->to) <= store_status_rank(status)) {
        r->rc = STORE_ESTATE;
        snprintf(r->status, sizeof r->status, "%s", status);
        snprintf(r->err, sizeof r->err, "INC-%lld is %s: it cannot become %s", r->id, status,
                 r->to);
        return 0;
    }
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE incidents SET status = ?1, %s = ?2 WHERE id = ?3",
             !strcmp(r->to, "acknowledged") ? "acknowledged"
             : !strcmp(r->to, "mitigated")  ? "mitigated"
                                            : "resolved");
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return -1;
    bind_text(q, 1, r->to);
    sqlite3_bind_double(q, 2, ts);
    sqlite3_bind_int64(q, 3, r->id);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return -1;
    snprintf(r->status, sizeof r->status, "%s", r->to);
    char text[1024];
    snprintf(text, sizeof text, "%s%s%s", r->to, r->text ? ": " : "", r->text ? r->text : "");
    if (timeline_add(s, r->id, ts, r->to, text, r->actor) < 0)
        return -1;
    /* The clock: what the move stops, and whom it tells (in this
     * transaction, so neither is lost). */
    store_deadline plan[STORE_PLAN_MAX];
    const char *const *cancel;
    char said[600];
    snprintf(said, sizeof said, "by %s", r->actor ? r->actor : "?");
    int n = store_plan_move(&s->base.policy, sev, r->to, r->needs_postmortem,
                            r->text ? r->text : said, plan, &cancel);
    if (plan_cancel(s, r->id, ts, cancel) < 0)
        return -1;
    return plan_insert(s, r->id, ts, plan, n);
}

/* ---- the incident clock ------------------------------------------------- */

#define CLAIM_MAX 32

/* The roles a NULL-role deadline addresses: the first responder and
 * everyone already paged for the incident (as a JSON array on b). */
static int paged_roles(sqlite_store *s, long long id, buf_t *b)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT 'first_responder' UNION SELECT role FROM deadlines"
                           " WHERE incident_id = ?1 AND role IS NOT NULL AND kind IN"
                           " ('opened', 'escalated') AND (fired IS NOT NULL OR claimed_until IS"
                           " NOT NULL)",
                           -1, &q, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(q, 1, id);
    int first = 1, rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *role = (const char *)sqlite3_column_text(q, 0);
        buf_addc(b, first ? '[' : ',');
        buf_add_json(b, role, strlen(role));
        first = 0;
    }
    buf_addstr(b, first ? "[]" : "]");
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Whether a deadline of this kind still has a reason to fire. */
static int still_due(const char *kind, const char *status)
{
    if (!strcmp(kind, "reminder"))
        return !strcmp(status, "triggered");
    if (!strcmp(kind, "escalated") || !strcmp(kind, "status_update"))
        return strcmp(status, "resolved") != 0;
    return 1;
}

static void json_field(buf_t *b, const char *name, sqlite3_stmt *q, int col)
{
    buf_fmt(b, ",\"%s\":", name);
    switch (sqlite3_column_type(q, col)) {
    case SQLITE_NULL:
        buf_addstr(b, "null");
        break;
    case SQLITE_INTEGER:
    case SQLITE_FLOAT:
        buf_fmt(b, "%.17g", sqlite3_column_double(q, col));
        break;
    default:
        buf_add_json(b, (const char *)sqlite3_column_text(q, col),
                     (size_t)sqlite3_column_bytes(q, col));
    }
}

/* Claims the due deadlines (a lease of r->lease seconds): each becomes an
 * object of r->json with its incident; a recurring one schedules its next
 * occurrence now (from now, not from when it was due: no burst after a
 * long downtime).  One that lost its reason (a reminder after the ack) is
 * cancelled instead. */
static int dl_claim(sqlite_store *s, store_req *r, double ts)
{
    sqlite3_stmt *q, *upd = NULL;
    if (sqlite3_prepare_v2(
            s->db,
            "SELECT d.id, d.kind, d.role, d.text, d.due, d.every, i.id, i.title, i.severity,"
            " i.status, i.summary, i.opened, i.scenario, i.acknowledged, i.resolved,"
            " d.claimed_by FROM deadlines d JOIN incidents i ON i.id = d.incident_id"
            " WHERE d.fired IS NULL AND d.canceled IS NULL AND d.due <= ?1"
            " AND (d.claimed_until IS NULL OR d.claimed_until <= ?1) ORDER BY d.due, d.id LIMIT ?2",
            -1, &q, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE deadlines SET claimed_until = ?2, claimed_by = ?3,"
                           " canceled = CASE WHEN ?4 THEN NULL ELSE ?5 END WHERE id = ?1",
                           -1, &upd, NULL) != SQLITE_OK) {
        sqlite3_finalize(q);
        return -1;
    }
    sqlite3_bind_double(q, 1, ts);
    sqlite3_bind_int(q, 2, CLAIM_MAX);
    buf_t b = BUF_INIT;
    buf_addc(&b, '[');
    int n = 0, rc;
    long long ids[CLAIM_MAX], incs[CLAIM_MAX];
    double every[CLAIM_MAX];
    int keep[CLAIM_MAX];
    while ((rc = sqlite3_step(q)) == SQLITE_ROW && n < CLAIM_MAX) {
        const char *kind = (const char *)sqlite3_column_text(q, 1);
        const char *status = (const char *)sqlite3_column_text(q, 9);
        ids[n] = sqlite3_column_int64(q, 0);
        incs[n] = sqlite3_column_int64(q, 6);
        every[n] = sqlite3_column_type(q, 5) == SQLITE_NULL ? 0 : sqlite3_column_double(q, 5);
        /* A claim taken over (its process died) already scheduled the next
         * occurrence when it was first claimed: not a second chain. */
        if (sqlite3_column_type(q, 15) != SQLITE_NULL)
            every[n] = 0;
        keep[n] = still_due(kind, status);
        if (keep[n]) {
            if (b.n > 1)
                buf_addc(&b, ',');
            buf_fmt(&b, "{\"deadline\":%lld", ids[n]);
            json_field(&b, "kind", q, 1);
            json_field(&b, "text", q, 3);
            json_field(&b, "due", q, 4);
            json_field(&b, "every", q, 5);
            buf_addstr(&b, ",\"roles\":");
            if (sqlite3_column_type(q, 2) == SQLITE_NULL) {
                if (paged_roles(s, incs[n], &b) < 0)
                    break;
            } else {
                buf_addc(&b, '[');
                buf_add_json(&b, (const char *)sqlite3_column_text(q, 2),
                             (size_t)sqlite3_column_bytes(q, 2));
                buf_addc(&b, ']');
            }
            buf_fmt(&b, ",\"incident\":{\"id\":\"INC-%lld\"", incs[n]);
            json_field(&b, "title", q, 7);
            json_field(&b, "severity", q, 8);
            json_field(&b, "status", q, 9);
            json_field(&b, "summary", q, 10);
            json_field(&b, "opened", q, 11);
            json_field(&b, "scenario", q, 12);
            json_field(&b, "acknowledged", q, 13);
            json_field(&b, "resolved", q, 14);
            buf_addstr(&b, "}}");
        }
        n++;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        sqlite3_finalize(upd);
        buf_free(&b);
        return -1;
    }
    buf_addc(&b, ']');
    for (int i = 0; i < n; i++) {
        sqlite3_reset(upd);
        sqlite3_bind_int64(upd, 1, ids[i]);
        sqlite3_bind_double(upd, 2, ts + r->lease);
        bind_text(upd, 3, r->owner);
        sqlite3_bind_int(upd, 4, keep[i]);
        sqlite3_bind_double(upd, 5, ts);
        if (sqlite3_step(upd) != SQLITE_DONE) {
            sqlite3_finalize(upd);
            buf_free(&b);
            return -1;
        }
        if (keep[i] && every[i] > 0) {
            char kind[32], role[64];
            sqlite3_stmt *c;
            if (sqlite3_prepare_v2(s->db, "SELECT kind, role FROM deadlines WHERE id = ?1", -1, &c,
                                   NULL) != SQLITE_OK)
                break;
            sqlite3_bind_int64(c, 1, ids[i]);
            int got = sqlite3_step(c) == SQLITE_ROW;
            if (got) {
                snprintf(kind, sizeof kind, "%s", sqlite3_column_text(c, 0));
                snprintf(role, sizeof role, "%s",
                         sqlite3_column_text(c, 1) ? (const char *)sqlite3_column_text(c, 1) : "");
            }
            sqlite3_finalize(c);
            store_deadline d = {kind, *role ? role : NULL, every[i], every[i], NULL};
            if (got && plan_insert(s, incs[i], ts, &d, 1) < 0) {
                sqlite3_finalize(upd);
                buf_free(&b);
                return -1;
            }
        }
    }
    sqlite3_finalize(upd);
    /* When the clock should look again: the earliest pending deadline (or
     * lease end).  Only deadlines the claim can take count: one whose
     * incident is missing is never claimed, and would make the clock look
     * again at once, forever. */
    r->next_due = 0;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT min(max(d.due, coalesce(d.claimed_until, 0))) FROM deadlines d"
                           " JOIN incidents i ON i.id = d.incident_id"
                           " WHERE d.fired IS NULL AND d.canceled IS NULL",
                           -1, &q, NULL) == SQLITE_OK) {
        if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL)
            r->next_due = sqlite3_column_double(q, 0);
        sqlite3_finalize(q);
    }
    if (b.failed) {
        buf_free(&b);
        snprintf(r->err, sizeof r->err, "out of memory");
        r->rc = -1;
        return 0;
    }
    r->json = buf_take(&b, NULL);
    return 0;
}

/* A claimed deadline has fired: marked (once) and put on the timeline. */
static int dl_done(sqlite_store *s, store_req *r, double ts)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE deadlines SET fired = ?2 WHERE id = ?1 AND fired IS NULL"
                           " RETURNING incident_id, kind",
                           -1, &q, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(q, 1, r->id);
    sqlite3_bind_double(q, 2, ts);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(q);
        if (rc != SQLITE_DONE)
            return -1;
        r->rc = STORE_ENOTFOUND;
        snprintf(r->err, sizeof r->err, "deadline %lld is not pending", r->id);
        return 0;
    }
    long long inc = sqlite3_column_int64(q, 0);
    char kind[32];
    snprintf(kind, sizeof kind, "%s", sqlite3_column_text(q, 1));
    sqlite3_step(q); /* RETURNING: the statement finishes on its next step */
    sqlite3_finalize(q);
    return timeline_add(s, inc, ts, kind, r->text ? r->text : kind, "tocsin clock");
}

static void writer_main(void *arg)
{
    sqlite_store *s = arg;
    uv_mutex_lock(&s->mu);
    for (;;) {
        while (list_empty(&s->queue) && !s->stopping)
            uv_cond_wait(&s->cv, &s->mu);
        if (list_empty(&s->queue) && s->stopping)
            break;
        /* Take everything queued so far: one transaction for all of it. */
        list_node batch;
        list_init(&batch);
        unsigned long n = 0;
        int requests = 0;
        list_node *q;
        while ((q = list_first(&s->queue))) {
            list_remove(q);
            list_push_back(&batch, q);
            requests |= LIST_ENTRY(q, qrec, node)->req != NULL;
            n++;
        }
        uv_mutex_unlock(&s->mu);
        /* Synced only when the batch answers a request (see the top). */
        if (requests != s->synced)
            sqlite3_exec(s->db, requests ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
                         NULL, NULL, NULL);
        s->synced = requests;
        /* Each batch tries afresh: a failure (a lock held past the busy
         * timeout, a full disk) loses its batch, not every later one. */
        int ok = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
        list_node *nx, answered;
        list_init(&answered);
        LIST_FOREACH_SAFE(q, nx, &batch)
        {
            qrec *r = LIST_ENTRY(q, qrec, node);
            list_remove(q);
            if (r->req) {
                if (!ok) {
                    r->req->rc = -1;
                    snprintf(r->req->err, sizeof r->req->err, "state store %s: %s", s->path,
                             sqlite3_errmsg(s->db));
                } else if (run_req(s, r->req) < 0) {
                    r->req->rc = -1;
                    snprintf(r->req->err, sizeof r->req->err, "state store %s: %s", s->path,
                             sqlite3_errmsg(s->db));
                    ok = 0;
                }
                list_push_back(&answered, q);
                continue;
            }
            if (ok && write_one(s, &r->r) < 0)
                ok = 0;
            free(r->strings);
            free(r);
        }
        if (ok && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            ok = 0;
        if (!ok) {
            /* Nothing of the batch is durable: no request may say it was. */
            LIST_FOREACH(q, &answered)
            {
                store_req *rq = LIST_ENTRY(q, qrec, node)->req;
                if (rq->rc == 0) {
                    rq->rc = -1;
                    snprintf(rq->err, sizeof rq->err, "state store %s: %s", s->path,
                             sqlite3_errmsg(s->db));
                }
            }
        }
        uv_mutex_lock(&s->mu);
        while ((q = list_first(&answered))) {
            list_remove(q);
            list_push_back(&s->answers, q);
        }
        if (s->async_init)
            uv_async_send(s->answered);
        if (!ok) {
            if (!s->failed) { /* the record is incomplete: store_flush says so */
                s->failed = 1;
                snprintf(s->error, sizeof s->error, "state store %s: %s", s->path,
                         sqlite3_errmsg(s->db));
            }
            if (!sqlite3_get_autocommit(s->db))
                sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        }
        s->committed += n;
        uv_cond_broadcast(&s->cv);
    }
    uv_mutex_unlock(&s->mu);
}

/* ---- the backend --------------------------------------------------------- */

static int sq_open(store **out, const char *path, char *err, size_t errlen)
{
    sqlite_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        snprintf(err, errlen, "state store: out of memory");
        return -1;
    }
    list_init(&s->queue);
    list_init(&s->answers);
    if (make_parent(path, err, errlen) < 0)
        goto fail;
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        fail_db(s->db, path, err, errlen);
        goto fail;
    }
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    /* Closing leaves the WAL to the next opener's checkpoint instead of
     * writing it back (and syncing) at the end of every CLI run. */
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    s->synced = 1;
    if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
                     NULL) != SQLITE_OK) {
        fail_db(s->db, path, err, errlen);
        goto fail;
    }
    if (migrate(s->db, path, err, errlen) < 0)
        goto fail;
    for (int i = 0; i < 4; i++)
        if (sqlite3_prepare_v2(s->db, insert_sql[i], -1, &s->st[i], NULL) != SQLITE_OK) {
            fail_db(s->db, path, err, errlen);
            goto fail;
        }
    uv_mutex_init(&s->mu);
    uv_mutex_init(&s->rmu);
    uv_cond_init(&s->cv);
    if (uv_thread_create(&s->thread, writer_main, s) != 0) {
        snprintf(err, errlen, "state store %s: cannot start its writer thread", path);
        uv_mutex_destroy(&s->mu);
        uv_mutex_destroy(&s->rmu);
        uv_cond_destroy(&s->cv);
        goto fail;
    }
    *out = &s->base;
    return 0;
fail:
    for (int i = 0; i < 4; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    free(s->path);
    free(s);
    return -1;
}

static size_t slen(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static int sq_write(store *b, const store_rec *rec)
{
    sqlite_store *s = (sqlite_store *)b;
    const char *const *fields[] = {&rec->run_id, &rec->runbook, &rec->trigger, &rec->params,
                                   &rec->title,  &rec->error,   &rec->kind,    &rec->text};
    size_t total = 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        total += slen(*fields[i]);
    qrec *q = calloc(1, sizeof *q);
    char *mem = total ? malloc(total) : NULL;
    if (!q || (total && !mem)) {
        free(q);
        free(mem);
        uv_mutex_lock(&s->mu);
        if (!s->failed) {
            s->failed = 1;
            snprintf(s->error, sizeof s->error, "state store %s: out of memory queueing a write",
                     s->path);
        }
        uv_mutex_unlock(&s->mu);
        return -1;
    }
    q->r = *rec;
    q->strings = mem;
    const char **dst[] = {&q->r.run_id, &q->r.runbook, &q->r.trigger, &q->r.params,
                          &q->r.title,  &q->r.error,   &q->r.kind,    &q->r.text};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (!*fields[i])
            continue;
        size_t n = slen(*fields[i]);
        memcpy(mem, *fields[i], n);
        *dst[i] = mem;
        mem += n;
    }
    list_init(&q->node);
    uv_mutex_lock(&s->mu);
    list_push_back(&s->queue, &q->node);
    s->queued++;
    uv_cond_signal(&s->cv);
    int failed = s->failed;
    uv_mutex_unlock(&s->mu);
    return failed ? -1 : 0;
}

static int sq_flush(store *b, char *err, size_t errlen)
{
    sqlite_store *s = (sqlite_store *)b;
    uv_mutex_lock(&s->mu);
    unsigned long target = s->queued;
    while (s->committed < target)
        uv_cond_wait(&s->cv, &s->mu);
    int failed = s->failed;
    if (failed)
        snprintf(err, errlen, "%s", s->error);
    uv_mutex_unlock(&s->mu);
    return failed ? -1 : 0;
}

/* On the loop: hand answered requests back to their callers. */
static void on_answered(uv_async_t *h)
{
    sqlite_store *s = h->data;
    list_node done, *q;
    list_init(&done);
    uv_mutex_lock(&s->mu);
    while ((q = list_first(&s->answers))) {
        list_remove(q);
        list_push_back(&done, q);
    }
    uv_mutex_unlock(&s->mu);
    while ((q = list_first(&done))) {
        list_remove(q);
        qrec *r = LIST_ENTRY(q, qrec, node);
        store_req *rq = r->req;
        free(r);
        /* The wake-up keeps the loop alive only while someone waits for an
         * answer: an idle store never hides a stalled run. */
        if (--s->outstanding == 0)
            uv_unref((uv_handle_t *)s->answered);
        rq->done(rq);
    }
}

static int sq_submit(store *b, store_req *req)
{
    sqlite_store *s = (sqlite_store *)b;
    if (!s->async_init) {
        /* Made on first use, on the loop's thread: `history` never needs it. */
        uv_async_t *a = malloc(sizeof *a);
        if (!a || uv_async_init(tn_loop(), a, on_answered) < 0) {
            free(a);
            return -1;
        }
        a->data = s;
        s->answered = a;
        uv_unref((uv_handle_t *)a);
        uv_mutex_lock(&s->mu);
        s->async_init = 1;
        uv_mutex_unlock(&s->mu);
    }
    qrec *q = calloc(1, sizeof *q);
    if (!q)
        return -1;
    q->req = req;
    list_init(&q->node);
    if (s->outstanding++ == 0)
        uv_ref((uv_handle_t *)s->answered);
    uv_mutex_lock(&s->mu);
    list_push_back(&s->queue, &q->node);
    s->queued++;
    uv_cond_signal(&s->cv);
    uv_mutex_unlock(&s->mu);
    return 0;
}

static void free_handle(uv_handle_t *h)
{
    free(h);
}

static void sq_close(store *b)
{
    sqlite_store *s = (sqlite_store *)b;
    uv_mutex_lock(&s->mu);
    s->stopping = 1;
    uv_cond_signal(&s->cv);
    uv_mutex_unlock(&s->mu);
    uv_thread_join(&s->thread);
    /* Requests answered after the loop stopped are answered now. */
    if (s->async_init) {
        on_answered(s->answered);
        uv_close((uv_handle_t *)s->answered, free_handle);
    }
    uv_mutex_destroy(&s->mu);
    uv_mutex_destroy(&s->rmu);
    uv_cond_destroy(&s->cv);
    for (int i = 0; i < 4; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->rdb);
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

/* ---- reads (CLI, daemon API) ------------------------------------------- */

/* The read connection (opened on first use; serialized mode, so the pool's
 * threads may share it), or NULL with err. */
static sqlite3 *reader(sqlite_store *s, char *err, size_t errlen)
{
    uv_mutex_lock(&s->rmu);
    if (!s->rdb) {
        sqlite3 *r = NULL;
        if (sqlite3_open_v2(s->path, &r, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX, NULL) !=
            SQLITE_OK) {
            fail_db(r, s->path, err, errlen);
            sqlite3_close(r);
        } else {
            sqlite3_busy_timeout(r, 5000);
            s->rdb = r;
        }
    }
    sqlite3 *r = s->rdb;
    uv_mutex_unlock(&s->rmu);
    return r;
}

/* Each row of q as a JSON object, its column names as keys. */
static int rows_json(sqlite3_stmt *q, void (*row)(void *ud, const char *json), void *ud)
{
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        buf_t b = BUF_INIT;
        buf_addc(&b, '{');
        for (int i = 0; i < sqlite3_column_count(q); i++) {
            if (i)
                buf_addc(&b, ',');
            const char *name = sqlite3_column_name(q, i);
            buf_add_json(&b, name, strlen(name));
            buf_addc(&b, ':');
            switch (sqlite3_column_type(q, i)) {
            case SQLITE_INTEGER:
                buf_fmt(&b, "%lld", (long long)sqlite3_column_int64(q, i));
                break;
            case SQLITE_FLOAT:
                buf_fmt(&b, "%.17g", sqlite3_column_double(q, i));
                break;
            case SQLITE_NULL:
                buf_addstr(&b, "null");
                break;
            default: {
                const char *t = (const char *)sqlite3_column_text(q, i);
                int n = sqlite3_column_bytes(q, i);
                /* params is stored as JSON: keep it an object, not a string. */
                if (!strcmp(name, "params") && t && n && t[0] == '{')
                    buf_add(&b, t, (size_t)n);
                else
                    buf_add_json(&b, t ? t : "", (size_t)n);
            }
            }
        }
        buf_addc(&b, '}');
        if (!b.failed)
            row(ud, buf_str(&b));
        buf_free(&b);
    }
    return rc == SQLITE_DONE ? 0 : -1;
}

static int sq_runs(store *b, const char *runbook, int limit, void (*row)(void *, const char *),
                   void *ud, char *err, size_t errlen)
{
    sqlite_store *s = (sqlite_store *)b;
    sqlite3 *rdb = reader(s, err, errlen);
    if (!rdb)
        return -1;
    sqlite3_stmt *q;
    const char *sql = "SELECT id, runbook, trigger, dry_run, started, ended, ok, error,"
                      " steps_failed FROM runs WHERE (?1 IS NULL OR runbook = ?1)"
                      " ORDER BY started DESC, rowid DESC LIMIT ?2";
    if (sqlite3_prepare_v2(rdb, sql, -1, &q, NULL) != SQLITE_OK)
        return fail_db(rdb, s->path, err, errlen);
    bind_text(q, 1, runbook);
    sqlite3_bind_int(q, 2, limit > 0 ? limit : -1);
    int rc = rows_json(q, row, ud);
    if (rc < 0)
        fail_db(rdb, s->path, err, errlen);
    sqlite3_finalize(q);
    return rc;
}

static int sq_run(store *b, const char *run_id, void (*row)(void *, const char *), void *ud,
                  char *err, size_t errlen)
{
    sqlite_store *s = (sqlite_store *)b;
    sqlite3 *rdb = reader(s, err, errlen);
    if (!rdb)
        return -1;
    static const char *const sql[] = {
        "SELECT 'run' AS record, id, runbook, trigger, params, dry_run, started, ended, ok,"
        " error, steps_failed FROM runs WHERE id = ?1",
        "SELECT 'step' AS record, step, depth, title, ok, error, ended, duration FROM steps"
        " WHERE run_id = ?1 ORDER BY step",
        "SELECT 'entry' AS record, kind, text, ts FROM entries WHERE run_id = ?1 ORDER BY id",
    };
    int found = 0;
    for (int i = 0; i < 3; i++) {
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(rdb, sql[i], -1, &q, NULL) != SQLITE_OK)
            return fail_db(rdb, s->path, err, errlen);
        bind_text(q, 1, run_id);
        if (i == 0) {
            found = sqlite3_step(q) == SQLITE_ROW;
            sqlite3_reset(q);
        }
        int rc = found ? rows_json(q, row, ud) : 0;
        sqlite3_finalize(q);
        if (rc < 0)
            return fail_db(rdb, s->path, err, errlen);
        if (!found) {
            snprintf(err, errlen, "no run '%s' in %s", run_id, s->path);
            return 1;
        }
    }
    return 0;
}

static int sq_incidents(store *b, int all, void (*row)(void *, const char *), void *ud, char *err,
                        size_t errlen)
{
    sqlite_store *s = (sqlite_store *)b;
    sqlite3 *rdb = reader(s, err, errlen);
    if (!rdb)
        return -1;
    sqlite3_stmt *q;
    const char *sql = "SELECT 'INC-' || id AS id, title, severity, status, scenario, opened,"
                      " acknowledged, mitigated, resolved FROM incidents"
                      " WHERE ?1 OR status != 'resolved' ORDER BY incidents.id DESC";
    if (sqlite3_prepare_v2(rdb, sql, -1, &q, NULL) != SQLITE_OK)
        return fail_db(rdb, s->path, err, errlen);
    sqlite3_bind_int(q, 1, all);
    int rc = rows_json(q, row, ud);
    if (rc < 0)
        fail_db(rdb, s->path, err, errlen);
    sqlite3_finalize(q);
    return rc;
}

static int sq_incident(store *b, long long id, void (*row)(void *, const char *), void *ud,
                       char *err, size_t errlen)
{
    sqlite_store *s = (sqlite_store *)b;
    sqlite3 *rdb = reader(s, err, errlen);
    if (!rdb)
        return -1;
    static const char *const sql[] = {
        "SELECT 'incident' AS record, 'INC-' || id AS id, title, severity, status, scenario,"
        " summary, dedup_key, run_id, opened, acknowledged, mitigated, resolved,"
        " needs_postmortem"
        " FROM incidents WHERE id = ?1",
        "SELECT 'timeline' AS record, ts, kind, text, actor FROM timeline"
        " WHERE incident_id = ?1 ORDER BY id",
        /* What the clock still has to do for it (the SLA, the post-mortem's
         * review and action items). */
        "SELECT 'deadline' AS record, kind, role, due FROM deadlines"
        " WHERE incident_id = ?1 AND fired IS NULL AND canceled IS NULL ORDER BY due, id",
    };
    for (int i = 0; i < 3; i++) {
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(rdb, sql[i], -1, &q, NULL) != SQLITE_OK)
            return fail_db(rdb, s->path, err, errlen);
        sqlite3_bind_int64(q, 1, id);
        if (i == 0) {
            int found = sqlite3_step(q) == SQLITE_ROW;
            sqlite3_reset(q);
            if (!found) {
                sqlite3_finalize(q);
                snprintf(err, errlen, "no incident INC-%lld in %s", id, s->path);
                return 1;
            }
        }
        int rc = rows_json(q, row, ud);
        sqlite3_finalize(q);
        if (rc < 0)
            return fail_db(rdb, s->path, err, errlen);
    }
    return 0;
}

const store_backend store_sqlite_backend = {"sqlite",     sq_open,    sq_write, sq_flush,
                                            sq_close,     sq_runs,    sq_run,   sq_submit,
                                            sq_incidents, sq_incident};
