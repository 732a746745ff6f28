#!/usr/bin/env python3
"""A throwaway SMTP receiver for the e-mail delivery test (scripts/alerts-smtp.sh), built
on aiosmtpd. It runs two servers on loopback:

  * STARTTLS required (plain connect, then STARTTLS before MAIL) with AUTH required;
  * implicit TLS (TLS from the first byte) with AUTH required.

Every accepted message is written to OUT as msg-<n>.eml (the raw message) and
msg-<n>.json (envelope sender and recipients, which server took it, whether the session
was encrypted and authenticated). When both servers are up it writes OUT/ready.json with
their ports, then runs until SIGTERM or SIGINT.

  smtp_sink.py --out DIR --cert server.pem --key server.key --user U --password P
"""

import argparse
import itertools
import json
import os
import signal
import socket
import ssl
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """Writes each message to OUT before answering 250, so a sender that got its 250 can
    read the files at once."""

    def __init__(self, out, name):
        self.out = out
        self.name = name

    counter = itertools.count(1)
    lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with Sink.lock:
            n = next(Sink.counter)
        base = os.path.join(self.out, f"msg-{n}")
        meta = {
            "server": self.name,
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(session.authenticated),
        }
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.replace(base + ".eml.tmp", base + ".eml")
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.replace(base + ".json.tmp", base + ".json")
        return "250 Message accepted for delivery"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False)

    return check


def main():
    # The implicit-TLS server's AUTH-without-STARTTLS warning (it is TLS all along) and
    # aiosmtpd's own deprecation notes.
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    args = ap.parse_args()

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(args.cert, args.key)
    auth = authenticator(args.user, args.password)
    common = dict(hostname="127.0.0.1", authenticator=auth, auth_required=True)

    starttls = Controller(
        Sink(args.out, "starttls"),
        port=free_port(),
        tls_context=ctx,
        require_starttls=True,
        **common,
    )
    # aiosmtpd only counts STARTTLS as TLS for `auth_require_tls`; this server is TLS
    # from the first byte, so AUTH is offered without that check.
    implicit = Controller(
        Sink(args.out, "tls"),
        port=free_port(),
        ssl_context=ctx,
        auth_require_tls=False,
        **common,
    )
    starttls.start()
    implicit.start()

    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    ready = {"starttls_port": starttls.port, "tls_port": implicit.port}
    with open(os.path.join(args.out, "ready.json.tmp"), "w") as f:
        json.dump(ready, f)
    os.replace(
        os.path.join(args.out, "ready.json.tmp"), os.path.join(args.out, "ready.json")
    )
    print(f"smtp sink: STARTTLS on {starttls.port}, TLS on {implicit.port}", flush=True)
    while not done.wait(0.5):
        pass
    starttls.stop()
    implicit.stop()


if __name__ == "__main__":
    main()
