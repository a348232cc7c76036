#!/usr/bin/env bash
# Standard functions that loop in C (and load's compiler), where the count
# hook never fires:
# table.move over 2^63 slots or table.insert at 1 of a table whose __len says
# 2^63 ran for hours, deaf to limits.cpu and to the first SIGINT, and a file
# doing that at its top level hung `tocsin check` and `tocsin list`. They count
# their steps against the CPU budget now: each fails with err.kind "limit"
# within seconds under limits.cpu = 1, check and list finish, and SIGINT stops
# a run within about a second.
. "$SRC/tests/e2e/lib.bash"

elapsed_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { print b - a }'; }

# Each expression spins in C only: its metamethods are C functions (rawlen,
# table.concat, rawequal), so no Lua instruction runs inside the loop.
declare -A cases=(
  [move]='table.move({}, 1, math.maxinteger - 1, 2)'
  [move_back]='table.move({}, 1, math.maxinteger - 2, 2)'
  [insert]='table.insert(setmetatable({}, { __len = function() return math.maxinteger - 1 end }), 1, "x")'
  [remove]='table.remove(setmetatable({}, { __len = function() return math.maxinteger - 1 end }), 1)'
  [concat]='table.concat(setmetatable({}, { __len = rawlen, __index = table.concat }), "", 1, math.maxinteger)'
  [sort]='table.sort(setmetatable({}, { __len = function() return 2^31 - 2 end, __index = rawlen, __newindex = rawequal }))'
  [sort_cmp]='table.sort(setmetatable({}, { __len = function() return 2^31 - 2 end, __index = rawlen, __newindex = rawequal }), rawequal)'
)

for name in "${!cases[@]}"; do
  cat >"$WORK/$name.lua" <<LUA
return { limits = { cpu = 1 }, run = function()
  return ${cases[$name]}
end }
LUA
  start=$(date +%s.%N)
  # timeout: without the bound this would run for hours
  expect_exit 1 timeout -s KILL 60 "$TOCSIN" run "$WORK/$name.lua" --json
  el=$(elapsed_since "$start")
  grep -q '"kind":"limit"' "$WORK/out" || fail "$name: no limit kind in $(cat "$WORK/out" "$WORK/err")"
  grep -q "CPU limit of 1s of Lua execution exceeded in runbook $name" "$WORK/out" ||
    fail "$name: no CPU limit message in $(cat "$WORK/out")"
  awk -v e="$el" 'BEGIN { exit !(e < 10) }' || fail "$name took ${el}s with a 1s budget"
done

# n copies of "" are "" at once (the stock string.rep looped n times)
cat >"$WORK/rep.lua" <<'LUA'
return { limits = { cpu = 1 }, run = function()
  assert(string.rep("", math.maxinteger) == "")
  assert(("").rep("", math.maxinteger, "") == "")
  print("rep ok")
end }
LUA
expect_exit 0 timeout -s KILL 60 "$TOCSIN" run "$WORK/rep.lua"
grep -q "rep ok" "$WORK/out" || fail "rep: $(cat "$WORK/out" "$WORK/err")"

# load compiles in C: 250 MB of ';' took seconds, and as a tail call no Lua
# instruction ran after it, so the run even ended "ok" past its budget
cat >"$WORK/load_cfg.lua" <<'LUA'
return { limits = { memory = "1GiB" } }
LUA
cat >"$WORK/load.lua" <<'LUA'
local source = string.rep((";"):rep(1000), 250000)
return { limits = { cpu = 0.5 }, run = function()
  return load(source)
end }
LUA
expect_exit 1 timeout -s KILL 60 "$TOCSIN" run "$WORK/load.lua" --json --config "$WORK/load_cfg.lua"
grep -q 'CPU limit of 0.5s of Lua execution exceeded' "$WORK/out" || fail "load: $(cat "$WORK/out" "$WORK/err")"

# json.encode and json.decode look at the budget as they go (lua-cjson did
# not: as a tail call, a long encode ended "ok" past the budget)
for fn in encode decode; do
  cat >"$WORK/json_$fn.lua" <<LUA
