#!/bin/bash
# Scenario 1 (Database Down) against the real simulated target: PostgreSQL
# crashed → the runbook finds it (health, logs, status), restarts it, verifies
# health + /api/etps + frontend, notifies and resolves the incident; with a
# migration crash and a restart that cannot cure it, it rolls back; when the
# rollback fails too it escalates immediately and leaves the incident open.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/etp_target_lib.bash"
. "$SRC/tests/e2e/playbook_lib.bash"
start_etp_target
pb_config

# 1. crashed: restart cures it
etp_fault '{"mode":"database_down","cause":"crashed"}'
[ "$(http_status "$ETP_BACKEND/api/health")" != 200 ] || fail "fault not injected"
expect_exit 0 pb_run database_down
grep -q '✗ Verificar health check' "$WORK/err" "$WORK/out" || fail "no detection step: $(cat "$WORK/err")"
grep -q 'Verificar Railway PostgreSQL status' "$WORK/err" "$WORK/out" || fail "no status step"
[ "$(http_status "$ETP_BACKEND/api/health")" = 200 ] || fail "not recovered"
[ "$(etp_state 'd["services"]["postgres"]["restarts"]')" -ge 1 ] || fail "postgres was not restarted"
pb_incident INC-1 >"$WORK/inc1" || fail "no INC-1"
grep -q 'resolved' "$WORK/inc1" || fail "INC-1 not resolved: $(cat "$WORK/inc1")"
grep -q 'PostgreSQL status: crashed' "$WORK/inc1" || fail "timeline lacks the diagnosis"
grep -q 'connection refused' "$WORK/inc1" || fail "timeline lacks the log counts"
pb_postmortem INC-1 >"$WORK/pm1" || fail "no post-mortem"
grep -q 'PostgreSQL reiniciado' "$WORK/pm1" || fail "post-mortem lacks the resolution: $(cat "$WORK/pm1")"
grep -q '"event": *"status_update"' "$WORK/notifications.jsonl" || fail "users not told"
grep -q 'Sistema completamente indisponível' "$WORK/notifications.jsonl" || fail "template not rendered"
grep -q '"event": *"resolved"' "$WORK/notifications.jsonl" || fail "no resolved notification"

# 2. a migration crash: the restart fails, the rollback cures it
etp_fault '{"mode":"database_down","cause":"migration"}'
expect_exit 0 pb_run database_down
grep -q 'rollback para deploy anterior' "$WORK/err" "$WORK/out" || fail "no rollback step"
[ "$(http_status "$ETP_BACKEND/api/health")" = 200 ] || fail "rollback did not recover"
pb_incident INC-2 >"$WORK/inc2"
grep -q 'migration' "$WORK/inc2" || fail "timeline lacks the migration root cause: $(cat "$WORK/inc2")"
grep -q 'resolved' "$WORK/inc2" || fail "INC-2 not resolved"

# 3. restart and rollback both fail: immediate escalation, incident open
etp_fault '{"mode":"database_down","cause":"migration","rollback_fails":true}'
expect_exit 1 pb_run database_down
pb_incident INC-3 >"$WORK/inc3"
grep -qi 'escalated' "$WORK/inc3" || fail "no escalation: $(cat "$WORK/inc3")"
grep -q 'DISASTER_RECOVERY' "$WORK/inc3" || fail "no restore-backup plan on the timeline"
! grep -q 'status: resolved' "$WORK/inc3" || fail "INC-3 resolved while down"
[ -n "${SHOW:-}" ] && cat "$WORK/inc3" "$WORK/pm1"
echo ok
