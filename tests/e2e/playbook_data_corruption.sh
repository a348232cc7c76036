#!/bin/bash
# Scenario 7 (Data Corruption) against the real simulated target (in memory:
# the runbook reads the ETPs through the API when psql has no database):
# total corruption after a migration → backup, rollback, restore of the backup
# older than the migration; partial → backup, restore; answering no to every
# confirm writes nothing (the backup alone is taken) and escalates to the
# Incident Commander.  Each: detection, the migration log grep, the scope,
# verification (titles and /api/etps/<id>), notifications, timeline, post-mortem.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/etp_target_lib.bash"
. "$SRC/tests/e2e/playbook_lib.bash"
start_etp_target
pb_config
# how many ETPs have an empty or garbled title
bad_titles() { curl -s "$ETP_BACKEND/api/etps" -H "Authorization: Bearer $(etp_login)" | /usr/bin/python3 -c \
  'import json,sys; print(sum(1 for e in json.load(sys.stdin) if e["title"] == "" or "\ufffd" in e["title"]))'; }

expect_exit 0 pb_run data_corruption
grep -q 'nothing to do' "$WORK/out" || fail "healthy: $(cat "$WORK/out" "$WORK/err")"

# total: a migration garbled every title
etp_fault '{"mode":"data_corruption","scope":"total"}'
[ "$(bad_titles)" -gt 0 ] || fail "fault not injected"
expect_exit 0 pb_run data_corruption
for s in 'Verificar dados corrompidos' 'Verificar logs de migration' 'Identificar escopo' 'Criar backup imediato' \
         'Stop the bleeding: rollback' 'Caso 1: Restore backup anterior à migration' '1. Dados restaurados corretamente' \
         '2. Frontend exibe dados corretos'; do
  grep -qF "$s" "$WORK/out" "$WORK/err" || fail "no step '$s': $(cat "$WORK/out")"
done
# the backup came before every change: its step is printed before the rollback's
b=$(grep -n 'Criar backup imediato' "$WORK/out" | head -1 | cut -d: -f1)
r=$(grep -n 'Stop the bleeding' "$WORK/out" | head -1 | cut -d: -f1)
[ "$b" -lt "$r" ] || fail "backup after the rollback"
[ "$(bad_titles)" = 0 ] || fail "titles still corrupt"
[ "$(etp_state 'len(d["backups"])')" = 2 ] || fail "no safety-net backup"
grep -q 'restored from memory:etp_backup_1' "$ETP_LOGS/postgres.log" || fail "not the baseline restored"
pb_incident INC-1 >"$WORK/inc1"; pb_postmortem INC-1 >"$WORK/pm1"
grep -q 'Corrupção total (todos os registros) → provável migration malformada' "$WORK/inc1" || fail "scope: $(cat "$WORK/inc1")"
grep -q '1 "foreign key"' "$WORK/inc1" || fail "log count"
grep -q 'Backup PRÉ-restore (safety net): memory:etp_backup_2' "$WORK/inc1" || fail "backup note"
grep -q 'migration:revert' "$WORK/inc1" || fail "after-restore checklist"
[ "$(pb_status INC-1)" = resolved ] || fail "not resolved"
grep -q 'restore do backup anterior à migration' "$WORK/pm1" || fail "post-mortem: $(cat "$WORK/pm1")"
grep -q 'ETPs exibem conteúdo embaralhado' "$WORK/notifications.jsonl" || fail "users not told"

# answered no (no terminal, no --yes): only the backup is written
etp_fault '{"mode":"data_corruption","scope":"partial"}'
deps=$(etp_state 'len(d["services"]["backend"]["deployments"])')
expect_exit 1 pb_run_noyes data_corruption
[ "$(bad_titles)" = 3 ] || fail "data changed without confirm"
[ "$(etp_state 'len(d["services"]["backend"]["deployments"])')" = "$deps" ] || fail "rolled back without confirm"
[ "$(etp_state 'len(d["backups"])')" = 3 ] || fail "backup not taken first"
pb_incident INC-2 >"$WORK/inc2"
grep -q 'Corrupção parcial (registros 4,5,6)' "$WORK/inc2" || fail "partial scope: $(cat "$WORK/inc2")"
grep -q 'rollback não aprovado' "$WORK/inc2" || fail "rollback question"
grep -q 'escalated' "$WORK/inc2" || fail "not escalated"
grep -q 'incident_commander' "$WORK/inc2" || fail "not the Incident Commander"
[ "$(pb_status INC-2)" = acknowledged ] || fail "INC-2 not left open"

# partial, approved: the same incident (still open) goes on, the backup is restored
expect_exit 0 pb_run data_corruption
[ "$(bad_titles)" = 0 ] || fail "partial not repaired"
pb_incident INC-2 >"$WORK/inc2"
[ "$(pb_status INC-2)" = resolved ] || fail "INC-2 not resolved: $(cat "$WORK/inc2")"
echo ok
