#!/usr/bin/env bash
# A config file never aborts the process: whatever it returns or raises is
# read in protected calls with bounded work, and a bad one is answered with
# "config FILE: message" and exit 2 (it used to abort with exit 134).
. "$SRC/tests/e2e/lib.bash"
echo 'print("runbook ran", ...)' >"$WORK/rb.lua"
cat >"$WORK/show.lua" <<'LUA'
local ctx = ...
print("x=" .. tostring(ctx.params.x), "deep=" .. tostring(ctx.params.t and ctx.params.t.a.b))
LUA
# hostile NAME LUA WANT: the config NAME.lua (text LUA) is refused with exit 2,
# a message naming the file and containing WANT (by run, check and list, or
# the commands in $CMDS).
hostile() {
  local name=$1 text=$2 want=$3 cmd
  printf '%s\n' "$text" >"$WORK/$name.lua"
  for cmd in ${CMDS:-run check list}; do
    local args=("$cmd" --config "$WORK/$name.lua")
    [ "$cmd" = run ] && args=(run "$WORK/rb.lua" --config "$WORK/$name.lua")
    "$TOCSIN" "${args[@]}" >"$WORK/out" 2>"$WORK/err"
    local got=$?
    cat "$WORK/out" "$WORK/err" >"$WORK/all"
    [ "$got" = 2 ] || { cat "$WORK/all"; fail "$name ($cmd): exit $got, wanted 2"; }
    grep -qF "config $WORK/$name.lua: " "$WORK/all" || { cat "$WORK/all"; fail "$name ($cmd): no 'config FILE:'"; }
    grep -qF -- "$want" "$WORK/all" || { cat "$WORK/all"; fail "$name ($cmd): no '$want'"; }
    grep -q 'runbook ran' "$WORK/all" && fail "$name ($cmd): the runbook ran"
  done
}
hostile err_tostring_raises \
  'error(setmetatable({}, {__tostring = function() error("tostring raised") end}))' \
  'cannot be shown'
hostile err_tostring_not_string \
  'error(setmetatable({}, {__tostring = function() return {} end}))' 'cannot be shown'
CMDS=run hostile err_tostring_loops \
  'error(setmetatable({}, {__tostring = function() while true do end end}))' 'cannot be shown'
hostile index_raises \
  'return setmetatable({}, {__index = function() error("index raised") end})' 'index raised'
hostile shared_subtables_deep \
  'local t = {}; for i = 1, 40 do t = {a = t, b = t} end; return {params = {x = t}}' 'nested'
hostile shared_subtables_wide \
  'local t = {}; for i = 1, 20 do t = {a = t, b = t} end; return {params = {x = t}}' 'values'
hostile shared_string \
  'local s = string.rep("x", 1 << 20); local t = {}; for i = 1, 40 do t[i] = s end; return {params = t}' \
  'MiB of strings'
hostile self_cycle 'local t = {}; t.t = t; return {params = t}' 'nested'
hostile secrets_not_table 'return {secrets = 1}' "'secrets' must be a table"

# Still accepted: params through __index (defaults), shared subtables within
# the bounds, functions (dropped from params).
cat >"$WORK/ok.lua" <<'LUA'
local shared = {a = {b = "deep"}}
return setmetatable({}, {__index = {params = {x = 42, t = shared, u = shared, f = print}}})
LUA
expect_exit 0 "$TOCSIN" run "$WORK/show.lua" --config "$WORK/ok.lua"
grep -q 'x=42	deep=deep' "$WORK/out" || fail "good config: $(cat "$WORK/out" "$WORK/err")"
echo "config hostile ok"
