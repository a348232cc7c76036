#!/bin/bash
# platform/railway.lua against the recording stand-in (tests/fixtures/railway):
# the playbook's railway calls with the right arguments, the variable's value
# on stdin only (never in argv nor in Tocsin's output), failures as nil, err;
# and a dry run runs only the read-only calls (logs, deployment list) and
# lists the others as actions.
. "$SRC/tests/e2e/lib.bash"
export PATH="$SRC/tests/fixtures:$PATH" RAILWAY_LOG="$WORK/railway.log"
cat >"$WORK/tocsin.lua" <<LUA
return { lib_paths = { "$SRC/scripts/lib" } }
LUA
cat >"$WORK/rb.lua" <<'LUA'
local platform = require("platform")
return {
  name = "railway_adapter",
  params = platform.params { platform = "railway", new_secret = "" },
  run = function(ctx)
    local p = platform.get(ctx)
    assert(p.name == "railway")
    local text = assert(p.logs { service = "backend", lines = 50, since = "30m" })
    if not ctx.dry_run then assert(text:find("ECONNREFUSED", 1, true), text) end
    local st = assert(p.status("backend"))
    print(("status state=%s version=%s previous=%s"):format(st.state, st.version, tostring(st.previous_version)))
    assert(p.restart("backend"))
    assert(p.rollback("frontend"))
    assert(p.set_var("backend", "JWT_SECRET", ctx.params.new_secret))
    if not ctx.dry_run then
      local vars = assert(p.vars("backend"))
      assert(vars.JWT_SECRET == ctx.params.new_secret, "the value reached the CLI's stdin")
      local res = assert(p.run("backend", { "sh", "-c", 'test -n "$JWT_SECRET" && echo has-secret' }, { readonly = true }))
      assert(res.stdout == "has-secret\n", res.stdout)
      local q = assert(p.psql("backend", "SELECT 1; -- it's quoted", { readonly = true }))
      print("psql code " .. tostring(q.code))
      local b, berr = p.backup()
      assert(b == nil and berr.kind == "config", tostring(berr))
      local blocked, bl_err = p.block_ip("203.0.113.50")
      assert(blocked == nil and bl_err.kind == "unsupported")
    end
    print("adapter ok")
    return true
  end,
}
LUA
SECRET="s3cr3t-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
expect_exit 0 "$TOCSIN" run "$WORK/rb.lua" --config "$WORK/tocsin.lua" --set new_secret="$SECRET"
grep -q 'adapter ok' "$WORK/out" || fail "adapter run"
grep -q 'status state=running version=abc1234 previous=9f8e7d6' "$WORK/out" || fail "status: $(cat "$WORK/out")"
want=$(printf '%s\n' \
  "logs	--service	backend	--lines	50	--since	30m" \
  "deployment	list	--service	backend	--limit	10	--json" \
  "restart	--service	backend	--yes" \
  "rollback	--service	frontend	--yes" \
  "variables	--service	backend	--set-from-stdin	JWT_SECRET" \
  "stdin ${#SECRET} bytes" \
  "variables	--service	backend	--json" \
  "run	--service	backend	--	sh	-c	test -n \"\$JWT_SECRET\" && echo has-secret" \
  "run	--service	backend	--	sh	-c	exec psql \"\$DATABASE_URL\" -X -v ON_ERROR_STOP=1 -c \"\$1\"	psql	SELECT 1; -- it's quoted")
[ "$(cat "$RAILWAY_LOG")" = "$want" ] || { diff <(echo "$want") "$RAILWAY_LOG"; fail "railway calls differ"; }
grep -q -- "$SECRET" "$RAILWAY_LOG" && fail "the secret value was in railway's argv"

# a configured rollback command (the playbook's ./scripts/rollback.sh) replaces `railway rollback`
cat >"$WORK/rollback.sh" <<SH
#!/bin/sh
echo "rolling back \$TOCSIN_SERVICE (\$1)" >>"$RAILWAY_LOG.rollback"
echo "v1.4.1"
SH
chmod +x "$WORK/rollback.sh"
cat >"$WORK/rb2.lua" <<'LUA'
local platform = require("platform")
return { name = "rollback_cmd", params = platform.params { platform = "railway" },
  run = function(ctx)
    local ok, version = platform.get(ctx):rollback("backend")
    assert(ok == true and version == "v1.4.1", tostring(version))
    return true
  end }
LUA
: >"$RAILWAY_LOG"
expect_exit 0 "$TOCSIN" run "$WORK/rb2.lua" --config "$WORK/tocsin.lua" --set rollback_cmd="$WORK/rollback.sh {service}"
[ "$(cat "$RAILWAY_LOG.rollback" 2>/dev/null)" = "rolling back backend (backend)" ] || fail "rollback_cmd not run"
[ -s "$RAILWAY_LOG" ] && fail "railway called although rollback_cmd is set: $(cat "$RAILWAY_LOG")"

# a failing CLI call is nil, err (kind platform), not a raise
cat >"$WORK/rb3.lua" <<'LUA'
local platform = require("platform")
return { name = "restart_fails", params = platform.params { platform = "railway" },
  run = function(ctx)
    local ok, err = platform.get(ctx):restart("backend")
    assert(ok == nil and err.kind == "platform" and tostring(err):find("exited 1", 1, true), tostring(err))
    return true
  end }
LUA
echo restart >"$RAILWAY_LOG.fail"
expect_exit 0 "$TOCSIN" run "$WORK/rb3.lua" --config "$WORK/tocsin.lua"
rm "$RAILWAY_LOG.fail"

# dry run: only logs and the deployment list reach the CLI; the rest is listed
: >"$RAILWAY_LOG"
expect_exit 0 "$TOCSIN" run "$WORK/rb.lua" --config "$WORK/tocsin.lua" --set new_secret="$SECRET" --dry-run
want=$(printf '%s\n' "logs	--service	backend	--lines	50	--since	30m" \
  "deployment	list	--service	backend	--limit	10	--json")
[ "$(cat "$RAILWAY_LOG")" = "$want" ] || fail "dry run called: $(cat "$RAILWAY_LOG")"
for a in "railway restart --service backend --yes" "railway rollback --service frontend --yes" \
         "railway variables --service backend --set-from-stdin JWT_SECRET"; do
  grep -qF "would shell: $a" "$WORK/out" || fail "dry run does not list '$a': $(cat "$WORK/out")"
done
grep -q -- "$SECRET" "$WORK/out" "$WORK/err" && fail "the secret value was printed"
echo ok
