/* smtp_lua.h — sending one mail over SMTP (libcurl, on a libuv pool thread):
 * notify's `email` channel. */
#ifndef TOCSIN_SMTP_LUA_H
#define TOCSIN_SMTP_LUA_H

#include <lua.h>

/* Lua: smtp{url=, from=, to=, subject=, body=, username=, password=,
 * starttls=, insecure=, cacert=, timeout=} -> true | nil, err.
 * Builds the RFC 5322 message (UTF-8 text, quoted-printable body, RFC 2047
 * subject) and sends it on a pool thread (2 at once at most) while the task
 * waits.  err.kind: invalid
 * (an option's value: a malformed address, CR/LF in one), connect, dns,
 * timeout, tls, auth, rejected (the server answered 4xx/5xx; err.code is
 * that reply code and the message quotes its text) or protocol.  A dry run
 * records the action and sends nothing.  The password is never in a
 * message. */
int smtp_lua_send(lua_State *L);

/* Process exit: sends waiting for a thread are dropped, running ones told
 * to stop; the loop, run afterwards, frees them as their threads return. */
void smtp_lua_shutdown(void);

#endif
