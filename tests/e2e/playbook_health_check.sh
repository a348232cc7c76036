#!/bin/bash
# health_check, the scheduled detector, against the real target: healthy →
# no incident; each fault → the incident of its scenario with the playbook's
# severity and the scenario's runbook run to resolution; a second run while
# the incident is open joins it (dedup_key) instead of opening another.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/etp_target_lib.bash"
. "$SRC/tests/e2e/playbook_lib.bash"
start_etp_target
pb_config ", openai_url = \"$ETP_OPENAI\", openai_wait = 6, slow_ms = 1000, normal_ms = 500"
expect_exit 0 pb_run health_check
grep -q 'healthy' "$WORK/out" || fail "healthy target not said: $(cat "$WORK/out")"
(cd "$WORK" && "$TOCSIN" incidents --all --config "$WORK/tocsin.lua") | grep -q INC- && fail "incident while healthy"

check() { # FAULT_JSON SCENARIO SEVERITY ID
  etp_fault "$1"
  expect_exit 0 pb_run health_check
  grep -q "detected: $2" "$WORK/out" || fail "$2 not detected: $(cat "$WORK/out" "$WORK/err")"
  pb_incident "$4" >"$WORK/inc"
  head -1 "$WORK/inc" | grep -q "$3  resolved" || fail "$4 not $3 resolved: $(cat "$WORK/inc")"
}
check '{"mode":"database_down","cause":"crashed"}' database_down P0 INC-1
check '{"mode":"frontend_down","cause":"build"}' frontend_down P0 INC-2
check '{"mode":"openai_down","duration":2}' openai_failure P1 INC-3
check '{"mode":"api_timeout","delay":1.5}' api_timeout P1 INC-4

# dedup: still failing and the incident open → joined, not a new one
etp_fault '{"mode":"database_down","cause":"migration","rollback_fails":true}'
expect_exit 1 pb_run health_check
expect_exit 0 pb_run health_check
grep -q 'detected: database_down' "$WORK/out" || fail "second run did not detect"
(cd "$WORK" && "$TOCSIN" incidents --all --config "$WORK/tocsin.lua") >"$WORK/list"
[ "$(grep -c 'INC-' "$WORK/list")" = 5 ] || fail "dedup failed: $(cat "$WORK/list")"
pb_incident INC-5 | grep -q 'still failing' || fail "second run not noted on INC-5"
echo ok
