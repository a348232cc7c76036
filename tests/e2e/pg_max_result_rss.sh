#!/usr/bin/env bash
# A 4-million-row result (about 430 MB on the wire) against the default
# max_result (64 MiB): the call fails with err.kind "limit" and the process's
# peak RSS (VmHWM) stays near the limit — libpq never holds the whole result.
set -u
: "${TOCSIN:?}" "${BUILD:?}"
[ -f "$BUILD/pg.env" ] || { echo "no $BUILD/pg.env: run tests/pg/start.sh"; exit 1; }
. "$BUILD/pg.env"
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- output:"; cat "$tmp/out" 2>/dev/null; exit 1; }

cat >"$tmp/rb.lua" <<'LUA'
local db = sql.open(env("PGTEST_DSN"), { timeout = 120 })
local rows, err = db:query("SELECT g, repeat('x', 100) AS pad FROM generate_series(1, 4000000) g")
assert(rows == nil and type(err) == "table" and err.kind == "limit", tostring(err))
print("LIMIT-OK " .. err.message)
assert(db:one("SELECT 1 AS one").one == 1)
print("QUERY-DONE")
time.sleep(3)
LUA
PGTEST_DSN="$PGTEST_DSN" "$TOCSIN" run "$tmp/rb.lua" --yes >"$tmp/out" 2>&1 &
pid=$!
for _ in $(seq 1200); do grep -q QUERY-DONE "$tmp/out" && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
grep -q QUERY-DONE "$tmp/out" || fail "the runbook did not get its limit error"
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
wait "$pid" || fail "runbook exited $?"
pid=
echo "peak RSS (VmHWM): $hwm kB"
# 64 MiB of rows, plus a copy while the buffer grows, plus the binary: a
# generous 256 MiB ceiling; holding the result took 900 MB (8 GB with wider
# rows).  A sanitizer build keeps freed blocks in quarantine and has shadow
# memory: 1 GiB there.
max_mib=256
ldd "$TOCSIN" 2>/dev/null | grep -q libasan && max_mib=1024
[ "$hwm" -lt $((max_mib * 1024)) ] || fail "peak RSS $hwm kB is over $max_mib MiB"
echo PASS
