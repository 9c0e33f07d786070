"""Password reset (SECURITY.md item 4): single-use, expiring; unknown emails learn nothing."""

from __future__ import annotations

import re
from datetime import timedelta

from kexport_support import PASSWORD
from sqlalchemy import select, update

from app.extensions import db
from app.models import OutboxMessage, PasswordReset, User, utcnow

NEW = "a brand new passphrase"


def _link_token() -> str:
    message = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "password_reset")
    ).one()
    return re.search(r"/password/reset/(\S+)", message.body_text).group(1)


def test_known_and_unknown_emails_get_the_same_answer(client, student):
    known = client.post("/password/forgot", data={"email": student.email}, follow_redirects=True)
    unknown = client.post(
        "/password/forgot", data={"email": "nobody@example.org"}, follow_redirects=True
    )
    assert known.status_code == unknown.status_code == 200
    strip = lambda r: re.sub(r'value="[^"]+"', "", r.get_data(as_text=True))  # noqa: E731
    assert strip(known) == strip(unknown)
    assert len(db.session.scalars(select(OutboxMessage)).all()) == 1  # only the known one


def test_the_token_is_stored_only_as_a_hash(client, student):
    client.post("/password/forgot", data={"email": student.email})
    token = _link_token()
    stored = db.session.scalar(select(PasswordReset.token_hash))
    assert token not in stored and len(stored) == 64


def test_reset_sets_the_password_once_and_ends_other_sessions(app, client, login_as, student):
    other = app.test_client()
    login_as(student, target=other)
    client.post("/password/forgot", data={"email": student.email})
    token = _link_token()
    response = client.post(f"/password/reset/{token}", data={"password": NEW})
    assert response.status_code == 302
    assert other.get("/student/").status_code == 302  # the old session is gone
    assert client.post("/login", data={"email": student.email, "password": NEW}).status_code == 302
    again = client.post(f"/password/reset/{token}", data={"password": "another passphrase"})
    assert again.status_code == 422 and "no longer valid" in again.get_data(as_text=True)


def test_an_expired_token_is_refused(client, student):
    client.post("/password/forgot", data={"email": student.email})
    token = _link_token()
    db.session.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert client.post(f"/password/reset/{token}", data={"password": NEW}).status_code == 422


def test_a_weak_new_password_is_refused_and_the_token_stays_usable(client, student):
    client.post("/password/forgot", data={"email": student.email})
    token = _link_token()
    weak = client.post(f"/password/reset/{token}", data={"password": "password"})
    assert weak.status_code == 422 and "common" in weak.get_data(as_text=True)
    assert client.post(f"/password/reset/{token}", data={"password": NEW}).status_code == 302


def test_a_made_up_token_is_refused(client, student):
    assert client.post("/password/reset/made-up", data={"password": NEW}).status_code == 422
    user = db.session.get(User, student.id)
    assert client.post("/login", data={"email": user.email, "password": NEW}).status_code == 401


def test_reset_requests_are_capped_per_hour(client, student):
    for _ in range(5):
        client.post("/password/forgot", data={"email": student.email})
    assert len(db.session.scalars(select(PasswordReset)).all()) == 3


def _two_links(client, student):
    client.post("/password/forgot", data={"email": student.email})
    client.post("/password/forgot", data={"email": student.email})
    bodies = db.session.scalars(
        select(OutboxMessage.body_text)
        .where(OutboxMessage.kind == "password_reset")
        .order_by(OutboxMessage.id)
    ).all()
    return [re.search(r"/password/reset/(\S+)", body).group(1) for body in bodies]


def test_using_one_link_ends_every_other(client, student):
    """Issue 12.9: an older link no longer works once a newer one was used."""
    older, newer = _two_links(client, student)
    assert client.post(f"/password/reset/{newer}", data={"password": NEW}).status_code == 302
    response = client.post(f"/password/reset/{older}", data={"password": "another passphrase"})
    assert response.status_code == 422


def test_a_password_change_ends_every_link(client, login_as, student):
    """Issue 12.9: changing the password on the account page ends outstanding links."""
    (link, _) = _two_links(client, student)
    login_as(student)
    changed = client.post(
        "/account/password", data={"current_password": PASSWORD, "new_password": NEW}
    )
    assert changed.status_code == 302
    client.post("/logout")
    response = client.post(f"/password/reset/{link}", data={"password": "another passphrase"})
    assert response.status_code == 422
