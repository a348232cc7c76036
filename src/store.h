/* store.h — the state store's face: what every caller (the run recorder,
 * the CLI's history, later incidents and deadlines) uses, whatever keeps the
 * data.  A backend is a table of functions (as Redis plugs its engines):
 * SQLite now (store_sqlite.c), PostgreSQL later, with no caller changing.
 *
 * Writes are queued and never wait: a backend commits them off the event
 * loop, many to a transaction (group commit), in the order they were queued.
 * store_flush waits until everything queued is durable.  Reads are for the
 * CLI and run synchronously. */
#ifndef TOCSIN_STORE_H
#define TOCSIN_STORE_H

#include <stddef.h>

typedef struct store store;

/* One row to write.  Strings are copied when queued; NULL is SQL NULL. */
typedef enum {
    STORE_RUN_START, /* run_id, runbook, trigger, params (JSON), dry_run, ts */
    STORE_RUN_END,   /* run_id, ok, error, steps_failed, ts */
    STORE_STEP,      /* run_id, step, depth, title, ok, error, ts (end), duration */
    STORE_ENTRY      /* run_id, kind (call/log/action/print), text, ts */
} store_rec_type;

typedef struct store_rec {
    store_rec_type type;
    long long incident; /* STORE_STEP: the incident the run is attached to (0: none) */
    const char *run_id;
    const char *runbook, *trigger, *params;
    const char *title, *error, *kind, *text;
    int step, depth, ok, dry_run, steps_failed;
    double ts, duration;
} store_rec;

/* A request whose answer the caller waits for (incidents): queued with the
 * writes, in order, run in their transaction, and answered once committed,
 * on the loop (done is called from a uv_async callback, never from the
 * writer thread). */
typedef enum {
    STORE_INC_OPEN, /* in: title, severity, scenario, summary, dedup_key, run_id;
                       out: id, status, severity, reused */
    STORE_INC_MOVE, /* in: id, to ("acknowledged", "mitigated", "resolved"), text, actor;
                       out: status */
    STORE_INC_NOTE, /* in: id (or 0 and dedup_key: the open incident with that key), kind
                       ("note", "escalated", "notified", "alert_resolved"), text, actor,
                       role (escalated: the role to notify) */
    /* The incident clock (clock.c).  CLAIM: in: owner, lease (seconds);
       out: json (an array of the due deadlines it claimed, malloc'd, the
       caller frees), next_due (the earliest pending one, 0: none).  DONE:
       in: id (the deadline's), text (what firing it did: the timeline
       entry), rc STORE_ENOTFOUND when it was already done. */
    STORE_DL_CLAIM,
    STORE_DL_DONE,
    /* A read, ordered after the writes queued before it: in: dedup_key, since
       (Unix seconds); out: id = how many incidents with that key were opened
       at or after since (resolved ones too). */
    STORE_INC_COUNT
} store_req_type;

#define STORE_ENOTFOUND (-2) /* no such incident */
#define STORE_ESTATE (-3)    /* a move the status machine does not allow */

typedef struct store_req {
    store_req_type type;
    char *title, *severity, *scenario, *summary, *dedup_key, *run_id; /* the caller's */
    long long id;
    const char *to, *kind;
    char *text, *actor, *role;
    const char *owner;
    double lease, next_due, since;
    char *json;
    int rc; /* 0, STORE_ENOTFOUND, STORE_ESTATE, or -1 (err says why) */
    int reused;
    int needs_postmortem; /* out: P0/P1, or a P2 recurring more than twice in 30 days */
    char status[16];
    char severity_out[8];
    char err[256];
    void (*done)(struct store_req *r);
    void *ud;
    void *priv; /* the backend's */
} store_req;

/* The incident statuses in order; a move must go forward. */
int store_status_rank(const char *status);

/* The SLA (SPEC.md section 5), per severity P0..P3: seconds after opening
 * of the reminder (respond), the escalation engineer (escalate), the
 * incident commander (commander), and the status update interval (update);
 * 0 is none.  review and actions: the post-incident deadlines after the
 * draft (review meeting) and after the review (action items). */
typedef struct store_policy {
    double respond[4], escalate[4], commander[4], update[4];
    double review, actions;
} store_policy;

/* The playbook's table. */
extern const store_policy store_policy_default;

/* One deadline a change creates: kind, the role it addresses (NULL: every
 * role paged so far for the incident), seconds from now, the repeat
 * interval (status updates) and a text. */
typedef struct store_deadline {
    const char *kind, *role;
    double after, every;
    const char *text;
} store_deadline;
#define STORE_PLAN_MAX 8

/* What opening an incident of severity sev schedules (n rows in out). */
int store_plan_open(const store_policy *p, const char *sev, store_deadline *out);
/* What a move to `to` (or a note of kind "escalated" to role) schedules;
 * *cancel is the set of pending kinds it stops ("reminder" on ack; all on
 * resolve), a NULL-terminated list.  needs_pm: the incident needs a
 * post-mortem (its draft, review and action items deadlines follow). */
int store_plan_move(const store_policy *p, const char *sev, const char *to, int needs_pm,
                    const char *text, store_deadline *out, const char *const **cancel);

typedef struct store_backend {
    const char *scheme; /* "sqlite" */
    int (*open)(store **out, const char *where, char *err, size_t errlen);
    int (*write)(store *s, const store_rec *rec);
    int (*flush)(store *s, char *err, size_t errlen);
    void (*close)(store *s);
    /* Reads, for the CLI: one JSON object per line on f. */
    int (*runs)(store *s, const char *runbook, int limit, void (*row)(void *ud, const char *json),
                void *ud, char *err, size_t errlen);
    int (*run)(store *s, const char *run_id, void (*row)(void *ud, const char *json), void *ud,
               char *err, size_t errlen);
    int (*submit)(store *s, store_req *r);
    /* Incidents (open ones, or all) and one with its timeline, as runs/run. */
    int (*incidents)(store *s, int all, void (*row)(void *ud, const char *json), void *ud,
                     char *err, size_t errlen);
    int (*incident)(store *s, long long id, void (*row)(void *ud, const char *json), void *ud,
                    char *err, size_t errlen);
} store_backend;

struct store {
    const store_backend *be;
    store_policy policy;
};

/* "sqlite:PATH" (the only scheme so far).  0 and *out, or -1 with err. */
int store_open(store **out, const char *dsn, char *err, size_t errlen);
/* Queues a row: 0, or -1 when it could not be queued (out of memory, or the
 * store failed: the error is kept and reported by store_flush). */
int store_write(store *s, const store_rec *rec);
/* Waits until everything queued is committed; 0, or -1 with the first
 * failure's message in err. */
int store_flush(store *s, char *err, size_t errlen);
void store_close(store *s);
/* Queues a request; r->done follows on the loop.  0, or -1 (then no done). */
int store_submit(store *s, store_req *r);
/* The SLA the store schedules with (store_policy_default until set). */
void store_set_policy(store *s, const store_policy *p);

/* The process's store for primitives (incident.*): set by whoever opened it
 * (the CLI's run, the daemon), NULL when none. */
extern store *store_current;

/* Records every run event into s (a tn_events subscriber); store_record_stop
 * unsubscribes. */
int store_record_start(store *s);
void store_record_stop(store *s);

#endif
