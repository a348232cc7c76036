#!/usr/bin/env bash
# The CLI surface: exit codes, file:line errors with a traceback, --help,
# --set, check and list, and ^C giving 130.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
mkdir -p scripts/runbooks scripts/lib
cat >scripts/lib/greet.lua <<'LUA'
local M = {}
function M.hello(who) return "hello " .. who end
return M
LUA
cat >scripts/runbooks/hello.lua <<'LUA'
local greet = require("greet")
return {
  title = "Say hello",
  severity = "P3",
  params = { who = "world", times = 1 },
  triggers = { alert = { alertname = "Hello" } },
  run = function(ctx)
    assert(ctx.run_id and ctx.dry_run == false)
    for _ = 1, ctx.params.times do print(greet.hello(ctx.params.who)) end
    assert(math.type(ctx.params.times) == "integer")
  end,
}
LUA
cat >scripts/runbooks/broken.lua <<'LUA'
return {
  title = "Broken",
  run = function(ctx)
    local x = = 1
  end,
}
LUA

expect_exit 0 "$TOCSIN" version
grep -q '^tocsin ' "$WORK/out" || fail "version output"
expect_exit 0 "$TOCSIN" --help
for c in run check list; do
  expect_exit 0 "$TOCSIN" $c --help
  grep -q "usage: tocsin $c" "$WORK/out" || fail "$c --help"
done
expect_exit 2 "$TOCSIN"
expect_exit 2 "$TOCSIN" frobnicate
expect_exit 2 "$TOCSIN" run
expect_exit 2 "$TOCSIN" run hello --bogus
expect_exit 2 "$TOCSIN" run hello --set novalue

# by name, with the lib on the require path and --set typed like the default
expect_exit 0 "$TOCSIN" run hello --set who=tocsin --set times=2
[ "$(grep -c 'hello tocsin' "$WORK/out")" = 2 ] || fail "--set: $(cat "$WORK/out")"
# by the runbook's own name field, when it differs from the file name
printf 'return { name = "db_down", run = function() print("ran db_down") end }\n' >scripts/runbooks/scenario1.lua
expect_exit 0 "$TOCSIN" run db_down
grep -q 'ran db_down' "$WORK/out" || fail "run by name field: $(cat "$WORK/out")"
rm scripts/runbooks/scenario1.lua
# not found: 3
expect_exit 3 "$TOCSIN" run nosuchbook
grep -q "not found" "$WORK/err" || fail "not-found message"
expect_exit 3 "$TOCSIN" run ./missing.lua

# a syntax error: 1, reported as file:line: message
expect_exit 1 "$TOCSIN" run broken
grep -q 'broken.lua:4:' "$WORK/err" || fail "syntax error location: $(cat "$WORK/err")"

# a runtime error: file:line: message and a traceback
cat >boom.lua <<'LUA'
local function inner() error("the database is on fire") end
local function outer() inner() end
outer()
LUA
expect_exit 1 "$TOCSIN" run boom.lua
grep -q 'boom.lua:1: the database is on fire' "$WORK/err" || fail "error line: $(cat "$WORK/err")"
grep -q 'stack traceback' "$WORK/err" || fail "no traceback"
grep -q "boom.lua:2: in .*outer" "$WORK/err" || fail "traceback lacks frames: $(cat "$WORK/err")"

# run() returning nil, err is a failure
printf 'return { run = function() return nil, "not healthy" end }\n' >soft.lua
expect_exit 1 "$TOCSIN" run soft.lua
grep -q 'not healthy' "$WORK/err" || fail "soft failure message"

# --json: one object per line, with step events
cat >steps.lua <<'LUA'
step("Check health endpoint", function() time.sleep(0.01) end)
step("Restart", function() return nil, "restart refused" end)
LUA
expect_exit 0 "$TOCSIN" run steps.lua --json
grep -q '"event":"step_start".*"title":"Check health endpoint"' "$WORK/out" || fail "step_start event"
grep -q '"event":"step_end".*"ok":true' "$WORK/out" || fail "step_end ok"
grep -q '"event":"step_end".*"ok":false.*restart refused' "$WORK/out" || fail "failed step"
grep -q '"event":"run_end".*"ok":true' "$WORK/out" || fail "run_end"
# plain (non-terminal) output shows ✓/✗ and durations
expect_exit 0 "$TOCSIN" run steps.lua
grep -q '✓ Check health endpoint (.*ms)' "$WORK/out" || fail "plain step line: $(cat "$WORK/out")"
grep -q '✗ Restart' "$WORK/out" || fail "plain failed step"

