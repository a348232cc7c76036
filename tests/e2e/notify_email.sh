#!/usr/bin/env bash
# notify's email channel against a real SMTP server (aiosmtpd): a
# `channels.mail` target with two recipients, an "email:ADDRESS" contact of a
# role and an "email:ADDRESS" target each get one mail whose subject (RFC 2047,
# decoded here by Python's email package) is the incident headline and whose
# body keeps its Portuguese accents; CR/LF in the text cannot add a header;
# a CR/LF in an address is refused and nothing is sent; a dry run sends
# nothing and lists the mail; "email:" without an email channel, or with two,
# is a config error.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/smtp_lib.bash"
cd "$WORK" || exit 1
start_smtp box

cat >tocsin.lua <<LUA
return {
  channels = {
    mail = { kind = "email", url = "smtp://127.0.0.1:$SMTP_PORT", timeout = 5,
             from = "Tocsin Alertas <tocsin@example.com>", to = { "a@example.com", "b@example.com" } },
  },
  contacts = { on_call = { "mail", "email:oncall@example.com" } }, -- not a role the incident clock pages
}
LUA

cat >rb.lua <<'LUA'
local inc = assert(incident.open { title = "Banco de dados indisponível", severity = "P0",
  dedup_key = "db" })
local res = assert(notify("on_call", { event = "opened", incident = inc,
  text = "Conexões recusadas; verificar a réplica.\nAção: reiniciar o serviço." }))
