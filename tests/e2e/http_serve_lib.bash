# Helpers for the http_serve* e2e scripts (sourced after lib.bash).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# serve_start FILE [ENV...]: runs `tocsin run FILE` in the background (output
# in $WORK/run.out), waits for its "PORT n" line; sets SERVE_PID and PORT.
# SERVE_PRE, when set, is run in the subshell first (e.g. "ulimit -n 256").
serve_start() {
  local file=$1
  shift
  (eval "${SERVE_PRE:-:}"; exec env "$@" "$TOCSIN" run "$file" --yes) >"$WORK/run.out" 2>&1 &
  SERVE_PID=$!
  _started+=("$SERVE_PID")
  PORT=
  for _ in $(seq 200); do
    PORT=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$WORK/run.out" 2>/dev/null | head -1)
    [ -n "$PORT" ] && return 0
    kill -0 "$SERVE_PID" 2>/dev/null || break
    sleep 0.05
  done
  cat "$WORK/run.out"
  fail "the runbook did not print its port"
}

# serve_end [WANT_RC]: waits (at most 20 s) for the run to end; checks its
# exit status and that no sanitizer spoke.
serve_end() {
  local want=${1:-0} rc
  for _ in $(seq 400); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$SERVE_PID" 2>/dev/null && { cat "$WORK/run.out"; fail "the run did not end"; }
  wait "$SERVE_PID"
  rc=$?
  [ "$rc" = "$want" ] || { cat "$WORK/run.out"; fail "the run exited $rc, wanted $want"; }
  if grep -q "AddressSanitizer\|LeakSanitizer\|runtime error" "$WORK/run.out"; then
    cat "$WORK/run.out"
    fail "sanitizer report"
  fi
}
