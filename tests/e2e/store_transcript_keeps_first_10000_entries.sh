#!/usr/bin/env bash
# A run's transcript in the state store keeps its first 10,000 entries (calls,
# logs, prints), then counts the rest and says how many at the end; warnings
# and errors are kept past the limit, and so are the steps. A loop of 100,000
# queries wrote 100,000 rows (47 MB a benchmark run) and spent its CPU there.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
echo 'return {}' >tocsin.lua
cat >big.lua <<'LUA'
for i = 1, 10050 do log.info("line " .. i) end
step("last step", function() log.warn("the disk is almost full") end)
log.error("the disk is full")
print("done")
LUA
expect_exit 0 "$TOCSIN" run big.lua --yes
expect_exit 0 "$TOCSIN" history
id=$(awk '/big/ {print $1; exit}' out)
[ -n "$id" ] || fail "no run recorded: $(cat out)"
expect_exit 0 "$TOCSIN" history "$id"
grep -q "info line 10000$" out || fail "entry 10,000 missing"
! grep -q "info line 10001$" out || fail "entry 10,001 recorded"
grep -q "warn the disk is almost full" out || fail "the warning past the limit was dropped"
grep -q "error the disk is full" out || fail "the error past the limit was dropped"
grep -q "last step" out || fail "the step past the limit was dropped"
grep -q "transcript limit: 51 more entries" out || fail "the count of unrecorded entries: $(tail -3 out)"
[ "$(grep -c 'info line' out)" = 10000 ] || fail "$(grep -c 'info line' out) info lines"
