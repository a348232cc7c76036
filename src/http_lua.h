/* http_lua.h — the HTTP client primitive (module `http`, SPEC §4): requests run on
 * one process-wide libcurl multi handle driven by the libuv loop through the
 * multi socket interface, so connections are kept alive across calls and tasks. */
#ifndef TOCSIN_HTTP_LUA_H
#define TOCSIN_HTTP_LUA_H

#include <lua.h>

/* Pushes the module table {request, get, head, post, put, patch, delete}.
 * Does no libcurl work: the multi handle is created at the first request. */
int http_lua_open(lua_State *L);

/* Process exit, once every run has ended (a task still suspended in a
 * request must not be canceled afterwards): drops requests still in flight,
 * closes the cached connections and the libuv handles.  Run the loop once
 * afterwards (as for any uv_close) so their close callbacks free them. */
void http_lua_shutdown(void);

#endif
