/* buffers_and_lists.c — the small infrastructure: the size-limited buffer,
 * JSON string encoding (valid JSON whatever the bytes), terminal-safe text,
 * the intrusive list, seconds to milliseconds, the limits reader. */
#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "list.h"
#include "util.h"

#include "check.h"

static void test_buf(void)
{
    buf_t b = BUF_INIT;
    CHECK(!strcmp(buf_str(&b), ""));
    buf_fmt(&b, "%s-%d", "abc", 42);
    CHECK(!strcmp(buf_str(&b), "abc-42") && b.n == 6);
    /* Longer than the formatter's stack buffer. */
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    buf_fmt(&b, "%s", big);
    CHECK(b.n == 6 + 999 && !b.failed);
    buf_free(&b);

    buf_t lim;
    buf_init(&lim, 8);
    CHECK(buf_addstr(&lim, "12345678") == 0);
    CHECK(buf_addc(&lim, '9') < 0 && lim.failed);
    CHECK(buf_addstr(&lim, "") < 0); /* failed stays failed */
    size_t n;
    CHECK(buf_take(&lim, &n) == NULL && n == 0);
    buf_free(&lim);

    buf_t e = BUF_INIT;
    char *s = buf_take(&e, &n);
    CHECK(s && !strcmp(s, "") && n == 0);
    free(s);
}

static const char *json(const char *s, size_t n)
{
    static buf_t b;
    buf_free(&b);
    buf_add_json(&b, s, n);
    return buf_str(&b);
}

static void test_json(void)
{
    CHECK(!strcmp(json("plain", 5), "\"plain\""));
    CHECK(!strcmp(json("a\"b\\c", 5), "\"a\\\"b\\\\c\""));
    CHECK(!strcmp(json("l1\nl2\t\r", 7), "\"l1\\nl2\\t\\r\""));
    CHECK(!strcmp(json("\x01\x1b\x7f", 3), "\"\\u0001\\u001b\\u007f\""));
    CHECK(!strcmp(json("caf\xc3\xa9 \xe2\x9c\x93", 9), "\"caf\xc3\xa9 \xe2\x9c\x93\""));
    /* Invalid UTF-8: a lone continuation, a truncated sequence, an overlong
     * form, a surrogate: each byte becomes U+FFFD. */
    CHECK(!strcmp(json("a\x80z", 3), "\"a\\ufffdz\""));
    CHECK(!strcmp(json("\xe2\x9c", 2), "\"\\ufffd\\ufffd\""));
    CHECK(!strcmp(json("\xc0\xaf", 2), "\"\\ufffd\\ufffd\""));
    CHECK(!strcmp(json("\xed\xa0\x80", 3), "\"\\ufffd\\ufffd\\ufffd\""));
    CHECK(!strcmp(json("nul\0in", 6), "\"nul\\u0000in\""));
}

static void test_safe(void)
{
    buf_t b = BUF_INIT;
    buf_add_safe(&b, "ok\n\x1b[2Jred\x07\xc2\x9b", 13);
    CHECK(!strcmp(buf_str(&b), "ok\n\\x1b[2Jred\\x07\\x9b"));
    buf_free(&b);
}

typedef struct item {
    int v;
    list_node node;
} item;

static void test_list(void)
{
    list_node h;
    list_init(&h);
    CHECK(list_empty(&h) && list_first(&h) == NULL);
    item it[4];
    for (int i = 0; i < 4; i++) {
        it[i].v = i;
        list_init(&it[i].node);
        CHECK(!list_linked(&it[i].node));
        list_push_back(&h, &it[i].node);
    }
    list_remove(&it[2].node);
    CHECK(!list_linked(&it[2].node));
    list_push_front(&h, &it[2].node);
    int order[4], n = 0;
    list_node *q, *nx;
    LIST_FOREACH(q, &h)
    order[n++] = LIST_ENTRY(q, item, node)->v;
    CHECK(n == 4 && order[0] == 2 && order[1] == 0 && order[2] == 1 && order[3] == 3);
    LIST_FOREACH_SAFE(q, nx, &h)
    list_remove(q);
    CHECK(list_empty(&h));
}

