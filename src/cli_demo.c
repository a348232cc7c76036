/* cli_demo.c — `tocsin demo`: the whole loop on the simulated ETP Express
 * with nothing but the binary and the source tree (no config, no database
 * server).  It writes a config in a fresh temporary folder (state, the
 * notifications file, the post-mortem drafts all land there), runs
 * examples/demo.lua with it as `tocsin run` would, and says where the files
 * are.  The source tree is $TOCSIN_HOME, else the one this binary was built
 * from (TOCSIN_SOURCE_DIR, set by CMakeLists.txt). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#ifndef TOCSIN_SOURCE_DIR
#define TOCSIN_SOURCE_DIR "."
#endif

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static const char usage[] =
    "usage: tocsin demo\n"
    "\n"
    "Starts the simulated ETP Express (examples/etp-express) inside the run, crashes\n"
    "its PostgreSQL, and runs the playbook's health check: detection, the incident,\n"
    "the Database Down steps, the restart, verification, notifications, resolution\n"
    "and the post-mortem draft. Needs no config and no database server; everything\n"
    "it writes goes to a new temporary folder, printed at the end.\n"
    "\n"
    "The source tree (examples/, scripts/) is $TOCSIN_HOME, else the one this binary\n"
    "was built from.\n";

/* A Lua long string cannot hold its own closing bracket: refuse such paths
 * rather than quote them wrongly. */
static int lua_quotable(const char *s)
{
    return strstr(s, "]==]") == NULL && !strchr(s, '\n');
}

static int write_config(const char *dir, const char *home)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/tocsin.lua", dir);
    if (n < 0 || (size_t)n >= sizeof path)
        return -ENAMETOOLONG;
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fprintf(f,
            "-- written by `tocsin demo`\n"
            "local dir, home = [==[%s]==], [==[%s]==]\n"
            "local both = { \"console\", \"notifications\" }\n"
            "return {\n"
            "  lib_paths = { home .. \"/scripts/lib\", home .. \"/examples/lib\" },\n"
            "  templates = { home .. \"/scripts/templates\" },\n"
            "  state = \"sqlite:\" .. dir .. \"/state.db\",\n"
            "  channels = { notifications = { kind = \"file\", path = dir .. "
            "\"/notifications.jsonl\" } },\n"
            "  contacts = { first_responder = both, escalation_engineer = both,\n"
            "               incident_commander = both, product_owner = both },\n"
            "}\n",
            dir, home);
    return fclose(f) == 0 ? 0 : -EIO;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cli_demo_main(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return EXIT_OK;
        }
        fprintf(stderr, "tocsin demo: unknown argument '%s'\n%s", argv[i], usage);
        return EXIT_USAGE;
    }
    const char *home = getenv("TOCSIN_HOME");
    if (!home || !*home)
        home = TOCSIN_SOURCE_DIR;
    char demo[4096];
    int n = snprintf(demo, sizeof demo, "%s/examples/demo.lua", home);
    if (n < 0 || (size_t)n >= sizeof demo) {
        fputs("tocsin demo: TOCSIN_HOME is too long\n", stderr);
        return EXIT_FAIL;
    }
    if (access(demo, R_OK) != 0) {
        fprintf(stderr, "tocsin demo: %s: %s (set TOCSIN_HOME to the source tree)\n", demo,
                strerror(errno));
        return EXIT_FAIL;
    }
    const char *tmp = getenv("TMPDIR");
    char dir[2048];
    n = snprintf(dir, sizeof dir, "%s/tocsin-demo-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (n < 0 || (size_t)n >= sizeof dir) {
        fputs("tocsin demo: TMPDIR is too long\n", stderr);
        return EXIT_FAIL;
    }
    if (!mkdtemp(dir)) {
        fprintf(stderr, "tocsin demo: cannot create %s: %s\n", dir, strerror(errno));
        return EXIT_FAIL;
    }
    if (!lua_quotable(dir) || !lua_quotable(home)) {
        fprintf(stderr, "tocsin demo: unusable path %s or %s\n", dir, home);
        return EXIT_FAIL;
    }
    int rc = write_config(dir, home);
    if (rc < 0) {
        fprintf(stderr, "tocsin demo: cannot write the config in %s: %s\n", dir, strerror(-rc));
        return EXIT_FAIL;
    }
    char config[4096];
    n = snprintf(config, sizeof config, "%s/tocsin.lua", dir);
    if (n < 0 || (size_t)n >= sizeof config)
        return EXIT_FAIL; /* cannot happen: dir is at most 2047 bytes */

    printf(
        "tocsin demo: the playbook's Database Down, on the simulated ETP Express (files in %s)\n\n",
        dir);
    fflush(stdout);
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "tocsin demo: fork: %s\n", strerror(errno));
        return EXIT_FAIL;
    }
    if (pid == 0) {
        /* the run's relative paths (.tocsin/...) land in the demo's folder */
        if (chdir(dir) != 0)
            _exit(127);
        char *args[] = {"tocsin", "run", demo, "--config", config, "--yes", NULL};
        execv("/proc/self/exe", args);
        fprintf(stderr, "tocsin demo: exec: %s\n", strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            fprintf(stderr, "tocsin demo: waitpid: %s\n", strerror(errno));
            return EXIT_FAIL;
        }
    double secs = now_s() - t0;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_FAIL;

    printf("\n%s in %.1f s. The files:\n", code == 0 ? "Done" : "The demo FAILED", secs);
    printf("  state (runs, incidents):  %s/state.db\n", dir);
    printf("  notifications sent:       %s/notifications.jsonl\n", dir);
    printf("  post-mortem:              %s/postmortems/INC-1.md\n", dir);
    printf("  config used:              %s\n", config);
    printf("Look at them with:\n"
           "  tocsin incident INC-1 --config %s\n"
           "  tocsin history --config %s\n",
           config, config);
    return code == 0 ? EXIT_OK : EXIT_FAIL;
}
