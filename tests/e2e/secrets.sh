#!/usr/bin/env bash
# A secret's value never appears in stdout, stderr or the --json stream:
# prints, logs, step titles, step errors, the final error and its traceback.
. "$SRC/tests/e2e/lib.bash"
export TOCSIN_TEST_SECRET='s3cr3t-"value"\with-quotes'
export PLAIN_SECRET='hunter2-token-abc'
cat >"$WORK/leak.lua" <<'LUA'
local s = secret("TOCSIN_TEST_SECRET")
local p = secret("PLAIN_SECRET")
assert(s and p, "secrets must be readable")
assert(secret("NOT_SET_ANYWHERE") == nil)
print("token is " .. s .. " and " .. p)
log.info("using token " .. p, { token = p, nested = { s } })
log.warn(p)
step("call with " .. p, function() return true end)
local ok = pcall(step, "fail with " .. p, function() error("server said " .. p) end)
assert(not ok)
error("giving up, token " .. p .. " " .. s)
LUA
cat >"$WORK/check_json.lua" <<'LUA'
local v = json.decode(env("JSON_LINE"))
assert(type(v) == "table" and v.event)
LUA
for mode in "" "--json"; do
  expect_exit 1 "$TOCSIN" run "$WORK/leak.lua" $mode
  cat "$WORK/out" "$WORK/err" >"$WORK/all"
  grep -q 'hunter2' "$WORK/all" && { cat "$WORK/all"; fail "plain secret leaked ($mode)"; }
  grep -q 's3cr3t' "$WORK/all" && { cat "$WORK/all"; fail "quoted secret leaked ($mode)"; }
  grep -q '\*\*\*' "$WORK/all" || fail "no redaction marker ($mode)"
  grep -q 'giving up' "$WORK/all" || fail "the error itself must still be shown ($mode)"
done
# The json stream stays valid JSON, one object per line (checked by our own json.decode).
while IFS= read -r line; do
  JSON_LINE="$line" "$TOCSIN" run "$WORK/check_json.lua" >/dev/null 2>&1 || fail "invalid JSON line: $line"
done <"$WORK/out"
# Runbook values shown by list and check are redacted too.
mkdir -p "$WORK/rb/runbooks"
cat >"$WORK/rb/runbooks/leaky.lua" <<'LUA'
return { title = "token " .. secret("PLAIN_SECRET"), sevrity = secret("PLAIN_SECRET"),
         run = function() end }
LUA
(cd "$WORK/rb" && "$TOCSIN" list >"$WORK/out" 2>"$WORK/err")
grep -q 'token \*\*\*' "$WORK/out" || fail "list: title not shown redacted: $(cat "$WORK/out")"
(cd "$WORK/rb" && "$TOCSIN" check >>"$WORK/out" 2>>"$WORK/err")
cat "$WORK/out" "$WORK/err" | grep -q hunter2 && fail "list/check leaked a secret"
echo "secrets ok"
