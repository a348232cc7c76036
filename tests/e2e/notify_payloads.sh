#!/usr/bin/env bash
# notify: the exact payloads sent to webhook, slack and pagerduty channels
# (a real loopback receiver records every POST), a role from `contacts`
# mapping to its channels, the file channel's JSON line, console through the
# log, unknown names (nil, err kind "config"), and the webhook URL given by
# secret() never appearing in the output.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
python3 "$SRC/tests/e2e/notify_receiver.py" --port-file port --log posts.jsonl >recv.log 2>&1 &
_started+=($!)
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
[ -s port ] || fail "receiver did not start"
base="http://127.0.0.1:$(cat port)"

cat >tocsin.lua <<LUA
return {
  channels = {
    hook = { kind = "webhook", url = secret("HOOK_URL") },
    slack = { kind = "slack", url = "$base/ok/slack" },
    pd = { kind = "pagerduty", routing_key = "rk-123", url = "$base/ok/pd" },
    ops = { kind = "file", path = "notify.jsonl" },
    con = { kind = "console" },
    hidden = { kind = "webhook", url = secret("DEAD_URL"), timeout = 2 },
  },
  contacts = { first_responder = { "slack", "hook" }, product_owner = { "con" } },
}
LUA

cat >rb.lua <<'LUA'
local inc = assert(incident.open { title = "Database Down", severity = "P1", dedup_key = "db" })
local res = assert(notify({ "hook", "slack", "pd", "ops" },
  { event = "opened", incident = inc, text = "replica lag 40s" }))
assert(#res == 4, "one result per channel")
for _, r in ipairs(res) do
  assert(r.ok == true, r.channel .. " failed: " .. tostring(r.error))
  assert(r.attempts == 1, r.channel .. " attempts " .. tostring(r.attempts))
end
assert(res.hook.status == 200 and res.pd.status == 200 and res.ops.status == nil)
-- a role maps to its channels, and says which role it was sent to
res = assert(notify("first_responder", { event = "reminder", incident = inc, text = "still open" }))
assert(#res == 2 and res.slack.ok and res.hook.ok)
-- resolve: pagerduty's resolve action on the same dedup key
assert(notify("pd", { event = "resolved", incident = inc, text = "fixed" }))
-- without an incident: no dedup key; P0 is "critical"; an acknowledgement
assert(notify("pd", { event = "acknowledged", severity = "P0", text = "ack" }).pd.ok)
-- a plain string, to the console channel and the default one
res = assert(notify({ "con", "product_owner" }, "hello from the runbook"))
assert(#res == 1 and res.con.ok)
assert(notify("console", "default console").console.ok)
-- unknown names
local r, err = notify("nope", "x")
assert(r == nil and err.kind == "config", "unknown channel")
assert(err.message:find("hook, ops, pd, slack", 1, true), err.message)
assert(err.message:find("first_responder", 1, true), err.message)
r, err = notify({ "hook", "dba_on_call" }, "x")
assert(r == nil and err.kind == "config")
-- a playbook role nobody configured is the console (the defaults)
assert(notify("incident_commander", "to the console").console.ok)
-- a failing channel whose URL is a secret: its error is logged and returned
res = assert(notify("hidden", "x"))
assert(res.hidden.ok == false and res.hidden.error)
print("hidden error: " .. res.hidden.error)
print("NOTIFY-OK " .. inc.id)
LUA

dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DEAD_URL="http://127.0.0.1:$dead/d34dT0ken" HOOK_URL="$base/ok/hook-s3cr3tT0ken" "$TOCSIN" run rb.lua --yes --config tocsin.lua >out 2>&1
rc=$?
[ $rc -eq 0 ] || { cat out; fail "run exited $rc"; }
grep -q NOTIFY-OK out || { cat out; fail "runbook did not finish"; }
grep -q "s3cr3tT0ken" out && { cat out; fail "the secret webhook URL appears in the output"; }
grep -q "d34dT0ken" out && { cat out; fail "the secret URL of a failing channel appears in the output"; }
grep -q "warn.*notify hidden failed" out || { cat out; fail "the failing channel is not logged"; }
grep -q "hello from the runbook" out || { cat out; fail "console channel not shown"; }
grep -q "default console" out || { cat out; fail "default console channel not shown"; }
grep -q "notified hook" out || { cat out; fail "delivery not logged"; }
inc=$(sed -n 's/.*NOTIFY-OK \(INC-[0-9]*\).*/\1/p' out | head -1)

python3 - "$inc" <<'PY' || { cat out; cat posts.jsonl; fail "payloads"; }
import json, sys
inc = sys.argv[1]
posts = [json.loads(l) for l in open("posts.jsonl")]
# The incident clock tells the first responder (slack, hook) of the opening
# by itself: two posts, checked in sla_escalation; the rest are the runbook's.
def clock(p):
    b = p["body"]
    return (b.get("event") == "opened" and b.get("role") == "first_responder") or \
        b.get("text") == "[P1] %s Database Down (triggered)" % inc
assert len([p for p in posts if clock(p)]) == 2, posts
posts = [p for p in posts if not clock(p)]
by = {}
for p in posts:
    by.setdefault(p["path"], []).append(p["body"])
    assert p["ctype"] == "application/json", p
assert len(posts) == 7, [p["path"] for p in posts]
hook = by["/ok/hook-s3cr3tT0ken"]
assert len(hook) == 2, hook
h = hook[0]
assert h["event"] == "opened" and h["text"] == "replica lag 40s", h
assert h["incident"] == {"id": inc, "title": "Database Down", "severity": "P1", "status": "triggered"}, h
assert "role" not in h, h
h = hook[1]
assert h["event"] == "reminder" and h["role"] == "first_responder" and h["text"] == "still open", h
assert h["incident"]["id"] == inc
s = by["/ok/slack"][0]
assert set(s) == {"text", "blocks"}, s
assert inc in s["text"] and "Database Down" in s["text"] and "replica lag 40s" in s["text"], s
b = s["blocks"][0]
assert b["type"] == "section" and b["text"]["type"] == "mrkdwn", b
assert inc in b["text"]["text"] and "replica lag 40s" in b["text"]["text"], b
pd = by["/ok/pd"]
assert len(pd) == 3
p = pd[0]
assert p["routing_key"] == "rk-123" and p["event_action"] == "trigger" and p["dedup_key"] == inc, p
assert p["payload"]["source"] == "tocsin" and p["payload"]["severity"] == "error", p
assert "Database Down" in p["payload"]["summary"], p
p = pd[1]
assert p["event_action"] == "resolve" and p["dedup_key"] == inc, p
p = pd[2]
assert p["event_action"] == "acknowledge" and "dedup_key" not in p, p
assert p["payload"] == {"summary": "ack", "source": "tocsin", "severity": "critical"}, p
lines = [json.loads(l) for l in open("notify.jsonl")]
assert len(lines) == 1 and lines[0]["event"] == "opened" and lines[0]["incident"]["id"] == inc, lines
PY
[ "$(stat -c %a notify.jsonl)" = 600 ] || fail "notify.jsonl mode $(stat -c %a notify.jsonl)"
echo "notify_payloads ok"
