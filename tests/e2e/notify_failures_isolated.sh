#!/usr/bin/env bash
# notify: a channel answering 500 is tried 3 times and reported failed while
# the others get their message; a channel that hangs is cut off by its
# timeout (timeout = 1) without delaying the others; a refused connection is
# a failed result, not an error; and a dry run sends nothing.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
python3 "$SRC/tests/e2e/notify_receiver.py" --port-file port --log posts.jsonl >recv.log 2>&1 &
_started+=($!)
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
[ -s port ] || fail "receiver did not start"
base="http://127.0.0.1:$(cat port)"
# a port nobody listens on: bind one, close it
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

cat >tocsin.lua <<LUA
return {
  channels = {
    good = { kind = "webhook", url = "$base/ok/good" },
    broken = { kind = "webhook", url = "$base/fail/broken" },
    slow = { kind = "slack", url = "$base/hang/slow", timeout = 1 },
    refused = { kind = "webhook", url = "http://127.0.0.1:$dead/x", timeout = 2 },
    ops = { kind = "file", path = "notify.jsonl" },
  },
}
LUA

cat >rb.lua <<'LUA'
local t0 = time.monotonic()
local res = notify({ "broken", "good" }, { event = "escalated", text = "db down" })
assert(res, "notify must not fail for a delivery failure")
assert(res.good.ok and res.good.status == 200 and res.good.attempts == 1)
assert(res.broken.ok == false and res.broken.status == 500 and res.broken.attempts == 3,
  "broken: attempts " .. tostring(res.broken.attempts))
assert(res.broken.error:find("500"), res.broken.error)
print(("ELAPSED-500 %.2f"):format(time.monotonic() - t0))

t0 = time.monotonic()
-- the hanging channel is listed first: sent one after the other, the good
-- one would arrive a second late (checked on the receiver's clock below)
local r = assert(notify({ "slow", "good" }, "second"))
assert(r.slow.ok == false and r.slow.attempts == 1, "slow: " .. tostring(r.slow.error))
assert(r.good.ok)
print(("ELAPSED-HANG %.2f"):format(time.monotonic() - t0))

local rr = assert(notify("refused", "third"))
assert(rr.refused.ok == false and rr.refused.attempts == 3, "refused attempts " .. tostring(rr.refused.attempts))
print("NOTIFY-FAIL-OK")
LUA

"$TOCSIN" run rb.lua --yes --config tocsin.lua >out 2>&1
rc=$?
[ $rc -eq 0 ] || { cat out; fail "run exited $rc"; }
grep -q NOTIFY-FAIL-OK out || { cat out; fail "runbook did not finish"; }
grep -q "warn.*notify broken failed" out || { cat out; fail "failure not logged as a warning"; }
# 3 attempts 0.5 s then 1 s apart: about 1.5 s, not more than 3
e500=$(sed -n 's/.*ELAPSED-500 \([0-9.]*\).*/\1/p' out)
awk -v e="$e500" 'BEGIN { exit !(e >= 1.4 && e < 3) }' || fail "500 retries took ${e500}s"
# cut off by its 1 s timeout (the receiver answers after 5 s)
ehang=$(sed -n 's/.*ELAPSED-HANG \([0-9.]*\).*/\1/p' out)
awk -v e="$ehang" 'BEGIN { exit !(e >= 0.9 && e < 2.5) }' || fail "hanging channel took ${ehang}s"

python3 - <<'PY' || { cat out; cat posts.jsonl; fail "deliveries"; }
import json
posts = [json.loads(l) for l in open("posts.jsonl")]
paths = [p["path"] for p in posts]
assert paths.count("/fail/broken") == 3, paths
assert paths.count("/ok/good") == 2, paths
slow = [p for p in posts if p["path"] == "/hang/slow"]
good2 = [p for p in posts if p["path"] == "/ok/good" and p["body"]["text"] == "second"]
assert len(slow) == 1 and len(good2) == 1, paths
# the good channel got its message while the slow one was still hanging
assert abs(good2[0]["t"] - slow[0]["t"]) < 0.5, (good2, slow)
PY

# a dry run sends nothing and writes no file, and lists what it would send
rm -f posts.jsonl notify.jsonl
cat >dry.lua <<'LUA'
local res = assert(notify({ "good", "broken", "ops" }, { event = "opened", text = "dry" }))
assert(res.good.ok and res.ops.ok)
print("DRY-OK")
LUA
"$TOCSIN" run dry.lua --dry-run --config tocsin.lua >dout 2>&1 || { cat dout; fail "dry run failed"; }
grep -q DRY-OK dout || { cat dout; fail "dry runbook did not finish"; }
[ -e posts.jsonl ] && { cat posts.jsonl; fail "a dry run sent a notification"; }
[ -e notify.jsonl ] && fail "a dry run wrote the notify file"
grep -q "POST $base/ok/good" dout || { cat dout; fail "dry run does not list the POST"; }
grep -q "notify.jsonl" dout || { cat dout; fail "dry run does not list the file append"; }
echo "notify_failures_isolated ok"
