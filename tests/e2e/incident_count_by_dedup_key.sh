#!/usr/bin/env bash
# incident.count{dedup_key=, since=}: how many incidents with a key were
# opened since a time, resolved ones included, the one just opened included
# (the read is ordered after the writes before it); other keys and older
# incidents are not counted; a dry run reads too; bad arguments raise.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
cat >hit.lua <<'LUA'
return { name = "hit", severity = "P2", params = { key = "rl", since = 0.0, resolve = true }, run = function(ctx)
  if not ctx.dry_run then
    local inc = assert(incident.open{ title = "Rate limit", dedup_key = ctx.params.key })
    if ctx.params.resolve then assert(inc:resolve("reset")) end
  end
  print("count", assert(incident.count{ dedup_key = "rl", since = ctx.params.since }))
  return true
end }
LUA
expect_exit 0 "$TOCSIN" run hit.lua
grep -qx 'count	1' out || fail "first: $(cat out err)"
expect_exit 0 "$TOCSIN" run hit.lua
expect_exit 0 "$TOCSIN" run hit.lua --set resolve=false
grep -qx 'count	3' out || fail "third (open, not resolved): $(cat out err)"
# the open one is reused: no new incident, the count stays
expect_exit 0 "$TOCSIN" run hit.lua
grep -qx 'count	3' out || fail "reused counted twice: $(cat out err)"
expect_exit 0 "$TOCSIN" run hit.lua --set key=other
grep -qx 'count	3' out || fail "another key counted: $(cat out err)"
sleep 1.1; T=$(date +%s); sleep 1.1
expect_exit 0 "$TOCSIN" run hit.lua --set key=other --set since="$T"
grep -qx 'count	0' out || fail "older incidents counted: $(cat out err)"
expect_exit 0 "$TOCSIN" run hit.lua --dry-run
grep -qx 'count	3' out || fail "dry run: $(cat out err)"
cat >bad.lua <<'LUA'
local ok, err = pcall(incident.count, { since = 1 })
assert(not ok and err:find("dedup_key is required"), err)
ok, err = pcall(incident.count, { dedup_key = "x", since = "yesterday" })
assert(not ok and err:find("since must be a number"), err)
print("bad ok")
LUA
expect_exit 0 "$TOCSIN" run bad.lua
grep -q 'bad ok' out || fail "bad args: $(cat out err)"
echo ok
