#!/bin/bash
# Scenario 4 (Memory Leak) against the real target: a leaking deploy crashes
# the backend with "JavaScript heap out of memory" → the runbook sees the
# FATAL ERROR in the logs and the memory in `ps`, calls it "crash após
# deploy", rolls back, watches memory stay < 70%, resolves; a gradual leak
# on the old deployment is called "crash gradual"; when the rollback fails it
# escalates at once and the incident stays open.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/etp_target_lib.bash"
. "$SRC/tests/e2e/playbook_lib.bash"
start_etp_target
pb_config ", memory_watch = 2, deploy_window = 2"
wait_oom() {
  for _ in $(seq 100); do
    grep -q 'CALL_AND_RETRY_LAST' "$ETP_LOGS/backend.log" 2>/dev/null && [ "$(grep -c CALL_AND_RETRY_LAST "$ETP_LOGS/backend.log")" -ge "$1" ] && return
    sleep 0.1
  done
  fail "no OOM crash in the target's logs"
}
sleep 2.5 # the starting deployment gets older than deploy_window

# after a deploy
etp_fault '{"mode":"memory_leak","pattern":"deploy","rate":800}'
wait_oom 1
v0=$(etp_state 'd["services"]["backend"]["version"]')
expect_exit 0 pb_run memory_leak
pb_incident INC-1 >"$WORK/inc"
grep -q 'Se crash após deploy' "$WORK/inc" || fail "not seen as after-deploy: $(cat "$WORK/inc")"
grep -q 'CALL_AND_RETRY_LAST' "$WORK/inc" || fail "timeline lacks the log finding"
grep -q 'resolved' "$WORK/inc" || fail "INC-1 not resolved"
[ "$(etp_state 'd["services"]["backend"]["version"]')" != "$v0" ] || fail "no rollback"
[ "$(etp_state '"memory_leak" in d["faults"]')" = False ] || fail "leak still active"
pb_postmortem INC-1 | grep -q 'memória estável' || fail "post-mortem lacks the verification"
grep -q '"event": *"status_update"' "$WORK/notifications.jsonl" || fail "users not told"

# gradual, on a deployment older than deploy_window
sleep 2.5
etp_fault '{"mode":"memory_leak","pattern":"gradual","rate":800}'
wait_oom 2
expect_exit 0 pb_run memory_leak
pb_incident INC-2 >"$WORK/inc"
grep -q 'Se crash gradual' "$WORK/inc" || fail "not seen as gradual: $(cat "$WORK/inc")"

# the rollback fails: immediate escalation
etp_fault '{"mode":"memory_leak","pattern":"deploy","rate":800,"rollback_fails":true}'
wait_oom 3
expect_exit 1 pb_run memory_leak
pb_incident INC-3 >"$WORK/inc"
grep -q 'escalated' "$WORK/inc" || fail "no escalation: $(cat "$WORK/inc")"
! grep -q 'resolved' <(head -1 "$WORK/inc") || fail "INC-3 resolved"
echo ok
