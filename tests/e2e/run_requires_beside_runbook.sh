#!/bin/bash
# `tocsin run DIR/x/rb.lua` finds modules in DIR/lib (the README's third
# require place: lib/ beside the runbook's folder), from any current folder,
# as `tocsin list`/the daemon already did.
. "$SRC/tests/e2e/lib.bash"
mkdir -p "$WORK/proj/examples/thing" "$WORK/proj/examples/lib/helper" "$WORK/elsewhere"
cat >"$WORK/proj/examples/lib/helper/greet.lua" <<'LUA'
return { hello = function(n) return "hello " .. n end }
LUA
cat >"$WORK/proj/examples/thing/rb.lua" <<'LUA'
local g = require("helper.greet")
return { name = "rb", run = function() print(g.hello("lib")) return true end }
LUA
cd "$WORK/elsewhere" || fail "cd"
expect_exit 0 "$TOCSIN" run "$WORK/proj/examples/thing/rb.lua"
grep -q "hello lib" "$WORK/out" || fail "module beside the runbook's folder not used: $(cat "$WORK/out" "$WORK/err")"
echo ok
