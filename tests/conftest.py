"""Fixtures shared by the whole suite.

Database tests run once per database: SQLite always, PostgreSQL when TEST_DATABASE_URL points at
one (in CI, a missing PostgreSQL fails the run instead of skipping). The schema is built by the
Alembic migrations, once per database and session; each test then starts from empty tables.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from app import create_app
from app.extensions import db
from app.models import User
from app.services import accounts

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _postgres_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url:
        if IN_CI:
            pytest.fail("CI=true but TEST_DATABASE_URL is not set: PostgreSQL tests cannot run")
        pytest.skip("TEST_DATABASE_URL is not set (PostgreSQL tests skipped outside CI)")
    return url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    return _postgres_url()


@pytest.fixture(scope="session")
def _app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "UPLOAD_DIR": str(tmp_path_factory.mktemp("uploads")),
        }
    )
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        from flask_migrate import upgrade

        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(_app: Flask) -> Iterator[Flask]:
    """The application, with empty tables and a fresh upload folder."""
    with _app.app_context():
        yield _app
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
    for path in Path(_app.config["UPLOAD_DIR"]).glob("*"):
        path.unlink()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


# --- people --------------------------------------------------------------------------------------

PASSWORD = "a long enough passphrase"


def student_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "email": "linh@example.org",
        "password": PASSWORD,
        "name": "Nguyen Thi Linh",
        "nationality": "VN",
        "languages": [{"code": "vi", "level": "native"}, {"code": "en", "level": "business"}],
        "topik_level": 4,
        "university": "Seoul National University",
        "major": "International Trade",
        "markets": ["VN"],
        "industries": ["cosmetics"],
        "regions": ["seoul", "gyeonggi"],
        "hours_per_week": 12,
        "visa": "d2",
        "bio": "I want to help Korean cosmetics reach Hanoi.",
        "consent": {"collection": True, "provision_to_smes": True},
    }
    data.update(overrides)
    return data


def sme_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "email": "export@hanbit.example",
        "password": PASSWORD,
        "contact_name": "김민준",
        "company_name": "한빛코스메틱",
        "business_number": "220-81-62517",
        "industries": ["cosmetics"],
        "products": "선크림, 마스크팩",
        "markets": ["VN", "TH"],
        "languages_needed": [],
        "region": "gyeonggi",
        "capacity": 2,
        "exporting": False,
        "description": "베트남 진출을 준비하는 기업입니다.",
        "consent": {"collection": True, "provision_to_smes": True},
    }
    data.update(overrides)
    return data


@pytest.fixture
def make_student(app: Flask) -> Any:
    def make(**overrides: Any) -> User:
        user = accounts.register_student(student_data(**overrides))
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_sme(app: Flask) -> Any:
    def make(**overrides: Any) -> User:
        user = accounts.register_sme(sme_data(**overrides))
        db.session.commit()
        return user

    return make


@pytest.fixture
def student(make_student: Any) -> User:
    return make_student()


@pytest.fixture
def sme(make_sme: Any) -> User:
    return make_sme()


@pytest.fixture
def coordinator(app: Flask) -> User:
    user = accounts.create_coordinator("coord@example.org", PASSWORD)
    db.session.commit()
    return user


@pytest.fixture
def login_as(client: FlaskClient) -> Any:
    def login(user: User, password: str = PASSWORD, target: FlaskClient | None = None) -> Any:
        response = (target or client).post(
            "/login", data={"email": user.email, "password": password}
        )
        assert response.status_code == 302, response.data[:500]
        return response

    return login


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)
