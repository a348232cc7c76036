#!/usr/bin/env bash
# Email delivery failures are results, not errors, and never delay the other
# channels: a server that is down is kind "connect" after 3 attempts; a
# recipient refused with 550 fails at once naming the code and the server's
# text; a 451 (transient) is tried 3 times; a server that never answers is cut
# off by timeout = 1 (kind "timeout", not retried); meanwhile a good channel's
# mail arrives at once.  A task cancelled in the middle of a send, and a run
# that ends with one in flight, free everything (checked by the ASan build).
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/smtp_lib.bash"
cd "$WORK" || exit 1
start_smtp box
box=$SMTP_PORT
start_smtp slow --slow-data 3
slow=$SMTP_PORT
# a server that accepts connections and never says a word
"$PY" -c '
import os, socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
open("mute.port.tmp", "w").write(str(s.getsockname()[1])); os.rename("mute.port.tmp", "mute.port")
held = []
while True:
    c, _ = s.accept(); held.append(c)
    with open("mute.log", "a") as f: f.write("%f\n" % time.time())
' >mute.out 2>&1 &
_started+=($!)
for _ in $(seq 100); do [ -s mute.port ] && break; sleep 0.05; done
[ -s mute.port ] || fail "mute server did not start"
dead=$(free_port)

cat >tocsin.lua <<LUA
local function mail(port, to, t)
  local c = { kind = "email", url = "smtp://127.0.0.1:" .. port, from = "tocsin@example.com", to = { to } }
  for k, v in pairs(t or {}) do c[k] = v end
  return c
end
return {
  channels = {
    good = mail($box, "good@example.com"),
    rejected = mail($box, "reject-this@example.com"),
    busy = mail($box, "busy@example.com"),
    down = mail($dead, "down@example.com", { timeout = 2 }),
    mute = mail($(cat mute.port), "mute@example.com", { timeout = 1 }),
    mute5 = mail($(cat mute.port), "mute5@example.com", { timeout = 5 }),
    slow = mail($slow, "slow@example.com", { timeout = 5 }),
  },
}
LUA

cat >rb.lua <<'LUA'
print(("T0 %.3f"):format(time.now()))
local t0 = time.monotonic()
local res = assert(notify({ "down", "mute", "busy", "rejected", "good" },
  { event = "escalated", text = "Falha na replicação" }))
print(("ELAPSED %.2f"):format(time.monotonic() - t0))
for _, r in ipairs(res) do print("RESULT", r.channel, r.ok, r.attempts, r.status, r.error) end
assert(res.good.ok and res.good.attempts == 1)
local function failed(name, kind, attempts)
  local r = res[name]
  assert(r.ok == false, name .. " did not fail")
  assert(r.attempts == attempts, name .. ": attempts " .. r.attempts)
  assert(r.error:sub(1, #kind + 1) == kind .. ":", name .. ": " .. r.error)
  return r
end
failed("down", "connect", 3)
failed("mute", "timeout", 1)
local b = failed("busy", "rejected", 3)
assert(b.status == 451 and b.error:find("451 4.3.0", 1, true), b.error)
local j = failed("rejected", "rejected", 1)
assert(j.status == 550 and j.error:find("550 5.1.1 <reject-this@example.com>", 1, true), j.error)
print("FAIL-OK")
LUA

"$TOCSIN" run rb.lua --yes --config tocsin.lua >out 2>&1
rc=$?
[ $rc -eq 0 ] || { cat out; fail "run exited $rc"; }
grep -q FAIL-OK out || { cat out; fail "runbook did not finish"; }
grep -q "warn.*notify rejected failed: rejected: .*550" out || { cat out; fail "the 550 is not logged"; }
t0=$(sed -n 's/^T0 \([0-9.]*\)$/\1/p' out)
elapsed=$(sed -n 's/^ELAPSED \([0-9.]*\)$/\1/p' out)
# the slowest is the 451 or the dead server: 3 attempts, 0.5 s then 1 s apart
awk -v e="$elapsed" 'BEGIN { exit !(e >= 1.4 && e < 3.5) }' || { cat out; fail "notify took ${elapsed}s"; }
[ "$(grep -c '^busy@example.com 451$' box/rcpt.log)" = 3 ] || { cat box/rcpt.log; fail "451 not tried 3 times"; }
[ "$(grep -c '^reject-this@example.com 550$' box/rcpt.log)" = 1 ] || { cat box/rcpt.log; fail "550 retried"; }
[ "$(wc -l <mute.log)" = 1 ] || fail "timeout retried"
"$PY" - "$t0" <<'PY' || { cat out; fail "the good mail was delayed"; }
import glob, json, sys
t0 = float(sys.argv[1])
got = [json.load(open(f)) for f in glob.glob("box/*.json")]
assert [g["rcpt_tos"] for g in got] == [["good@example.com"]], got
# before the mute server's 1 s timeout and the dead one's retries
assert got[0]["t"] - t0 < 0.9, got[0]["t"] - t0
PY

# cancelled mid-send: waiting for the greeting (the mute server) and waiting
# for DATA's 354 (the slow server), and a run that ends while a spawned
# notify is still in flight.  A cancel cuts the connection at once: it does
# not end the DATA (the server would deliver an empty mail) nor wait for the
# server (timeout = 5 here), and the run's end waits at most a second for it.
cat >cancel.lua <<'LUA'
local a = task.spawn(function() return notify("mute5", "x") end)
local b = task.spawn(function() return notify("slow", "x") end)
time.sleep(1)
local t0 = time.monotonic()
a:cancel()
b:cancel()
print(("CANCELLED %.2f"):format(time.monotonic() - t0))
time.sleep(1.2) -- the cancelled sends stop within a second, freeing their threads
task.spawn(function() return notify({ "mute5", "slow" }, "left running") end)
time.sleep(1)
print("CANCEL-OK")
LUA
"$TOCSIN" run cancel.lua --yes --config tocsin.lua >cout 2>&1 &
pid=$!
for _ in $(seq 200); do grep -q CANCEL-OK cout && break; sleep 0.05; done
t0=$(date +%s.%N)
wait $pid
rc=$?
t1=$(date +%s.%N)
grep -q CANCEL-OK cout || { cat cout; fail "cancel runbook did not finish"; }
grep -qi "sanitizer\|leak" cout && { cat cout; fail "sanitizer report"; }
[ $rc -eq 0 ] || { cat cout; fail "cancel run exited $rc"; }
[ "$(wc -l <mute.log)" = 3 ] || { cat mute.log cout; fail "cancelled sends did not connect"; }
[ "$(grep -c '^slow@example.com 250$' slow/rcpt.log)" = 2 ] || { cat slow/rcpt.log; fail "the slow server did not get to DATA"; }
c=$(sed -n 's/^CANCELLED \([0-9.]*\)$/\1/p' cout)
awk -v c="$c" 'BEGIN { exit !(c < 0.3) }' || { cat cout; fail "cancel blocked for ${c}s"; }
# from the runbook's end to the process's: the sends in flight stop within
# a second (waiting for their timeouts would take 5 s)
awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 3) }' || { cat cout; fail "the run took $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')s to end"; }
sleep 3.5 # past the slow server's 354: a mail would be saved by now
[ "$(mail_count slow)" = 0 ] || { cat slow/*.eml; fail "a cancelled send delivered a mail"; }
echo "notify_email_failures ok"
