/* cli.h — the command line (see SPEC.md section 2). */
#ifndef TOCSIN_CLI_H
#define TOCSIN_CLI_H

#include <tocsin/tocsin.h> /* tn_cli_main */

/* cli_incident.c: incidents, incident, ack, resolve, note. */
int cli_incident_main(const char *cmd, int argc, char **argv);
/* cli_cron.c: cron EXPR, the next fire times. */
int cli_cron_main(int argc, char **argv);

#endif
