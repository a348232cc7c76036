/* main.c — the tocsin executable: everything else lives in libtocsin. */
#include <signal.h>
#include <sys/resource.h>

#include "cli.h"

int main(int argc, char **argv)
{
    /* A peer that goes away mid-write is an error for that write, not the
     * end of the process (libuv writes sockets and pipes with write(2)). */
    signal(SIGPIPE, SIG_IGN);
    /* Every connection is a descriptor: 2,000 concurrent requests must not
     * fail under the usual soft limit of 1,024 when the hard one allows more. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    return tn_cli_main(argc, argv);
}
