"""Emails people read (issue 13, item 7), through a real SMTP server (aiosmtpd).

Nobody is emailed about their own action; each event brings one email to each person who did
not cause it; the subject says what happened, in the recipient's language; links point at
PUBLIC_URL, which follows the port `flask serve` (and so `make run PORT=...`) listens on.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pytest
from kexport_support import Inbox, free_port, smtp_inbox, student_data

from app.extensions import db
from app.services import decisions, kickoff, notifications, outcomes, threads, worklog

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = "http://127.0.0.1:8765"


@pytest.fixture
def inbox(inbox: Inbox, app, monkeypatch) -> Inbox:
    """The suite's real SMTP inbox, with links pointing at PUBLIC."""
    monkeypatch.setitem(app.config, "PUBLIC_URL", PUBLIC)
    return inbox


def _send(inbox: Inbox) -> list[tuple[str, str, str]]:
    """Commit, then send what waits (the proposal's own emails included)."""
    db.session.commit()
    notifications.send_pending()
    return inbox.take()


def _links(body: str) -> list[str]:
    return re.findall(r"https?://\S+", body)


STUDENT, SME = "linh@example.org", "export@hanbit.example"


def test_each_side_hears_of_the_others_answer_never_of_its_own(
    proposed_pair, inbox, client, login_as
):
    pair = proposed_pair
    pair.student.locale, pair.sme.locale = "en", "ko"
    _send(inbox)  # the proposal's own emails

    # The student accepts on the proposals page: only the SME hears of it, in Korean.
    login_as(pair.student)
    response = client.post(
        f"/student/proposals/{pair.match_id}/decision", data={"decision": "accept"}
    )
    assert response.status_code == 302
    (mail,) = _send(inbox)
    assert mail[0] == SME
    assert mail[1] == "Nguyen Thi Linh 님이 제안을 수락했습니다"
    client.post("/logout")

    # The SME accepts: only the student hears of it, in English, with the company's name.
    login_as(pair.sme)
    response = client.post(f"/sme/candidates/{pair.match_id}/decision", data={"decision": "accept"})
    assert response.status_code == 302
    (mail,) = _send(inbox)
    assert mail[0] == STUDENT
    assert mail[1] == "한빛코스메틱 accepted the proposal"
    assert "한빛코스메틱 has accepted the proposal" in mail[2]

    # A coordinator approves: each side gets one email, naming the other side.
    decisions.approve(pair.match_id, pair.coordinator)
    received = dict((to, subject) for to, subject, _body in _send(inbox))
    assert received == {
        STUDENT: "Approved: your match with 한빛코스메틱",
        SME: "승인: Nguyen Thi Linh 님과의 매칭",
    }


def test_a_decline_is_told_to_the_other_side_only(proposed_pair, inbox):
    pair = proposed_pair
    pair.sme.locale = "en"
    _send(inbox)  # the proposal's own emails
    decisions.decide(pair.match_id, pair.sme, "decline", reason="market")
    (mail,) = _send(inbox)
    assert mail[0] == STUDENT and mail[1] == "한빛코스메틱 declined the proposal"


def test_every_event_has_its_own_subject(proposed_pair, app):
    """Every event of a match's life has its own subject, in both languages."""
    from flask_babel import force_locale

    events = ["student_accept", "student_decline", "approved"]
    events += ["rejected", "active", "completed"]
    for locale in ("en", "ko"):
        with app.test_request_context(), force_locale(locale):
            subjects = {decisions.event_subject(e, "X") for e in events}
        assert len(subjects) == len(events), subjects


def _slots() -> list[dict[str, str]]:
    day = (date.today() + timedelta(days=3)).isoformat()
    return [{"starts_at": f"{day}T10:00", "place": "Room 1"}]


