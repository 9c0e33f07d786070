"""One transaction per request (issue 16): the boundary commits a success, rolls back a refusal or
a failure, lets a view opt out, and wakes the mail worker only after a commit."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from werkzeug.wrappers import Response

from app.extensions import db
from app.models import AuditEvent, OutboxMessage, PasswordResetRequest
from app.services import audit, delivery, mail, outcomes
from app.services.errors import InvalidInput
from app.transaction import commits_itself, end_of_request

INDEX = "main.index"  # the endpoint of "/"


def _queue_one() -> None:
    mail.queue_many(
        [
            {
                "recipient": "someone@example.org",
                "locale": "en",
                "subject": "s",
                "body_text": "t",
                "body_html": "h",
                "kind": "test",
            }
        ]
    )


def _rows() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count(OutboxMessage.id))) or 0


@pytest.fixture
def kicks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each wake of the mail worker, with the outbox rows committed at that moment."""
    seen: list[int] = []

    def kick() -> None:
        with db.engine.connect() as other:  # another connection sees only what is committed
            seen.append(other.scalar(select(func.count(OutboxMessage.id))) or 0)

    monkeypatch.setattr(delivery, "kick", kick)
    return seen


@pytest.mark.parametrize("status", [200, 302])
def test_a_success_is_committed_and_its_mail_sent_after_the_commit(
    app: Flask, kicks: list[int], status: int
) -> None:
    with app.test_request_context("/"):
        _queue_one()
        end_of_request(Response(status=status))
    assert kicks == [1]  # woken once, and the row was already committed
    assert _rows() == 1


@pytest.mark.parametrize("status", [400, 404, 422, 500])
def test_a_refusal_or_failure_is_rolled_back_and_sends_nothing(
    app: Flask, kicks: list[int], status: int
) -> None:
    with app.test_request_context("/"):
        _queue_one()
        end_of_request(Response(status=status))
    assert kicks == []
    assert _rows() == 0
    assert mail.QUEUED not in db.session.info and mail.DUE not in db.session.info


def test_mail_a_view_committed_itself_is_sent_even_when_the_request_then_fails(
    app: Flask, kicks: list[int]
) -> None:
    with app.test_request_context("/"):
        _queue_one()
        db.session.commit()
        end_of_request(Response(status=429))
    assert kicks == [1]


def test_a_view_can_opt_out(app: Flask, kicks: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    @commits_itself
    def view() -> str:
        return "mine"

    monkeypatch.setitem(app.view_functions, INDEX, view)
    with app.test_request_context("/"):  # matched to INDEX, now the opted-out view
        _queue_one()
        end_of_request(Response(status=200))
        assert kicks == []  # nothing committed, so nothing to send
    assert _rows() == 0


def test_a_view_that_raised_is_rolled_back(app: Flask, kicks: list[Any], client: Any) -> None:
    """Through a real request: a page that fails after queuing mail leaves nothing behind."""

    def boom() -> str:
        _queue_one()
        db.session.flush()
        raise RuntimeError("after the flush")

    app.view_functions[INDEX], original = boom, app.view_functions[INDEX]
    try:
        app.config["PROPAGATE_EXCEPTIONS"], propagate = False, app.config["PROPAGATE_EXCEPTIONS"]
        response = client.get("/")
    finally:
        app.view_functions[INDEX] = original
        app.config["PROPAGATE_EXCEPTIONS"] = propagate
    assert response.status_code == 500
    assert kicks == []
    assert _rows() == 0


def test_a_commit_that_fails_at_the_boundary_answers_the_apps_503(
    app: Flask, client: Any, coordinator: Any, login_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's audit entry is committed after the view: a database that went away then is
    the same 503 page as when a view's own statement fails, not a 500."""
    login_as(coordinator)

    def commit_fails() -> None:
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(db.session, "commit", commit_fails)
    response = client.get("/coordinator/students")
    monkeypatch.undo()
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.headers["X-Frame-Options"] == "DENY"  # the security headers still apply


def test_a_savepoint_does_not_end_the_requests_unit_of_work(app: Flask, kicks: list[int]) -> None:
    """A service that races for a row inside a savepoint (a read mark) commits the savepoint;
    the request's own writes, flushed before it, are still the boundary's to commit."""
    with app.test_request_context("/"):
        _queue_one()
        db.session.flush()
        with db.session.begin_nested():
            db.session.add(AuditEvent(action="inside_a_savepoint"))
        assert kicks == []  # a savepoint's commit is not the request's: nothing is sent yet
        end_of_request(Response(status=200))
    assert kicks == [1]
    assert _rows() == 1
    assert db.session.scalar(select(func.count(AuditEvent.id))) == 1


def test_a_refused_form_keeps_nothing_of_what_the_service_flushed(
    app: Flask, client: Any, sme: Any, login_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a real page: a service that wrote, flushed, then refused answers the form again
    with its 4xx, and the boundary rolls the half-write back (the view no longer does)."""
    login_as(sme)

    def half_then_refuse(user: Any, data: Any) -> None:
        audit.record("half_written")
        db.session.flush()
        raise InvalidInput.single("status", "unknown_code", code="x")

    monkeypatch.setattr(outcomes, "set_export_status", half_then_refuse)
    response = client.post("/sme/export-status", data={"status": "x"})
    assert response.status_code == 422
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "half_written")) == 0


def test_a_password_reset_wakes_the_mail_worker_only_after_its_commit(
    app: Flask, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a real page: the reset request is committed by the boundary, then the worker is
    woken, and it finds the row (another connection sees only what is committed)."""
    seen: list[int] = []

    def kick() -> None:
        with db.engine.connect() as other:
            seen.append(other.scalar(select(func.count(PasswordResetRequest.id))) or 0)

    monkeypatch.setattr(delivery, "kick", kick)
    response = client.post("/password/forgot", data={"email": "nobody@example.org"})
    assert response.status_code == 302
    assert seen == [1]


def test_an_upload_is_published_by_the_commit_and_removed_by_a_rollback(
    app: Flask, client: Any, student: Any, login_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CV page no longer commits: the boundary's commit publishes the part, and a commit
    that fails there (a database gone) leaves neither the file nor its part."""
    login_as(student)
    folder = Path(app.config["UPLOAD_DIR"])
    cv = {"cv": (BytesIO(b"%PDF-1.4 a CV\n"), "cv.pdf")}
    assert client.post("/student/cv", data=cv).status_code == 302
    assert [p.suffix for p in folder.iterdir()] == [".pdf"]  # published, no part left

    real_commit = db.session.commit

    def commit_fails() -> None:
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(db.session, "commit", commit_fails)
    cv = {"cv": (BytesIO(b"%PDF-1.4 another CV\n"), "cv.pdf")}
    response = client.post("/student/cv", data=cv)
    monkeypatch.setattr(db.session, "commit", real_commit)
    assert response.status_code == 503
    assert len(list(folder.iterdir())) == 1  # the first CV only: the new part is gone
