#!/usr/bin/env bash
# The email channel over TLS against real aiosmtpd servers with a self-signed
# certificate: STARTTLS (required by the server) with AUTH, verified through
# cacert=, or skipped with insecure=true; without either the certificate is
# refused (kind "tls").  starttls=true (the default when a username is set)
# fails closed against a server without STARTTLS: nothing is sent, and the
# password never crosses in clear.  smtps:// works.  A wrong password is kind
# "auth" quoting the server's 535.  No password appears in the output.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/smtp_lib.bash"
cd "$WORK" || exit 1
make_cert "$WORK"
start_smtp tls --starttls cert.pem key.pem --auth bob:Pa55-w0rd-xyz
tls=$SMTP_PORT
start_smtp smtps --smtps cert.pem key.pem --auth bob:Pa55-w0rd-xyz
smtps=$SMTP_PORT
start_smtp plain
plain=$SMTP_PORT

cat >tocsin.lua <<LUA
local function mail(t)
  local c = { kind = "email", from = "tocsin@example.com", username = "bob",
              password = secret("SMTP_PASSWORD"), timeout = 5 }
  for k, v in pairs(t) do c[k] = v end
  return c
end
return {
  channels = {
    verified = mail { url = "smtp://127.0.0.1:$tls", to = { "v@example.com" }, cacert = "$WORK/cert.pem" },
    insecure = mail { url = "smtp://127.0.0.1:$tls", to = { "i@example.com" }, insecure = true },
    unverified = mail { url = "smtp://127.0.0.1:$tls", to = { "u@example.com" } },
    wrongpw = mail { url = "smtp://127.0.0.1:$tls", to = { "w@example.com" }, insecure = true,
                     password = "Wr0ng-pa55word" },
    cleartext = mail { url = "smtp://127.0.0.1:$plain", to = { "c@example.com" } },
    forced = { kind = "email", url = "smtp://127.0.0.1:$plain", from = "tocsin@example.com",
               to = { "f@example.com" }, starttls = true },
    implicit = mail { url = "smtps://127.0.0.1:$smtps", to = { "s@example.com" }, cacert = "$WORK/cert.pem" },
  },
}
LUA

cat >rb.lua <<'LUA'
local res = assert(notify({ "verified", "insecure", "unverified", "wrongpw", "cleartext", "forced",
  "implicit" }, { event = "note", text = "Teste de TLS: ação concluída" }))
for _, r in ipairs(res) do print("RESULT", r.channel, r.ok, r.attempts, r.status, r.error) end
assert(res.verified.ok and res.insecure.ok and res.implicit.ok)
local function failed(name, kind)
  local r = res[name]
  assert(r.ok == false and r.attempts == 1, name .. " should fail once")
  assert(r.error:sub(1, #kind + 1) == kind .. ":", name .. ": " .. r.error)
  return r
end
failed("unverified", "tls")
local w = failed("wrongpw", "auth")
assert(w.status == 535 and w.error:find("535 5.7.8", 1, true), w.error)
failed("cleartext", "tls")
assert(failed("forced", "tls").error:find("STARTTLS", 1, true))
print("TLS-OK")
LUA

SMTP_PASSWORD=Pa55-w0rd-xyz "$TOCSIN" run rb.lua --yes --config tocsin.lua >out 2>&1
rc=$?
[ $rc -eq 0 ] || { cat out; fail "run exited $rc"; }
grep -q TLS-OK out || { cat out; fail "runbook did not finish"; }
grep -q "Pa55-w0rd-xyz" out && { cat out; fail "the password appears in the output"; }
grep -q "Wr0ng-pa55word" out && { cat out; fail "the wrong password appears in the output"; }

"$PY" - <<'PY' || { cat out; fail "mail over TLS"; }
import email, email.policy, glob, json
def got(box):
    out = {}
    for meta in glob.glob(box + "/*.json"):
        env = json.load(open(meta))
        msg = email.message_from_bytes(open(meta[:-5] + ".eml", "rb").read(), policy=email.policy.default)
        out[env["rcpt_tos"][0]] = (env, msg)
    return out
tls = got("tls")
assert sorted(tls) == ["i@example.com", "v@example.com"], sorted(tls)
for env, msg in tls.values():
    assert env["tls"] and env["auth"], env
    assert msg["Subject"] == "Teste de TLS: ação concluída", msg["Subject"]
s = got("smtps")
assert list(s) == ["s@example.com"] and s["s@example.com"][0]["tls"] and s["s@example.com"][0]["auth"], s
assert got("plain") == {}, "the plaintext server got mail"
PY
# fail closed: the plaintext server never saw a RCPT (nor an AUTH)
[ -e plain/rcpt.log ] && { cat plain/rcpt.log; fail "mail went out without TLS"; }
grep RESULT out
echo "notify_email_tls ok"
