#!/usr/bin/env bash
# Incidents in the state store: incident.open (reused by dedup_key), the
# status machine (forward only; an illegal move is err.kind "state"), the
# timeline (status changes with who, notes, the steps of every run attached),
# the CLI (incidents, incident, ack, resolve, note), dry runs that change
# nothing, and secrets kept out of the timeline.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
export PG_PASSWORD=Zx9-very-secret-pw
cat >db_down.lua <<'LUA'
return { name = "database_down", severity = "P0", run = function(ctx)
  local inc = assert(incident.open{ title = "Database Down", dedup_key = "db-down",
                                    summary = "GET /api/health answered 503" })
  print("inc", inc.id, inc.status, inc.severity, inc.reused)
  step("Check health endpoint", function() return nil, "HTTP 503" end)
  assert(inc:note("password tried: " .. secret("PG_PASSWORD")))
  if not inc.reused then
    assert(inc:ack("oncall-alice"))
    local ok, err = inc:ack("bob")
    assert(ok == nil and err.kind == "state", tostring(err))
    print("illegal:", err.message)
  end
  step("Restart service", function() return true end)
  return true
end }
LUA
expect_exit 0 "$TOCSIN" run db_down.lua
grep -q 'inc	INC-1	triggered	P0	false' out || fail "open: $(cat out)"
grep -q 'illegal:	INC-1 is acknowledged: it cannot become acknowledged' out || fail "illegal move: $(cat out)"
expect_exit 0 "$TOCSIN" run db_down.lua
grep -q 'inc	INC-1	acknowledged	P0	true' out || fail "reuse by dedup_key: $(cat out)"

expect_exit 0 "$TOCSIN" incidents
grep -q 'INC-1 *P0 *acknowledged .*Database Down' out || fail "incidents: $(cat out)"
expect_exit 0 "$TOCSIN" note INC-1 "DBA on the call"
expect_exit 0 "$TOCSIN" incident INC-1 --json
/usr/bin/python3 - out <<'PY' || fail "timeline: $(cat out)"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
inc = recs[0]
tl = [r for r in recs[1:] if r["record"] == "timeline" and r["actor"] != "tocsin clock"]
clock = [r["text"] for r in recs if r["record"] == "timeline" and r["actor"] == "tocsin clock"]
# With no contacts, every role is the console; a P0 pages the commander at once.
assert "opened → first_responder: console ok" in clock, clock
assert "opened → incident_commander: console ok" in clock, clock
# Acknowledged: the reminder is gone; escalations and status updates remain.
pending = sorted(r["kind"] for r in recs if r["record"] == "deadline")
assert pending == ["escalated", "escalated", "status_update"], pending
assert inc["record"] == "incident" and inc["id"] == "INC-1" and inc["status"] == "acknowledged", inc
got = [(t["kind"], t["text"], t["actor"]) for t in tl]
kinds = [k for k, _, _ in got]
assert kinds == ["opened", "step", "note", "acknowledged", "step", "joined", "step", "note",
                 "step", "note"], kinds
assert got[1][1] == "✗ Check health endpoint: HTTP 503", got[1]
assert got[2][1] == "password tried: ***", got[2]
assert got[3][2] == "oncall-alice", got[3]
assert got[-1] == ("note", "DBA on the call", got[-1][2]) and got[-1][2], got[-1]
PY
if grep -q 'Zx9-very-secret' .tocsin/state.db*; then fail "a secret reached the timeline"; fi

expect_exit 0 "$TOCSIN" resolve INC-1 --summary "connection pool raised" --by carol
grep -q 'INC-1 resolved' out || fail "resolve: $(cat out)"
expect_exit 1 "$TOCSIN" ack INC-1
grep -q 'INC-1 is resolved: it cannot become acknowledged' err || fail "ack after resolve: $(cat err)"
expect_exit 3 "$TOCSIN" ack INC-99
expect_exit 2 "$TOCSIN" ack nonsense
expect_exit 0 "$TOCSIN" incidents
grep -q 'no open incidents' err || fail "resolved still listed: $(cat out)"
expect_exit 0 "$TOCSIN" incidents --all --json
grep -q '"status":"resolved"' out || fail "--all: $(cat out)"

# A resolved incident is not reused: the same dedup_key opens INC-2.
expect_exit 0 "$TOCSIN" run db_down.lua
grep -q 'inc	INC-2	triggered' out || fail "after resolve: $(cat out)"

# A dry run opens nothing and lists what it would have done.
expect_exit 0 "$TOCSIN" run db_down.lua --dry-run
grep -q 'incident: open P0 incident: Database Down' out || fail "dry run actions: $(cat out)"
expect_exit 0 "$TOCSIN" incidents --all --json
[ "$(wc -l <out)" = 2 ] || fail "a dry run opened an incident: $(cat out)"
echo "incidents ok"
