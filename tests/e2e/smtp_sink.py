"""A real SMTP server for the email tests (aiosmtpd, Debian python3-aiosmtpd).

Listens on a free loopback port (written to --port-file once it accepts) and
saves every accepted message as DIR/N.eml (the bytes received) with
DIR/N.json (envelope: mail_from, rcpt_tos, tls, auth, t: the time it came).  Every RCPT is logged
to DIR/rcpt.log ("address code").  Recipients whose local part starts with
"reject" get 550, with "busy" 451.  Options: --starttls CERT KEY (STARTTLS
offered and required), --smtps CERT KEY (TLS from the first byte),
--auth USER:PASS (AUTH offered after TLS only, and required),
--slow-data SECS (the 354 answer to DATA comes that late), --slow-eod SECS
(so does the answer to the final ".").
"""
import argparse
import asyncio
import json
import os
import ssl
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, folder, eod_delay=0.0):
        self.folder = folder
        self.eod_delay = eod_delay
        self.n = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        code = "250 OK"
        if local.startswith("reject"):
            code = "550 5.1.1 <%s>: Recipient address rejected: no such user" % address
        elif local.startswith("busy"):
            code = "451 4.3.0 <%s>: Try again later" % address
        with open(os.path.join(self.folder, "rcpt.log"), "a") as f:
            f.write("%s %s\n" % (address, code[:3]))
        if code.startswith("250"):
            envelope.rcpt_tos.append(address)
        return code

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.eod_delay)
        self.n += 1
        base = os.path.join(self.folder, str(self.n))
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "auth": bool(session.authenticated),
            "t": time.time(),
        }
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 Message accepted for delivery"


class SlowData(SMTP):
    delay = 0.0

    async def smtp_DATA(self, arg):
        await asyncio.sleep(self.delay)
        return await super().smtp_DATA(arg)


def context(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--smtps", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--auth")
    ap.add_argument("--slow-data", type=float, default=0.0)
    ap.add_argument("--slow-eod", type=float, default=0.0)
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    handler = Sink(a.dir, a.slow_eod)
    kw = {"hostname": "localhost", "decode_data": False}
    if a.starttls:
        kw["tls_context"] = context(*a.starttls)
        kw["require_starttls"] = True
    if a.auth:
        user, password = a.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, data):
            ok = isinstance(data, LoginPassword) and data.login.decode() == user \
                and data.password.decode() == password
            # handled=False: aiosmtpd answers 535 itself (else it says nothing)
            return AuthResult(success=ok, handled=False)

        kw["authenticator"] = authenticator
        kw["auth_required"] = True
        # over SMTPS the connection is TLS from the start; aiosmtpd only
        # counts STARTTLS, so let it offer AUTH there
        kw["auth_require_tls"] = not a.smtps
    SlowData.delay = a.slow_data
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(
        lambda: SlowData(handler, loop=loop, **kw), "127.0.0.1", 0,
        ssl=context(*a.smtps) if a.smtps else None))
    port = server.sockets[0].getsockname()[1]
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(a.port_file + ".tmp", a.port_file)
    loop.run_forever()


if __name__ == "__main__":
    main()
