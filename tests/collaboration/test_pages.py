"""The match page for its student, its SME and coordinators, and nobody else: every route and
every role on an approved match with a kickoff, messages and files."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from kexport_support import PASSWORD
from sqlalchemy import func, select

from app.extensions import db
from app.models import Activity, AuditEvent, Kickoff, MatchStatus, Message

PDF = b"%PDF-1.4\n% the brochure\n%%EOF\n"
ROLES = ("student", "sme", "coordinator", "outsider_student", "outsider_sme", "anonymous")
READERS = {"student", "sme", "coordinator"}


def _login(app: Flask, user: Any) -> Any:
    client = app.test_client()
    if user is not None:
        response = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302
    return client


@pytest.fixture
def clients(app: Flask, pair: Any) -> dict[str, Any]:
    people = {
        "student": pair.student,
        "sme": pair.sme,
        "coordinator": pair.coordinator,
        "outsider_student": pair.outsider_student,
        "outsider_sme": pair.outsider_sme,
        "anonymous": None,
    }
    return {role: _login(app, user) for role, user in people.items()}


def _start(pair: Any, clients: dict[str, Any]) -> dict[str, int]:
    """Kickoff agreed, a message with a PDF, a work-log entry with a PDF: through the pages."""
    when = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT14:00")
    page = f"/matches/{pair.match_id}"
    offered = clients["sme"].post(
        page + "/kickoff", data={"slot-0-starts_at": when, "slot-0-place": "https://meet.example/x"}
    )
    assert offered.status_code == 302
    assert clients["student"].post(page + "/kickoff/confirm", data={"slot": "0"}).status_code == 302
    assert pair.match.status == MatchStatus.ACTIVE
    sent = clients["sme"].post(
        page + "/messages",
        data={
            "body": "<script>alert('x')</script> 브로셔입니다",
            "attachment": (io.BytesIO(PDF), "a.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302
    logged = clients["student"].post(
        page + "/activities",
        data={
            "kind": "market_research",
            "date": date.today().isoformat(),
            "hours": "2.5",
            "note": "Hanoi buyers",
            "attachment": (io.BytesIO(PDF), "report.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert logged.status_code == 302, logged.data[:300]
    return {
        "message_id": db.session.scalar(select(Message.id)),
        "activity_id": db.session.scalar(select(Activity.id)),
    }


def test_every_route_of_an_approved_match_against_every_role(
    pair: Any, clients: dict[str, Any]
) -> None:
    ids = _start(pair, clients)
    base = f"/matches/{pair.match_id}"
    pages = [
        base,
        f"{base}/messages/{ids['message_id']}/file",
        f"{base}/activities/{ids['activity_id']}/file",
        f"{base}/kickoff.ics",
    ]
    for url in pages:
        for role in ROLES:
            response = clients[role].get(url)
            if role in READERS:
                assert response.status_code == 200, (role, url)
            elif role == "anonymous":
                assert response.status_code == 302 and "/login" in response.headers["Location"]
            else:
                assert response.status_code == 404, (role, url, response.status_code)
    for url in pages[1:3]:
        response = clients["coordinator"].get(url)
        assert response.data == PDF
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    ics = clients["student"].get(pages[3])
    assert ics.mimetype == "text/calendar" and b"BEGIN:VEVENT" in ics.data
    # A file asked for under another match's id is not found, even by a reader of both.
    assert (
        clients["coordinator"].get(f"/matches/987654/messages/{ids['message_id']}/file").status_code
        == 404
    )


def test_strangers_change_nothing(pair: Any, clients: dict[str, Any]) -> None:
    ids = _start(pair, clients)
    base = f"/matches/{pair.match_id}"
    posts = {
        f"{base}/messages": {"body": "hello"},
        f"{base}/kickoff": {"slot-0-starts_at": "2030-01-01T10:00", "slot-0-place": "x"},
        f"{base}/kickoff/confirm": {"slot": "0"},
        f"{base}/activities": {"kind": "other", "date": date.today().isoformat(), "hours": "1"},
        f"{base}/activities/{ids['activity_id']}/review": {"decision": "confirm"},
        f"{base}/checkins": {"satisfaction": "5", "hours": "1"},
        f"{base}/complete": {"status": "none"},
        f"{base}/student-outcome": {"outcome": "other"},
    }
    counts = _counts()
    for url, data in posts.items():
        for role in ("outsider_student", "outsider_sme"):
            assert clients[role].post(url, data=data).status_code == 404, (role, url)
        assert clients["anonymous"].post(url, data=data).status_code == 302
    assert _counts() == counts


def _counts() -> tuple[int, ...]:
    from app.models import CheckIn, MatchOutcome

    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Message, Activity, CheckIn, MatchOutcome, Kickoff)
    )


def test_the_page_shows_contact_escapes_messages_and_audits_the_view(
    pair: Any, clients: dict[str, Any]
) -> None:
    _start(pair, clients)
    html = clients["student"].get(f"/matches/{pair.match_id}").get_data(as_text=True)
    assert "export@hanbit.example" in html and "김민준" in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    views = db.session.scalar(select(func.count()).where(AuditEvent.action == "contact_viewed"))
    assert views >= 1
    # The student read the message: the SME's page marks it read.
    assert 'class="read-mark"' in clients["sme"].get(f"/matches/{pair.match_id}").get_data(
        as_text=True
    )


def test_nothing_before_approval(proposed_pair: Any, app: Flask) -> None:
    for user in (proposed_pair.student, proposed_pair.sme):
        client = _login(app, user)
        assert client.get(f"/matches/{proposed_pair.match_id}").status_code == 404
        assert (
            client.post(
                f"/matches/{proposed_pair.match_id}/messages", data={"body": "x"}
            ).status_code
            == 404
        )
    html = _login(app, proposed_pair.coordinator).get(f"/matches/{proposed_pair.match_id}")
    assert html.status_code == 200
    assert "export@hanbit.example" not in html.get_data(as_text=True)


def test_bad_input_shows_the_page_again_with_a_4xx(pair: Any, clients: dict[str, Any]) -> None:
    base = f"/matches/{pair.match_id}"
    response = clients["sme"].post(
        base + "/kickoff", data={"slot-0-starts_at": "", "slot-0-place": "x"}
    )
    assert response.status_code == 422
    assert "is-invalid" in response.get_data(as_text=True)
    assert clients["sme"].post(base + "/messages", data={"body": " "}).status_code == 422
    not_pdf = clients["sme"].post(
        base + "/messages",
        data={"body": "x", "attachment": (io.BytesIO(b"GIF89a"), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert not_pdf.status_code == 422
    assert db.session.scalar(select(func.count(Message.id))) == 0


def test_complete_and_outcomes_through_the_pages(pair: Any, clients: dict[str, Any]) -> None:
    _start(pair, clients)
    base = f"/matches/{pair.match_id}"
    assert (
        clients["student"]
        .post(base + "/checkins", data={"satisfaction": "4", "hours": "10"})
        .status_code
        == 302
    )
    missing = clients["sme"].post(base + "/complete", data={"status": "first_export"})
    assert missing.status_code == 422
    done = clients["sme"].post(
        base + "/complete",
        data={
            "status": "first_export",
            "first_export_on": "2026-11-01",
            "markets": ["VN"],
            "contracts": "2",
        },
    )
    assert done.status_code == 302
    assert pair.match.status == MatchStatus.COMPLETED
    assert (
        clients["student"]
        .post(base + "/student-outcome", data={"outcome": "job_offer"})
        .status_code
        == 302
    )
    html = clients["coordinator"].get(base).get_data(as_text=True)
    assert "first_export" in html


def test_contact_and_export_status_pages(pair: Any, clients: dict[str, Any]) -> None:
    bad = clients["student"].post("/matches/contact", data={"phone": "no phone"})
    assert bad.status_code == 422
    assert (
        clients["student"].post("/matches/contact", data={"phone": "+82 10 1234 5678"}).status_code
        == 302
    )
    assert "+82 10 1234 5678" in clients["sme"].get(f"/matches/{pair.match_id}").get_data(
        as_text=True
    )
    assert clients["coordinator"].get("/matches/contact").status_code == 404
    assert clients["student"].get("/sme/export-status").status_code == 403
    page = clients["sme"].post("/sme/export-status", data={"status": "usd_100k"})
    assert page.status_code == 422
    saved = clients["sme"].post(
        "/sme/export-status", data={"status": "usd_100k", "first_export_on": "2025-05-01"}
    )
    assert saved.status_code == 302
