#!/bin/bash
# Scenario 8 (Rate Limit Hit, OpenAI) against the real simulated target: the
# generation probes fail, the log grep finds "Rate limit exceeded for
# organization", users are told with the playbook's message, the runbook waits
# for the reset and verifies 201 Created, then resolves.  The fourth hit in a
# day (incidents of the same dedup_key counted by the store) escalates to the
# Escalation Engineer, the first three do not; a limit that never resets
# within reset_wait escalates and leaves the incident open.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/etp_target_lib.bash"
. "$SRC/tests/e2e/playbook_lib.bash"
start_etp_target
pb_config ', poll = 0.2, probes = 2, reset_wait = 5'

expect_exit 0 pb_run openai_rate_limit
grep -q 'nothing to do' "$WORK/out" || fail "healthy: $(cat "$WORK/out" "$WORK/err")"

for i in 1 2 3 4; do
  # the limit lasts 3 s from now: long enough that the runbook's probes still
  # meet it on a loaded machine (ASan, -j2), short of reset_wait (5 s)
  etp_fault '{"mode":"openai_rate_limit","reset":3}'
  expect_exit 0 pb_run openai_rate_limit
  for s in 'Geração de seções falha intermitentemente' 'Verificar logs de rate limit' 'Rate limit constante (>3x/dia)' \
           'Aguardar reset (1-2 minutos)' 'Verification'; do
    grep -qF "$s" "$WORK/out" || fail "run $i: no step '$s': $(cat "$WORK/out")"
  done
  pb_incident "INC-$i" >"$WORK/inc$i"
  grep -q "rate limit hoje: $i vez" "$WORK/inc$i" || fail "count $i: $(cat "$WORK/inc$i")"
  [ "$(pb_status INC-$i)" = resolved ] || fail "INC-$i not resolved"
  if [ "$i" -le 3 ]; then
    grep -q 'escalated' "$WORK/inc$i" && fail "escalated at hit $i"
  else
    grep -q 'escalated.*rate limit constante: 4 vezes em 24 h' "$WORK/inc$i" || fail "4th hit not escalated: $(cat "$WORK/inc$i")"
  fi
done
grep -q 'rate limit exceeded for organization' "$WORK/inc1" || fail "log phrase not counted: $(cat "$WORK/inc1")"
grep -q 'Rollback Plan: não aplicável' "$WORK/inc1" || fail "rollback plan note"
grep -q 'Geração de seções temporariamente lenta devido a volume de uso' "$WORK/notifications.jsonl" || fail "users not told"
[ "$(grep -c '"event": *"escalated"' "$WORK/notifications.jsonl")" = 1 ] || fail "escalations: $(grep -c escalated "$WORK/notifications.jsonl")"
pb_postmortem INC-1 >"$WORK/pm1" || fail "post-mortem"
grep -q 'geração de seções 201 Created' "$WORK/pm1" || fail "post-mortem: $(cat "$WORK/pm1")"

# never resets within reset_wait: escalated, open
etp_fault '{"mode":"openai_rate_limit","reset":600}'
expect_exit 1 pb_run openai_rate_limit --set reset_wait=1
pb_incident INC-5 >"$WORK/inc5"
grep -q 'rate limit não resetou' "$WORK/inc5" || fail "no escalation: $(cat "$WORK/inc5")"
[ "$(pb_status INC-5)" = acknowledged ] || fail "resolved while limited"
echo ok
