#!/usr/bin/env bash
# A mail server that takes a second to accept the end of the message (the
# final ".") does not stall the event loop: a ticker task sleeping 10 ms at a
# time keeps ticking while two mails are sent to it side by side.
# (libcurl waits for that reply synchronously; on the loop it froze
# everything for the whole second.)
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/smtp_lib.bash"
cd "$WORK" || exit 1
start_smtp slow --slow-eod 1

cat >tocsin.lua <<LUA
return {
  channels = {
    slow = { kind = "email", url = "smtp://127.0.0.1:$SMTP_PORT", from = "tocsin@example.com",
             to = { "a@example.com" }, timeout = 5 },
    slow2 = { kind = "email", url = "smtp://127.0.0.1:$SMTP_PORT", from = "tocsin@example.com",
              to = { "b@example.com" }, timeout = 5 },
  },
}
LUA

cat >rb.lua <<'LUA'
local maxgap, stop = 0, false
local ticker = task.spawn(function()
  local last = time.monotonic()
  while not stop do
    time.sleep(0.01)
    local now = time.monotonic()
    if now - last > maxgap then maxgap = now - last end
    last = now
  end
end)
local t0 = time.monotonic()
local res = assert(notify({ "slow", "slow2" }, "devagar"))
local took = time.monotonic() - t0
stop = true
ticker:wait()
assert(res.slow.ok and res.slow2.ok, tostring(res.slow.error) .. " " .. tostring(res.slow2.error))
print(("TOOK %.2f MAXGAP %.3f"):format(took, maxgap))
LUA
"$TOCSIN" run rb.lua --yes --config tocsin.lua >out 2>&1 || { cat out; fail "run failed"; }
took=$(sed -n 's/^TOOK \([0-9.]*\) .*/\1/p' out)
gap=$(sed -n 's/.*MAXGAP \([0-9.]*\)$/\1/p' out)
[ -n "$gap" ] || { cat out; fail "no measurement"; }
# the mails really waited for the server (sent side by side: about 1 s)
awk -v t="$took" 'BEGIN { exit !(t >= 0.9 && t < 3) }' || { cat out; fail "notify took ${took}s"; }
awk -v g="$gap" 'BEGIN { exit !(g < 0.5) }' || { cat out; fail "the loop stalled ${gap}s"; }
[ "$(mail_count slow)" = 2 ] || fail "mails not delivered"
echo "notify_email_no_loop_stall ok (took ${took}s, longest tick ${gap}s)"
