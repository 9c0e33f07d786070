"""Rate limits live in the database: every worker counts the same requests (SECURITY.md item 3)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_support import Api
from flask import Flask
from kexport_support import PASSWORD, student_data
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.models import RateLimitHit


@pytest.fixture
def low_limits(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setitem(app.config, "API_SIGNUP_LIMIT_PER_ADDRESS", 3)
    monkeypatch.setitem(app.config, "API_TOKEN_LIMIT_PER_ACCOUNT", 3)
    monkeypatch.setitem(app.config, "API_TOKEN_LIMIT_PER_ADDRESS", 5)
    return app


@pytest.fixture
def second_worker(app: Flask, database_url: str) -> Iterator[Flask]:
    """Another application on the same database, as a second web worker would be."""
    other = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "UPLOAD_DIR": app.config["UPLOAD_DIR"],
            "API_SIGNUP_LIMIT_PER_ADDRESS": 3,
            "API_TOKEN_LIMIT_PER_ACCOUNT": 3,
            "API_TOKEN_LIMIT_PER_ADDRESS": 5,
        }
    )
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def _signup(api: Api, n: int):
    return api.post("/students", student_data(email=f"s{n}@example.org"))


def test_signups_are_limited_per_address(low_limits, anon):
    for n in range(3):
        assert _signup(anon, n).status_code == 201
    refused = _signup(anon, 3)
    assert refused.status_code == 429
    assert refused.json["error"]["code"] == "too_many_requests"
    assert 3500 <= int(refused.headers["Retry-After"]) <= 3600
    # Another address is counted apart.
    other = anon.post(
        "/students", student_data(email="far@example.org"), environ_base={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert other.status_code == 201


def test_failed_signups_count_too(low_limits, anon):
    for _ in range(3):
        assert anon.post("/students", {"email": "broken"}).status_code == 422
    assert _signup(anon, 0).status_code == 429


def test_counters_are_shared_by_two_workers_on_one_database(low_limits, anon, second_worker):
    assert _signup(anon, 0).status_code == 201
    db.session.commit()
    other = Api(second_worker.test_client())
    assert _signup(other, 1).status_code == 201
    assert _signup(other, 2).status_code == 201
    # Neither worker has seen three requests by itself; together they have.
    assert _signup(anon, 3).status_code == 429
    assert _signup(other, 4).status_code == 429
    assert db.session.scalar(select(func.count(RateLimitHit.id))) == 3


def test_token_requests_are_limited_per_account(low_limits, anon, student):
    for _ in range(3):
        assert (
            anon.post("/tokens", {"email": student.email, "password": PASSWORD}).status_code == 201
        )
    refused = anon.post("/tokens", {"email": student.email.upper(), "password": PASSWORD})
    assert refused.status_code == 429
    assert 800 <= int(refused.headers["Retry-After"]) <= 900


def test_token_requests_are_limited_per_address(low_limits, anon, second_worker):
    for n in range(3):
        anon.post("/tokens", {"email": f"x{n}@example.org", "password": PASSWORD})
    db.session.commit()
    other = Api(second_worker.test_client())
    for n in range(3, 5):
        assert other.post(
            "/tokens", {"email": f"x{n}@example.org", "password": PASSWORD}
        ).status_code in (401, 429)
    refused = other.post("/tokens", {"email": "y@example.org", "password": PASSWORD})
    assert refused.status_code == 429 and "Retry-After" in refused.headers


def test_the_table_keeps_no_address_or_email(low_limits, anon, student):
    anon.post("/tokens", {"email": student.email, "password": PASSWORD})
    rows = db.session.execute(select(RateLimitHit.scope, RateLimitHit.key_hash)).all()
    assert {scope for scope, _ in rows} == {"token_address", "token_account"}
    assert all(student.email not in key and "127.0.0.1" not in key for _, key in rows)