# loading a runbook must not perform I/O
printf 'time.sleep(1)\nreturn { run = function() end }\n' >scripts/runbooks/io_at_load.lua

# check: problems named, non-zero
expect_exit 1 "$TOCSIN" check
grep -q 'broken.lua:4:' "$WORK/out" || fail "check: syntax error not reported: $(cat "$WORK/out")"
grep -q 'io_at_load.lua' "$WORK/out" || fail "check: I/O at load not reported"
rm scripts/runbooks/broken.lua scripts/runbooks/io_at_load.lua
printf 'return { sevrity = "P9", severity = "P9", run = function() end }\n' >scripts/runbooks/typo.lua
expect_exit 1 "$TOCSIN" check
grep -q "unknown runbook field 'sevrity'" "$WORK/out" || fail "check: typo: $(cat "$WORK/out")"
grep -q "severity must be P0" "$WORK/out" || fail "check: severity"
rm scripts/runbooks/typo.lua
expect_exit 0 "$TOCSIN" check
expect_exit 0 "$TOCSIN" check steps.lua  # an ad-hoc script named explicitly: its actions are not run
expect_exit 1 "$TOCSIN" check boom.lua   # ... but an error at its top level is reported

# list
expect_exit 0 "$TOCSIN" list
grep -q 'hello .*P3 .*Say hello .*alert alertname=Hello' "$WORK/out" || fail "list: $(cat "$WORK/out")"

# a broken config is a configuration error (2) naming the file
printf 'return { limits = { cpu = "soon" } }\n' >bad.lua
expect_exit 2 "$TOCSIN" run hello --config bad.lua
grep -q 'limits.cpu' "$WORK/err" || fail "config error message: $(cat "$WORK/err")"
printf 'return {\n' >syntax_cfg.lua
expect_exit 2 "$TOCSIN" run hello --config syntax_cfg.lua
grep -q 'syntax_cfg.lua' "$WORK/err" || fail "config syntax error: $(cat "$WORK/err")"
# a config that never returns is stopped by its CPU budget
printf 'while true do end\n' >spin_cfg.lua
expect_exit 2 timeout 30 "$TOCSIN" run hello --config spin_cfg.lua
grep -q 'CPU limit' "$WORK/err" || fail "config spin: $(cat "$WORK/err")"
# and one that tries I/O is refused
printf 'time.sleep(1) return {}\n' >io_cfg.lua
expect_exit 2 "$TOCSIN" run hello --config io_cfg.lua
grep -q 'cannot run while' "$WORK/err" || fail "config I/O: $(cat "$WORK/err")"
# config params reach ctx.params, and secrets in the config are redacted
export CFG_TOKEN=cfg-token-value-123
printf 'return { params = { who = secret("CFG_TOKEN") } }\n' >good.lua
expect_exit 0 "$TOCSIN" run hello --config good.lua
grep -q 'hello \*\*\*' "$WORK/out" || fail "config params/secret: $(cat "$WORK/out")"

# ^C: 130, and the run is cancelled promptly
printf 'step("wait", function() time.sleep(30) end)\n' >long.lua
"$TOCSIN" run long.lua >"$WORK/out" 2>"$WORK/err" &
pid=$!
sleep 0.5
kill -INT $pid
wait $pid
code=$?
[ $code = 130 ] || fail "SIGINT exit $code, wanted 130"
# ... and so does a runbook spinning in Lua (the loop never runs): SIGTERM too
printf 'return { limits = { cpu = 3600 }, run = function() while true do pcall(function() end) end end }\n' >spin.lua
"$TOCSIN" run spin.lua >"$WORK/out" 2>"$WORK/err" &
pid=$!
sleep 0.5
start=$(date +%s.%N)
kill -TERM $pid
wait $pid
code=$?
el=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
[ $code = 130 ] || fail "SIGTERM on a spinning run: exit $code, wanted 130 ($(cat "$WORK/err"))"
awk -v e="$el" 'BEGIN { exit !(e < 3) }' || fail "SIGTERM took ${el}s"
echo "cli ok"
