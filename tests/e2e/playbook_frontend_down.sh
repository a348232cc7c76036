#!/bin/bash
# Scenario 5 (Frontend Down) against the real target: a broken build → 502,
# the runbook sees "Crashed", the build errors in the logs, rolls the frontend
# back, verifies 200 and login, resolves; VITE_API_URL missing → the rollback
# does not cure it, the variable is set and the frontend restarted; a failed
# rollback escalates at once.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/etp_target_lib.bash"
. "$SRC/tests/e2e/playbook_lib.bash"
start_etp_target
pb_config

etp_fault '{"mode":"frontend_down","cause":"build"}'
[ "$(http_status "$ETP_FRONTEND/")" = 502 ] || fail "fault not injected"
expect_exit 0 pb_run frontend_down
[ "$(http_status "$ETP_FRONTEND/")" = 200 ] || fail "frontend not back"
pb_incident INC-1 >"$WORK/inc"
grep -q 'Build errors (TypeScript/Vite)' "$WORK/inc" || fail "build error not found: $(cat "$WORK/inc")"
grep -q 'Rollback frontend deploy' "$WORK/inc" || fail "no rollback step"
grep -q 'resolved' "$WORK/inc" || fail "INC-1 not resolved"
pb_postmortem INC-1 | grep -q 'login funciona' || fail "post-mortem lacks the verification"
grep -q 'Frontend exibe tela branca' "$WORK/notifications.jsonl" || fail "users not told"

etp_fault '{"mode":"frontend_down","cause":"env"}'
expect_exit 0 pb_run frontend_down
[ "$(http_status "$ETP_FRONTEND/")" = 200 ] || fail "frontend not back after VITE_API_URL"
pb_incident INC-2 >"$WORK/inc"
grep -q 'Caso 2: railway variables set VITE_API_URL' "$WORK/inc" || fail "no Caso 2: $(cat "$WORK/inc")"
[ "$(etp_state 'd["services"]["frontend"]["restarts"]')" -ge 1 ] || fail "frontend not restarted"

etp_fault '{"mode":"frontend_down","cause":"build","rollback_fails":true}'
expect_exit 1 pb_run frontend_down
pb_incident INC-3 >"$WORK/inc"
grep -q 'escalated to escalation_engineer: rollback falhou' "$WORK/inc" || fail "no escalation: $(cat "$WORK/inc")"
echo ok
