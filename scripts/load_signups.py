"""Concurrent sign-ups against gunicorn with several workers (SECURITY.md, figures to measure).

    python scripts/load_signups.py                       # SQLite file, 4 workers
    DATABASE_URL=postgresql+psycopg://... python scripts/load_signups.py --workers 4

Starts gunicorn on a free loopback port over a fresh database, then:
  1. 200 different students sign up at once through the HTML form (GET for the CSRF token, POST);
  2. 50 sign-ups with one and the same email at once.
Reports the accounts created, the status codes and any 5xx. Traffic goes to 127.0.0.1 only, the
number of requests is fixed, and gunicorn is stopped at the end.
"""

from __future__ import annotations

import argparse
import collections
import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def form(n: int, email: str) -> dict[str, object]:
    return {
        "email": email,
        "password": "a long enough passphrase",
        "name": f"Load Student {n}",
        "nationality": "VN",
        "languages-0-code": "vi",
        "languages-0-level": "native",
        "topik_level": "3",
        "university": "Seoul National University",
        "major": "Trade",
        "markets": "VN",
        "industries": "cosmetics",
        "regions": "seoul",
        "hours_per_week": "10",
        "visa": "d2",
        "consent_collection": "y",
        "consent_provision": "y",
    }


def sign_up(base: str, n: int, email: str) -> int:
    jar = http.cookiejar.CookieJar()
    # A 302 to the dashboard is success: don't follow it.
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect())
    try:
        page = opener.open(f"{base}/student/signup", timeout=60).read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode({**form(n, email), "csrf_token": token}).encode()
        request = urllib.request.Request(f"{base}/student/signup", data=data)
        return opener.open(request, timeout=60).status
    except urllib.error.HTTPError as error:  # 302 (created), 409 (taken), ...
        return error.code
    except OSError:  # timed out or refused: reported as 0
        return 0


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--signups", type=int, default=200)
    parser.add_argument("--same-email", type=int, default=50)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/load.sqlite3"
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": "load-test",
        "DATABASE_URL": url,
        "SESSION_COOKIE_SECURE": "0",
        "UPLOAD_DIR": tempfile.mkdtemp(),
    }
    subprocess.run(
        [BIN / "flask", "--app", "app", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    server = subprocess.Popen(
        [
            BIN / "gunicorn",
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
            "app:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.signups) as pool:
            codes = list(
                pool.map(lambda n: sign_up(base, n, f"load{n}@example.org"), range(args.signups))
            )
        took = time.perf_counter() - started
        with ThreadPoolExecutor(max_workers=args.same_email) as pool:
            same = list(
                pool.map(lambda n: sign_up(base, n, "same@example.org"), range(args.same_email))
            )
    finally:
        server.terminate()
        server.wait(30)

    sys.path.insert(0, str(ROOT))
    os.environ.update(env)
    from sqlalchemy import func, select

    from app import create_app
    from app.extensions import db
    from app.models import User

    with create_app().app_context():
        accounts = db.session.scalar(select(func.count(User.id)).where(User.email.like("load%")))
        same_accounts = db.session.scalar(
            select(func.count(User.id)).where(User.email == "same@example.org")
        )
    print(f"database: {url.split(':', 1)[0]}, gunicorn workers: {args.workers}")
    print(
        f"{args.signups} concurrent sign-ups in {took:.1f} s: {accounts} accounts, "
        f"statuses {dict(collections.Counter(codes))}, "
        f"5xx: {sum(c >= 500 for c in codes)}"
    )
    print(
        f"{args.same_email} concurrent sign-ups with one email: {same_accounts} account(s), "
        f"statuses {dict(collections.Counter(same))}, 5xx: {sum(c >= 500 for c in same)}"
    )


if __name__ == "__main__":
    main()
