/* incident_lua.h — the `incident` module (SPEC §4): incident.open{...} and
 * the methods of an incident (note, ack, mitigate, resolve, escalate), each a
 * request to the state store that the task waits for without blocking the
 * loop. */
#ifndef TOCSIN_INCIDENT_LUA_H
#define TOCSIN_INCIDENT_LUA_H

#include <lua.h>

int incident_lua_open(lua_State *L);

#endif
