#!/bin/bash
# The playbook's SQL cases against the simulated ETP Express on a real
# PostgreSQL: Scenario 7 partial corruption → the playbook's queries find the
# rows, answering no writes nothing, answering yes backs up first (the backup
# tables hold the garbled rows) and then runs the manual UPDATE with the
# placeholder title; total corruption → the backup older than the migration
# is restored; Scenario 6 Caso 2 (users table gone) → `SELECT count(*) FROM
# users` errors and the backup is restored, login works again.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/etp_target_lib.bash"
. "$SRC/tests/e2e/playbook_lib.bash"
export BUILD="$WORK/pg"
mkdir -p "$BUILD"
_pgstop() { bash "$SRC/tests/pg/stop.sh" >/dev/null 2>&1; }
trap '_pgstop; _cleanup' EXIT
bash "$SRC/tests/pg/start.sh" >"$WORK/pg-start.log" 2>&1 || { cat "$WORK/pg-start.log"; fail "postgres"; }
. "$BUILD/pg.env"
q() { psql "$PGTEST_DSN" -X -A -t -v ON_ERROR_STOP=1 -c "$1"; }
BAD="SELECT count(*) FROM etps WHERE title LIKE '%�%' OR title = ''"
start_etp_target --set dsn="$PGTEST_DSN"
pb_config

# partial, answered no: only the backup
etp_fault '{"mode":"data_corruption","scope":"partial"}'
[ "$(q "$BAD")" = 3 ] || fail "fault"
expect_exit 1 pb_run_noyes data_corruption
grep -qF 'Verificar dados corrompidos' "$WORK/out" || fail "no detection: $(cat "$WORK/out" "$WORK/err")"
[ "$(q "$BAD")" = 3 ] || fail "written without confirm"
[ "$(q "SELECT count(*) FROM etps WHERE title LIKE 'ETP Corrompido%'")" = 0 ] || fail "UPDATE without confirm"
[ "$(q 'SELECT count(*) FROM etp_backup_2_etps')" = 6 ] || fail "no safety-net backup"
# answered yes: backup, then the manual UPDATE of the three rows
expect_exit 0 pb_run data_corruption
grep -qF 'Caso 2: Fix manual via SQL (se poucos registros)' "$WORK/out" || fail "no manual fix: $(cat "$WORK/out" "$WORK/err")"
[ "$(q "$BAD")" = 0 ] || fail "rows still garbled"
[ "$(q "SELECT string_agg(id::text, ',' ORDER BY id) FROM etps WHERE title = 'ETP Corrompido - Aguardando Recuperação'")" = 4,5,6 ] \
  || fail "placeholder rows: $(q 'SELECT id, title FROM etps ORDER BY id')"
# the backup taken before the UPDATE holds the garbled rows: it came first
[ "$(q "SELECT count(*) FROM etp_backup_3_etps WHERE title LIKE '%�%' OR title = ''")" = 3 ] || fail "backup after the write"
pb_incident INC-1 >"$WORK/inc1"
grep -q 'Corrupção parcial (registros 4,5,6)' "$WORK/inc1" || fail "scope: $(cat "$WORK/inc1")"
grep -q 'registros 4,5,6 marcados' "$WORK/inc1" || fail "fix note"
[ "$(pb_status INC-1)" = resolved ] || fail "not resolved"

# total: restore of the backup older than the migration
etp_fault '{"mode":"data_corruption","scope":"total"}'
[ "$(q "$BAD")" = 6 ] || fail "total fault"
expect_exit 0 pb_run data_corruption
grep -qF 'Caso 1: Restore backup anterior à migration' "$WORK/out" || fail "no restore: $(cat "$WORK/out" "$WORK/err")"
[ "$(q "$BAD")" = 0 ] || fail "total not repaired"
[ "$(q "SELECT title FROM etps WHERE id = 2")" = 'ETP 002/2025 - Serviços de limpeza' ] || fail "not the seed back"

# Scenario 6 Caso 2: the users table
etp_fault '{"mode":"auth_broken","cause":"users_table"}'
[ -z "$(etp_login)" ] || fail "users fault"
expect_exit 0 pb_run auth_broken
for s in 'Caso 2: Verificar tabela users' 'Se erro → restaurar backup'; do
  grep -qF "$s" "$WORK/out" || fail "no step '$s': $(cat "$WORK/out" "$WORK/err")"
done
[ -n "$(etp_login)" ] || fail "login not back"
pb_incident INC-3 >"$WORK/inc3"
grep -q 'Caso 2: Database auth table corrompida' "$WORK/inc3" || fail "case: $(cat "$WORK/inc3")"
[ "$(pb_status INC-3)" = resolved ] || fail "INC-3 not resolved"
echo ok
