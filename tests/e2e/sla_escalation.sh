#!/usr/bin/env bash
# The SLA clock with the table scaled down (P1 respond = 1 s, so the
# escalation engineer at 2 s and the commander at 4 s; status updates every
# 3 s): a real loopback receiver sees the first responder notified on open,
# the reminder, the escalation engineer at 2x, the stakeholders' status
# update, the commander at 4x, then everyone paged told of the resolution,
# each with the exact payload fields of its channel kind.  A P0 calls the
# incident commander at once; acknowledged then resolved early, it gets no
# reminder and no escalation.  The escalation engineer also has an e-mail
# contact: a real SMTP server receives the escalation.  Every firing is on
# the incident's timeline.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/smtp_lib.bash"
cd "$WORK" || exit 1
start_smtp box
python3 "$SRC/tests/e2e/notify_receiver.py" --port-file port --log posts.jsonl >recv.log 2>&1 &
_started+=($!)
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
[ -s port ] || fail "receiver did not start"
base="http://127.0.0.1:$(cat port)"

cat >tocsin.lua <<LUA
return {
  templates = { "$SRC/scripts/templates" },
  channels = {
    fr = { kind = "webhook", url = "$base/ok/fr" },
    slack = { kind = "slack", url = "$base/ok/slack" },
    pd = { kind = "pagerduty", routing_key = "rk-42", url = "$base/ok/pd" },
    ee = { kind = "webhook", url = "$base/ok/ee" },
    ee_down = { kind = "webhook", url = "$base/fail/ee" },
    ic = { kind = "webhook", url = "$base/ok/ic" },
    ic_hangs = { kind = "webhook", url = "$base/hang/ic", timeout = 1 },
    po = { kind = "webhook", url = "$base/ok/po" },
    email = { kind = "email", url = "smtp://127.0.0.1:$SMTP_PORT", from = "tocsin@example.com", timeout = 5 },
  },
  contacts = { first_responder = { "fr", "slack", "pd" }, escalation_engineer = { "ee", "ee_down", "email:ee@example.com" },
               incident_commander = { "ic", "ic_hangs" }, product_owner = { "po" } },
  severity = { P1 = { respond = 1, update = 3 }, P0 = { respond = "1s" } },
}
LUA

cat >slow.lua <<'LUA'
return { name = "slow", run = function()
  local inc = assert(incident.open { title = "Geração de seções lenta", severity = "P1",
    summary = "p95 de 40 s" })
  log.info(string.format("opened at %.3f", time.now()))
  time.sleep(5.2)
  assert(inc:resolve("pool de conexões aumentado"))
end }
LUA
expect_exit 0 "$TOCSIN" run slow.lua
cp err slow.err

/usr/bin/python3 - posts.jsonl slow.err <<'PY' || fail "P1 escalation: $(cat posts.jsonl)"
import json, sys
posts = [json.loads(l) for l in open(sys.argv[1])]
# A channel answering 500 is tried 3 times; one that hangs is cut off by its
# 1 s timeout (not retried: the POST may have landed).  Neither delays the
# others: the times below are checked.
down = [p["body"]["event"] for p in posts if p["path"] == "/fail/ee"]
assert down == ["escalated"] * 3 + ["resolved"] * 3, down
hangs = [p["body"]["event"] for p in posts if p["path"] == "/hang/ic"]
assert hangs == ["escalated", "resolved"], hangs
posts = [p for p in posts if p["path"].startswith("/ok/")]
def at(name, event):
    return [p for p in posts if p["path"] == "/ok/" + name and
            (p["body"].get("event") if "event" in p["body"] else None) == event]
import re
# The deadlines count from the opening, logged by the runbook as soon as
# incident.open returned (the first post may come later on a loaded machine).
t0 = float(re.search(r"opened at ([0-9.]+)", open(sys.argv[2]).read()).group(1))
def one(name, event, lo, hi):
    got = at(name, event)
    assert len(got) == 1, f"{name} {event}: {len(got)} posts"
    dt = got[0]["t"] - t0
    assert lo <= dt <= hi, f"{name} {event} at {dt:.2f} s, wanted {lo}..{hi}"
    return got[0]["body"]
b = one("fr", "opened", -0.5, 1.5)  # may land before the runbook logs
assert b["role"] == "first_responder" and b["text"] == "p95 de 40 s", b
assert b["incident"] == {"id": "INC-1", "title": "Geração de seções lenta", "severity": "P1",
                         "status": "triggered"}, b
