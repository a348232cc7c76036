#!/bin/bash
# `tocsin demo` with no config and no database server, from another folder:
# exits 0 in under 60 s, resolves INC-1 after a restart, leaves the state
# store, the notifications file and the post-mortem where it says.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
unset TOCSIN_CONFIG TOCSIN_HOME
export TMPDIR="$WORK"
start=$(date +%s.%N)
expect_exit 0 timeout 60 "$TOCSIN" demo
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
echo "demo took ${secs}s"
pm=$(sed -n 's/^  post-mortem: *//p' "$WORK/out")
state=$(sed -n 's/^  state (runs, incidents): *//p' "$WORK/out")
notes=$(sed -n 's/^  notifications sent: *//p' "$WORK/out")
[ -s "$pm" ] || fail "no post-mortem at '$pm': $(cat "$WORK/out")"
[ -s "$state" ] || fail "no state store at '$state'"
[ -s "$notes" ] || fail "no notifications at '$notes'"
case "$pm" in "$WORK"/tocsin-demo-*) ;; *) fail "files outside \$TMPDIR: $pm";; esac
grep -q 'Verificar logs backend' "$pm" || fail "post-mortem lacks the diagnosis: $(cat "$pm")"
grep -q 'PostgreSQL reiniciado' "$pm" || fail "post-mortem lacks the restart"
grep -q 'detected: database_down' "$WORK/out" || fail "no detection"
grep -q '"event": *"opened"' "$notes" || fail "no opened notification"
grep -q '"event": *"resolved"' "$notes" || fail "no resolved notification"
cfg=$(sed -n 's/^  config used: *//p' "$WORK/out")
"$TOCSIN" incident INC-1 --config "$cfg" | grep -q 'resolved' || fail "INC-1 not resolved"
# a missing source tree is said, not crashed on
TOCSIN_HOME=/nonexistent expect_exit 1 "$TOCSIN" demo
grep -q 'TOCSIN_HOME' "$WORK/err" || fail "no hint about TOCSIN_HOME: $(cat "$WORK/err")"
echo ok
