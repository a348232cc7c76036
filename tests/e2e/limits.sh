#!/usr/bin/env bash
# The CPU budget stops `while true do end` (even inside pcall loops), the
# memory cap stops a 1 GiB string build, both as err.kind "limit", and the
# process is fine afterwards.
. "$SRC/tests/e2e/lib.bash"

cat >"$WORK/spin.lua" <<'LUA'
return { limits = { cpu = 1 }, run = function() while true do end end }
LUA
start=$(date +%s.%N)
expect_exit 1 "$TOCSIN" run "$WORK/spin.lua" --json
el=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
grep -q '"kind":"limit"' "$WORK/out" || fail "spin: no limit kind in $(cat "$WORK/out")"
grep -q 'CPU limit' "$WORK/out" || fail "spin: no CPU limit message"
awk -v e="$el" 'BEGIN { exit !(e < 5) }' || fail "spin took ${el}s with a 1s budget"

# pcall cannot swallow the limit
cat >"$WORK/pcall_spin.lua" <<'LUA'
return { limits = { cpu = 1 }, run = function()
  while true do pcall(function() while true do end end) end
end }
LUA
expect_exit 1 timeout 20 "$TOCSIN" run "$WORK/pcall_spin.lua"
grep -q 'CPU limit' "$WORK/err" || fail "pcall spin: $(cat "$WORK/err")"

# the budget counts Lua execution, not waiting: a run sleeping 1.5s with cpu=1 succeeds
cat >"$WORK/sleepy.lua" <<'LUA'
return { limits = { cpu = 1 }, run = function() time.sleep(1.5) end }
LUA
expect_exit 0 "$TOCSIN" run "$WORK/sleepy.lua"

# config-level limit
cat >"$WORK/cfg.lua" <<'LUA'
return { limits = { cpu = 1, memory = "64MiB" } }
LUA
echo 'while true do end' >"$WORK/adhoc_spin.lua"
expect_exit 1 "$TOCSIN" run "$WORK/adhoc_spin.lua" --config "$WORK/cfg.lua"
grep -q 'CPU limit' "$WORK/err" || fail "config cpu limit: $(cat "$WORK/err")"

# memory: a 1 GiB string build under the default 256 MiB cap
cat >"$WORK/big.lua" <<'LUA'
local s = string.rep("x", 1024 * 1024 * 1024)
print(#s)
LUA
expect_exit 1 "$TOCSIN" run "$WORK/big.lua" --json
grep -q '"kind":"limit"' "$WORK/out" || fail "big: $(cat "$WORK/out")"
grep -q 'memory limit' "$WORK/out" || fail "big: no memory message"

# gradual growth hits the cap too
cat >"$WORK/grow.lua" <<'LUA'
local parts = {}
for i = 1, 1e9 do parts[i] = string.rep("y", 1000000) .. i end
LUA
expect_exit 1 "$TOCSIN" run "$WORK/grow.lua" --json
grep -q 'memory limit' "$WORK/out" || fail "grow: $(cat "$WORK/out")"

# in one process: the task that blew the cap fails with kind limit, the state
# recovers and the rest of the run succeeds
cat >"$WORK/recover.lua" <<'LUA'
local t = task.spawn(function() return #string.rep("z", 1024 * 1024 * 1024) end)
local ok, err = t:wait()
assert(not ok and err.kind == "limit", "expected a limit error, got " .. tostring(err))
local s = string.rep("w", 50 * 1024 * 1024)
assert(#s == 50 * 1024 * 1024)
print("recovered")
LUA
expect_exit 0 "$TOCSIN" run "$WORK/recover.lua"
grep -q recovered "$WORK/out" || fail "recover: $(cat "$WORK/out")"

# the next run succeeds
echo 'print("fine")' >"$WORK/fine.lua"
expect_exit 0 "$TOCSIN" run "$WORK/fine.lua"
echo "limits ok"
