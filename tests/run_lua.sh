#!/usr/bin/env bash
# Runs one tests/lua/*.lua file through the real binary: `tocsin run FILE`.
# Starts the loopback test HTTP server (tests/testserver.py) first and exports
# TEST_HTTP=http://127.0.0.1:PORT; sources $BUILD/pg.env for pg_* tests.
# The test passes when the runbook exits 0 (it uses assert to check).
set -u
file=$1
: "${TOCSIN:?}" "${SRC:?}" "${BUILD:?}"
. "$SRC/tests/e2e/lib.bash"
start_testserver
[ -f "$BUILD/pg.env" ] && . "$BUILD/pg.env"
cd "$SRC/tests/lua" || exit 1
"$TOCSIN" run "$file" --yes
