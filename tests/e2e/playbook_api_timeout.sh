#!/bin/bash
# Scenario 2 (API Timeout) against the real target: /api/etps slow → the
# runbook times it, counts "Slow query" in the logs, tries to free idle
# connections (psql: the in-memory target has none, so that step fails), then
# restarts the backend, verifies latency < normal_ms and resolves; a restart
# that fails escalates.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/etp_target_lib.bash"
. "$SRC/tests/e2e/playbook_lib.bash"
start_etp_target
pb_config ", slow_ms = 1000, normal_ms = 500"
etp_fault '{"mode":"api_timeout","delay":1.5}'
curl -s -o /dev/null "$ETP_BACKEND/api/etps" # one slow request in the logs
expect_exit 0 pb_run api_timeout
pb_incident INC-1 >"$WORK/inc"
grep -q 'Verificar latency de endpoints' "$WORK/err" "$WORK/out" || fail "no latency step"
grep -Eq 'logs de performance: [1-9][0-9]* "slow query"' "$WORK/inc" || fail "slow queries not counted: $(cat "$WORK/inc")"
grep -q 'Se não resolver → Restart backend' "$WORK/inc" || fail "no restart"
grep -q 'resolved' "$WORK/inc" || fail "INC-1 not resolved"
t=$(curl -s -o /dev/null -w '%{time_total}' "$ETP_BACKEND/api/etps")
awk -v t="$t" 'BEGIN { exit !(t < 0.5) }' || fail "still slow: $t s"
pb_postmortem INC-1 | grep -q 'backend reiniciado' || fail "post-mortem lacks the action"

etp_fault '{"mode":"api_timeout","delay":1.5,"restart_fails":true}'
expect_exit 1 pb_run api_timeout
pb_incident INC-2 | grep -q 'escalated' || fail "no escalation"
echo ok
