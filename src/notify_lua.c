/* notify_lua.c — the C side of notify: the config's channels and contacts,
 * the sandbox's modules (notify.lua runs with the state's real globals, where
 * http and task are not), and the append of a "file"
 * channel, which only ever opens the path the config gave that channel
 * (runbooks have no io).  notify.lua holds the policy. */
#include "notify_lua.h"

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "embedded.h"
#include "engine.h"
#include "redact.h"
#include "run.h"
#include "smtp_lua.h"
#include "store.h"
#include "tocsin/primitive.h"
#include "util.h"

/* Lua: env() -> the runbook's sandbox environment (http, task, log, json). */
static int notify_env(lua_State *L)
{
    tn_state *st = engine_state_of(L);
    if (!st)
        return luaL_error(L, "notify: no engine state");
    lua_rawgeti(L, LUA_REGISTRYINDEX, st->env_ref);
    return 1;
}

/* Lua: append(channel, line) -> true | nil, message.  Appends line and a
 * newline to the file configured for that "file" channel, in one write()
 * (O_APPEND: lines from concurrent runs do not interleave).  A dry run
 * records the action and writes nothing. */
static int notify_append(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    size_t n;
    const char *line = luaL_checklstring(L, 2, &n);
    char path[4096];
    if (config_notify_file(name, path, sizeof path) < 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "channel '%s' is not a file channel of the config", name);
        return 2;
    }
    tn_run *r = tn_task_run(tn_task_current(L));
    if (tn_run_is_dry(r)) {
        tn_run_action(r, "notify", path);
        lua_pushboolean(L, 1);
        return 1;
    }
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, n + 1);
    memcpy(p, line, n);
    p[n] = '\n';
    luaL_pushresultsize(&b, n + 1);
    const char *text = lua_tostring(L, -1);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "cannot open %s: %s", path, strerror(errno));
        return 2;
    }
    size_t off = 0;
    while (off < n + 1) {
        ssize_t w = write(fd, text + off, n + 1 - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int e = errno;
            close(fd);
            lua_pushnil(L);
            lua_pushfstring(L, "cannot write %s: %s", path, strerror(e));
            return 2;
        }
        off += (size_t)w;
    }
    close(fd);
    lua_pushboolean(L, 1);
    return 1;
}

/* Lua: redact(s) -> s with every secret replaced by ***. */
static int notify_redact(lua_State *L)
{
    size_t n, outn;
    const char *s = luaL_checklstring(L, 1, &n);
    char *r = redact_dup(s, n, &outn);
    if (!r)
        return luaL_error(L, "notify: out of memory");
    lua_pushlstring(L, r, outn);
    free(r);
    return 1;
}

static void note_answered(store_req *r)
{
    free(r->text);
    free(r);
}

/* Lua: timeline(incident number, text): a "notified" entry on the incident's
 * timeline, queued (notify does not wait for it).  The incident clock's own
 * notifications are recorded by the clock, and a dry run records nothing. */
static int notify_timeline(lua_State *L)
{
    lua_Integer id = luaL_checkinteger(L, 1);
    size_t n;
    const char *text = luaL_checklstring(L, 2, &n);
    tn_run *r = tn_task_run(tn_task_current(L));
    if (!store_current || tn_run_is_dry(r) || (r->trigger && !strcmp(r->trigger, "clock")))
        return 0;
    store_req *q = calloc(1, sizeof *q);
    if (!q)
        return 0;
    q->type = STORE_INC_NOTE;
    q->id = id;
    q->kind = "notified";
    q->text = redact_dup(text, n, NULL);
    q->done = note_answered;
    if (!q->text || store_submit(store_current, q) < 0)
        note_answered(q);
    return 0;
}

int notify_lua_open(lua_State *L)
{
    if (embedded_lua_load(L, "notify") != LUA_OK)
        return lua_error(L);
    static const luaL_Reg fns[] = {{"config", config_lua_notify},
                                   {"env", notify_env},
                                   {"append", notify_append},
                                   {"err", tn_err_lua},
                                   {"redact", notify_redact},
                                   {"timeline", notify_timeline},
                                   {NULL, NULL}};
    luaL_newlib(L, fns);
    lua_pushcfunction(L, smtp_lua_send); /* the email channel */
    lua_setfield(L, -2, "smtp");
    lua_call(L, 1, 1);
    return 1;
}
