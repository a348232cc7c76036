#!/bin/bash
# Scenario 6 (Authentication Broken) against the real simulated target, one
# case of the playbook each: JWT_SECRET gone → Caso 1 sets a new generated
# JWT_SECRET (never printed nor stored) and restarts; a Passport strategy bug
# → Caso 3 rolls back; a failed rollback escalates at once and leaves the
# incident open.  Each: detection (login), the log grep, the JWT_SECRET check,
# verification (login + token on /api/etps), notifications, timeline, post-mortem.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/etp_target_lib.bash"
. "$SRC/tests/e2e/playbook_lib.bash"
start_etp_target
pb_config

# nothing wrong: no incident
expect_exit 0 pb_run auth_broken
grep -q 'nothing to do' "$WORK/out" || fail "healthy target: $(cat "$WORK/out" "$WORK/err")"

# Caso 1: JWT_SECRET missing
etp_fault '{"mode":"auth_broken","cause":"jwt_secret"}'
[ -z "$(etp_login)" ] || fail "fault not injected"
expect_exit 0 pb_run auth_broken
for s in '✗ Testar login' 'Verificar logs de auth' 'Verificar JWT_SECRET' 'Caso 1: Reverter JWT_SECRET' \
         '1. Login funciona' '2. Token válido'; do
  grep -qF "$s" "$WORK/err" "$WORK/out" || fail "no step '$s': $(cat "$WORK/err")"
done
[ -n "$(etp_login)" ] || fail "login still broken"
NEW=$(curl -s "$ETP_CONTROL/_vars?service=backend" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["JWT_SECRET"])')
[ ${#NEW} = 44 ] || fail "JWT_SECRET is not 32 bytes in base64: ${#NEW} chars"
pb_incident INC-1 >"$WORK/inc1" || fail "no INC-1"
pb_postmortem INC-1 >"$WORK/pm1" || fail "no post-mortem"
grep -q 'Caso 1: JWT_SECRET mudou acidentalmente' "$WORK/inc1" || fail "timeline lacks the case: $(cat "$WORK/inc1")"
grep -q 'JWT_SECRET: ausente' "$WORK/inc1" || fail "timeline lacks the variable check"
grep -q 'secretorprivatekey' "$WORK/inc1" || fail "timeline lacks the log counts"
[ "$(pb_status INC-1)" = resolved ] || fail "INC-1 not resolved"
grep -q 'JWT_SECRET restaurado' "$WORK/pm1" || fail "post-mortem lacks the resolution: $(cat "$WORK/pm1")"
grep -q 'Usuários não conseguem fazer login' "$WORK/notifications.jsonl" || fail "users not told"
grep -q '"event": *"resolved"' "$WORK/notifications.jsonl" || fail "no resolved notification"
# the generated secret appears nowhere Tocsin writes
if grep -rqF "$NEW" "$WORK"/out "$WORK"/err "$WORK"/inc1 "$WORK"/pm1 "$WORK"/notifications.jsonl "$WORK"/state.db* "$ETP_LOGS"; then
  fail "the generated JWT_SECRET leaked"
fi

# Caso 3: strategy bug → rollback
etp_fault '{"mode":"auth_broken","cause":"strategy"}'
[ -z "$(etp_login)" ] || fail "strategy fault not injected"
expect_exit 0 pb_run auth_broken
grep -qF 'Caso 3: Rollback para versão estável' "$WORK/err" "$WORK/out" || fail "no rollback step: $(cat "$WORK/err")"
[ -n "$(etp_login)" ] || fail "rollback did not fix login"
pb_incident INC-2 >"$WORK/inc2"
grep -q 'Caso 3: Passport strategy bug' "$WORK/inc2" || fail "case 3 not on the timeline: $(cat "$WORK/inc2")"
grep -q 'unknown authentication strategy' "$WORK/inc2" || fail "log count lacks the strategy error"
[ "$(pb_status INC-2)" = resolved ] || fail "INC-2 not resolved"

# Caso 3 with a rollback that fails: immediate escalation, incident open
etp_fault '{"mode":"auth_broken","cause":"strategy","rollback_fails":true}'
expect_exit 1 pb_run auth_broken
pb_incident INC-3 >"$WORK/inc3"
grep -q 'escalated' "$WORK/inc3" || fail "no escalation: $(cat "$WORK/inc3")"
grep -q 'rollback falhou' "$WORK/inc3" || fail "escalation reason"
[ "$(pb_status INC-3)" = acknowledged ] || fail "INC-3 resolved while broken"
grep -q '"event": *"escalated"' "$WORK/notifications.jsonl" || fail "escalation not notified"
[ -n "${SHOW:-}" ] && cat "$WORK/inc1" "$WORK/pm1"
echo ok
