#!/usr/bin/env bash
# The config's severity table is checked when the config loads: each bad
# value is refused (exit 2) with a message naming severity.P?.field, and a
# good table changes the SLA the clock schedules (tocsin incident shows it).
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
bad() {
  printf 'return { severity = %s }\n' "$1" >tocsin.lua
  expect_exit 2 "$TOCSIN" incidents
  grep -q -- "$2" err || fail "severity = $1: $(cat err)"
}
bad '{ P1 = { update = 0.001 } }' 'severity.P1.update must be at least 1 s'
bad '{ P1 = { respond = "soon" } }' 'severity.P1.respond must be a duration'
bad '{ P1 = { respond = -5 } }' 'severity.P1.respond must be a duration'
bad '{ P1 = { respond = 0/0 } }' 'severity.P1.respond must be a duration'
bad '{ P1 = { respond = math.huge } }' 'severity.P1.respond must be a duration'
bad '{ P9 = { respond = "1m" } }' "severity has a key 'P9'"
bad '{ P1 = { respnd = "1m" } }' "severity.P1 has a field 'respnd'"
bad '{ P1 = "1m" }' 'severity.P1 must be a table'
bad '"fast"' "'severity' must be a table"
# A good one: P2 respond = 2h gives the escalations at 4h and 8h.
cat >tocsin.lua <<'LUA'
return { severity = { P2 = { respond = "2h" } } }
LUA
echo 'return { name = "o", run = function() assert(incident.open { title = "x", severity = "P2" }) end }' >o.lua
expect_exit 0 "$TOCSIN" run o.lua
expect_exit 0 "$TOCSIN" incident INC-1 --json
/usr/bin/python3 - <<'PY' || fail "deadlines: $(cat out)"
import json
recs = [json.loads(l) for l in open("out")]
inc = recs[0]
d = {(r["kind"], r["role"]): round(r["due"] - inc["opened"]) for r in recs if r["record"] == "deadline"}
assert d == {("reminder", "first_responder"): 7200, ("escalated", "escalation_engineer"): 14400,
             ("escalated", "incident_commander"): 28800}, d
PY
echo "severity checked ok"
