"""Time the password-reset request for known and unknown addresses (issue 12.6).

Run from the repository root::

    python scripts/reset_timing.py                       # 200 requests of each kind per mode
    python scripts/reset_timing.py --smtp-delay-ms 50    # an SMTP server 50 ms away

The platform is served over real HTTP (werkzeug's threaded server) on a temporary SQLite file,
with mail going to a real SMTP server (aiosmtpd, optionally answering each message after a
delay, like a remote relay). Each known request uses a different account (each account gets at
most three links an hour). Known and unknown requests alternate, with a pause after each
(``--gap-ms``: the mail thread's work after a known address is not counted in the next
request; with ``--gap-ms 0`` it can be). Two modes:

- ``inline``: the queued request is processed and mailed inside the request (the old behaviour:
  the lookup and SMTP on the request path);
- ``thread``: the request only queues; the process's mail thread does the rest after the commit
  (the default, MAIL_AFTER_COMMIT=thread).

Prints the median and 90th percentile per kind and mode, in milliseconds, as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import logging
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Relay:
    def __init__(self, delay: float) -> None:
        self.delay, self.received = delay, 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        await asyncio.sleep(self.delay)
        self.received += 1
        return "250 OK"


def _post(port: int, email: str) -> float:
    body = urlencode({"email": email})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.perf_counter()
    conn.request(
        "POST",
        "/password/forgot",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    response = conn.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    conn.close()
    assert response.status == 302, response.status
    return elapsed * 1000


def measure(mode: str, n: int, smtp_delay: float, gap: float) -> dict[str, object]:
    from aiosmtpd.controller import Controller
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash
    from werkzeug.serving import make_server

    from app import create_app
    from app.extensions import db
    from app.models import Role, User

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    relay = Relay(smtp_delay)
    smtp_port = _free_port()
    controller = Controller(relay, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    tmp = tempfile.mkdtemp()
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/timing.sqlite3",
            "UPLOAD_DIR": tmp,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": smtp_port,
            "MAIL_AFTER_COMMIT": mode,
        }
    )
    with app.app_context():
        upgrade()
        password_hash = generate_password_hash("not used", method="scrypt:4096:8:1")
        db.session.add_all(
            User(email=f"known{i}@example.org", password_hash=password_hash, role=Role.STUDENT)
            for i in range(n)
        )
        db.session.commit()
    http_port = _free_port()
    server = make_server("127.0.0.1", http_port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for i in range(5):  # warm up: templates compiled, connections opened
        _post(http_port, f"warmup{i}@example.org")
    known, unknown = [], []
    for i in range(n):
        known.append(_post(http_port, f"known{i}@example.org"))
        time.sleep(gap)
        unknown.append(_post(http_port, f"nobody{i}@example.org"))
        time.sleep(gap)
    deadline = time.monotonic() + 60
    while relay.received < n and time.monotonic() < deadline:  # every known address got its link
        time.sleep(0.05)
    server.shutdown()
    controller.stop()

    def summary(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {
            "median_ms": round(statistics.median(ordered), 2),
            "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))], 2),
        }

    return {
        "mode": mode,
        "requests_per_kind": n,
        "smtp_delay_ms": round(smtp_delay * 1000),
        "gap_ms": round(gap * 1000),
        "emails_received": relay.received,
        "known": summary(known),
        "unknown": summary(unknown),
        "median_difference_ms": round(statistics.median(known) - statistics.median(unknown), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=200, help="requests of each kind per mode")
    parser.add_argument("--smtp-delay-ms", type=float, default=0.0)
    parser.add_argument("--modes", default="inline,thread")
    parser.add_argument(
        "--gap-ms",
        type=float,
        default=100.0,
        help="pause after each request (lets the mail "
        "thread finish, so its work is not counted in the next request)",
    )
    args = parser.parse_args()
    for mode in args.modes.split(","):
        result = measure(mode, args.n, args.smtp_delay_ms / 1000, args.gap_ms / 1000)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
