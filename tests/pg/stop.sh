#!/usr/bin/env bash
# Test fixture: stops the PostgreSQL started by start.sh (by its data
# directory, never by process name) and removes its temporary directory.
set -u
: "${BUILD:?BUILD must name the build directory}"
[ -f "$BUILD/pg.env" ] || exit 0
. "$BUILD/pg.env"
if [ -n "${PGTEST_DIR:-}" ] && [ -d "$PGTEST_DIR/data" ]; then
  $PGTEST_CTL stop -m fast >/dev/null 2>&1 || $PGTEST_CTL stop -m immediate >/dev/null 2>&1
fi
case "${PGTEST_DIR:-}" in
  /tmp/tocsin-pg.*) rm -rf "$PGTEST_DIR" ;;
esac
rm -f "$BUILD/pg.env"
