#!/usr/bin/env bash
# Hostile runbooks seen from outside: the process must not abort or hang on
# hostile runbooks, and load-time errors and log fields stay redacted.
. "$SRC/tests/e2e/lib.bash"

# An error value whose __tostring raises (aborted: tostring ran unprotected).
echo 'error(setmetatable({}, {__tostring = function() error("boom") end}))' >"$WORK/tostr.lua"
expect_exit 1 timeout 20 "$TOCSIN" run "$WORK/tostr.lua"
grep -q 'could not be converted' "$WORK/err" || fail "tostring: $(cat "$WORK/err")"

# A child cancels the root and drops the last reference to it (use after free).
cat >"$WORK/rootcancel.lua" <<'LUA'
local root = task.current()
task.spawn(function()
  local r = root; root = nil
  r:cancel(); r = nil
  collectgarbage(); collectgarbage()
  local x = {} for i = 1, 1e5 do x[i] = {i} end
  collectgarbage()
end)
time.sleep(1)
LUA
expect_exit 1 timeout 20 "$TOCSIN" run "$WORK/rootcancel.lua"
grep -q 'AddressSanitizer' "$WORK/err" && fail "rootcancel: $(cat "$WORK/err")"

# check/list read a runbook table with an __index that raises (aborted).
mkdir -p "$WORK/rb/runbooks"
echo 'return setmetatable({run = function() end}, {__index = function() error("x") end})' \
  >"$WORK/rb/runbooks/meta.lua"
expect_exit 0 timeout 20 "$TOCSIN" check "$WORK/rb/runbooks/meta.lua"
(cd "$WORK/rb" && expect_exit 0 timeout 20 "$TOCSIN" list)

# __close handlers that spin: bounded when the root's end cancels the task
# (no task runs then), and charged to the run's budget when a task cancels it.
cat >"$WORK/closespin.lua" <<'LUA'
task.spawn(function()
  local _ <close> = setmetatable({}, {__close = function() while true do end end})
  time.sleep(10)
end)
time.sleep(0.01)
LUA
expect_exit 0 timeout 30 "$TOCSIN" run "$WORK/closespin.lua"
cat >"$WORK/closespin2.lua" <<'LUA'
return { limits = { cpu = 1 }, run = function()
  local t = task.spawn(function()
    local _ <close> = setmetatable({}, {__close = function() while true do end end})
    time.sleep(10)
  end)
  time.sleep(0.01)
  task.timeout(0.01, function() t:cancel() end)
end }
LUA
expect_exit 1 timeout 30 "$TOCSIN" run "$WORK/closespin2.lua" --json
grep -q '"kind":"limit"' "$WORK/out" || fail "closespin2: $(cat "$WORK/out")"

# Secrets: a load-time error (check) and log fields a terminal line quotes,
# or that lua-cjson escapes with short forms (\t).
echo 'error("leaking " .. secret("REVIEW_SECRET"))' >"$WORK/rb/loadleak.lua"
REVIEW_SECRET=hunter2-review expect_exit 1 "$TOCSIN" check "$WORK/rb/loadleak.lua"
grep -q hunter2 "$WORK/out" "$WORK/err" && fail "check leaked: $(cat "$WORK/out")"
grep -q 'leaking \*\*\*' "$WORK/out" || fail "check: $(cat "$WORK/out")"
echo 'log.info("x", {k = secret("REVIEW_SECRET")})' >"$WORK/fields.lua"
for sec in $'line1\nline2-review' $'tab\tsep-review'; do
  for mode in "" "--json"; do
    REVIEW_SECRET=$sec expect_exit 0 "$TOCSIN" run "$WORK/fields.lua" $mode
    grep -q 'review' "$WORK/out" "$WORK/err" && fail "field leaked ($mode): $(cat "$WORK/out" "$WORK/err")"
    grep -q '\*\*\*' "$WORK/out" "$WORK/err" || fail "no marker ($mode)"
  done
done
echo "review_core ok"
