#!/usr/bin/env bash
# secret(name, value) marks a value the runbook made itself (a rotated key):
# it is *** in print, logs, step errors, the --json transcript, the state
# store and notifications, and returned unchanged to the runbook.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
cat >tocsin.lua <<'LUA'
return { channels = { out = { kind = "file", path = "notes.jsonl" } } }
LUA
cat >rotate.lua <<'LUA'
return { name = "rotate", run = function()
  local raw = "k3y-" .. string.format("%08x%08x", math.random(0, 0x7fffffff), math.random(0, 0x7fffffff))
  local key = secret("NEW_JWT_SECRET", raw)
  assert(key == raw, "the value comes back unchanged")
  print("new key " .. key)
  log.info("rotated", { key = key })
  assert(notify("out", "rotated to " .. key))
  step("uses it", function() return nil, "refused " .. key end)
  io_key = key -- luacheck: ignore
  print("LEN " .. #key)
end }
LUA
"$TOCSIN" run rotate.lua --json >out.json 2>&1 || true
"$TOCSIN" run rotate.lua >out.txt 2>&1 || true
grep -q '"LEN 20"\|LEN 20' out.txt || fail "the runbook did not get the value: $(cat out.txt)"
grep -q 'new key \*\*\*' out.txt || fail "print: $(cat out.txt)"
grep -q 'k3y-' out.txt out.json notes.jsonl && fail "the generated key leaked: $(grep -h k3y- out.txt out.json notes.jsonl)"
grep -qa 'k3y-' .tocsin/state.db* && fail "the generated key reached the state store"
grep -q 'rotated to \*\*\*' notes.jsonl || fail "notification: $(cat notes.jsonl)"
echo "secret marks generated ok"
