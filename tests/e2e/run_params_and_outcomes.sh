#!/usr/bin/env bash
# `tocsin run`: --set takes the declared type or is refused; a handled step
# failure is counted but does not fail the run; a runbook without run() fails
# as check does; the run is named by its name field; --json is valid JSON
# whatever the runbook prints or logs; a terminal never obeys control bytes
# from run output.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1

cat >params.lua <<'LUA'
return {
  name = "restart_backend",
  params = { restart = false, retries = 3, ratio = 0.5, target = "api" },
  run = function(ctx)
    local p = ctx.params
    print(("restart=%s:%s retries=%s:%s ratio=%s:%s target=%s"):format(
      tostring(p.restart), type(p.restart), tostring(p.retries), math.type(p.retries),
      tostring(p.ratio), math.type(p.ratio), p.target))
  end,
}
LUA
expect_exit 0 "$TOCSIN" run params.lua --set restart=no --set retries=5 --set ratio=2 --set target=web
grep -q 'restart=false:boolean retries=5:integer ratio=2.0:float target=web' out ||
  fail "typed --set: $(cat out)"
expect_exit 0 "$TOCSIN" run params.lua --set restart=true
grep -q 'restart=true:boolean' out || fail "--set restart=true: $(cat out)"
expect_exit 2 "$TOCSIN" run params.lua --set restart=maybe
grep -q 'restart is a boolean' err || fail "bad boolean: $(cat err)"
expect_exit 2 "$TOCSIN" run params.lua --set retries=many
grep -q 'retries is an integer' err || fail "bad integer: $(cat err)"
expect_exit 2 "$TOCSIN" run params.lua --set retry=1
grep -q "unknown param (this runbook's params: ratio, restart, retries, target)" err ||
  fail "unknown key: $(cat err)"

# A step whose nil, err the runbook handles: shown failed, counted, run ok.
cat >handled.lua <<'LUA'
return {
  run = function()
    local ok = step("Check the health endpoint", function()
      return nil, "connection refused"
    end)
    if not ok then step("Restart instead", function() return true end) end
    return true
  end,
}
LUA
expect_exit 0 "$TOCSIN" run handled.lua
grep -q '✗ Check the health endpoint' out || fail "failed step not shown: $(cat out)"
grep -q 'finished, 1 step failed in' out || fail "final line: $(cat out)"
# ... while an error raised out of run() fails it.
cat >raised.lua <<'LUA'
return { run = function() step("Restart", function() error("restart refused") end) end }
LUA
expect_exit 1 "$TOCSIN" run raised.lua
grep -q 'failed, 1 step failed after' err || fail "raised: $(cat err)"

# No run function: run fails as check does.
printf 'return { name = "norun", title = "x" }\n' >norun.lua
expect_exit 1 "$TOCSIN" run norun.lua
grep -q 'no run function' err || fail "run without run(): $(cat err)"
expect_exit 1 "$TOCSIN" check norun.lua
grep -q 'no run function' out || fail "check without run(): $(cat out)"

# The message an ad-hoc script's I/O raises at load does not make a runbook
# an ad-hoc script: it is an error like any other.
mkdir -p rb
cat >rb/liar.lua <<'LUA'
error("this primitive performs I/O and cannot run while a runbook file is loaded; call it from run(ctx)")
LUA
expect_exit 1 "$TOCSIN" check rb
grep -q 'liar.lua:1:' out || fail "liar passed check: $(cat out)"
# ... and a runbook that swallows a load-time I/O error is refused too.
cat >rb/sneaky.lua <<'LUA'
pcall(http.get, "http://127.0.0.1:1/")
return { run = function() end }
LUA
expect_exit 1 "$TOCSIN" check rb/sneaky.lua
grep -q 'sneaky.lua: calls an I/O primitive at its top level' out || fail "sneaky: $(cat out)"
rm rb/liar.lua rb/sneaky.lua

# Duplicate names; list --json; the run is named by its name field.
printf 'return { name = "db_down", severity = "P0", title = "Database Down", triggers = { alert = { alertname = "DatabaseDown" } }, run = function() end }\n' >rb/a.lua
printf 'return { name = "db_down", run = function() end }\n' >rb/b.lua
expect_exit 1 "$TOCSIN" check rb
grep -q "rb/b.lua: runbook name 'db_down' is also the name of rb/a.lua" out || fail "duplicates: $(cat out)"
rm rb/b.lua
printf 'return { runbooks = { "rb" } }\n' >tocsin.lua
expect_exit 0 "$TOCSIN" list --json
/usr/bin/python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert rows == [{"name": "db_down", "title": "Database Down", "severity": "P0", "path": "rb/a.lua",
                 "triggers": {"alert": {"alertname": "DatabaseDown"}}}], rows
' out || fail "list --json: $(cat out)"
expect_exit 0 "$TOCSIN" run db_down --json
grep -q '"event":"run_start".*"runbook":"db_down"' out || fail "run header name: $(cat out)"
rm tocsin.lua

# --json: valid JSON lines whatever the bytes; unencodable fields as text.
cat >odd.lua <<'LUA'
print("bad utf8: \200\255 and a nul \0 done")
log.info("odd fields", { nan = 0/0, inf = math.huge, fn = print, nested = { ok = true },
                         big = 123456789012345, bytes = "\200" })
step("title \255", function() end)
LUA
expect_exit 0 "$TOCSIN" run odd.lua --json
/usr/bin/python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
log = [e for e in ev if e["event"] == "log"][0]
f = log["fields"]
assert f["nan"] == "nan" and f["inf"] == "inf" and f["nested"] == {"ok": True}, f
assert f["big"] == 123456789012345 and f["fn"].startswith("builtin") or f["fn"].startswith("function"), f
assert f["bytes"] == "\ufffd", f
pr = [e for e in ev if e["event"] == "print"][0]["text"]
assert pr == "bad utf8: \ufffd\ufffd and a nul \x00 done", repr(pr)
assert ev[-1]["event"] == "run_end" and ev[-1]["ok"] is True
' out || fail "--json validity: $(cat out)"

# task.retry with attempts = 0 is an argument error.
printf 'task.retry({ attempts = 0 }, function() end)\n' >retry0.lua
expect_exit 1 "$TOCSIN" run retry0.lua
grep -q 'attempts must be an integer >= 1' err || fail "retry attempts=0: $(cat err)"

# On a terminal, escape sequences in output are shown, not obeyed.
command -v script >/dev/null || { echo "script(1) missing: pty part skipped"; exit 0; }
printf 'print("x\\27[2Jy")\nstep("a \\27]0;pwned\\7 title", function() end)\n' >esc.lua
script -qec "$TOCSIN run esc.lua" /dev/null </dev/null >tty.out 2>&1
grep -q 'x\\x1b\[2Jy' tty.out || fail "print escape not neutralised: $(cat -v tty.out)"
grep -q 'a \\x1b\]0;pwned\\x07 title' tty.out || fail "title escape: $(cat -v tty.out)"
if grep -q "$(printf '\033')\[2J" tty.out; then fail "raw clear-screen reached the terminal"; fi
echo "run params and outcomes ok"
