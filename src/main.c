/* main.c — the tocsin executable: everything else lives in libtocsin. */
#include <signal.h>

#include "cli.h"

int main(int argc, char **argv)
{
    /* A peer that goes away mid-write is an error for that write, not the
     * end of the process (libuv writes sockets and pipes with write(2)). */
    signal(SIGPIPE, SIG_IGN);
    return tn_cli_main(argc, argv);
}
