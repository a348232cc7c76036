/* cli.h — the command line (see SPEC.md section 2). */
#ifndef TOCSIN_CLI_H
#define TOCSIN_CLI_H

int cli_main(int argc, char **argv);

#endif
