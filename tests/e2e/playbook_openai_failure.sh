#!/bin/bash
# Scenario 3 (OpenAI API Failure) against the real target, the playbook's
# three cases: 429 → users told, wait for the reset; 401 → the new key set
# and the backend restarted; 503 → users told "Serviço de IA temporariamente
# indisponível", monitored until it ends; an invalid key with no new key
# escalates.  Each resolved incident's post-mortem says which case it was.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/etp_target_lib.bash"
. "$SRC/tests/e2e/playbook_lib.bash"
start_etp_target
pb_config ", openai_url = \"$ETP_OPENAI\", openai_wait = 6"

# Caso 1: 429 for 2 s
etp_fault '{"mode":"openai_rate_limit","reset":2}'
expect_exit 0 pb_run openai_failure
pb_incident INC-1 >"$WORK/inc"
grep -q 'Caso 1: Rate Limit' "$WORK/inc" || fail "429 not recognised: $(cat "$WORK/inc")"
grep -q 'resolved' "$WORK/inc" || fail "INC-1 not resolved"
grep -q 'volume de uso' "$WORK/notifications.jsonl" || fail "users not told about the rate limit"

# Caso 2: revoked key; the responder gives the new one
etp_fault '{"mode":"openai_key_invalid"}'
NEW_OPENAI_API_KEY=sk-etp-rotated-1 expect_exit 0 pb_run openai_failure
pb_incident INC-2 >"$WORK/inc"
grep -q 'Caso 2: API Key Inválida' "$WORK/inc" || fail "401 not recognised: $(cat "$WORK/inc")"
[ "$(etp_state 'd["services"]["backend"]["restarts"]')" -ge 1 ] || fail "backend not restarted"
! grep -q 'sk-etp-rotated-1' "$WORK/inc" "$WORK/out" "$WORK/err" "$WORK/notifications.jsonl" \
  || fail "the new key leaked"
pb_postmortem INC-2 | grep -q 'OPENAI_API_KEY atualizada' || fail "post-mortem lacks the action"

# Caso 3: outage for 2 s
etp_fault '{"mode":"openai_down","duration":2}'
expect_exit 0 pb_run openai_failure
pb_incident INC-3 >"$WORK/inc"
grep -q 'Caso 3: OpenAI Downtime' "$WORK/inc" || fail "503 not recognised: $(cat "$WORK/inc")"
grep -q 'Serviço de IA temporariamente indisponível' "$WORK/notifications.jsonl" || fail "users not told"
grep -q 'resolved' "$WORK/inc" || fail "INC-3 not resolved"

# invalid key and nobody gave a new one: escalation, incident open
etp_fault '{"mode":"openai_key_invalid"}'
expect_exit 1 pb_run openai_failure
pb_incident INC-4 >"$WORK/inc"
grep -q 'escalated' "$WORK/inc" || fail "no escalation: $(cat "$WORK/inc")"
echo ok
