#!/bin/bash
# platform/local.lua against the simulated ETP Express: status and logs (from
# the log files and from the control API) show an injected fault, restart and
# rollback act on the target, set_var and vars, run with the service's
# variables, backup/restore, block_ip, the configurable rollback and backup
# commands; a dry run reads (status, logs) and changes nothing on the target.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/etp_target_lib.bash"
start_etp_target
cat >"$WORK/tocsin.lua" <<LUA
return { lib_paths = { "$SRC/scripts/lib" } }
LUA
cat >"$WORK/rb.lua" <<'LUA'
local platform = require("platform")
return {
  name = "local_adapter",
  params = platform.params { platform = "local", first = true },
  run = function(ctx)
    local p = platform.get(ctx)
    assert(p.name == "local")
    -- database down: status and logs show it (the playbook's grep)
    local st = assert(p.status("postgres"))
    assert(st.state == "crashed", "postgres state " .. tostring(st.state))
    time.sleep(0.3) -- the log writer appends within ~50 ms
    local text = assert(p.logs { service = "backend", lines = 100 })
    local n = 0
    for line in text:gmatch("[^\n]+") do
      if line:lower():find("database") or line:lower():find("connection") then
        if line:find("ECONNREFUSED", 1, true) then n = n + 1 end
      end
    end
    assert(n >= 1, "no ECONNREFUSED in the logs:\n" .. text)
    local recent = assert(p.logs { service = "backend", since = 60 })
    assert(recent:find("ECONNREFUSED", 1, true), "since=60 lost the recent lines")
    local none = assert(p.logs { service = "backend", since = "0s" })
    assert(not none:find("ECONNREFUSED", 1, true), "since=0s kept old lines: " .. none)
    if ctx.dry_run then
      assert(p.restart("postgres"))
      assert(p.rollback("backend"))
      assert(p.set_var("backend", "JWT_SECRET", "dry-run-secret-value"))
      print("dry adapter ok")
      return true
    end
    assert(p.restart("postgres"))
    assert(assert(p.status("postgres")).state == "running")
    local be = assert(p.status("backend"))
    if ctx.params.first then
      assert(be.version == "v1.4.2" and be.previous_version == "v1.4.1" and be.memory_limit_mb == 512, be.version)
    end
    assert(be.memory_percent > 0 and be.memory_percent < 50)
    -- rollback returns the version it went back to
    local ok, version = p.rollback("backend")
    assert(ok == true and version == "v1.4.1", tostring(version))
    local deps = assert(p.deployments("backend"))
    assert(deps[1].version == "v1.4.1" and deps[1].status == "SUCCESS")
    -- variables: applied at the next restart; run sees them in its environment
    assert(p.set_var("backend", "OPENAI_API_KEY", "sk-rotated-by-test"))
    assert(p.restart("backend"))
    assert(assert(p.vars("backend")).OPENAI_API_KEY == "sk-rotated-by-test")
    local res = assert(p.run("backend", { "sh", "-c", 'echo "key=$OPENAI_API_KEY"' }))
    assert(res.stdout == "key=sk-rotated-by-test\n", res.stdout)
    -- backup and restore through the target
    local path = assert(p.backup())
    assert(path:match("^memory:etp_backup_%d+$"), path)
    local list = assert(p.backups())
    assert(list[1].path == path and list[#list].path == "memory:etp_backup_1", json.encode(list))
    assert(p.restore(path))
    local bad, berr = p.restore("memory:etp_backup_999")
    assert(bad == nil and berr.kind == "platform", tostring(berr))
    assert(p.block_ip("198.51.100.7"))
    local s = assert(http.get(ctx.params.target_control .. "/_state")):json()
    assert(s.blocked[1] == "198.51.100.7")
    -- an unknown service is nil, err
    local u, uerr = p.status("nosuch")
    assert(u == nil and uerr.kind == "platform")
    print("adapter ok")
    return true
  end,
}
LUA
RUN=("$TOCSIN" run "$WORK/rb.lua" --config "$WORK/tocsin.lua" --set target_control="$ETP_CONTROL")
etp_fault '{"mode":"database_down"}'
# dry run first: the reads work, nothing changes on the target
expect_exit 0 "${RUN[@]}" --set log_dir="$ETP_LOGS" --dry-run
grep -q 'dry adapter ok' "$WORK/out" || fail "dry run"
grep -qF "would http: POST $ETP_CONTROL/_restart" "$WORK/out" || fail "restart not listed: $(cat "$WORK/out")"
grep -q 'dry-run-secret-value' "$WORK/out" "$WORK/err" && fail "a variable's value was printed"
[ "$(etp_state 'd["services"]["postgres"]["state"]')" = crashed ] || fail "the dry run restarted postgres"
[ "$(etp_state 'd["services"]["postgres"]["restarts"]')" = 0 ] || fail "the dry run restarted postgres"
# for real, logs from the files
expect_exit 0 "${RUN[@]}" --set log_dir="$ETP_LOGS"
grep -q 'adapter ok' "$WORK/out" || fail "adapter run: $(cat "$WORK/out" "$WORK/err")"
# logs through the control API (no log_dir)
etp_fault '{"mode":"database_down"}'
expect_exit 0 "${RUN[@]}" --set first=false
grep -q 'adapter ok' "$WORK/out" || fail "adapter run without log_dir"

# configured commands replace the target's own rollback and backup
cat >"$WORK/rollback.sh" <<SH
#!/bin/sh
echo "rollback \$TOCSIN_SERVICE" >>"$WORK/cmds.log"
echo "v0.9.9"
SH
cat >"$WORK/backup-db.sh" <<SH
#!/bin/sh
echo "backup" >>"$WORK/cmds.log"
echo "dumping..."
echo "$WORK/backup-1.sql"
SH
chmod +x "$WORK/rollback.sh" "$WORK/backup-db.sh"
cat >"$WORK/rb2.lua" <<'LUA'
local platform = require("platform")
return { name = "local_cmds", params = platform.params { platform = "local" },
  run = function(ctx)
    local p = platform.get(ctx)
    local ok, v = p.rollback("frontend")
    assert(ok == true and v == "v0.9.9", tostring(v))
    local path = assert(p.backup())
    print("backup at " .. path)
    return true
  end }
LUA
expect_exit 0 "$TOCSIN" run "$WORK/rb2.lua" --config "$WORK/tocsin.lua" --set target_control="$ETP_CONTROL" \
  --set rollback_cmd="$WORK/rollback.sh" --set backup_cmd="$WORK/backup-db.sh"
grep -qF "backup at $WORK/backup-1.sql" "$WORK/out" || fail "backup path: $(cat "$WORK/out")"
[ "$(cat "$WORK/cmds.log")" = "$(printf 'rollback frontend\nbackup')" ] || fail "commands: $(cat "$WORK/cmds.log")"
[ "$(etp_state 'd["services"]["frontend"]["version"]')" = v2.3.0 ] || fail "the target rolled back too"
echo ok