static void test_ms(void)
{
    CHECK(tn_secs_to_ms(0) == 0);
    CHECK(tn_secs_to_ms(-1) == 0);
    CHECK(tn_secs_to_ms(NAN) == 0);
    CHECK(tn_secs_to_ms(0.0001) == 1); /* never early: rounds up */
    CHECK(tn_secs_to_ms(1.5) == 1500);
    CHECK(tn_secs_to_ms(0.0015) == 2);
    CHECK(tn_secs_to_ms(HUGE_VAL) == TN_MS_FOREVER);
    CHECK(tn_secs_to_ms(1e300) == TN_MS_FOREVER);
}

static void test_limits(void)
{
    lua_State *L = luaL_newstate();
    double cpu = 30;
    uint64_t mem = 1;
    char err[256];
    CHECK(luaL_dostring(L, "return {cpu = '2m', memory = '64MiB'}") == LUA_OK);
    CHECK(tn_read_limits(L, -1, &cpu, &mem, err, sizeof err) == 0);
    CHECK(cpu == 120 && mem == (uint64_t)64 << 20);
    CHECK(luaL_dostring(L, "return {cpu = -1}") == LUA_OK);
    CHECK(tn_read_limits(L, -1, &cpu, &mem, err, sizeof err) < 0 && strstr(err, "limits.cpu"));
    CHECK(luaL_dostring(L, "return {memory = 1000}") == LUA_OK);
    CHECK(tn_read_limits(L, -1, &cpu, &mem, err, sizeof err) < 0 && strstr(err, "limits.memory"));
    CHECK(luaL_dostring(L, "return 'fast'") == LUA_OK);
    CHECK(tn_read_limits(L, -1, &cpu, &mem, err, sizeof err) < 0 && strstr(err, "table"));
    lua_pushnil(L);
    cpu = 7;
    CHECK(tn_read_limits(L, -1, &cpu, &mem, err, sizeof err) == 0 && cpu == 7);
    lua_close(L);
}

/* The option readers primitives share: tn_opt_duration, tn_opt_size. */
static int read_opts(lua_State *L)
{
    lua_pushnumber(L, tn_opt_duration(L, 1, "timeout", 10));
    lua_pushinteger(L, (lua_Integer)tn_opt_size(L, 1, "max", 7));
    return 2;
}

static int opts(lua_State *L, const char *table, double *d, uint64_t *sz)
{
    lua_pushcfunction(L, read_opts);
    luaL_dostring(L, table);
    int rc = lua_pcall(L, 1, 2, 0);
    if (rc == LUA_OK) {
        *d = lua_tonumber(L, -2);
        *sz = (uint64_t)lua_tointeger(L, -1);
        lua_pop(L, 2);
    } else {
        lua_pop(L, 1);
    }
    return rc;
}

static void test_options(void)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    double d;
    uint64_t sz;
    CHECK(opts(L, "return {}", &d, &sz) == LUA_OK && d == 10 && sz == 7);
    CHECK(opts(L, "return {timeout = '90s', max = '64MiB'}", &d, &sz) == LUA_OK && d == 90 &&
          sz == (uint64_t)64 << 20);
    CHECK(opts(L, "return {timeout = 0.25, max = 4096}", &d, &sz) == LUA_OK && d == 0.25 &&
          sz == 4096);
    CHECK(opts(L, "return {timeout = false}", &d, &sz) == LUA_OK && d == 0);
    CHECK(opts(L, "return {timeout = math.huge}", &d, &sz) == LUA_OK && isinf(d));
    CHECK(opts(L, "return {timeout = 'soon'}", &d, &sz) != LUA_OK);
    CHECK(opts(L, "return {timeout = -1}", &d, &sz) != LUA_OK);
    CHECK(opts(L, "return {max = 'lots'}", &d, &sz) != LUA_OK);
    CHECK(opts(L, "return {max = 0}", &d, &sz) != LUA_OK);
    lua_close(L);
}

int main(void)
{
    test_options();
    test_buf();
    test_json();
    test_safe();
    test_list();
    test_ms();
    test_limits();
    return check_report();
}
