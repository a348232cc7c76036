#!/bin/bash
# Scenario 10 (Security Breach Suspected) against the real simulated target:
# a brute force from one IP (failed logins, then a successful one, an export
# of 5231 rows, an audit line) → the runbook counts failed logins per IP,
# escalates to the Incident Commander at once, backs the database up BEFORE
# anything else, rotates JWT_SECRET and DATABASE_PASSWORD with values it
# generates (44 base64 chars) and OPENAI_API_KEY from a configured secret,
# restarts, blocks the IP, tells the Incident Commander that the ANPD must be
# notified (LGPD), verifies, and leaves the incident mitigated.  It never
# rolls back, and no rotated value appears in any output, the state store,
# the notifications or the post-mortem.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/etp_target_lib.bash"
. "$SRC/tests/e2e/playbook_lib.bash"
start_etp_target
pb_config
IP=198.51.100.23
vars() { curl -s "$ETP_CONTROL/_vars?service=backend"; }
var() { vars | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$1"; }

expect_exit 0 pb_run security_breach
grep -q 'nothing to do' "$WORK/out" || fail "healthy: $(cat "$WORK/out" "$WORK/err")"

OLD_JWT=$(var JWT_SECRET); OLD_DB=$(var DATABASE_PASSWORD)
deps=$(etp_state 'len(d["services"]["backend"]["deployments"])')
etp_fault "{\"mode\":\"security_breach\",\"ip\":\"$IP\",\"attempts\":30}"
# The breach is found after it happened: wait until the export is in the
# backend's log file (the target writes its logs asynchronously).
for _ in $(seq 100); do grep -q "GET /api/etps/export 200 .*ip=$IP" "$ETP_LOGS/backend.log" 2>/dev/null && break; sleep 0.05; done
grep -q "GET /api/etps/export 200 .*ip=$IP" "$ETP_LOGS/backend.log" || fail "the target did not log the export"
export OPENAI_API_KEY_NEW=sk-rotated-by-the-breach-runbook-0123456789
expect_exit 0 pb_run security_breach
for s in 'Verificar logs de auth' 'Verificar database access logs' 'Backup database AGORA' \
         'Rotate all secrets IMMEDIATELY' 'Bloquear acesso suspeito' 'Comunicar stakeholders' \
         'notificar ANPD (LGPD)' '1. Secrets rotacionados' '2. Acesso bloqueado' '3. Sistema funcional'; do
  grep -qF "$s" "$WORK/out" || fail "no step '$s': $(cat "$WORK/out" "$WORK/err")"
done
# the backup before any action
b=$(grep -n 'Backup database AGORA' "$WORK/out" | cut -d: -f1)
r=$(grep -n 'Rotate all secrets' "$WORK/out" | cut -d: -f1)
k=$(grep -n 'Bloquear acesso' "$WORK/out" | cut -d: -f1)
[ "$b" -lt "$r" ] && [ "$b" -lt "$k" ] || fail "backup not first: $b $r $k"
[ "$(etp_state 'len(d["backups"])')" = 2 ] || fail "no backup"
# rotated: new values, 32 random bytes in base64; the OpenAI key from the secret
NEW_JWT=$(var JWT_SECRET); NEW_DB=$(var DATABASE_PASSWORD)
[ "$NEW_JWT" != "$OLD_JWT" ] && [ "$NEW_DB" != "$OLD_DB" ] || fail "secrets not rotated"
[ ${#NEW_JWT} = 44 ] && [ ${#NEW_DB} = 44 ] || fail "not 32 bytes base64: ${#NEW_JWT} ${#NEW_DB}"
[ "$NEW_JWT" != "$NEW_DB" ] || fail "the same value twice"
[ "$(var OPENAI_API_KEY)" = "$OPENAI_API_KEY_NEW" ] || fail "OPENAI_API_KEY not rotated"
# blocked, never rolled back
etp_state 'd["blocked"]' | grep -q "$IP" || fail "IP not blocked"
[ "$(etp_state 'len(d["services"]["backend"]["deployments"])')" = "$deps" ] || fail "a deployment changed"
grep -q 'Rolled back' "$ETP_LOGS/backend.log" && fail "rolled back"
[ "$(http_status "$ETP_BACKEND/api/health")" = 200 ] || fail "system not functional"
pb_incident INC-1 >"$WORK/inc1"; pb_postmortem INC-1 >"$WORK/pm1" || fail "post-mortem"
[ "$(pb_status INC-1)" = mitigated ] || fail "status $(pb_status INC-1)"
grep -qE "$IP: (3[0-9]|[4-9][0-9]) logins falhos, login OK como admin@etp.gov.br, export de 5231 registros" "$WORK/inc1" \
  || fail "brute force count: $(cat "$WORK/inc1")"
grep -q 'escalated to incident_commander: IMMEDIATE' "$WORK/inc1" || fail "no immediate escalation"
grep -q 'secrets rotacionados: JWT_SECRET, DATABASE_PASSWORD, OPENAI_API_KEY' "$WORK/inc1" || fail "rotation note"
grep -q 'NÃO FAZER ROLLBACK' "$WORK/inc1" || fail "rollback plan note"
grep -q 'OBRIGATÓRIO notificar a ANPD' "$WORK/inc1" || fail "LGPD note"
grep -q 'audit: Variable OPENAI_API_KEY read by an unknown session' "$WORK/inc1" || fail "audit line"
grep -q 'ANPD' "$WORK/notifications.jsonl" || fail "ANPD not sent"
grep -q 'secrets rotacionados' "$WORK/pm1" || fail "post-mortem lacks the actions: $(cat "$WORK/pm1")"
# no rotated value anywhere Tocsin wrote
for v in "$NEW_JWT" "$NEW_DB" "$OPENAI_API_KEY_NEW"; do
  if grep -rqF -- "$v" "$WORK"/out "$WORK"/err "$WORK"/inc1 "$WORK"/pm1 "$WORK"/notifications.jsonl \
       "$WORK"/state.db* "$ETP_LOGS"; then
    fail "a rotated secret leaked"
  fi
done
echo ok
