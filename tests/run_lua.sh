#!/usr/bin/env bash
# Runs one tests/lua/*.lua file through the real binary: `tocsin run FILE`.
# Starts the loopback test HTTP server (tests/testserver.py) first and exports
# TEST_HTTP=http://127.0.0.1:PORT; sources $BUILD/pg.env for pg_* tests.
# The test passes when the runbook exits 0 (it uses assert to check).
set -u
file=$1
: "${TOCSIN:?}" "${SRC:?}" "${BUILD:?}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
pid=
portfile=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  wait 2>/dev/null
  [ -n "$portfile" ] && rm -f "$portfile" "$portfile.log"
}
trap cleanup EXIT
if [ -f "$SRC/tests/testserver.py" ]; then
  portfile=$(mktemp)
  "$PY" "$SRC/tests/testserver.py" --port-file "$portfile" >"$portfile.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do [ -s "$portfile" ] && break; sleep 0.05; done
  [ -s "$portfile" ] || { echo "test server did not start"; cat "$portfile.log"; exit 1; }
  export TEST_HTTP="http://127.0.0.1:$(cat "$portfile")"
fi
[ -f "$BUILD/pg.env" ] && . "$BUILD/pg.env"
cd "$SRC/tests/lua" || exit 1
"$TOCSIN" run "$file" --yes
