"""The session cookie and the CSRF token signed with serializers kept per process (app.signing,
issue 14): every cookie and token byte for byte the one Flask's and Flask-WTF's own serializers
make at the same second, each accepted by the other's check, a changed secret key a new
serializer; and Flask's `ensure_sync` answered from a plain function's flags (app.web.App)."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
from typing import Any

import itsdangerous.timed
import pytest
from flask import Flask, g, session
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import generate_csrf, validate_csrf
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from app.signing import (
    CSRF_SALT,
    KeptKeySigner,
    KeptSerializerSessionInterface,
    csrf_token,
    kept_serializer,
)

NOW = 1_790_000_000
SESSIONS = [
    {"_user_id": "5", "_fresh": True, "csrf_token": "ab" * 20, "locale": "ko"},
    {},
    {"note": ["é", 1, 2.5, None], "nested": {"a": (1, 2)}},
]


@pytest.fixture
def still_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: NOW)


def _bare_app(secret: str, fallbacks: list[str] | None = None) -> Flask:
    app = Flask("signing")
    app.secret_key = secret
    app.config["SECRET_KEY_FALLBACKS"] = fallbacks or []
    return app


@pytest.mark.parametrize("method", ["concat", "django-concat", "hmac", "none"])
@pytest.mark.parametrize("digest", [hashlib.sha1, hashlib.sha256, hashlib.sha512])
def test_the_kept_signer_signs_as_itsdangerous_does(
    method: str, digest: Any, still_clock: None
) -> None:
    for salt in (b"cookie-session", "wtf-csrf-token"):
        ours = KeptKeySigner(["old", "new"], salt=salt, key_derivation=method, digest_method=digest)
        theirs = TimestampSigner(
            ["old", "new"], salt=salt, key_derivation=method, digest_method=digest
        )
        for value in (b"", b"payload", "한국어".encode()):
            assert ours.sign(value) == theirs.sign(value)
            assert ours.sign(value) == ours.sign(value)  # the kept key gives the same again
            assert ours.unsign(theirs.sign(value)) == value
        old = TimestampSigner("old", salt=salt, key_derivation=method, digest_method=digest)
        assert ours.unsign(old.sign(b"x")) == b"x"  # an older key still checks
        with pytest.raises(BadSignature):
            ours.unsign(b"y" + theirs.sign(b"x")[1:])  # another value under x's signature


def test_the_session_cookie_is_flasks_own(still_clock: None) -> None:
    app = _bare_app("current", ["older"])
    flasks = SecureCookieSessionInterface().get_signing_serializer(app)
    kept = KeptSerializerSessionInterface().get_signing_serializer(app)
    assert flasks is not None and kept is not None
    for data in SESSIONS:
        cookie = kept.dumps(data)
        assert cookie == flasks.dumps(data)
        assert flasks.loads(cookie) == kept.loads(cookie, max_age=60)
    older = _bare_app("older").session_interface.get_signing_serializer(_bare_app("older"))
    assert older is not None
    assert kept.loads(older.dumps({"a": 1})) == {"a": 1}  # signed with a fallback key
    with pytest.raises(BadSignature):
        kept.loads(flasks.dumps({"a": 1}).replace("eyJh", "eyJi", 1))  # {"b": ...}


def test_a_changed_secret_key_makes_another_serializer(still_clock: None) -> None:
    app = _bare_app("first")
    interface = KeptSerializerSessionInterface()
    first = interface.get_signing_serializer(app)
    assert first is interface.get_signing_serializer(app)  # kept
    cookie = first.dumps({"a": 1})  # type: ignore[union-attr]
    app.secret_key = "second"
    second = interface.get_signing_serializer(app)
    assert second is not first
    with pytest.raises(BadSignature):
        second.loads(cookie)  # type: ignore[union-attr]
    app.config["SECRET_KEY_FALLBACKS"] = ["first"]
    assert interface.get_signing_serializer(app).loads(cookie) == {"a": 1}  # type: ignore[union-attr]


def test_the_apps_session_interface_keeps_its_serializer(app: Flask) -> None:
    interface = app.session_interface
    assert isinstance(interface, KeptSerializerSessionInterface)
    assert interface.get_signing_serializer(app) is interface.get_signing_serializer(app)


def test_the_csrf_token_is_flask_wtfs_own(app: Flask, still_clock: None) -> None:
    with app.test_request_context("/"):
        session["csrf_token"] = "cd" * 20
        ours = csrf_token()
        assert g.csrf_token == ours
        assert generate_csrf() == ours  # Flask-WTF's own call in the request: the same token
        del g.csrf_token
        assert generate_csrf() == ours  # made by Flask-WTF at the same second: the same bytes
        validate_csrf(ours)
        assert csrf_token() == ours


def test_a_new_session_gets_its_raw_token_as_flask_wtf_gives_it(app: Flask) -> None:
    with app.test_request_context("/"):
        token = csrf_token()
        raw = session["csrf_token"]
        assert len(raw) == 40
        assert URLSafeTimedSerializer(app.secret_key, salt=CSRF_SALT).loads(token) == raw
        validate_csrf(token)


def test_the_csrf_secret_and_field_settings_are_honoured(app: Flask, still_clock: None) -> None:
    app.config["WTF_CSRF_SECRET_KEY"] = "another secret"
    try:
        with app.test_request_context("/"):
            session["csrf_token"] = "ef" * 20
            ours = csrf_token()
            del g.csrf_token
            assert ours == generate_csrf()
            validate_csrf(ours)
        with app.test_request_context("/"):
            session["other"] = "12" * 20
            ours = csrf_token(token_key="other")
            assert ours == g.other
            assert kept_serializer(("another secret",), CSRF_SALT).loads(ours) == "12" * 20
    finally:
        del app.config["WTF_CSRF_SECRET_KEY"]


def test_templates_call_the_kept_token(app: Flask) -> None:
    assert app.jinja_env.globals["csrf_token"] is csrf_token
    assert not [
        processor
        for processor in app.template_context_processors[None]
        if getattr(processor, "__module__", "") == "flask_wtf.csrf"
    ]
    with app.test_request_context("/"):
        rendered = app.jinja_env.from_string("{{ csrf_token() }}|{{ csrf_meta_tag() }}").render()
        token = g.csrf_token
    assert rendered == f'{token}|<meta name="csrf-token" content="{token}">'


def test_ensure_sync_returns_a_plain_function_and_wraps_the_rest(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrapped: list[Any] = []

    def async_to_sync(func: Any) -> Any:  # Flask's wrapping, seen (asgiref is not installed)
        wrapped.append(func)
        return func

    monkeypatch.setattr(app, "async_to_sync", async_to_sync)

    def plain() -> str:
        return "plain"

    async def coroutine() -> str:
        await asyncio.sleep(0)
        return "async"

    def marked() -> Any:
        return coroutine()

    assert app.ensure_sync(plain) is plain
    plain_partial = functools.partial(plain)
    assert app.ensure_sync(plain_partial) is plain_partial
    async_partial = functools.partial(coroutine)
    for func in (coroutine, async_partial):
        app.ensure_sync(func)
    assert wrapped == [coroutine, async_partial]  # as Flask answers them
    if hasattr(inspect, "markcoroutinefunction"):  # Python 3.12+
        inspect.markcoroutinefunction(marked)
        app.ensure_sync(marked)
        assert wrapped[-1] is marked
