#!/usr/bin/env bash
# After SIGHUP the incident clock fires with the new config: the old one is
# freed by the reload (no run held it), and the clock read its template
# folders through it (a use after free; the ASan build aborts).  A P1 opened
# and resolved after the reload tells the stakeholders with the new
# config's incident-resolved template, and its post-mortem draft is written.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
mkdir -p runbooks tpl_old tpl_new
port=$(free_port)
echo 'OLD TEMPLATE {{title}}' >tpl_old/incident-resolved.md
echo 'NEW TEMPLATE {{title}}' >tpl_new/incident-resolved.md
config() {
  cat >tocsin.lua <<LUA
return { listen = "127.0.0.1:$port", api_token = "t0k", runbooks = { "runbooks" },
  templates = { "$1", "$SRC/scripts/templates" },
  channels = { po = { kind = "file", path = "po.jsonl" } }, contacts = { product_owner = { "po" } } }
LUA
}
config tpl_old
cat >runbooks/opener.lua <<'LUA'
return { name = "opener", run = function()
  local inc = assert(incident.open { title = "Banco fora", severity = "P1" })
  assert(inc:resolve("pool aumentado"))
end }
LUA
start_daemon
config tpl_new
kill -HUP $pid
for _ in $(seq 100); do grep -q '"config reloaded"' daemon.log && break; sleep 0.05; done
grep -q '"config reloaded"' daemon.log || fail "no reload: $(cat daemon.log)"
curl -s -o body -X POST -H "Authorization: Bearer t0k" -d '{"runbook":"opener"}' "$base/runs" ||
  fail "POST /runs: $(cat daemon.log)"
for _ in $(seq 200); do [ -s .tocsin/postmortems/INC-1.md ] && grep -q TEMPLATE po.jsonl 2>/dev/null && break; sleep 0.05; done
kill -0 $pid 2>/dev/null || fail "the daemon died: $(cat daemon.log)"
grep -q 'NEW TEMPLATE Banco fora' po.jsonl || fail "the resolution was not told with the new template: $(cat po.jsonl 2>&1)"
[ -s .tocsin/postmortems/INC-1.md ] || fail "no post-mortem draft: $(cat daemon.log)"
kill -TERM $pid
wait $pid || fail "the daemon exited $?: $(cat daemon.log)"
echo "sighup clock ok"
