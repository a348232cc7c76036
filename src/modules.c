/* modules.c — the list of modules runbooks see and the shutdown order.
 * Adding a primitive is one line here. */
#include "modules.h"

#include <lauxlib.h>
#include <string.h>

#include "confirm_lua.h"
#include "http_lua.h"
#include "incident_lua.h"
#include "log_lua.h"
#include "notify_lua.h"
#include "server.h"
#include "shell_lua.h"
#include "smtp_lua.h"
#include "sql_lua.h"
#include "task.h"
#include "template_lua.h"
#include "time_lua.h"

static int open_serve(lua_State *L)
{
    lua_pushcfunction(L, server_lua_serve);
    return 1;
}

static int open_confirm(lua_State *L)
{
    lua_pushcfunction(L, confirm_lua_confirm);
    return 1;
}

static int open_print(lua_State *L)
{
    lua_pushcfunction(L, log_lua_print);
    return 1;
}

/* Shutdown runs in this order: clients before the server they may talk to. */
const module_reg modules_list[] = {
    {"print", open_print, NULL},
    {"log", log_lua_open, NULL},
    {"time", time_lua_open, NULL},
    {"task", task_lua_open, NULL},
    {"http", http_lua_open, http_lua_shutdown},
    {"http.serve", open_serve, server_shutdown},
    {"shell", shell_lua_open, shell_lua_shutdown},
    {"sql", sql_lua_open, sql_lua_shutdown},
    {"confirm", open_confirm, confirm_lua_shutdown},
    {"incident", incident_lua_open, NULL},
    {"template", template_lua_open, NULL},
    {"notify", notify_lua_open, smtp_lua_shutdown},
    {NULL, NULL, NULL},
};

void modules_open_all(lua_State *L)
{
    for (const module_reg *m = modules_list; m->name; m++) {
        const char *dot = strchr(m->name, '.');
        lua_pushcfunction(L, m->open);
        lua_call(L, 0, 1);
        if (dot) {
            lua_pushlstring(L, m->name, (size_t)(dot - m->name));
            lua_rawget(L, -3);
            lua_pushvalue(L, -2);
            lua_setfield(L, -2, dot + 1);
            lua_pop(L, 2);
        } else {
            lua_setfield(L, -2, m->name);
        }
    }
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void modules_shutdown(void)
{
    for (const module_reg *m = modules_list; m->name; m++)
        if (m->shutdown)
            m->shutdown();
    for (int i = 0; i < 50 && uv_run(tn_loop(), UV_RUN_NOWAIT); i++)
        ;
    uv_walk(tn_loop(), close_walk, NULL);
    uv_run(tn_loop(), UV_RUN_DEFAULT);
    uv_loop_close(tn_loop());
}
