/* main.c — the tocsin executable: everything else lives in libtocsin. */
#include "cli.h"

int main(int argc, char **argv) { return cli_main(argc, argv); }
