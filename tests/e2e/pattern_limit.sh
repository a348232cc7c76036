#!/usr/bin/env bash
# Pattern matching runs in C, where the count hook never fires: a backtracking
# pattern on a 3000-byte string would run for hours. The pattern functions
# count their steps against the CPU budget, so with limits.cpu=1 each of
# find, match, gmatch, gsub (called as string.x or as a method) fails with
# err.kind "limit" within seconds, and the process exits 1.
. "$SRC/tests/e2e/lib.bash"

run_limited() { # NAME LUA-EXPRESSION
  local name=$1 expr=$2
  cat >"$WORK/$name.lua" <<LUA
return { limits = { cpu = 1 }, run = function()
  local s = string.rep("a", 3000)
  local p = ".-.-.-.-b"
  return $expr
end }
LUA
  local start el
  start=$(date +%s.%N)
  # timeout: without the bound this would never end (and SIGTERM would not stop it)
  expect_exit 1 timeout -s KILL 60 "$TOCSIN" run "$WORK/$name.lua" --json
  el=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
  grep -q '"kind":"limit"' "$WORK/out" || fail "$name: no limit kind in $(cat "$WORK/out" "$WORK/err")"
  grep -q "CPU limit of 1s of Lua execution exceeded in runbook $name" "$WORK/out" ||
    fail "$name: no CPU limit message in $(cat "$WORK/out")"
  awk -v e="$el" 'BEGIN { exit !(e < 10) }' || fail "$name took ${el}s with a 1s budget"
}

run_limited find 's:find(p)'
run_limited string_find 'string.find(s, p)'
run_limited match 's:match("(" .. p .. ")")'
run_limited gmatch '(function() for _ in s:gmatch(p) do end end)()'
run_limited gsub 's:gsub(p, "x")'
run_limited gsub_fn 'string.gsub(s, p, function() end)'
run_limited anchored_max 's:find("^" .. string.rep("a*", 6) .. "b")'
run_limited balance 'string.rep("(", 200000):gsub("%b()", "")'
run_limited plain 'string.rep("a", 2000000):find(string.rep("a", 1000000) .. "b", 1, true)'

# pcall cannot swallow it: the run still fails on the limit
cat >"$WORK/pcall_loop.lua" <<'LUA'
return { limits = { cpu = 1 }, run = function()
  local s = string.rep("a", 3000)
  while true do pcall(string.find, s, ".-.-.-.-b") end
end }
LUA
expect_exit 1 timeout -s KILL 60 "$TOCSIN" run "$WORK/pcall_loop.lua" --json
grep -q '"kind":"limit"' "$WORK/out" || fail "pcall loop: $(cat "$WORK/out" "$WORK/err")"

# at load time (top level of a runbook file) the load budget applies
cat >"$WORK/cfg.lua" <<'LUA'
return { limits = { cpu = 1 } }
LUA
echo 'string.rep("a", 3000):find(".-.-.-.-b")' >"$WORK/adhoc.lua"
expect_exit 1 timeout -s KILL 60 "$TOCSIN" run "$WORK/adhoc.lua" --config "$WORK/cfg.lua"
grep -q 'CPU limit' "$WORK/err" || fail "ad-hoc: $(cat "$WORK/out" "$WORK/err")"

# ordinary pattern work still succeeds under a 1s budget
cat >"$WORK/ok.lua" <<'LUA'
return { limits = { cpu = 1 }, run = function()
  local log = string.rep("2024-01-01 ERROR db timeout\n2024-01-01 INFO ok\n", 20000)
  local n = 0
  for line in log:gmatch("[^\n]+") do
    if line:find("ERROR", 1, true) then n = n + 1 end
  end
  assert(n == 20000, n)
  print("ok", select(2, log:gsub("ERROR", "E")))
end }
LUA
expect_exit 0 "$TOCSIN" run "$WORK/ok.lua"
grep -q "ok	20000" "$WORK/out" || fail "ok: $(cat "$WORK/out")"
echo "pattern limits ok"