def test_after_the_match_the_actor_is_never_told_and_links_use_public_url(pair, inbox):
    pair.student.locale, pair.sme.locale = "en", "en"
    _send(inbox)  # the proposal's own emails

    kickoff.offer(pair.match_id, pair.sme, {"slots": _slots()})
    (offer,) = _send(inbox)
    assert offer[0] == STUDENT and offer[1] == "한빛코스메틱 offers times for a first meeting"

    kickoff.confirm(pair.match_id, pair.student, {"slot": 0})
    (agreed,) = _send(inbox)
    assert agreed[0] == SME and agreed[1] == "First meeting agreed with Nguyen Thi Linh"

    # 8 of the 10 legal hours of the week: the SME is warned by email, the student on the page.
    pair.match.student.topik_level = 2
    monday = date.today() - timedelta(days=date.today().weekday())
    worklog.log(pair.match_id, pair.student, {"kind": "other", "date": monday, "hours": 8})
    (warning,) = _send(inbox)
    assert warning[0] == SME
    assert warning[1] == "Working hours: Nguyen Thi Linh is close to the weekly limit"

    threads.post(pair.match_id, pair.sme, {"body": "Welcome aboard"})
    db.session.commit()
    assert threads.notify_unread() == 1
    (message,) = _send(inbox)
    assert message[0] == STUDENT and message[1] == "1 new message from 한빛코스메틱"

    outcomes.complete(
        pair.match_id,
        pair.sme,
        {"status": "none", "markets": [], "contracts": 0, "note": ""},
    )
    (done,) = _send(inbox)
    assert done[0] == STUDENT and done[1] == "Completed: your match with 한빛코스메틱"

    for _to, _subject, body in [offer, agreed, warning, message, done]:
        links = _links(body)
        assert links and all(link.startswith(PUBLIC + "/") for link in links), body


# --- PUBLIC_URL follows the port the development server listens on ----------------------------


MAKE = shutil.which("make") or "make"


def test_make_run_passes_the_port_on_to_the_links():
    dry = subprocess.run(  # noqa: S603 - our own Makefile
        [MAKE, "-n", "run", "PORT=8123"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert 'PUBLIC_URL="http://127.0.0.1:8123"' in dry
    assert "--port 8123" in dry
    env = {**os.environ, "PUBLIC_URL": "https://match.example.org"}
    dry = subprocess.run(  # noqa: S603
        [MAKE, "-n", "run", "PORT=8123"], cwd=ROOT, capture_output=True, text=True, env=env
    ).stdout
    assert 'PUBLIC_URL="https://match.example.org"' in dry  # an explicit setting wins


def test_flask_serve_links_to_its_own_port(tmp_path):
    """A real `flask serve --port P` (as `make run PORT=P` starts it, without PUBLIC_URL): a
    sign-up's verification link, delivered over SMTP, points at port P, not 5000."""
    with smtp_inbox() as (inbox, smtp_port):
        _serve_and_sign_up(tmp_path, inbox, smtp_port)


def _serve_and_sign_up(tmp_path: Path, inbox: Inbox, smtp_port: int) -> None:
    web_port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PUBLIC_URL", "FLASK_RUN_PORT")} | {
        "APP_ENV": "development",
        "SECRET_KEY": "serve-test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "MAIL_AFTER_COMMIT": "inline",
        "FLASK_APP": "app",
    }
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run(  # noqa: S603 - our own command line
        [*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    server = subprocess.Popen(  # noqa: S603 - our own command line
        [*flask, "serve", "--port", str(web_port), "--no-scheduler"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{web_port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).close()  # noqa: S310
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        request = urllib.request.Request(  # noqa: S310 - a local server
            f"{base}/api/v1/students",
            data=json.dumps(student_data()).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            assert response.status == 201
        deadline = time.monotonic() + 20
        while not inbox.messages and time.monotonic() < deadline:
            time.sleep(0.1)
        ((_to, _subject, body),) = inbox.take()
        links = _links(body)
        assert links and all(link.startswith(base + "/") for link in links), body
        assert ":5000" not in body
    finally:
        server.terminate()
        server.wait(timeout=10)
