/* shell_lua.h — the `shell` Lua module: shell.run{argv..., opts} and shell.sh(text,
 * opts) spawn a child in its own process group, capture its output, feed its
 * stdin and enforce a timeout on the whole group.
 *
 * Lua surface (SPEC §4 "Shell"):
 *   shell.run{"prog", "arg", ..., timeout=30, grace=2, cwd=, env={}, inherit_env=false,
 *             stdin=, readonly=false, max_output="128MiB"}
 *   shell.sh(text [, opts])                      -- /bin/sh -c text, same opts
 *   → res | nil, err
 *   res.code (exit status; 128+N when killed by signal N), res.signal (N or nil),
 *   res.signame ("KILL", ...), res.stdout, res.stderr, res.time (s, float),
 *   res.ok (code == 0 and no signal), res.pid.
 *   timeout/grace: seconds or a duration string ("90s"); timeout=false or 0: none.
 *   max_output: bytes kept of each of stdout and stderr; the rest is read and
 *   dropped and res.truncated = true (the buffers are outside the Lua cap).
 *   env: the child does NOT get tocsin's whole environment (it holds
 *   DATABASE_URL, webhook URLs, API tokens...).  It gets a base: PATH, HOME,
 *   LANG, LC_*, TZ, TERM, USER, LOGNAME, SHELL, TMPDIR (those tocsin has), plus
 *   what env names: NAME = "value" (or a number) sets it, NAME = true passes
 *   tocsin's own value through (nothing if tocsin has none), NAME = false
 *   withholds it (a base name too).  inherit_env = true starts from all of
 *   tocsin's environment instead of the base; env still applies on top.
 *   err.kind: "spawn" (program missing, bad cwd, ...), "timeout" (err.stdout,
 *   err.stderr keep what was read; err.code/err.signal when the child was
 *   reaped), "limit" (out of memory capturing output).
 * A dry run prints the command as an action and returns {ok=true, code=0,
 * stdout="", stderr="", time=0, dry_run=true} unless readonly=true.
 * When the child exits but a background grandchild keeps stdout open, the
 * result comes after a 200 ms drain; that grandchild is left alone. */
#ifndef TOCSIN_SHELL_LUA_H
#define TOCSIN_SHELL_LUA_H

#include <lua.h>

/* Pushes the module table. */
int shell_lua_open(lua_State *L);

/* Kills (SIGKILL) the process group of every child still running; for exit
 * paths (SIGINT, fatal errors) where the loop will not run again. */
void shell_lua_shutdown(void);

#endif
