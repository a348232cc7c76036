/* catalog.h — the runbooks a config knows: discovery in the runbook folders,
 * loading, lint (`tocsin check`), finding one by path, file name or `name`
 * field, and what `tocsin list` shows of each.  The CLI and the daemon share
 * it; the CLI only presents what it returns. */
#ifndef TOCSIN_CATALOG_H
#define TOCSIN_CATALOG_H

#include "config.h"
#include "engine.h"

typedef struct catalog_entry {
    char *path;
    tn_state *st; /* loaded (rc 0 or 1), or NULL */
    int rc;       /* tn_state_load: 0 a runbook, 1 an ad-hoc script, <0 failed */
    char *error;  /* when rc < 0: "file:line: message", redacted */
} catalog_entry;

typedef struct catalog {
    catalog_entry *v;
    int n;
} catalog;

/* The .lua files of a folder, sorted (malloc'd, *n of them; NULL when none
 * or unreadable). */
char **catalog_dir_files(const char *dir, int *n);

/* Adds <dir of path>/../lib to the config's require path when it is a
 * folder (scripts/runbooks/x.lua requires from scripts/lib). */
void catalog_add_lib_path(tn_config *c, const char *path);

/* Compiles and loads one file with the config's settings (its <dir>/../lib
 * joins the require path): the state, *rc as tn_state_load's; NULL with err
 * when it cannot even be compiled. */
tn_state *catalog_load(tn_config *c, const char *path, int *rc, char *err, size_t errlen);

/* Loads every .lua file of the config's runbook folders (in folder order,
 * sorted within each).  0, or -1 when out of memory. */
int catalog_scan(tn_config *c, catalog *out);
void catalog_free(catalog *cat);

/* A runbook by path (contains '/' or ends in .lua), file name in the folders,
 * or `name` field: its path (malloc'd), or NULL. */
char *catalog_find(tn_config *c, const char *name);

/* Problems of a loaded runbook (fields, types, severity), each passed to
 * report as one line "file: message"; returns their number. */
typedef void (*catalog_report_fn)(void *ud, const char *line);
int catalog_lint(tn_state *st, catalog_report_fn report, void *ud);

/* `tocsin check`: each path a file or folder (none: the config's folders).
 * Reports every problem, including runbooks sharing a name; returns their
 * number and the count of files in *checked. */
int catalog_check(tn_config *c, char **paths, int npaths, catalog_report_fn report, void *ud,
                  int *checked);

/* What `tocsin list` shows of a runbook: its triggers as text ("alert
 * alertname=X; every 30s") and as JSON (malloc'd; "-" / "{}" when none). */
char *catalog_triggers_text(tn_state *st);
char *catalog_triggers_json(tn_state *st);

#endif
