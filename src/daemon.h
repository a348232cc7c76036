/* daemon.h — `tocsin daemon` (SPEC.md section 6), shared by daemon.c (the
 * process: config generations, runbooks and their hot reload, runs,
 * schedules, signals, logs) and daemon_api.c (the HTTP API). */
#ifndef TOCSIN_DAEMON_H
#define TOCSIN_DAEMON_H

#include "config.h"
#include "list.h"
#include "run.h"
#include "server.h"
#include "store.h"

/* A runbook the daemon serves: its current state, and states it replaced
 * that still have runs (freed when their last run ends). */
typedef struct d_book {
    list_node node;
    char *path, *name;
    tn_state *st;
    long long mtime_ns;
    long long size;
} d_book;

/* A config and the runbooks loaded with it.  SIGHUP makes a new one; the old
 * one lives on until its last run ends (runs keep their version). */
typedef struct d_gen {
    tn_config cfg;
    list_node books;   /* of d_book */
    list_node retired; /* of d_book whose state still has runs */
    int nruns;
    int id;
} d_gen;

/* A run the daemon started (alive, or ended and not yet reaped). */
typedef struct d_run {
    list_node node;
    tn_run *run;
    d_gen *gen;
    d_book *book;
    tn_state *st;
    char id[40];
    char *runbook, *trigger;
    char *alert_key; /* dedup: a run alive for this alert */
    int schedule;    /* index+1 of the schedule that started it, 0 none */
    double started;
} d_run;

typedef struct daemon_t {
    d_gen *gen; /* current */
    store *db;
    server *srv;
    char *listen;
    char *token;
    list_node runs; /* of d_run */
    int nruns;
    int draining;
    double started;
} daemon_t;

extern daemon_t daemon_g;

/* Logs one JSON line on stderr: time, level, msg, then the fields (pairs of
 * name, value strings, NULL-terminated). */
void daemon_log(const char *level, const char *msg, ...);

/* Starts a run of the runbook named name (current generation): 0 and the
 * run's id in id_out, 1 no such runbook, -1 err. */
int daemon_start_run(const char *name, const char *trigger, const char *params_json,
                     const char *alert_json, const char *alert_key, int schedule, char *id_out,
                     size_t idlen, char *err, size_t errlen);
d_run *daemon_find_run(const char *id);
int daemon_has_runbook(d_gen *g, const char *name);

/* daemon_api.c: opens the API server on daemon_g.listen. */
int daemon_api_open(char *err, size_t errlen);
void daemon_api_close(void);
/* A read of the state store off the loop: fn(ud) runs on a libuv pool
 * thread (the store's read connection), then done(rq, ud) on the loop, which
 * answers rq and frees ud. A listing of thousands of incidents takes tens of
 * milliseconds, which would stall every run, alert and request. -1 if it
 * could not be queued (nothing was called). */
int daemon_api_read(server_req *rq, void (*fn)(void *ud), void (*done)(server_req *rq, void *ud),
                    void *ud);
/* Runs the loop until no read is in flight (before the store closes). */
void daemon_api_settle(void);

int daemon_main(int argc, char **argv);

/* daemon_hooks.c: alert routes from g's config (at start and on SIGHUP),
 * the router freed at exit; metrics with the daemon's gauges. */
int daemon_hooks_configure(d_gen *g, char *err, size_t errlen);
void daemon_hooks_free(void);
int daemon_metrics_init(void);
/* daemon.c calls it when an alert's run ends (dedup and cooldown). */
void daemon_set_alert_ended_hook(void (*fn)(const char *runbook, const char *key));
/* tocsin schedules: the config's schedules with their next run. */
int daemon_sched_list(int argc, char **argv);

#endif
