#!/bin/bash
# Each playbook runbook of scenarios 1-5 and health_check with --dry-run on
# platform railway, the recording stand-in first on PATH, the target's HTTP
# in the fault: the railway CLI sees only read-only calls (logs, status,
# deployment list, variables without --set, a readonly psql), the runbook
# lists its actions (restart, rollback, variables set, incident, notify) and
# the target is left as it was.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/etp_target_lib.bash"
. "$SRC/tests/e2e/playbook_lib.bash"
start_etp_target
export PATH="$SRC/tests/fixtures:$PATH" RAILWAY_LOG="$WORK/railway.log"
pb_config ", openai_url = \"$ETP_OPENAI\", slow_ms = 1000"
sed -i 's/platform = "local"/platform = "railway"/' "$WORK/tocsin.lua"
# the stand-in's memory: a crashed heap, a missing VITE_API_URL
printf '%s\n' "2026-01-01T12:00:00.000Z ERROR [node] FATAL ERROR: CALL_AND_RETRY_LAST Allocation failed - JavaScript heap out of memory" \
  "2026-01-01T12:00:01.000Z ERROR [vite] Build failed: dist/index.html not found" \
  "2026-01-01T12:00:02.000Z ERROR [OpenAIService] OpenAI API error (gpt-4): 503 Service Unavailable" >"$RAILWAY_LOG.logs"

dry() { # RUNBOOK FAULT_JSON ACTION_PATTERN
  etp_fault '{"mode":"none"}'
  etp_fault "$2"
  : >"$RAILWAY_LOG"
  expect_exit 0 pb_run "$1" --dry-run
  grep -Ev '^(logs|status|deployment	list|variables	--service	[a-z]+	(--kv|--json)$|run	.*SELECT count)' "$RAILWAY_LOG" \
    | grep -v '^$' >"$WORK/writes" && fail "$1: railway calls beyond reads: $(cat "$WORK/writes")"
  grep -q 'pg_terminate_backend' "$RAILWAY_LOG" && fail "$1 terminated connections in a dry run"
  grep -Eq "$3" "$WORK/out" "$WORK/err" || fail "$1: action '$3' not listed: $(cat "$WORK/out" "$WORK/err")"
  grep -q 'incident' "$WORK/out" "$WORK/err" || fail "$1: no incident action listed"
  echo "$1: $(tr '\n' ' ' <"$RAILWAY_LOG")"
}
dry database_down '{"mode":"database_down","cause":"crashed"}' 'restart'
dry api_timeout '{"mode":"api_timeout","delay":1.2}' 'pg_terminate_backend|run'
dry openai_failure '{"mode":"openai_down"}' 'status_update|notify'
dry memory_leak '{"mode":"none"}' 'rollback'
dry frontend_down '{"mode":"frontend_down","cause":"build"}' 'rollback'
dry health_check '{"mode":"database_down","cause":"crashed"}' 'restart'
# nothing reached the target: its faults are as injected
[ "$(etp_state 'd["services"]["postgres"]["restarts"]')" = 0 ] || fail "a dry run restarted the target"
echo ok
