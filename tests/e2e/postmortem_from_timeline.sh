#!/usr/bin/env bash
# `tocsin postmortem ID`: the playbook's post-mortem structure filled from the
# incident and its real timeline (timestamps from the store), failed steps as
# what went wrong and action items, the resolution summary, and never a secret.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
export PG_PASSWORD=Zx9-very-secret-pw
printf 'return { templates = { "%s/scripts/templates" } }\n' "$SRC" >tocsin.lua
cat >db_down.lua <<'LUA'
return { name = "database_down", severity = "P0", run = function()
  local inc = assert(incident.open{ title = "Database Down", summary = "GET /api/health answered 503" })
  step("Check health endpoint", function() return nil, "HTTP 503" end)
  assert(inc:note("tried the password " .. secret("PG_PASSWORD")))
  step("Restart service", function() return true end)
  assert(inc:mitigate("backend restarted"))
end }
LUA
expect_exit 0 "$TOCSIN" run db_down.lua
expect_exit 0 "$TOCSIN" resolve INC-1 --summary "connection pool raised to 50"
# A P0 that resolves gets its draft at once, beside the state store.
grep -q 'post-mortem draft: .*\.tocsin/postmortems/INC-1.md' out || fail "no draft announced: $(cat out)"
grep -q '^# Post-Mortem: Database Down' .tocsin/postmortems/INC-1.md || fail "draft: $(cat .tocsin/postmortems/INC-1.md)"
expect_exit 0 "$TOCSIN" postmortem INC-1
pm=$(cat out)
# The Resolution section is the resolve summary, not the clock's notice of it.
res=$(awk '/^## Resolution/ {getline; getline; print; exit}' out)
[ "$res" = "connection pool raised to 50" ] || fail "Resolution section: '$res'"
for want in '# Post-Mortem: Database Down' '**Severity:** P0' '## Timeline' '## Impact' \
  '## Root Cause' '## Resolution' '## What Went Well' '## What Went Wrong' '## Action Items' \
  '] step: ✗ Check health endpoint: HTTP 503' 'mitigated: backend restarted' \
  'connection pool raised to 50' '- Restart service' '- Check health endpoint: HTTP 503' \
  '- [ ] Investigar e prevenir: Check health endpoint'; do
  grep -qF -- "$want" out || fail "post-mortem lacks '$want':
$pm"
done
# The timeline's times are the stored ones.
expect_exit 0 "$TOCSIN" incident INC-1 --json
ts=$(/usr/bin/python3 -c '
import json, sys, time
recs = [json.loads(l) for l in open(sys.argv[1])]
opened = [r for r in recs if r.get("kind") == "opened"][0]
print(time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(int(opened["ts"]))))' out)
grep -qF "[$ts] opened" <<<"$pm" || fail "timeline time $ts not in the post-mortem:
$pm"
grep -q 'Zx9-very-secret' <<<"$pm" && fail "a secret in the post-mortem"
grep -q 'password \*\*\*' <<<"$pm" || fail "the redacted note is missing"
expect_exit 3 "$TOCSIN" postmortem INC-42
# A P3 needs none: no draft when it resolves.
cat >minor.lua <<'LUA'
return { run = function() assert(incident.open{ title = "Slow report", severity = "P3" }) end }
LUA
expect_exit 0 "$TOCSIN" run minor.lua
expect_exit 0 "$TOCSIN" resolve INC-2
[ -e .tocsin/postmortems/INC-2.md ] && fail "a P3 got a post-mortem draft"
# A P2 that recurs more than twice in 30 days is flagged, and gets its draft.
cat >p2.lua <<'LUA'
return { run = function()
  local inc = assert(incident.open{ title = "Rate limit hit", severity = "P2", dedup_key = "openai-429" })
  print("opened " .. inc.id)
end }
LUA
for n in 3 4 5; do
  expect_exit 0 "$TOCSIN" run p2.lua
  grep -q "opened INC-$n" out || fail "P2 open: $(cat out)"
  expect_exit 0 "$TOCSIN" resolve "INC-$n"
done
[ -e .tocsin/postmortems/INC-4.md ] && fail "a P2 seen twice got a draft"
grep -q '^# Post-Mortem: Rate limit hit' .tocsin/postmortems/INC-5.md || fail "recurring P2: no draft"
expect_exit 0 "$TOCSIN" incident INC-5
grep -q 'flagged .*P2 recurring: opened 3 times in 30 days' out || fail "no flag: $(cat out)"
echo "postmortem ok"
