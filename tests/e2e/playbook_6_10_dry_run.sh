#!/bin/bash
# --dry-run of scenarios 6-10 with platform railway and the recording railway
# stand-in first on PATH, each against the simulated target in its fault (the
# stand-in prints the target's own backend log as `railway logs`): the runbook
# detects the fault and reaches its actions, the stand-in records only
# read-only calls (logs, deployment list, variables --json, run of a psql
# read), the actions are listed ("would shell: railway restart ..."), no
# generated secret is printed, and the target is left as it was.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/etp_target_lib.bash"
export PATH="$SRC/tests/fixtures:$PATH" RAILWAY_LOG="$WORK/railway.log"
start_etp_target
TOKEN=$(etp_login)
cat >"$WORK/backup-db.sh" <<'SH'
#!/bin/sh
echo "$0 ran" >>"${RAILWAY_LOG}.backup"
SH
chmod +x "$WORK/backup-db.sh"
cat >"$WORK/tocsin.lua" <<LUA
return {
  runbooks = { "$SRC/scripts/runbooks" },
  templates = { "$SRC/scripts/templates" },
  state = "sqlite:$WORK/state.db",
  params = { platform = "railway", backend = "$ETP_BACKEND", frontend = "$ETP_FRONTEND",
             backup_cmd = "$WORK/backup-db.sh", settle = 1 },
}
LUA
dry() {
  local rb=$1 fault=$2
  etp_ctl /_fault '{"mode":"none"}' >/dev/null
  rm -f "$RAILWAY_LOG" "$RAILWAY_LOG.logs" "$RAILWAY_LOG.deployments"
  [ -n "$fault" ] && etp_fault "$fault"
  # users' traffic meets the fault (a dry run sends no POST of its own)
  for _ in 1 2; do http_status "$ETP_BACKEND/api/sections/1/generate" -X POST -H "Authorization: Bearer $TOKEN" >/dev/null; done
  sleep 0.3
  cp "$ETP_LOGS/backend.log" "$RAILWAY_LOG.logs"
  before=$(etp_state '(d["services"]["backend"]["restarts"], len(d["services"]["backend"]["deployments"]), len(d["backups"]), d["blocked"])')
  # a dry run sends no POST, so no login: the API token is given, as in production
  (cd "$WORK" && "$TOCSIN" run "$rb" --config "$WORK/tocsin.lua" --dry-run --yes --set api_token="$TOKEN") \
    >"$WORK/out" 2>"$WORK/err" \
    || fail "$rb --dry-run exited $?: $(cat "$WORK/out" "$WORK/err")"
  cat "$WORK/out" "$WORK/err" >"$WORK/all"
  grep -q 'nothing to do' "$WORK/all" && fail "$rb found nothing: $(cat "$WORK/all")"
  # only reads reached the CLI
  [ -s "$RAILWAY_LOG" ] || fail "$rb made no railway call"
  while IFS=$'\t' read -r cmd a2 _; do
    case "$cmd" in
      logs) ;;
      deployment) [ "$a2" = list ] || fail "$rb: railway deployment $a2" ;;
      variables) grep -q 'set-from-stdin' <<<"$a2 $_" && fail "$rb set a variable" ;;
      run) grep -q 'psql' "$RAILWAY_LOG" || fail "$rb: railway run of something else" ;;
      *) fail "$rb: railway $cmd was run in a dry run" ;;
    esac
  done <"$RAILWAY_LOG"
  grep -qP '\t--set-from-stdin\t' "$RAILWAY_LOG" && fail "$rb set a variable: $(cat "$RAILWAY_LOG")"
  [ -f "$RAILWAY_LOG.backup" ] && fail "$rb ran the backup command"
  after=$(etp_state '(d["services"]["backend"]["restarts"], len(d["services"]["backend"]["deployments"]), len(d["backups"]), d["blocked"])')
  [ "$before" = "$after" ] || fail "$rb changed the target: $before -> $after"
  for a in "${@:3}"; do
    grep -qF -- "$a" "$WORK/all" || fail "$rb: no '$a' in: $(cat "$WORK/all")"
  done
  cp "$WORK/all" "$WORK/all.$rb"
}

dry auth_broken '{"mode":"auth_broken","cause":"strategy"}' \
  'would shell: railway variables --service backend --set-from-stdin JWT_SECRET' \
  'would shell: railway restart --service backend --yes' 'Caso 1: Reverter JWT_SECRET'
dry data_corruption '{"mode":"data_corruption","scope":"total"}' \
  "would shell: $WORK/backup-db.sh" 'would shell: railway rollback --service backend --yes' \
  'Corrupção total' 'open P1 incident: Data Corruption'
dry openai_rate_limit '{"mode":"openai_rate_limit","reset":600}' \
  'open P2 incident: Rate Limit Hit (OpenAI)' 'would wait up to 120 s' 'Rate limit constante (>3x/dia)'
printf '[{"id":"d-backend-4","status":"FAILED","createdAt":"2026-01-01T13:00:00Z","meta":{"commitHash":"badbad1"}},
 {"id":"d-backend-3","status":"SUCCESS","createdAt":"2026-01-01T12:00:00Z","meta":{"commitHash":"abc1234"}}]' >"$WORK/deps.json"
etp_ctl /_fault '{"mode":"none"}' >/dev/null
# deploy_failed reads its deployments from the stand-in
dry_deploy() { cp "$WORK/deps.json" "$RAILWAY_LOG.deployments"; }
rm -f "$RAILWAY_LOG"*
dry_deploy
(cd "$WORK" && "$TOCSIN" run deploy_failed --config "$WORK/tocsin.lua" --dry-run --yes) >"$WORK/out" 2>"$WORK/err" \
  || fail "deploy_failed --dry-run: $(cat "$WORK/out" "$WORK/err")"
grep -qF 'would shell: railway rollback --service backend --yes' "$WORK/out" "$WORK/err" || fail "deploy_failed: $(cat "$WORK/out")"
cut -f1 "$RAILWAY_LOG" | sort -u | grep -vx 'logs\|deployment' && fail "deploy_failed: $(cat "$RAILWAY_LOG")"
dry security_breach '{"mode":"security_breach","ip":"203.0.113.77","attempts":25}' \
  "would shell: $WORK/backup-db.sh" \
  'would shell: railway variables --service backend --set-from-stdin JWT_SECRET' \
  'would shell: railway variables --service backend --set-from-stdin DATABASE_PASSWORD' \
  'would shell: railway restart --service backend --yes' 'open P0 incident: Security Breach Suspected'
grep -q 'rollback' "$RAILWAY_LOG" && fail "security breach called rollback"
grep -q 'would shell: railway rollback' "$WORK/all.security_breach" && fail "security breach would roll back"
# the backup is listed before the rotation
b=$(grep -n 'backup-db.sh' "$WORK/all.security_breach" | head -1 | cut -d: -f1)
r=$(grep -n 'set-from-stdin JWT_SECRET' "$WORK/all.security_breach" | head -1 | cut -d: -f1)
[ "$b" -lt "$r" ] || fail "backup listed after the rotation"
echo ok
