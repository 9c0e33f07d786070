"""The README's screenshot of the coordinators' queue ("Ready to approve"), from a seeded app.

    .venv/bin/python scripts/screenshot_queue.py [--lang en|ko] [--out docs/screenshots/...]

Seeds a throwaway SQLite database the way `make run` does (`seed-demo`: demo people, five cycles
whose proposals are answered from hidden preferences, so some wait for a coordinator), serves it
on a free local port and photographs the queue with Debian's Chromium through Playwright
(`CHROMIUM_PATH`, default /usr/bin/chromium). Nothing is kept but the picture.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
from datetime import timedelta
from pathlib import Path

from flask_migrate import upgrade
from playwright.sync_api import sync_playwright
from sqlalchemy import select, update
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from app.models import Match, MatchStatus, utcnow
from app.services import accounts, cycles, decisions, demo

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "a screenshot passphrase"  # noqa: S105 - a throwaway database's account


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=("en", "ko"), default="en")
    parser.add_argument("--out", default=str(ROOT / "docs/screenshots/coordinator-queue.png"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/shot.sqlite3"}
        )
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            demo.seed(students=150, smes=70, seed=1, journey=True)
            db.session.commit()
            demo.simulate_answers(cycles=5, seed=1)
            cycles.run_cycle()  # this week's proposals, not answered yet
            db.session.commit()
            accept_some(6)
            accounts.create_coordinator("queue@example.org", PASSWORD)
            db.session.commit()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            shoot(f"http://127.0.0.1:{server.server_port}", args.lang, Path(args.out))
        finally:
            server.shutdown()
            with app.app_context():
                db.engine.dispose()


def accept_some(n: int) -> None:
    """Both sides accept `n` of the open proposals, a day apart: a week's queue."""
    waiting = db.session.scalars(
        select(Match)
        .where(
            Match.status == MatchStatus.PROPOSED,
            Match.student_decision.is_(None),
            Match.sme_decision.is_(None),
        )
        .order_by(Match.id)
        .limit(n)
    ).all()
    for days, match in enumerate(reversed(waiting), start=1):
        decisions.decide(match.id, match.student.user, "accept")
        decisions.decide(match.id, match.sme.user, "accept")
        db.session.execute(
            update(Match)
            .where(Match.id == match.id)
            .values(updated_at=utcnow() - timedelta(days=days, hours=3 * days))
        )
    db.session.commit()


def shoot(base: str, lang: str, out: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
            args=["--no-sandbox", "--disable-gpu"],
        )
        page = browser.new_page(
            base_url=base,
            locale={"en": "en-US", "ko": "ko-KR"}[lang],
            viewport={"width": 1280, "height": 800},
        )
        page.goto("/login")
        page.fill('[name="email"]', "queue@example.org")
        page.fill('[name="password"]', PASSWORD)
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()
        page.goto("/coordinator/matches/ready")
        page.locator("[data-select-all]").check()
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out))
        print(f"{out}: {page.locator('[data-ready-match]').count()} proposals in the queue")  # noqa: T201
        browser.close()


if __name__ == "__main__":
    main()
