#!/usr/bin/env bash
# Lua the scheduler runs has no hook (full speed): only the watchdog, arming
# the hook when the budget's deadline passes, can stop code that spins there.
# Each case below spins forever unless it does: in a task, in coroutines it
# resumes (nested, under pcall), in a later slice, in a spawned task, in a
# runbook file's top level, in a pathological gmatch; each must fail with
# err.kind "limit" within a bound of its 0.5 s budget. SIGINT must stop a
# pure-Lua spin too (the watchdog arms the hook for it). And a run that uses
# less than its budget is not stopped.
. "$SRC/tests/e2e/lib.bash"

elapsed_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { print b - a }'; }

declare -A cases=(
  [task]='while true do end'
  [coroutine]='coroutine.wrap(function() while true do end end)()'
  [nested]='coroutine.wrap(function() coroutine.wrap(function() while true do end end)() end)()'
  [pcall_coroutine]='while true do pcall(coroutine.wrap(function() while true do end end)) end'
  [resume_loop]='local c = coroutine.create(function() while true do coroutine.yield() end end) while true do coroutine.resume(c) end'
  [later_slice]='time.sleep(0.05) while true do end'
  [spawned]='task.spawn(function() while true do end end):wait()'
  [gmatch]='for _ in string.rep("a", 3000):gmatch(".-.-.-.-b") do end'
)

for name in "${!cases[@]}"; do
  cat >"$WORK/$name.lua" <<LUA
return { limits = { cpu = 0.5 }, run = function()
  ${cases[$name]}
end }
LUA
  start=$(date +%s.%N)
  # timeout: if the hook were never armed, this would spin forever
  expect_exit 1 timeout -s KILL 30 "$TOCSIN" run "$WORK/$name.lua" --json
  el=$(elapsed_since "$start")
  grep -q '"kind":"limit"' "$WORK/out" || fail "$name: no limit kind in $(cat "$WORK/out" "$WORK/err")"
  grep -q "CPU limit of 0.5s of Lua execution exceeded in runbook $name" "$WORK/out" ||
    fail "$name: no CPU limit message in $(cat "$WORK/out")"
  awk -v e="$el" 'BEGIN { exit !(e < 10) }' || fail "$name took ${el}s with a 0.5s budget"
done

# a runbook file's top level runs under the load budget
cat >"$WORK/cfg.lua" <<'LUA'
return { limits = { cpu = 0.5 } }
LUA
cat >"$WORK/toplevel.lua" <<'LUA'
coroutine.wrap(function() while true do end end)()
return { run = function() end }
LUA
for c in run check; do
  start=$(date +%s.%N)
  timeout -s KILL 30 "$TOCSIN" $c "$WORK/toplevel.lua" --config "$WORK/cfg.lua" >"$WORK/out" 2>"$WORK/err"
  rc=$?
  el=$(elapsed_since "$start")
  [ "$rc" != 137 ] || fail "$c of a spinning top level was killed after 30 s"
  # (run then runs a file whose top level raised as an ad-hoc script)
  grep -q 'CPU limit' "$WORK/out" "$WORK/err" ||
    fail "$c toplevel: $(cat "$WORK/out" "$WORK/err")"
  awk -v e="$el" 'BEGIN { exit !(e < 10) }' || fail "$c toplevel took ${el}s"
done

# SIGINT stops a spin that calls nothing (no C function to look at the flag)
for body in 'while true do end' 'coroutine.wrap(function() while true do end end)()'; do
  cat >"$WORK/int.lua" <<LUA
return { run = function()
  log.info("spinning")
  $body
end }
LUA
  timeout -s KILL 30 "$TOCSIN" run "$WORK/int.lua" >"$WORK/out" 2>"$WORK/err" &
  pid=$!
  for _ in $(seq 100); do grep -q spinning "$WORK/out" "$WORK/err" && break; sleep 0.05; done
  sleep 0.3
  start=$(date +%s.%N)
  kill -INT "$pid"
  wait "$pid"
  rc=$?
  el=$(elapsed_since "$start")
  [ "$rc" = 130 ] || fail "SIGINT to '$body': exit $rc: $(cat "$WORK/out" "$WORK/err")"
  awk -v e="$el" 'BEGIN { exit !(e < 3) }' || fail "SIGINT took ${el}s to stop '$body'"
done

# under its budget, a run that computes for a while (many slices) succeeds
cat >"$WORK/within.lua" <<'LUA'
return { limits = { cpu = 20 }, run = function()
  local n = 0
  for _ = 1, 20 do
    for i = 1, 2e5 do n = n + i % 3 end
    time.sleep(0)
  end
  print("within", n)
end }
LUA
expect_exit 0 "$TOCSIN" run "$WORK/within.lua"
grep -q "within	4000020" "$WORK/out" || fail "within: $(cat "$WORK/out" "$WORK/err")"
echo "unhooked cpu budget ok"
