/* util.h — small helpers shared by the primitives: error values, option
 * reading, durations and sizes; JSON (json.h) comes with it. */
#ifndef TOCSIN_UTIL_H
#define TOCSIN_UTIL_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h" /* tn_json_encode, tn_json_decode, tn_push_null, tn_is_null */

/* Pushes an error value: a table {kind=, message=} whose tostring() is
 * "kind: message".  Callers may add fields (sqlstate, stdout, ...) to it.
 * fmt is a full printf format (vsnprintf), not lua_pushfstring's subset. */
void tn_err_push(lua_State *L, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Pushes nil and an error value; returns 2 (use as `return tn_err_fail(...)`). */
int tn_err_fail(lua_State *L, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Lua: err(kind [, message]) -> an error value like every primitive's (for
 * the engine's own Lua code: prelude, notify, template). */
int tn_err_lua(lua_State *L);

/* Options table helpers: the value of field `name` of the table at idx, or def. */
double tn_opt_number(lua_State *L, int idx, const char *name, double def);
int tn_opt_bool(lua_State *L, int idx, const char *name, int def);
/* A duration option in seconds: a number, a string such as "90s" or "250ms",
 * or false (0: none); nil gives def; anything else raises naming the option. */
double tn_opt_duration(lua_State *L, int idx, const char *name, double def);
const char *tn_opt_string(lua_State *L, int idx, const char *name, const char *def, size_t *len);

/* A size option in bytes: a number or a string such as "256MiB"; def when
 * absent; raises on anything else. */
uint64_t tn_opt_size(lua_State *L, int idx, const char *name, uint64_t def);

/* Seconds to milliseconds for libuv timers, the one rounding rule: up to the
 * next millisecond (a timeout never fires early); 0 for <= 0 or NaN;
 * TN_MS_FOREVER for math.huge and anything past ~584 million years. */
#define TN_MS_FOREVER UINT64_MAX
uint64_t tn_secs_to_ms(double secs);

/* Limits (`limits = {cpu = 30, memory = "256MiB"}`) of a runbook or the
 * config, the table at idx: fields present overwrite *cpu (seconds) and *mem
 * (bytes). 0, or -1 with a message in err. Reads raw fields: no metamethods. */
int tn_read_limits(lua_State *L, int idx, double *cpu, uint64_t *mem, char *err, size_t errlen);

/* "90s", "15m", "2h", "1d", "250ms" or a plain number of seconds; <0 on error. */
double tn_parse_duration(const char *s);
/* "256MiB", "1GiB", "512k", or a plain number of bytes; 0 on error. */
uint64_t tn_parse_size(const char *s);

#endif
