# Shared helpers for e2e scripts (sourced, not a test itself: no .sh suffix match needed).
set -u
: "${TOCSIN:?}" "${SRC:?}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
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
