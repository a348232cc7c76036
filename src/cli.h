/* cli.h — the command line (see SPEC.md section 2). */
#ifndef TOCSIN_CLI_H
#define TOCSIN_CLI_H

#include <stdio.h>

#include <tocsin/tocsin.h> /* tn_cli_main */

/* cli_incident.c: incidents, incident, ack, resolve, note. */
int cli_incident_main(const char *cmd, int argc, char **argv);
/* cli_cron.c: cron EXPR, the next fire times. */
int cli_cron_main(int argc, char **argv);
/* cli_demo.c: demo, examples/demo.lua with a temporary state folder. */
int cli_demo_main(int argc, char **argv);

struct tn_config;
struct store;
/* The incident clock while a command works (cli_incident.c): started on
 * db, reporting what it fires on f; cli_clock_finish lets what is due fire
 * (bounded) and stops it.  A clock that cannot start is said, once. */
void cli_clock_start(struct tn_config *cfg, struct store *db, FILE *f);
void cli_clock_finish(void);

#endif
