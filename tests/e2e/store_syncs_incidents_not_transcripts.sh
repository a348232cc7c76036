#!/usr/bin/env bash
# The state store syncs to disk (fdatasync) each transaction that changes an
# incident before the change is answered, but not the transactions holding
# only a run's records (steps, logs, the transcript of every HTTP call and SQL
# query): those survive Tocsin being killed and reach the disk with the next
# synced transaction. Every batch of records was synced: a runbook making
# 11,000 SQL queries a second spent a third of its CPU in fdatasync.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
command -v strace >/dev/null || fail "strace is not installed (scripts/setup.sh installs it)"
echo 'return {}' >tocsin.lua
cat >records.lua <<'LUA'
for i = 1, 300 do
  log.info("line " .. i)
  if i % 10 == 0 then time.sleep(0.02) end -- 30 separate batches of records
end
LUA
cat >incident.lua <<'LUA'
local inc = assert(incident.open { title = "disk full", severity = "P3" })
for i = 1, 3 do
  time.sleep(0.02)
  assert(inc:note("note " .. i))
end
LUA
expect_exit 0 "$TOCSIN" run records.lua --yes # creates the store (its schema is synced)
# LeakSanitizer cannot run under ptrace: no leak check in the traced runs.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
# syncs SCRIPT: sets n to the fdatasync/fsync calls of `tocsin run SCRIPT`.
syncs() {
  strace -f -qq -e trace=fdatasync,fsync -o trace "$TOCSIN" run "$1" --yes >run.out 2>&1 ||
    fail "$1 failed: $(tail -5 run.out)"
  n=$(grep -cE '(fdatasync|fsync)\(' trace)
}
syncs records.lua
[ "$n" -le 4 ] || fail "a run of 30 batches of records synced $n times"
expect_exit 0 "$TOCSIN" history
[ "$(grep -c "records" out)" -ge 2 ] || fail "the runs were not recorded: $(cat out)"
syncs incident.lua
[ "$n" -ge 4 ] || fail "opening an incident and 3 notes synced $n times, wanted one each"
expect_exit 0 "$TOCSIN" incident INC-1
grep -q "note 3" out || fail "the notes were not stored: $(cat out)"
