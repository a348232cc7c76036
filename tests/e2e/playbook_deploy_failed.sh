#!/bin/bash
# Scenario 9 (Deploy Failed) against the real simulated target: a FAILED
# backend deployment → the runbook finds it (status, deployments, the first
# 100 log lines: TypeScript and npm errors counted), rolls back, verifies
# health + status Running, names the root-cause cases, notifies and resolves;
# with a rollback that fails it escalates to the Escalation Engineer at once
# and the incident stays open.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/etp_target_lib.bash"
. "$SRC/tests/e2e/playbook_lib.bash"
start_etp_target
pb_config

expect_exit 0 pb_run deploy_failed
grep -q 'nothing to do' "$WORK/out" || fail "healthy: $(cat "$WORK/out" "$WORK/err")"

etp_fault '{"mode":"deploy_failed"}'
[ "$(http_status "$ETP_BACKEND/api/health")" != 200 ] || fail "fault not injected"
expect_exit 0 pb_run deploy_failed
for s in 'Railway deploy status' 'Verificar último deploy' 'Verificar Railway deploy logs' \
         'Executar rollback automatizado' '1. Health check OK' '2. Deployment status "Running"'; do
  grep -qF "$s" "$WORK/out" || fail "no step '$s': $(cat "$WORK/out")"
done
[ "$(http_status "$ETP_BACKEND/api/health")" = 200 ] || fail "not recovered"
[ "$(etp_state 'd["services"]["backend"]["version"]')" = v1.4.2 ] || fail "not back on v1.4.2"
pb_incident INC-1 >"$WORK/inc1"; pb_postmortem INC-1 >"$WORK/pm1"
grep -q 'deployment falhado: dep-backend-.* (v1.4.3, FAILED)' "$WORK/inc1" || fail "failed deployment: $(cat "$WORK/inc1")"
grep -q '1 "error ts", 2 "npm err"' "$WORK/inc1" || fail "log counts"
grep -q 'Caso 1: Build error (TypeScript)' "$WORK/inc1" || fail "root cause case 1"
grep -q 'Caso 2: Dependency install error' "$WORK/inc1" || fail "root cause case 2"
[ "$(pb_status INC-1)" = resolved ] || fail "not resolved"
grep -q 'rollback para v1.4.2' "$WORK/pm1" || fail "post-mortem: $(cat "$WORK/pm1")"
grep -q 'Sistema em estado inconsistente' "$WORK/notifications.jsonl" || fail "users not told"

etp_fault '{"mode":"deploy_failed","rollback_fails":true}'
expect_exit 1 pb_run deploy_failed
pb_incident INC-2 >"$WORK/inc2"
grep -q 'escalated.*rollback falhou' "$WORK/inc2" || fail "no immediate escalation: $(cat "$WORK/inc2")"
[ "$(pb_status INC-2)" = acknowledged ] || fail "resolved while failed"
grep -q '"event": *"escalated"' "$WORK/notifications.jsonl" || fail "escalation not sent"
echo ok
