# Helpers for tests that need the simulated ETP Express (examples/etp-express):
# start_etp_target [--set k=v]... starts it on ephemeral ports in $WORK,
# stopped at exit; sets ETP_BACKEND ETP_FRONTEND ETP_OPENAI ETP_CONTROL ETP_LOGS.
# Sourced after lib.bash.
start_etp_target() {
  local out="$WORK/etp-target.out"
  (cd "$WORK" && exec "$TOCSIN" run "$SRC/examples/etp-express/target.lua" --set port=0 \
    --set log_dir="$WORK/etp-logs" --set crash_seconds=0.5 "$@") >"$out" 2>&1 &
  _started+=($!)
  ETP_PID=$!
  local line=""
  for _ in $(seq 200); do
    kill -0 "$ETP_PID" 2>/dev/null || break
    line=$(grep -m1 '^etp-express ready ' "$out" 2>/dev/null) && [ -n "$line" ] && break
    sleep 0.05
  done
  [ -n "$line" ] || { cat "$out"; fail "the ETP Express target did not start"; }
  ETP_BACKEND=$(sed -n 's/.* backend=\([^ ]*\).*/\1/p' <<<"$line")
  ETP_FRONTEND=$(sed -n 's/.* frontend=\([^ ]*\).*/\1/p' <<<"$line")
  ETP_OPENAI=$(sed -n 's/.* openai=\([^ ]*\).*/\1/p' <<<"$line")
  ETP_CONTROL=$(sed -n 's/.* control=\([^ ]*\).*/\1/p' <<<"$line")
  ETP_LOGS="$WORK/etp-logs"
  export ETP_BACKEND ETP_FRONTEND ETP_OPENAI ETP_CONTROL ETP_LOGS
}
# etp_fault '{"mode":"..."}'
etp_fault() { curl -sf -X POST "$ETP_CONTROL/_fault" -H 'Content-Type: application/json' -d "$1" >/dev/null \
  || fail "injecting $1"; }
# etp_ctl PATH [JSON]: POST to the control API, body on stdout
etp_ctl() { curl -s -X POST "$ETP_CONTROL$1" -H 'Content-Type: application/json' -d "${2:-{\}}"; }
# http_status URL [CURL ARGS]: the status code alone
http_status() { local u=$1; shift; curl -s -o /dev/null -w '%{http_code}' "$@" "$u"; }
etp_login() {
  curl -s -X POST "$ETP_BACKEND/api/auth/login" -H 'Content-Type: application/json' \
    -d '{"email":"test@example.com","password":"senha123"}' | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p'
}
# etp_state 'EXPR': a Python expression over d = GET /_state, printed
etp_state() {
  curl -s "$ETP_CONTROL/_state" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}
