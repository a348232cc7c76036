/* cli.h — the command line (see SPEC.md section 2). */
#ifndef TOCSIN_CLI_H
#define TOCSIN_CLI_H

#include <tocsin/tocsin.h> /* tn_cli_main */

#endif
