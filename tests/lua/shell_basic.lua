-- shell.run / shell.sh: results, stdin, env, cwd, spawn errors, signals,
-- timeouts, the drain after exit, cancellation and many concurrent children.

local function eq(a, b, what)
  if a ~= b then
    error(string.format("%s: expected %q, got %q", what, tostring(b), tostring(a)), 2)
  end
end

-- A pid is gone when /proc has no entry or shows a zombie (orphans are
-- reparented to a PID 1 that may never reap them).
local function alive(pid)
  local res = assert(shell.run{"cat", "/proc/" .. pid .. "/stat", readonly = true})
  if not res.ok then return false end
  return res.stdout:match("^%d+ %b() (%a)") ~= "Z"
end

-- basic result shape
local res = assert(shell.run{"echo", "hello", "world"})
eq(res.code, 0, "echo code")
eq(res.ok, true, "echo ok")
eq(res.stdout, "hello world\n", "echo stdout")
eq(res.stderr, "", "echo stderr")
eq(res.signal, nil, "echo signal")
assert(type(res.time) == "number" and res.time >= 0 and res.time < 10, "time")
assert(math.type(res.pid) == "integer" and res.pid > 0, "pid")

-- numbers are accepted as arguments
eq(assert(shell.run{"echo", 42, 1.5}).stdout, "42 1.5\n", "number args")

-- non-zero exit is a result, not an error
res = assert(shell.sh("echo out; echo err >&2; exit 3"))
eq(res.code, 3, "exit code")
eq(res.ok, false, "exit ok")
eq(res.stdout, "out\n", "exit stdout")
eq(res.stderr, "err\n", "exit stderr")

-- arguments are passed verbatim, no shell
res = assert(shell.run{"printf", "%s|", "a b", "$HOME", "'q'", "*"})
eq(res.stdout, "a b|$HOME|'q'|*|", "verbatim args")

