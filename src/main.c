/* main.c — the tocsin executable: everything else lives in libtocsin. */
#include <signal.h>
#include <sys/resource.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

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
#ifdef __GLIBC__
    /* libcurl allocates a 16 KiB receive buffer for each transfer and frees
     * it at the end; with glibc's default the top of the heap then goes back
     * to the kernel and comes back at the next transfer, page by page (10
     * page faults a request in bench/http_sweep.sh).  Keep 1 MiB spare. */
    mallopt(M_TOP_PAD, 1 << 20);
#endif
    return tn_cli_main(argc, argv);
}
