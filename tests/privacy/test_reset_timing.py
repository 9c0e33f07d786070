"""A password reset answers in the same time for known and unknown addresses (issue 12.6).

The request only queues the ask; looking the address up, issuing the link and SMTP happen after
the commit, off the request path. So both paths do the same work: the same SQL statements, and
no SMTP conversation inside the request. scripts/reset_timing.py measures the times."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from app.extensions import db
from app.models import OutboxMessage, PasswordReset
from app.services import delivery


@pytest.fixture
def statements(app):
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def _ask(client, statements, email):
    db.session.rollback()  # each request starts with no transaction, as in production
    statements.clear()
    response = client.post("/password/forgot", data={"email": email})
    return response, list(statements)


@pytest.mark.parametrize("mode", ["thread", "off"])
def test_known_and_unknown_addresses_do_the_same_work(
    app, client, student, inbox, statements, monkeypatch, mode
):
    monkeypatch.setitem(app.config, "MAIL_AFTER_COMMIT", "off")  # the request's own work only
    email = student.email
    known, known_sql = _ask(client, statements, email)
    unknown, unknown_sql = _ask(client, statements, "nobody@example.org")
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    assert known_sql == unknown_sql  # same statements, in the same order
    assert not any("users" in s.lower() for s in known_sql)  # no lookup on the request path
    assert inbox.messages == []  # no SMTP inside the request
    assert db.session.scalar(select(PasswordReset)) is None

    # After the commit: the mail worker (or the scheduler's mail job) does the rest.
    if mode == "thread":
        monkeypatch.setitem(app.config, "MAIL_AFTER_COMMIT", "thread")
        db.session.rollback()
        delivery.kick()
    else:
        delivery.work()
    (message,) = inbox.wait_for(1)
    assert message["To"] == email
    assert "/password/reset/" in message.get_body(("plain",)).get_content()
    db.session.rollback()
    assert db.session.scalar(select(OutboxMessage.kind)) == "password_reset"
    assert len(inbox.wait_for(2, timeout=0.5)) == 1  # the unknown address got nothing
