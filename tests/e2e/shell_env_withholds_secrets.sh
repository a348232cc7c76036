#!/usr/bin/env bash
# A shell child gets a base environment (PATH, HOME, LANG, LC_*, TZ, TERM, USER,
# LOGNAME, SHELL, TMPDIR), not every variable of tocsin's: DATABASE_URL and
# webhook URLs stay behind unless the runbook names them (env = {NAME = true})
# or asks for everything (inherit_env = true).
. "$SRC/tests/e2e/lib.bash"
export DATABASE_URL='postgres://app:pw-7f3a@db.internal/prod'
export SLACK_WEBHOOK_URL='https://hooks.slack.test/T000/B000/xyz'
export LC_TIME=C TZ=UTC
cat >"$WORK/env.lua" <<'LUA'
local function show(opts)
  opts = opts or {}
  local res = assert(shell.sh('printf "%s|%s|%s|%s|%s" "${DATABASE_URL-unset}" ' ..
    '"${SLACK_WEBHOOK_URL-unset}" "${PATH:+path}" "${LC_TIME-unset}" "${TZ-unset}"', opts))
  return res.stdout
end
local function eq(got, want, what)
  if got ~= want then error(what .. ": got " .. tostring(got) .. ", want " .. tostring(want), 2) end
end
eq(show(), "unset|unset|path|C|UTC", "default: secrets withheld, base passed")
eq(show{env = {DATABASE_URL = true}}, "postgres://app:pw-7f3a@db.internal/prod|unset|path|C|UTC",
   "named with true: passed through")
eq(show{env = {SLACK_WEBHOOK_URL = "given"}}, "unset|given|path|C|UTC", "named with a value")
eq(show{env = {LC_TIME = false, TZ = false}}, "unset|unset|path|unset|unset", "base names withheld")
eq(show{inherit_env = true}, "postgres://app:pw-7f3a@db.internal/prod|" ..
   "https://hooks.slack.test/T000/B000/xyz|path|C|UTC", "inherit_env: everything")
eq(show{inherit_env = true, env = {DATABASE_URL = false}},
   "unset|https://hooks.slack.test/T000/B000/xyz|path|C|UTC", "inherit_env minus one")
eq(show{env = {NOT_SET_ANYWHERE = true}}, "unset|unset|path|C|UTC", "true for a name we lack")
-- shell.run too (no shell in between)
eq(assert(shell.run{"env"}).stdout:find("DATABASE_URL", 1, true), nil, "shell.run default")
print("env ok")
LUA
expect_exit 0 "$TOCSIN" run "$WORK/env.lua"
grep -q 'env ok' "$WORK/out" || fail "$(cat "$WORK/out" "$WORK/err")"
echo "shell env ok"