local function make()
  local big = {}
  for i = 1, 1000000 do big[i] = { i, "x" } end
  return big
end
local big, text
if "$fn" == "decode" then text = json.encode(make()) else big = make() end
return { limits = { cpu = 0.1 }, run = function()
  if text then return json.decode(text) end
  return json.encode(big)
end }
LUA
  expect_exit 1 timeout -s KILL 60 "$TOCSIN" run "$WORK/json_$fn.lua" --json
  grep -q 'CPU limit of 0.1s of Lua execution exceeded' "$WORK/out" ||
    fail "json.$fn: $(cat "$WORK/out" "$WORK/err")"
done

# pcall cannot swallow it
cat >"$WORK/pcall_loop.lua" <<'LUA'
return { limits = { cpu = 1 }, run = function()
  while true do pcall(table.move, {}, 1, math.maxinteger - 1, 2) end
end }
LUA
expect_exit 1 timeout -s KILL 60 "$TOCSIN" run "$WORK/pcall_loop.lua" --json
grep -q '"kind":"limit"' "$WORK/out" || fail "pcall loop: $(cat "$WORK/out" "$WORK/err")"

# at a file's top level: run, check and list finish on the load budget
mkdir -p "$WORK/rb"
cat >"$WORK/cfg.lua" <<'LUA'
return { limits = { cpu = 1 }, runbooks = { "rb" } }
LUA
cat >"$WORK/rb/spin.lua" <<'LUA'
table.move({}, 1, math.maxinteger - 1, 2)
return { name = "spin", run = function() end }
LUA
for c in "run $WORK/rb/spin.lua" "check $WORK/rb/spin.lua" "list"; do
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  timeout -s KILL 60 "$TOCSIN" $c --config "$WORK/cfg.lua" >"$WORK/out" 2>"$WORK/err"
  rc=$?
  el=$(elapsed_since "$start")
  [ "$rc" != 137 ] || fail "$c was killed after 60 s"
  grep -q 'CPU limit' "$WORK/out" "$WORK/err" ||
    fail "$c: $(cat "$WORK/out" "$WORK/err")"
  awk -v e="$el" 'BEGIN { exit !(e < 10) }' || fail "$c took ${el}s with a 1s load budget"
done

# SIGINT stops a run spinning in C within about a second (exit 130)
cat >"$WORK/int.lua" <<'LUA'
return { run = function()
  log.info("spinning")
  table.move({}, 1, math.maxinteger - 1, 2)
end }
LUA
stop_within() { # SIGNAL WANT-EXIT MAX-SECONDS CMD...: start CMD, signal it once spinning
  local sig=$1 want=$2 max=$3 pid rc start el
  shift 3
  timeout -s KILL 60 "$@" >"$WORK/out" 2>"$WORK/err" &
  pid=$!
  for _ in $(seq 100); do grep -q spinning "$WORK/out" "$WORK/err" && break; sleep 0.05; done
  sleep 0.3
  start=$(date +%s.%N)
  kill -"$sig" "$pid"
  wait "$pid"
  rc=$?
  el=$(elapsed_since "$start")
  [ "$rc" = "$want" ] || fail "$sig to $*: exit $rc, wanted $want: $(cat "$WORK/out" "$WORK/err")"
  awk -v e="$el" -v m="$max" 'BEGIN { exit !(e < m) }' || fail "$sig took ${el}s to stop $*"
}
stop_within INT 130 2 "$TOCSIN" run "$WORK/int.lua"
stop_within TERM 130 2 "$TOCSIN" run "$WORK/int.lua"
# check and list keep the default action: the signal ends them at once
cat >"$WORK/rb/spin.lua" <<'LUA'
log.info("spinning")
table.move({}, 1, math.maxinteger - 1, 2)
return { name = "spin", run = function() end }
LUA
echo 'return { runbooks = { "rb" } }' >"$WORK/cfg30.lua" # the default 30 s load budget
stop_within INT 130 2 bash -c '"$0" check "$1" --config "$2"; exit $(( $? > 128 ? 130 : $? ))' \
  "$TOCSIN" "$WORK/rb/spin.lua" "$WORK/cfg30.lua"

echo "stdlib cpu limits ok"
