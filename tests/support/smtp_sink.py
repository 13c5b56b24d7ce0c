"""A real SMTP server on loopback for mailroom's integration tests.

It requires AUTH (PLAIN or LOGIN) with the given credentials, saves each
delivered message as a JSON file in the output directory, and prints
"PORT <n>" on stdout once it listens. It exits when stdin closes, so a test
process that dies does not leave it behind.

With --hold-first N, the first N messages are held: once their DATA has
arrived the server writes a `held-<n>` marker file and does not answer (a
transport that has the bytes but has not confirmed them) until a file named
`release` appears in DIR; then it stores and confirms them as usual.

Usage: smtp_sink.py --dir DIR --username U --password P [--fail-with CODE]
                    [--hold-first N]
"""

import argparse
import asyncio
import base64
import json
import logging
import os
import sys
import threading
import warnings

try:
    from aiosmtpd.smtp import SMTP, AuthResult
except ImportError:
    print("aiosmtpd is missing", file=sys.stderr)
    sys.exit(3)


class SaveToDir:
    def __init__(self, directory, fail_with, hold_first):
        self.directory = directory
        self.fail_with = fail_with
        self.hold_first = hold_first
        self.received = 0
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.received += 1
        if self.received <= self.hold_first:
            marker = os.path.join(self.directory, f"held-{self.received:06d}")
            with open(marker, "w", encoding="utf-8"):
                pass
            release = os.path.join(self.directory, "release")
            for _ in range(24 * 3600 * 50):
                if os.path.exists(release):
                    break
                await asyncio.sleep(0.02)
            else:
                return "451 held on purpose by the test server"
        if self.fail_with is not None:
            return f"{self.fail_with} refused on purpose by the test server"
        self.count += 1
        login = None
        if session.auth_data is not None:
            login = getattr(session.auth_data, "login", b"").decode("utf-8", "replace")
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_to": list(envelope.rcpt_tos),
            "auth_login": login,
            "raw_b64": base64.b64encode(envelope.original_content).decode("ascii"),
        }
        name = f"{self.count:06d}.json"
        # Written then renamed, so a reader polling the folder never sees half a file.
        tmp = os.path.join(self.directory, f".{name}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.replace(tmp, os.path.join(self.directory, name))
        return "250 OK"


def make_authenticator(username, password):
    expected = (username.encode("utf-8"), password.encode("utf-8"))

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            mechanism in ("PLAIN", "LOGIN")
            and (auth_data.login, auth_data.password) == expected
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return authenticator


def exit_when_stdin_closes():
    sys.stdin.buffer.read()
    os._exit(0)


async def main():
    # aiosmtpd warns about AUTH without TLS; on loopback that is the point.
    warnings.filterwarnings("ignore")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--fail-with", type=int, default=None)
    parser.add_argument("--hold-first", type=int, default=0)
    args = parser.parse_args()

    os.makedirs(args.dir, exist_ok=True)
    handler = SaveToDir(args.dir, args.fail_with, args.hold_first)
    authenticator = make_authenticator(args.username, args.password)
    loop = asyncio.get_running_loop()

    def factory():
        # A fixed hostname avoids socket.getfqdn(), which can stall on DNS.
        return SMTP(
            handler,
            hostname="localhost",
            authenticator=authenticator,
            auth_required=True,
            auth_require_tls=False,
            loop=loop,
        )

    server = await loop.create_server(factory, host="127.0.0.1", port=0)
    port = server.sockets[0].getsockname()[1]
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    print(f"PORT {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