-- stdin round trip, binary-safe, and bigger than a pipe buffer
local bin = "abc\0def\n\255\1"
eq(assert(shell.run{"cat", stdin = bin}).stdout, bin, "stdin binary")
local big = string.rep("0123456789abcdef", 65536 * 2) -- 2 MiB
res = assert(shell.run{"cat", stdin = big})
eq(#res.stdout, #big, "big stdin length")
assert(res.stdout == big, "big stdin content")
eq(assert(shell.run{"cat", stdin = ""}).stdout, "", "empty stdin")
-- no stdin: the child reads EOF (from /dev/null), it does not hang
eq(assert(shell.run{"cat", timeout = 5}).stdout, "", "no stdin")
-- a child that ignores its stdin must not break us (EPIPE, not SIGPIPE)
res = assert(shell.run{"true", stdin = string.rep("x", 4 * 1024 * 1024)})
eq(res.ok, true, "unread stdin")

-- env: inherited, overridden, added, removed
local home = os.getenv("HOME")
res = assert(shell.sh('printf "%s|%s|%s" "$TOCSIN_T1" "$HOME" "${PATH:+set}"', {env = {TOCSIN_T1 = "v1"}}))
eq(res.stdout, "v1|" .. tostring(home or "") .. "|set", "env add+inherit")
res = assert(shell.run{"printenv", "HOME", env = {HOME = "/elsewhere"}})
eq(res.stdout, "/elsewhere\n", "env override")
res = assert(shell.run{"printenv", "HOME", env = {HOME = false}})
eq(res.code, 1, "env removed")
eq(assert(shell.run{"printenv", "N", env = {N = 7}}).stdout, "7\n", "env number")

-- cwd
eq(assert(shell.run{"pwd", cwd = "/"}).stdout, "/\n", "cwd /")
eq(assert(shell.sh("pwd", {cwd = "/tmp"})).stdout, "/tmp\n", "sh cwd")

-- shell.sh with a pipeline
res = assert(shell.sh("printf 'a\\nb\\nc\\n' | grep -v b | wc -l"))
eq(res.stdout:match("%d+"), "2", "pipeline")

-- spawn failures
local r2, err = shell.run{"tocsin-no-such-program-xyz", "arg"}
eq(r2, nil, "missing program result")
eq(err.kind, "spawn", "missing program kind")
assert(tostring(err):find("tocsin-no-such-program-xyz", 1, true), "message names the program: " .. tostring(err))
r2, err = shell.run{"pwd", cwd = "/nonexistent/dir/xyz"}
eq(r2, nil, "bad cwd result")
eq(err.kind, "spawn", "bad cwd kind")
r2, err = shell.run{"/etc/passwd"}
eq(err and err.kind, "spawn", "not executable")

-- the child killing itself reports the signal
res = assert(shell.sh("kill -TERM $$"))
eq(res.signal, 15, "self signal")
eq(res.signame, "TERM", "signame")
eq(res.code, 128 + 15, "code for signal")
eq(res.ok, false, "signal ok")
res = assert(shell.sh("kill -KILL $$"))
eq(res.signal, 9, "self SIGKILL")

-- timeout: SIGTERM, err keeps partial output
local t0 = time.monotonic()
r2, err = shell.sh("echo partial; echo perr >&2; sleep 10", {timeout = 0.3})
local dt = time.monotonic() - t0
eq(r2, nil, "timeout result")
eq(err.kind, "timeout", "timeout kind")
eq(err.stdout, "partial\n", "timeout stdout")
eq(err.stderr, "perr\n", "timeout stderr")
eq(err.signal, 15, "timeout signal")
assert(dt >= 0.25 and dt < 3, "timeout took " .. dt)
-- a child ignoring SIGTERM gets SIGKILL after the grace period
t0 = time.monotonic()
r2, err = shell.sh("trap '' TERM; sleep 10; echo never", {timeout = 0.2, grace = "300ms"})
dt = time.monotonic() - t0
eq(err and err.kind, "timeout", "grace kind")
eq(err.signal, 9, "grace SIGKILL")
assert(dt >= 0.45 and dt < 4, "grace took " .. dt)
-- timeout=false: none
eq(assert(shell.run{"sleep", "0.1", timeout = false}).ok, true, "no timeout")

-- the child exits while a background grandchild holds stdout: result after a
-- short drain, and the grandchild (a would-be daemon) is not killed
t0 = time.monotonic()
res = assert(shell.sh("sleep 3 & echo $!"))
dt = time.monotonic() - t0
eq(res.code, 0, "drain code")
local bg = res.stdout:match("^(%d+)")
assert(bg, "drain stdout " .. res.stdout)
assert(dt < 2, "drain took " .. dt)
assert(alive(bg), "background grandchild left running")
shell.run{"kill", bg}

-- cancellation kills the whole group
local pidfile = assert(shell.run{"mktemp"}).stdout:gsub("%s+$", "")
local t = task.spawn(function()
  return shell.sh("sleep 30 & echo $! > " .. pidfile .. "; sleep 30")
end)
local gpid
for _ = 1, 100 do
  time.sleep(0.05)
  gpid = assert(shell.run{"cat", pidfile}).stdout:match("%d+")
  if gpid then break end
end
assert(gpid, "grandchild pid written")
assert(alive(gpid), "grandchild running before cancel")
t0 = time.monotonic()
t:cancel()
local ok = t:wait()
eq(ok, false, "cancelled task wait")
local gone = false
for _ = 1, 100 do
  if not alive(gpid) then gone = true break end
  time.sleep(0.02)
end
assert(gone, "grandchild killed by cancel")
assert(time.monotonic() - t0 < 3, "cancel was quick")
shell.run{"rm", "-f", pidfile}

-- many concurrent children in tasks
local N = 24
local tasks = {}
t0 = time.monotonic()
for i = 1, N do
  tasks[i] = task.spawn(function(k)
    return assert(shell.sh("sleep 0.3; cat", {stdin = "in" .. k, timeout = 20}))
  end, i)
end
for i = 1, N do
  local okw, r = tasks[i]:wait()
  assert(okw, "task " .. i .. " failed: " .. tostring(r))
  eq(r.stdout, "in" .. i, "concurrent " .. i)
end
dt = time.monotonic() - t0
assert(dt < N * 0.3 / 2, "children ran concurrently: " .. dt)

-- programming mistakes raise
assert(not pcall(shell.run, "echo hi"), "string argv raises")
assert(not pcall(shell.run, {}), "empty argv raises")
assert(not pcall(shell.run, {"echo", {}}), "table arg raises")
assert(not pcall(shell.run, {"echo", env = {["A=B"] = "x"}}), "bad env name raises")
assert(not pcall(shell.run, {"echo", env = {A = {}}}), "bad env value raises")
assert(not pcall(shell.run, {"echo", env = {A = "a\0b"}}), "NUL in an env value raises")
assert(not pcall(shell.run, {"echo", timeout = -1}), "negative timeout raises")
assert(not pcall(shell.sh, {}), "sh needs text")

print("shell_basic ok")
