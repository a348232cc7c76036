# Shared helpers for e2e scripts (sourced, not a test itself: no .sh suffix match needed).
set -u
: "${TOCSIN:?}" "${SRC:?}"
WORK=$(mktemp -d)
_started=()
_cleanup() {
  local p
  for p in "${_started[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap _cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# start_testserver [ARGS...]: tests/testserver.py on a free loopback port,
# stopped at exit; sets TESTSERVER_PORT and exports TEST_HTTP.
start_testserver() {
  local py=/usr/bin/python3
  [ -x "$py" ] || py=python3
  rm -f "$WORK/testserver.port"
  "$py" "$SRC/tests/testserver.py" --port-file "$WORK/testserver.port" "$@" >"$WORK/testserver.log" 2>&1 &
  _started+=($!)
  for _ in $(seq 100); do [ -s "$WORK/testserver.port" ] && break; sleep 0.05; done
  [ -s "$WORK/testserver.port" ] || { cat "$WORK/testserver.log"; fail "test server did not start"; }
  TESTSERVER_PORT=$(cat "$WORK/testserver.port")
  export TEST_HTTP="http://127.0.0.1:$TESTSERVER_PORT"
}
# expect_exit CODE CMD... : runs CMD, captures stdout/stderr in $WORK/out $WORK/err
expect_exit() {
  local want=$1; shift
  "$@" >"$WORK/out" 2>"$WORK/err"
  local got=$?
  if [ "$got" != "$want" ]; then
    echo "--- stdout"; cat "$WORK/out"; echo "--- stderr"; cat "$WORK/err"
    fail "'$*' exited $got, wanted $want"
  fi
}
# free_port: prints a free loopback TCP port.
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# start_daemon: `tocsin daemon` in the current folder (its tocsin.lua listens
# on $port), stdout in daemon.out and the JSON log in daemon.log, stopped at
# exit; sets pid and base and waits until /healthz answers.
start_daemon() {
  "$TOCSIN" daemon "$@" >daemon.out 2>daemon.log &
  pid=$!
  _started+=($pid)
  base="http://127.0.0.1:$port"
  for _ in $(seq 200); do curl -s "$base/healthz" >/dev/null && break; sleep 0.05; done
  curl -s "$base/healthz" >/dev/null || fail "the daemon did not start: $(cat daemon.log)"
}
