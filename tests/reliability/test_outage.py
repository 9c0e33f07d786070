"""A database that cannot be reached: 503 with Retry-After, JSON under /api, a page elsewhere.

The application is pointed at a database that is not there: a PostgreSQL port on loopback where
nothing listens, and an SQLite file in a folder that does not exist. Real connection failures,
raised by the drivers, no mocks.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from app.extensions import db
from app.services.tokens import PREFIX

TOKEN = PREFIX + "x" * 43  # well-formed, so that it is looked up


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends: nothing listens


@pytest.fixture(params=["postgresql", "sqlite"])
def down_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    if request.param == "postgresql":
        url = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/kx?connect_timeout=3"
    else:
        url = f"sqlite:///{tmp_path / 'missing-folder' / 'db.sqlite3'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "UPLOAD_DIR": str(tmp_path)})
    yield app
    with app.app_context():
        db.engine.dispose()


def test_the_api_answers_503_json_with_retry_after(down_app: Flask) -> None:
    client = down_app.test_client()
    for method, path, kwargs in [
        ("get", "/api/v1/me", {"headers": {"Authorization": f"Bearer {TOKEN}"}}),
        ("post", "/api/v1/tokens", {"json": {"email": "a@example.org", "password": "x" * 12}}),
        ("get", "/api/v1/matches", {"headers": {"Authorization": f"Bearer {TOKEN}"}}),
    ]:
        response = getattr(client, method)(path, **kwargs)
        assert response.status_code == 503, (path, response.data[:300])
        assert response.headers["Retry-After"] == "30"
        assert response.is_json
        assert response.json["error"]["code"] == "service_unavailable"
        assert "try again" in response.json["error"]["message"]


def test_pages_answer_503_with_a_translated_page(down_app: Flask) -> None:
    client = down_app.test_client()
    response = client.post(
        "/login",
        data={"email": "a@example.org", "password": "x" * 12},
        headers={"Accept-Language": "ko"},
    )
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    page = response.get_data(as_text=True)
    assert response.mimetype == "text/html" and "잠시" in page and "Traceback" not in page
    english = client.post("/login", data={"email": "a@example.org", "password": "x" * 12})
    assert english.status_code == 503
    assert "briefly unavailable" in english.get_data(as_text=True)


def test_a_logged_in_session_gets_the_page_too(down_app: Flask) -> None:
    client = down_app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:token"  # a cookie from before the outage: loading it fails
    response = client.get("/student/profile")
    assert response.status_code == 503 and "briefly unavailable" in response.get_data(as_text=True)


def test_the_health_check_says_503(down_app: Flask) -> None:
    response = down_app.test_client().get("/healthz")
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert response.json["database"] == "unreachable" and response.json["status"] == "error"
