#!/usr/bin/env bash
# `tocsin check scripts/` checks a project folder: the playbook's runbooks in
# scripts/runbooks as runbooks, every module under scripts/lib compiles; a
# syntax error in either is reported with its file:line and fails the check.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
expect_exit 0 "$TOCSIN" check "$SRC/scripts"
n=$(sed -n 's/^\([0-9]*\) files checked, 0 problems$/\1/p' out err | head -1)
[ -n "$n" ] && [ "$n" -ge 11 ] || fail "checked too little: $(cat out err)"
cp -r "$SRC/scripts" proj
echo 'local x = = 1' >>proj/lib/scenarios/common.lua
expect_exit 1 "$TOCSIN" check proj
grep -q 'proj/lib/scenarios/common.lua:[0-9]*:' out err || fail "lib error not reported: $(cat out err)"
cp "$SRC/scripts/lib/scenarios/common.lua" proj/lib/scenarios/common.lua
echo 'return { name = "broken", run = function() end' >proj/runbooks/zz_broken.lua
expect_exit 1 "$TOCSIN" check proj
grep -q 'zz_broken.lua:[0-9]*:' out err || fail "runbook error not reported: $(cat out err)"
echo "check project folder ok"
