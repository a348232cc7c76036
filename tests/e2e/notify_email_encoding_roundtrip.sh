#!/usr/bin/env bash
# Subjects and bodies survive the mail encoding whatever they hold: 60
# generated texts mixing ASCII, 2-, 3- and 4-byte UTF-8 characters, '=',
# '?', "=?UTF-8?B?...?=" look-alikes, '.' opening lines, tabs, spaces at line
# ends, lines of several hundred characters and LF, CRLF and CR line breaks
# are sent through a real SMTP server and decoded by Python's email package
# (an independent RFC 2047 / quoted-printable decoder): the subject and the
# body come back as sent, and no line on the wire is too long.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/smtp_lib.bash"
cd "$WORK" || exit 1
start_smtp box

cat >tocsin.lua <<LUA
return { channels = { mail = { kind = "email", url = "smtp://127.0.0.1:$SMTP_PORT",
  from = "Ação Tocsin <tocsin@example.com>", to = { "a@example.com" } } } }
LUA

cat >rb.lua <<'LUA'
math.randomseed(42)
local pieces = { "a", "Z", "0", " ", "=", "?", "_", ".", "\t", "é", "ç", "ã", "—", "€", "中", "😀",
  "=?UTF-8?B?", "?=", "=?", "=20", "=3D", "From ", "..", "Ação" }
local breaks = { "\n", "\r\n", "\r" }
local function text(len, lines)
  local out = {}
  for l = 1, lines do
    local line = {}
    if math.random() < 0.3 then line[#line + 1] = "." end
    for _ = 1, math.random(0, len) do line[#line + 1] = pieces[math.random(#pieces)] end
    if math.random() < 0.3 then line[#line + 1] = " " end -- a space at the line end
    out[#out + 1] = table.concat(line)
    if l < lines then out[#out + 1] = breaks[math.random(#breaks)] end
  end
  return table.concat(out)
end
for i = 1, 60 do
  local subject = text(i < 30 and 12 or 120, 1):gsub("\t", " ")
  subject = subject:gsub("^ +", ""):gsub(" +$", "") -- a header's edges are not kept
  if subject == "" then subject = "x" .. i end
  local body = text(i < 30 and 20 or 400, math.random(1, 5))
  local r = assert(notify("mail", subject .. "\n" .. body))
  assert(r.mail.ok, tostring(r.mail.error))
  print("CASE " .. json.encode({ i = i, subject = subject, text = subject .. "\n" .. body }))
end
print("ROUNDTRIP-SENT")
LUA
"$TOCSIN" run rb.lua --yes --config tocsin.lua >out 2>err || { tail -20 out err; fail "run failed"; }
grep -q ROUNDTRIP-SENT out || { tail -20 out; fail "runbook did not finish"; }

"$PY" - <<'PY' || fail "round trip"
import email, email.policy, glob, json, re
cases = [json.loads(l[5:]) for l in open("out", encoding="utf-8") if l.startswith("CASE ")]
assert len(cases) == 60, len(cases)
assert len(glob.glob("box/*.eml")) == 60
for c in cases:
    raw = open("box/%d.eml" % c["i"], "rb").read()  # sent one after the other
    for line in raw.split(b"\r\n"):
        assert len(line) <= 78, line
    assert b"\n" not in raw.replace(b"\r\n", b""), "bare LF"
    for line in raw.split(b"\r\n\r\n", 1)[1].split(b"\r\n"):
        assert len(line) <= 76 and not line.endswith((b" ", b"\t")), line
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(msg["Subject"]) == c["subject"], (c["i"], str(msg["Subject"]), c["subject"])
    assert msg["From"].addresses[0].display_name == "Ação Tocsin", msg["From"]
    body = msg.get_content().replace("\r\n", "\n")
    want = re.sub(r"\r\n|\r", "\n", c["text"]) + "\n"
    assert body.startswith(want), (c["i"], repr(body[:200]), repr(want[:200]))
print("round trip ok")
PY
echo "notify_email_encoding_roundtrip ok"
