/* smtp_lua.h — sending one mail over SMTP (libcurl on the process-wide multi
 * handle, http_multi.h): notify's `email` channel. */
#ifndef TOCSIN_SMTP_LUA_H
#define TOCSIN_SMTP_LUA_H

#include <lua.h>

/* Lua: smtp{url=, from=, to=, subject=, body=, username=, password=,
 * starttls=, insecure=, cacert=, timeout=} -> true | nil, err.
 * Builds the RFC 5322 message (UTF-8 text, quoted-printable body, RFC 2047
 * subject) and sends it from a task, which it suspends.  err.kind: invalid
 * (an option's value: a malformed address, CR/LF in one), connect, dns,
 * timeout, tls, auth, rejected (the server answered 4xx/5xx; err.code is
 * that reply code and the message quotes its text) or protocol.  A dry run
 * records the action and sends nothing.  The password is never in a
 * message. */
int smtp_lua_send(lua_State *L);

#endif
