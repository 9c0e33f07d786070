"""The busiest pages' HTML, saved to compare two versions of the app byte for byte.

    python scripts/compare_pages.py seed DIR        # a seeded SQLite database in DIR
    python scripts/compare_pages.py save DIR OUT    # the app of the tree it runs from, into OUT
    diff -r OUT_OLD OUT_NEW                          # `save` run from each tree's root

Page work that keeps rendered parts (`app.templating`) must not change a byte of what a reader
gets (issue 14). `seed` builds `load_pages.py`'s data (2,000 students, 600 SMEs, one cycle, 20
candidates for the first demo SME, 8 proposals for the first demo student) and writes the logins
beside it. `save`, run from a tree's root so that tree's `app` is imported, works on a copy of
the seeded file (it writes: audit rows, answers) and saves, in English and Korean, each page
rendered twice (the second from what the first kept): the SME's dashboard and candidates
(default, sorted, filtered, an unknown code's 400), the student's dashboard and proposals, the
privacy page, the coordinators' matches list (page 2, by status, the ready queue), dashboard,
`stats.json` and `targets.csv`, and a 404; then the SME and the student answer (accept one,
decline one) and the candidates, proposals and dashboards are saved again (waiting cards, the
history table, the change-answer forms, fresh and kept; the answers' time pinned to one moment).
CSRF tokens are blanked.

PostgreSQL: set DATABASE_URL for `seed` and for each `save`, and give each `save` a fresh copy
of the seeded database (`CREATE DATABASE copy TEMPLATE seeded`): `save` writes to it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path.cwd()  # the tree whose app renders: run from its root
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

PAGES = [
    ("sme", "/sme/"),
    ("sme", "/sme/candidates"),
    ("sme", "/sme/candidates?sort=name&topik=1"),
    ("sme", "/sme/candidates?language=vi&market=VN&region=seoul&topik=2"),
    ("sme", "/sme/candidates?language=zz"),
    ("sme", "/no/such/page"),
    ("student", "/student/"),
    ("student", "/student/proposals"),
    ("student", "/privacy"),
    ("coordinator", "/coordinator/"),
    ("coordinator", "/coordinator/matches"),
    ("coordinator", "/coordinator/matches?page=2"),
    ("coordinator", "/coordinator/matches?status=proposed"),
    ("coordinator", "/coordinator/matches/ready"),
    ("coordinator", "/coordinator/stats.json"),
    ("coordinator", "/coordinator/targets.csv"),
]
# After the answers: the list, the list sorted, the reader's dashboard.
ANSWERED = [
    ("sme", "/sme/candidates", ["/sme/candidates", "/sme/candidates?sort=name", "/sme/"]),
    ("student", "/student/proposals", ["/student/proposals", "/student/"]),
]
ANSWERED_AT = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
TOKEN_FIELD = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+"')


def environment(folder: Path) -> dict[str, str]:
    return {
        "APP_ENV": "production",
        "SECRET_KEY": "compare-pages",
        "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/pages.sqlite3",
        "SESSION_COOKIE_SECURE": "0",
        "UPLOAD_DIR": str(folder / "uploads"),
        # The decisions' mails sent before the request returns, not by a thread that marks the
        # matches notified (and so moves their `updated_at`) after `_pin_answer_times` ran.
        "MAIL_AFTER_COMMIT": "inline",
    }


def seed(folder: Path) -> None:
    (folder / "uploads").mkdir(parents=True, exist_ok=True)
    os.environ.update(environment(folder))
    url = os.environ["DATABASE_URL"]
    if url.startswith("postgresql"):
        import sqlalchemy

        with sqlalchemy.create_engine(url).begin() as conn:
            conn.execute(sqlalchemy.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    flask = Path(sys.executable).parent / "flask"
    subprocess.run([flask, "--app", "app", "db", "upgrade"], cwd=ROOT, check=True)
    import load_pages

    (folder / "logins.json").write_text(json.dumps(load_pages.seed(2000, 600)))


def _login(app: Any, logins: dict[str, str], role: str) -> Any:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    data = {"email": logins[role], "password": logins["password"]}
    client.post("/login", data={**data, "csrf_token": token.group(1) if token else ""})
    return client


def _token(client: Any, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert found, f"no form on {path}"
    return found.group(1)


def _set_language(client: Any, locale: str) -> None:
    data = {"locale": locale, "next": "/privacy", "csrf_token": _token(client, "/privacy")}
    assert client.post("/language", data=data).status_code in (302, 303)


def _save(client: Any, path: str, out: Path, name: str) -> None:
    for n in (1, 2):  # the second render from what the first kept
        response = client.get(path)
        text = TOKEN_FIELD.sub(r'\1TOKEN"', response.get_data(as_text=True))
        slug = path.strip("/").replace("/", "_").replace("?", "_") or "root"
        (out / f"{name}-{slug}-{n}.html").write_text(f"{response.status_code}\n{text}")


def _pin_answer_times(app: Any) -> None:
    """The answered matches' `updated_at` set to one moment: the history table shows it to the
    minute, and two trees' runs, each answering at its own time, would differ there alone."""
    from sqlalchemy import or_, update

    from app.extensions import db
    from app.models import Match

    with app.app_context():
        answered = or_(Match.sme_decision.is_not(None), Match.student_decision.is_not(None))
        db.session.execute(update(Match).where(answered).values(updated_at=ANSWERED_AT))
        db.session.commit()


def save(seeded: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        shutil.copytree(seeded, folder, dirs_exist_ok=True)  # the seeded file stays as it was
        os.environ.update(environment(folder))
        from app import create_app

        app = create_app()
        logins = json.loads((folder / "logins.json").read_text())
        for locale in ("en", "ko"):
            for role in ("sme", "student", "coordinator"):
                client = _login(app, logins, role)
                _set_language(client, locale)
                for reader, path in PAGES:
                    if reader == role:
                        _save(client, path, out, f"{locale}-{role}")
        for role, page, paths in ANSWERED:
            client = _login(app, logins, role)
            ids = re.findall(r'id="match-(\d+)"', client.get(page).get_data(as_text=True))[:2]
            token = _token(client, page)
            for match_id, answer in zip(ids, ("accept", "decline"), strict=True):
                data = {"decision": answer, "reason": "not_a_fit", "note": "n", "csrf_token": token}
                response = client.post(f"{page}/{match_id}/decision", data=data)
                assert response.status_code in (302, 303), response.status_code
            _pin_answer_times(app)
            for locale in ("en", "ko"):
                _set_language(client, locale)
                for path in paths:
                    _save(client, path, out, f"answered-{locale}-{role}")
    print(f"saved {len(list(out.iterdir()))} pages in {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("seed", "save"))
    parser.add_argument("folder", type=Path, help="where the seeded database and logins are")
    parser.add_argument("out", type=Path, nargs="?", help="save: where the pages go")
    args = parser.parse_args()
    if args.command == "seed":
        seed(args.folder)
    elif args.out is None:
        parser.error("save needs OUT")
    else:
        save(args.folder, args.out)


if __name__ == "__main__":
    main()
