"""The session cookie is signed again for the idle timeout at most once a minute
(app.session_cookie; SECURITY.md item 6): an unchanged session's cookie is re-sent only when its
signature is a minute old, a changed session at once, and the idle limit counts from the last
signature, so a session idles out up to a minute earlier than the last request says, never later.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import itsdangerous.timed
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.models import User
from app.session_cookie import REFRESH_AFTER_SECONDS

HOME = "/student/"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """itsdangerous' clock, the one the cookie is signed and its age checked by, held still."""
    clock = SimpleNamespace(now=int(time.time()))
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: clock.now)
    return clock


def signed_at(app: Flask, client: FlaskClient) -> int:
    cookie = client.get_cookie("session")
    assert cookie is not None, "no session cookie"
    serializer = app.session_interface.get_signing_serializer(app)
    assert serializer is not None
    _, at = serializer.loads(cookie.value, return_timestamp=True)
    return int(at.timestamp())


def sends_cookie(response: TestResponse) -> bool:
    return any(h.startswith("session=") for h in response.headers.getlist("Set-Cookie"))


def settled(client: FlaskClient, login_as: Any, user: User) -> None:
    """Logged in, and the pages' first visit made (its CSRF token is a change of the session)."""
    login_as(user)
    assert client.get(HOME).status_code == 200


def test_an_unchanged_session_is_signed_again_once_its_signature_is_a_minute_old(
    app: Flask, client: FlaskClient, student: User, login_as: Any, clock: SimpleNamespace
) -> None:
    settled(client, login_as, student)
    signed = signed_at(app, client)
    clock.now = signed + REFRESH_AFTER_SECONDS - 1
    response = client.get(HOME)
    assert response.status_code == 200
    assert not sends_cookie(response)  # a young signature is not sent again
    assert signed_at(app, client) == signed
    clock.now = signed + REFRESH_AFTER_SECONDS
    response = client.get(HOME)
    assert response.status_code == 200
    assert sends_cookie(response)  # a minute old: signed again, the idle limit starts again
    assert signed_at(app, client) == clock.now
    assert any("Expires=" in h for h in response.headers.getlist("Set-Cookie"))
    clock.now += 1
    assert not sends_cookie(client.get(HOME))


def test_a_changed_session_is_saved_at_once(
    app: Flask, client: FlaskClient, student: User, login_as: Any, clock: SimpleNamespace
) -> None:
    settled(client, login_as, student)
    signed = signed_at(app, client)
    clock.now = signed + 1
    response = client.post("/language", data={"locale": "ko", "next": HOME})
    assert response.status_code == 302
    assert sends_cookie(response)  # the session changed: saved though its signature is young
    assert signed_at(app, client) == clock.now
    assert '<html lang="ko">' in client.get(HOME).get_data(as_text=True)
    # Logging out changes the session too: the cookie is replaced at once, and the old one
    # no longer logs anyone in (the session token, SECURITY.md item 5).
    held = client.get_cookie("session")
    assert held is not None
    response = client.post("/logout")
    assert sends_cookie(response)
    other = app.test_client()
    other.set_cookie("session", held.value)
    assert other.get(HOME).status_code == 302


def test_the_idle_limit_counts_from_the_last_signature(
    app: Flask, client: FlaskClient, student: User, login_as: Any, clock: SimpleNamespace
) -> None:
    idle = int(app.config["PERMANENT_SESSION_LIFETIME"].total_seconds())
    assert idle > 2 * REFRESH_AFTER_SECONDS
    settled(client, login_as, student)
    signed = signed_at(app, client)
    clock.now = signed + idle - 10
    assert client.get(HOME).status_code == 200  # within the limit: used, and signed again
    signed = signed_at(app, client)
    assert signed == clock.now
    clock.now = signed + REFRESH_AFTER_SECONDS - 1
    assert client.get(HOME).status_code == 200  # used, but the signature is kept
    assert signed_at(app, client) == signed
    # The limit after the last signature, though less than that after the last request: out.
    clock.now = signed + idle + 1
    response = client.get(HOME)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    clock.now = signed + 1  # the cookie was refused, not just late: back in time it is gone too
    assert client.get(HOME).status_code == 302