b = one("fr", "reminder", 0.8, 2.8)
assert "not acknowledged" in b["text"], b
b = one("ee", "escalated", 1.8, 3.8)
assert b["role"] == "escalation_engineer" and "escalated to the escalation engineer" in b["text"], b
b = one("po", "status_update", 2.8, 4.8)
assert b["role"] == "product_owner" and "Prezados usuários" in b["text"], b
assert "a cada 3 segundos" in b["text"], b
b = one("ic", "escalated", 3.8, 5.8)
assert b["role"] == "incident_commander", b
# Resolved: everyone paged (first responder, escalation engineer, commander)
# and the stakeholders, with the playbook's incident-resolved text.
for name in ("fr", "ee", "ic"):
    b = one(name, "resolved", 5.0, 8.0)
    assert b["text"] == "pool de conexões aumentado" and b["incident"]["status"] == "resolved", b
b = one("po", "resolved", 5.0, 8.0)
assert "foi resolvido" in b["text"], b
# Slack: text and blocks; PagerDuty: trigger on open, resolve on resolve, one dedup_key.
slack = [p["body"] for p in posts if p["path"] == "/ok/slack"]
assert len(slack) == 3 and all(s["text"] and s["blocks"][0]["type"] == "section" for s in slack), slack
pd = [p["body"] for p in posts if p["path"] == "/ok/pd"]
assert [p["event_action"] for p in pd] == ["trigger", "trigger", "resolve"], pd
for p in pd:
    assert p["routing_key"] == "rk-42" and p["dedup_key"] == "INC-1", p
    assert p["payload"]["source"] == "tocsin" and p["payload"]["severity"] == "error", p
    assert "INC-1" in p["payload"]["summary"], p
# Nothing after the resolution: no second reminder, update or escalation.
assert len(posts) == 3 + 3 + 1 + 1 + 1 + 6, len(posts)
PY

# The escalation engineer's e-mail: the escalation, then the resolution.
"$PY" - <<'PY' || fail "e-mail: $(ls box)"
import email, email.policy, glob, json
mails = []
for meta in sorted(glob.glob("box/*.json")):
    msg = email.message_from_bytes(open(meta[:-5] + ".eml", "rb").read(), policy=email.policy.default)
    mails.append((json.load(open(meta))["rcpt_tos"], msg["Subject"], msg.get_content()))
assert [m[0] for m in mails] == [["ee@example.com"]] * 2, mails
assert mails[0][1] == "[P1] INC-1 Geração de seções lenta (triggered)", mails[0][1]
assert "escalated to the escalation engineer" in mails[0][2] and "Event:    escalated" in mails[0][2], mails[0][2]
assert "pool de conexões aumentado" in mails[1][2], mails[1][2]
PY

# The timeline says what the clock did.
expect_exit 0 "$TOCSIN" incident INC-1
for want in "reminder .*first_responder: fr ok, slack ok, pd ok" \
  "escalated .*escalation_engineer: ee ok, ee_down failed (HTTP 500), email:ee@example.com ok" \
  "escalated .*incident_commander: ic ok, ic_hangs failed (timeout" "status_update .*product_owner: po ok" \
  "resolved .*first_responder: fr ok"; do
  grep -q -- "$want" out || fail "timeline lacks '$want': $(cat out)"
done

# A P0: the commander at once; acknowledged at once (no reminder), resolved
# at 1.5 s (no escalation at 2 s or 4 s).
: >posts.jsonl
cat >down.lua <<'LUA'
return { name = "down", run = function()
  local inc = assert(incident.open { title = "Database Down", severity = "P0" })
  time.sleep(0.3)
  assert(inc:ack("alice"))
  time.sleep(1.2)
  assert(inc:resolve("restarted"))
  time.sleep(3.5)
end }
LUA
expect_exit 0 "$TOCSIN" run down.lua
/usr/bin/python3 - posts.jsonl <<'PY' || fail "P0: $(cat posts.jsonl)"
import json, sys
posts = [json.loads(l) for l in open(sys.argv[1])]
ev = sorted((p["path"], p["body"].get("event", p["body"].get("event_action"))) for p in posts
            if p["path"].startswith("/ok/"))
want = sorted([("/ok/fr", "opened"), ("/ok/slack", None), ("/ok/pd", "trigger"), ("/ok/ic", "opened"),
        ("/ok/fr", "acknowledged"), ("/ok/slack", None), ("/ok/pd", "acknowledge"), ("/ok/ic", "acknowledged"),
        ("/ok/fr", "resolved"), ("/ok/slack", None), ("/ok/pd", "resolve"), ("/ok/ic", "resolved"),
        ("/ok/po", "resolved")], key=str)
assert sorted(ev, key=str) == want, ev
ack = [p["body"] for p in posts if p["path"] == "/ok/fr" and p["body"]["event"] == "acknowledged"][0]
assert ack["text"] == "by alice", ack
PY
# Its post-mortem draft was written by the clock when it resolved.
grep -q '^# Post-Mortem: Database Down' .tocsin/postmortems/INC-2.md || fail "no P0 draft"
expect_exit 0 "$TOCSIN" incident INC-2
grep -q "review" out || fail "the post-incident deadlines are not shown: $(cat out)"
echo "sla ok"
