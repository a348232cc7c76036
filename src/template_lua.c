/* template_lua.c — the C side of the `template` module: a file reader that
 * only opens <folder>/<name>[.md|.txt|.html] in the configured template
 * folders (runbooks have no io), bounded in size; template.lua does the rest. */
#include "template_lua.h"

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "embedded.h"
#include "engine.h"
#include "json.h"
#include "util.h"

static const char *const template_suffixes[] = {"", ".md", ".txt", ".html", NULL};

/* A name is one file name component: [A-Za-z0-9_.-]+, no "..", not hidden.
 * Nothing else ever reaches open(): no slash, so no way out of the folder. */
static int template_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > 200 || name[0] == '.' || strstr(name, ".."))
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* Reads the regular file at path into a new userdata buffer pushed on L.
 * No Lua call happens while the file is open (an allocation failure raises,
 * which would leak the descriptor): the buffer is allocated from stat's size
 * first.  0, 1 when the file does not exist, or -errno / -EFBIG. */
static int template_read_file(lua_State *L, const char *path, size_t *len)
{
    struct stat sb;
    if (stat(path, &sb) < 0)
        return errno == ENOENT || errno == ENOTDIR ? 1 : -errno;
    if (!S_ISREG(sb.st_mode))
        return 1;
    if ((uint64_t)sb.st_size > TEMPLATE_MAX_BYTES)
        return -EFBIG;
    size_t cap = (size_t)sb.st_size + 1; /* one more byte: sees a file that grew */
    char *buf = lua_newuserdatauv(L, cap, 0);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        lua_pop(L, 1);
        return e == ENOENT ? 1 : -e;
    }
    size_t n = 0;
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            lua_pop(L, 1);
            return -e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n == cap) { /* grew since stat: read it next time */
        lua_pop(L, 1);
        return -EAGAIN;
    }
    *len = n;
    return 0;
}

/* Lua: read(name) -> text, file name (name + the suffix found)
 *                  | nil, message, missing (true when no folder has it). */
static int template_read(lua_State *L)
{
    size_t nlen;
    const char *name = luaL_checklstring(L, 1, &nlen);
    if (!template_name_ok(name, nlen)) {
        lua_pushnil(L);
        lua_pushfstring(L, "'%s' is not a template name (letters, digits, '_', '-', '.'; no '..')",
                        name);
        return 2;
    }
    tn_state *st = engine_state_of(L);
    const char *const *dirs = st && st->settings ? st->settings->template_paths : NULL;
    char path[4096];
    for (size_t d = 0; dirs && dirs[d]; d++)
        for (size_t s = 0; template_suffixes[s]; s++) {
            int n = snprintf(path, sizeof path, "%s/%s%s", dirs[d], name, template_suffixes[s]);
            if (n < 0 || (size_t)n >= sizeof path)
                continue;
            size_t len = 0;
            int rc = template_read_file(L, path, &len);
            if (rc == 1)
                continue;
            if (rc < 0) {
                lua_pushnil(L);
                if (rc == -EFBIG)
                    lua_pushfstring(L, "%s is larger than %d KiB", path,
                                    (int)(TEMPLATE_MAX_BYTES >> 10));
                else
                    lua_pushfstring(L, "cannot read %s: %s", path, strerror(-rc));
                return 2;
            }
            lua_pushlstring(L, lua_touserdata(L, -1), len);
            lua_pushfstring(L, "%s%s", name, template_suffixes[s]);
            return 2;
        }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "no template '");
    luaL_addstring(&b, name);
    luaL_addstring(&b, "' (looked in: ");
    if (!dirs || !dirs[0])
        luaL_addstring(&b, "no template folder configured");
    for (size_t d = 0; dirs && dirs[d]; d++) {
        if (d)
            luaL_addstring(&b, ", ");
        luaL_addstring(&b, dirs[d]);
    }
    luaL_addstring(&b, ")");
    luaL_pushresult(&b);
    lua_pushnil(L);
    lua_insert(L, -2);
    lua_pushboolean(L, 1);
    return 3;
}

int template_lua_open(lua_State *L)
{
    if (embedded_lua_load(L, "template") != LUA_OK)
        return lua_error(L);
    lua_createtable(L, 0, 3);
    lua_pushcfunction(L, template_read);
    lua_setfield(L, -2, "read");
    lua_pushcfunction(L, tn_err_lua);
    lua_setfield(L, -2, "err");
    tn_push_null(L);
    lua_setfield(L, -2, "null");
    lua_call(L, 1, 1);
    return 1;
}