assert(#res == 2, "two deliveries, got " .. #res)
assert(res.mail.ok and res.mail.attempts == 1, tostring(res.mail.error))
local oc = res["email:oncall@example.com"]
assert(oc and oc.ok and oc.attempts == 1, oc and tostring(oc.error))
-- an email: target, not in contacts; the text tries to add a header
res = assert(notify("email:direct@example.com", "linha um\r\nBcc: evil@example.net\r\n\r\ncorpo"))
assert(res["email:direct@example.com"].ok, tostring(res["email:direct@example.com"].error))
-- an incident title with CR/LF: the subject holds it on one line
local inc2 = assert(incident.open { title = "Falha\r\nBcc: evil@example.net", severity = "P2",
  dedup_key = "crlf" })
res = assert(notify("email:crlf@example.com", { event = "opened", incident = inc2 }))
assert(res["email:crlf@example.com"].ok, tostring(res["email:crlf@example.com"].error))
print("EMAIL-OK " .. inc.id)
LUA

"$TOCSIN" run rb.lua --yes --config tocsin.lua >out 2>&1
rc=$?
[ $rc -eq 0 ] || { cat out; fail "run exited $rc"; }
grep -q EMAIL-OK out || { cat out; fail "runbook did not finish"; }
inc=$(sed -n 's/.*EMAIL-OK \(INC-[0-9]*\).*/\1/p' out | head -1)

"$PY" - "$inc" <<'PY' || { cat out; cat box/rcpt.log; fail "mail content"; }
import email, email.policy, glob, json, re, sys
inc = sys.argv[1]
mails = []
for meta in sorted(glob.glob("box/*.json")):
    raw = open(meta[:-5] + ".eml", "rb").read()
    mails.append((json.load(open(meta)), raw, email.message_from_bytes(raw, policy=email.policy.default)))
assert len(mails) == 4, [m[0] for m in mails]
by = {tuple(sorted(env["rcpt_tos"])): (env, raw, msg) for env, raw, msg in mails}
assert set(by) == {("a@example.com", "b@example.com"), ("oncall@example.com",), ("direct@example.com",),
                   ("crlf@example.com",)}, by.keys()
for env, raw, msg in mails:
    assert env["mail_from"] in ("tocsin@example.com",), env
    # CRLF line endings only, 7-bit on the wire, lines under 78 characters
    assert b"\n" not in raw.replace(b"\r\n", b""), "bare LF"
    assert all(b < 128 for b in raw), "8-bit bytes on the wire"
    assert all(len(l) <= 78 for l in raw.split(b"\r\n")), [l for l in raw.split(b"\r\n") if len(l) > 78]
    assert msg["MIME-Version"] == "1.0" and msg.get_content_type() == "text/plain", msg
    assert msg.get_content_charset() == "utf-8", msg["Content-Type"]
    assert msg["Content-Transfer-Encoding"] == "quoted-printable", msg
    assert msg["Date"].datetime is not None and re.fullmatch(r"<[^<>@\s]+@example\.com>", msg["Message-ID"]), msg
    assert msg["Bcc"] is None and "evil" not in str(msg["To"]), msg
env, raw, msg = by[("a@example.com", "b@example.com")]
subject = "[P0] %s Banco de dados indisponível (triggered)" % inc
assert msg["Subject"] == subject, repr(msg["Subject"])
assert b"=?UTF-8?B?" in raw, "the subject is not an encoded-word"
frm = msg["From"].addresses[0]
assert frm.display_name == "Tocsin Alertas" and frm.addr_spec == "tocsin@example.com", msg["From"]
assert [a.addr_spec for a in msg["To"].addresses] == ["a@example.com", "b@example.com"], msg["To"]
body = msg.get_content().replace("\r\n", "\n")  # QP keeps the wire's CRLF
assert body.startswith("Conexões recusadas; verificar a réplica.\nAção: reiniciar o serviço.\n"), repr(body)
for line in ("Incident: %s Banco de dados indisponível" % inc, "Severity: P0", "Event:    opened",
             "Role:     on_call"):
    assert line in body.splitlines(), (line, body)
env, raw, msg = by[("oncall@example.com",)]
assert msg["Subject"] == subject and [a.addr_spec for a in msg["To"].addresses] == ["oncall@example.com"], msg
assert "Ação: reiniciar o serviço." in msg.get_content().splitlines()
env, raw, msg = by[("direct@example.com",)]
# the text's first line is the subject; its CR/LF made no header
assert msg["Subject"] == "linha um", repr(msg["Subject"])
assert msg.get_content().replace("\r\n", "\n").startswith("linha um\nBcc: evil@example.net\n\ncorpo\n"), repr(msg.get_content())
assert sum(1 for k in msg.keys() if k.lower() == "subject") == 1
env, raw, msg = by[("crlf@example.com",)]
assert re.fullmatch(r"\[P2\] INC-\d+ Falha Bcc: evil@example.net \(triggered\)", msg["Subject"]), msg["Subject"]
assert b"\r\nBcc:" not in raw.split(b"\r\n\r\n")[0] and msg["Bcc"] is None, raw
PY

# a recipient with CR/LF: refused, nothing sent
cat >evil.lua <<LUA
return { channels = { evil = { kind = "email", url = "smtp://127.0.0.1:$SMTP_PORT",
  from = "tocsin@example.com", to = { "x@example.com\\r\\nBcc: evil@example.net" } } } }
LUA
cat >rb2.lua <<'LUA'
local res = assert(notify("evil", "x"))
assert(res.evil.ok == false and res.evil.attempts == 1, "evil: " .. tostring(res.evil.error))
assert(res.evil.error:find("^invalid:") and res.evil.error:find("CR and LF", 1, true), res.evil.error)
print("EVIL-OK")
LUA
"$TOCSIN" run rb2.lua --yes --config evil.lua >out 2>&1 || { cat out; fail "evil run failed"; }
grep -q EVIL-OK out || { cat out; fail "evil runbook did not finish"; }
grep -q "evil" box/rcpt.log && fail "the address with CR/LF reached the server"

# a dry run: nothing sent, the mail listed
cat >dry.lua <<'LUA'
local res = assert(notify({ "mail", "email:dry@example.com" }, { event = "note", text = "ensaio" }))
assert(res.mail.ok and res["email:dry@example.com"].ok)
print("DRY-OK")
LUA
before=$(mail_count box)
"$TOCSIN" run dry.lua --dry-run --config tocsin.lua >dout 2>&1 || { cat dout; fail "dry run failed"; }
grep -q DRY-OK dout || { cat dout; fail "dry runbook did not finish"; }
[ "$(mail_count box)" = "$before" ] || fail "a dry run sent mail"
grep -q "dry@example.com" box/rcpt.log && fail "a dry run talked to the SMTP server"
grep -q "email: mail to a@example.com, b@example.com via smtp://127.0.0.1:$SMTP_PORT: ensaio" dout ||
  { cat dout; fail "dry run does not list the mail"; }
grep -q "email: mail to dry@example.com" dout || { cat dout; fail "dry run does not list the email: contact"; }

# "email:" needs one email channel
cat >none.lua <<'LUA'
return { channels = { hook = { kind = "webhook", url = "http://127.0.0.1:9/x" } },
  contacts = { first_responder = { "email:oncall@example.com" } } }
LUA
cat >two.lua <<'LUA'
local m = { kind = "email", url = "smtp://127.0.0.1:9", from = "t@example.com" }
return { channels = { m1 = m, m2 = m }, contacts = { first_responder = { "email:oncall@example.com" } } }
LUA
cat >cfg.lua <<'LUA'
local r, err = notify("first_responder", "x")
assert(r == nil and err.kind == "config", "no config error")
print("CFG " .. err.message)
LUA
"$TOCSIN" run cfg.lua --yes --config none.lua >cout 2>&1 || { cat cout; fail "config error run failed"; }
grep -q "CFG notify: 'email:oncall@example.com' needs an email channel" cout || { cat cout; fail "no email channel"; }
"$TOCSIN" run cfg.lua --yes --config two.lua >cout 2>&1 || { cat cout; fail "config error run failed"; }
grep -q "several email channels (m1, m2)" cout || { cat cout; fail "two email channels"; }
# with several, the one named "email" is used
cat >named.lua <<'LUA'
return { channels = { email = { kind = "email", url = "smtp://127.0.0.1:7", from = "t@example.com" },
  other = { kind = "email", url = "smtp://127.0.0.1:9", from = "t@example.com" } } }
LUA
cat >dry2.lua <<'LUA'
assert(notify("email:dry@example.com", "ensaio")["email:dry@example.com"].ok)
LUA
"$TOCSIN" run dry2.lua --dry-run --config named.lua >cout 2>&1 || { cat cout; fail "dry run failed"; }
grep -q "email: mail to dry@example.com via smtp://127.0.0.1:7: ensaio" cout || { cat cout; fail "the channel named email is not used"; }
echo "notify_email ok"
