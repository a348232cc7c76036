#!/usr/bin/env bash
# A secret stays redacted in command lines the shell module reshapes: dry-run
# actions and error messages quote arguments (a ' becomes '\'') and cut long
# labels, which used to print the secret whole or in part.
. "$SRC/tests/e2e/lib.bash"
export QUOTED_SECRET="Zq9'xW4vK7pL2mN8rT5y"
cat >"$WORK/leak.lua" <<'LUA'
local s = secret("QUOTED_SECRET")
assert(s)
shell.run{"echo", s}                                        -- quoted in the action
shell.run{"echo", string.rep("a", 185), s}                  -- cut in the middle of it
shell.run{"echo", "--token=" .. s, cwd = "/tmp/" .. s}      -- inside an argument, in cwd
LUA
cat >"$WORK/err.lua" <<'LUA'
local s = secret("QUOTED_SECRET")
local _, err = shell.sh("sleep 5 # " .. s, { timeout = 0.2, grace = 0.1 })
print("timeout:", err.kind, err.message)
_, err = shell.run{"echo", string.rep("b", 185), s, "/nonexistent/" .. s, cwd = "/nonexistent/" .. s}
print("spawn:", err.kind, err.message)
_, err = shell.sh("sleep 5 # " .. string.rep("c", 158) .. s, { timeout = 0.2, grace = 0.1 })
print("cut:", err.kind, err.message)
LUA
# no_leak FILE: no 8 consecutive characters of the secret appear in FILE.
no_leak() {
  local i sub
  for ((i = 0; i + 8 <= ${#QUOTED_SECRET}; i++)); do
    sub=${QUOTED_SECRET:i:8}
    grep -qF -- "$sub" "$1" && { cat "$1"; fail "secret part '$sub' leaked ($2)"; }
  done
  return 0
}
expect_exit 0 "$TOCSIN" run "$WORK/leak.lua" --dry-run
cat "$WORK/out" "$WORK/err" >"$WORK/all"
grep -q 'echo' "$WORK/all" || { cat "$WORK/all"; fail "dry run printed no action"; }
no_leak "$WORK/all" "dry run"
expect_exit 0 "$TOCSIN" run "$WORK/leak.lua" --dry-run --json
no_leak "$WORK/out" "dry run --json"
expect_exit 0 "$TOCSIN" run "$WORK/err.lua"
cat "$WORK/out" "$WORK/err" >"$WORK/all"
grep -q 'timeout:	timeout' "$WORK/all" || { cat "$WORK/all"; fail "no timeout error"; }
grep -q 'spawn:	spawn' "$WORK/all" || { cat "$WORK/all"; fail "no spawn error"; }
grep -q 'cut:	timeout' "$WORK/all" || { cat "$WORK/all"; fail "no second timeout error"; }
no_leak "$WORK/all" "errors"
echo "shell secret redaction ok"
