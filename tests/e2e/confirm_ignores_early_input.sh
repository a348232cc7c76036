#!/usr/bin/env bash
# confirm() takes only an answer typed after its question: a late "y" to a
# question that timed out must not approve the next one (a real pty from
# script(1); the late "y\n" sits in the terminal's queue until the second
# question is asked).
. "$SRC/tests/e2e/lib.bash"
command -v script >/dev/null || { echo "script(1) missing: skipped"; exit 0; }
cat >"$WORK/late.lua" <<'LUA'
local a = confirm("Restart the backend?", { timeout = 0.3 })
time.sleep(2.5) -- the operator types "y" at ~1.5 s, after the timeout
local b = confirm("DROP and restore the production database?", { timeout = 3 })
print("answers:", a, b)
LUA
(sleep 1.5; printf 'y\n'; sleep 7) |
  script -qec "$TOCSIN run $WORK/late.lua" /dev/null >"$WORK/tty.out" 2>&1
grep -q 'DROP and restore the production database? \[y/N\]' "$WORK/tty.out" ||
  fail "second question not asked: $(cat "$WORK/tty.out")"
grep -q 'answers:	false	false' "$WORK/tty.out" || fail "late input answered: $(cat "$WORK/tty.out")"

# Control: "y" typed while the second question is up (asked at ~2.8 s,
# open until ~5.8 s) does answer it.
(sleep 4.2; printf 'y\n'; sleep 4) |
  script -qec "$TOCSIN run $WORK/late.lua" /dev/null >"$WORK/tty2.out" 2>&1
grep -q 'answers:	false	true' "$WORK/tty2.out" || fail "control: $(cat "$WORK/tty2.out")"
echo "confirm early input ok"
