#!/usr/bin/env bash
# confirm(): --yes answers yes; without a terminal the default is taken; on a
# terminal (a real pty from script(1)) the operator's answer is read.
. "$SRC/tests/e2e/lib.bash"
cat >"$WORK/ask.lua" <<'LUA'
local a = confirm("Restart the backend?")
local b = confirm("Roll back?", { default = true })
print("answers:", a, b)
LUA
expect_exit 0 "$TOCSIN" run "$WORK/ask.lua" --yes </dev/null
grep -q 'answers:	true	true' "$WORK/out" || fail "--yes: $(cat "$WORK/out")"
expect_exit 0 "$TOCSIN" run "$WORK/ask.lua" </dev/null
grep -q 'answers:	false	true' "$WORK/out" || fail "no terminal: $(cat "$WORK/out")"
grep -q 'pass --yes' "$WORK/err" || fail "no terminal: the default should be explained"

command -v script >/dev/null || { echo "script(1) missing: pty part skipped"; exit 0; }
# On a pty: answer "y" to the first question, "n" to the second.
(sleep 1; printf 'y\n'; sleep 0.5; printf 'n\n') |
  script -qec "$TOCSIN run $WORK/ask.lua" /dev/null >"$WORK/tty.out" 2>&1
grep -q 'Restart the backend? \[y/N\]' "$WORK/tty.out" || fail "pty prompt: $(cat "$WORK/tty.out")"
grep -q 'answers:	true	false' "$WORK/tty.out" || fail "pty answers: $(cat "$WORK/tty.out")"

# a timeout takes the default
cat >"$WORK/ask_timeout.lua" <<'LUA'
print("answer:", confirm("Proceed?", { default = true, timeout = 0.3 }))
LUA
(sleep 3) | script -qec "$TOCSIN run $WORK/ask_timeout.lua" /dev/null >"$WORK/tty2.out" 2>&1
grep -q 'answer:	true' "$WORK/tty2.out" || fail "pty timeout: $(cat "$WORK/tty2.out")"
echo "confirm ok"
