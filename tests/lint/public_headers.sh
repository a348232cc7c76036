#!/usr/bin/env bash
# Each public header compiles alone, with only include/ and its dependencies'
# own headers on the path (nothing from src/): an embedder's view.
set -u
: "${SRC:?}" "${CC:=cc}"
flags=$(pkg-config --cflags lua5.4 libuv)
rc=0
for h in "$SRC"/include/tocsin/*.h; do
  name=tocsin/$(basename "$h")
  if ! printf '#include <%s>\n#include <%s>\nint main(void) { return 0; }\n' "$name" "$name" |
       "$CC" -std=c11 -Wall -Wextra -Werror -fsyntax-only -I"$SRC/include" $flags -x c -; then
    echo "FAIL: $name does not compile alone"
    rc=1
  else
    echo "ok: $name"
  fi
done
# The public API uses one prefix: every function it declares starts with tn_.
bad=$(grep -hoE '^[a-z_][a-z0-9_ *]*\b([a-z_][a-z0-9_]*)\(' "$SRC"/include/tocsin/*.h |
      sed -E 's/.*\b([a-z_][a-z0-9_]*)\($/\1/' | grep -v '^tn_' || true)
if [ -n "$bad" ]; then
  echo "FAIL: public functions without the tn_ prefix: $bad"
  rc=1
fi
exit $rc
