"""Bytes over the wire for the coordinators' dashboard: first visit and the next one.

    python scripts/measure_first_load.py                  # needs the test extras (Playwright)
    CHROMIUM_PATH=/usr/bin/chromium python scripts/measure_first_load.py

Seeds a fresh SQLite database with demo data, serves the app on 127.0.0.1 (werkzeug, in a
thread) twice — once as before issue 13 (app/static as it is: plain names, no compression),
once with `flask static build`'s output (fingerprinted names, precompressed, WhiteNoise) — and
loads `/coordinator/` in Chromium as the demo coordinator:

- *first visit*: a browser with an empty cache (a fresh context, logged in with the cookies
  only), everything the page loads, charts' data included;
- *next visit*: the same context opens the page again (what a returning coordinator pays).

For each, Accept-Encoding as Chromium sends it over HTTPS (`br`: Chromium only offers Brotli on
secure origins, and production is HTTPS) and as it sends it over plain HTTP (`gzip, deflate`).
Reported per case: requests, bytes received (response headers + body as sent, from Chromium's
own accounting) and the bodies' decoded size. Not a timed test: the figures go in the README.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ENCODINGS = {"br (HTTPS)": "br, gzip, deflate", "gzip (HTTP)": "gzip, deflate"}


def make_app(tmp: Path, build_dir: Path | None) -> Any:
    from app import create_app

    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/measure.sqlite3",
            "UPLOAD_DIR": str(tmp),
            "WTF_CSRF_ENABLED": True,
            "STATIC_BUILD_DIR": str(build_dir) if build_dir else None,
        }
    )


def seed(tmp: Path) -> tuple[str, str]:
    from flask_migrate import upgrade

    from app.extensions import db
    from app.services import demo

    app = make_app(tmp, None)
    with app.app_context():
        upgrade()
        result = demo.seed(students=150, smes=70, seed=1, journey=True)
        db.session.commit()
        demo.simulate_answers(cycles=2, seed=1)
        db.session.commit()
        db.engine.dispose()
    _, email, password = next(login for login in result.logins if login[0] == "coordinator")
    return email, password


def measure(browser: Any, base: str, login: tuple[str, str], accept: str) -> list[dict]:
    """The dashboard's loads: first visit (empty cache), then the next one."""
    headers = {"Accept-Encoding": accept}
    setup = browser.new_context(base_url=base, extra_http_headers=headers)
    page = setup.new_page()
    page.goto("/login")
    page.fill("input[name=email]", login[0])
    page.fill("input[name=password]", login[1])
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    cookies = setup.storage_state()
    setup.close()

    context = browser.new_context(base_url=base, storage_state=cookies, extra_http_headers=headers)
    page = context.new_page()
    visits = []
    for _ in ("first", "next"):
        responses: list[Any] = []

        def seen(response: Any, responses: list[Any] = responses) -> None:
            responses.append(response)

        page.on("response", seen)
        page.goto("/coordinator/", wait_until="networkidle")
        page.remove_listener("response", seen)
        wire = decoded = 0
        for response in responses:
            sizes = response.request.sizes()
            wire += sizes["responseHeadersSize"] + sizes["responseBodySize"]
            if response.status == 200:  # a redirect or a 304 has no body to read
                decoded += len(response.body())
        visits.append({"requests": len(responses), "wire": wire, "decoded": decoded})
    context.close()
    return visits


def serve(app: Any) -> tuple[Any, str]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def main() -> None:
    from playwright.sync_api import sync_playwright

    from app.static_files import build

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        login = seed(tmp)
        build(ROOT / "app" / "static", tmp / "static-build")
        rows = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
            )
            cases = (("before (plain)", None), ("after (build)", tmp / "static-build"))
            for label, build_dir in cases:
                server, base = serve(make_app(tmp, build_dir))
                try:
                    for encoding, accept in ENCODINGS.items():
                        first, following = measure(browser, base, login, accept)
                        rows.append((label, encoding, first, following))
                finally:
                    server.shutdown()
            browser.close()
    print(f"{'static files':16} {'Accept-Encoding':16} {'first visit':>32} {'next visit':>22}")
    for label, encoding, first, following in rows:
        print(
            f"{label:16} {encoding:16} "
            f"{first['requests']:3} req {first['wire'] / 1024:7.1f} KB "
            f"({first['decoded'] / 1024:6.1f} KB decoded) "
            f"{following['requests']:3} req {following['wire'] / 1024:7.1f} KB"
        )


if __name__ == "__main__":
    main()
