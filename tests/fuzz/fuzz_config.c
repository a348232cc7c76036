/* fuzz_config.c — libFuzzer target for the config loader: the input is a
 * tocsin.lua.  Whatever it does, config_load must return 0 or -1 with a
 * message (never abort, never leak), and a loaded config's params and
 * secrets must copy out cleanly.  Seeds: tests/fuzz/corpus/config/. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char path[64];
static int fd = -1;

/* config_load reads a file (its chunk name and relative folders come from
 * the path): one temp file, rewritten for each input. */
static int write_input(const uint8_t *data, size_t size)
{
    if (fd < 0) {
        const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(path, sizeof path, "%s/tocsin-fuzz-config-XXXXXX", dir);
        fd = mkstemp(path);
        if (fd < 0) {
            perror("mkstemp");
            abort();
        }
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size) {
        perror("write");
        abort();
    }
    return 0;
}

static void cleanup(void)
{
    if (fd >= 0)
        unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once) {
        once = 1;
        atexit(cleanup);
    }
    write_input(data, size);
    tn_config c;
    char err[2048];
    err[0] = 0;
    if (config_load(&c, path, err, sizeof err) < 0) {
        if (!err[0] || !memchr(err, 0, sizeof err))
            abort(); /* a failure always says why */
        return 0;
    }
    /* A loaded config feeds runbooks: params copied into another state,
     * secrets looked up by name. */
    lua_State *L = luaL_newstate();
    if (L) {
        config_push_params(&c, L);
        if (!lua_istable(L, -1))
            abort();
        lua_close(L);
    }
    static const char *const names[] = {"x", "TOKEN", "", "a.b", NULL};
    for (int i = 0; names[i]; i++) {
        size_t n = 0;
        const char *v = c.settings.secret_lookup(names[i], &n);
        if (v && strlen(v) > n)
            abort();
    }
    config_free(&c);
    return 0;
}
