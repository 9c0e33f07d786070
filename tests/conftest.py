"""Fixtures shared by the whole suite.

Database tests run once per database: SQLite always, PostgreSQL when TEST_DATABASE_URL points at
one (in CI, a missing PostgreSQL fails the run instead of skipping). The schema is built by the
Alembic migrations, once per database and session; each test then starts from empty tables.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

# The people and forms every test uses live in a module of their own: a test cannot reliably
# `from conftest import ...` (pytest imports every conftest.py of the suite under that one name,
# so the last one imported wins). Re-exported here for the fixtures below.
from kexport_support import (  # noqa: F401
    PASSWORD,
    Inbox,
    csrf_token_from,
    profile_form,
    sme_data,
    sme_form,
    smtp_inbox,
    student_data,
    student_form,
)
from sqlalchemy import create_engine, delete, text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from app.models import OutboxMessage, User
from app.services import accounts, verification

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (`make test` runs two workers), each worker gets a PostgreSQL database
    of its own, created next to TEST_DATABASE_URL's: the session fixture drops and rebuilds the
    schema, which would pull the tables from under the other worker's tests."""
    worker, url = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("TEST_DATABASE_URL")
    if not worker or not url:
        return
    shared = make_url(url)
    name = f"{shared.database}_{worker}"
    admin = create_engine(shared, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).scalar()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    os.environ["TEST_DATABASE_URL"] = shared.set(database=name).render_as_string(
        hide_password=False
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with a `slow` test first: with two workers (`--dist loadfile`), a long file that
    starts last keeps one worker busy alone while the other has finished. The sort is stable, and
    a file's tests stay together, in their order; it runs before pytest groups the tests by
    database, which keeps that grouping."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)


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


class RequestIsolatingClient(FlaskClient):
    """A test client whose every request starts with an empty `g`, as in production.

    The `app` fixture keeps an application context pushed, so that tests share the database
    session with the views. Flask reuses a pushed context for the requests it serves, so whatever
    one request caches on `g` (Flask-Login's current user, Flask-Babel's locale) would be seen by
    the next request, even one from another client with another cookie: a stolen or stale cookie
    would then seem to work, or a logged-out one seem refused, whatever the application does.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        from flask import g, has_app_context

        if has_app_context():
            g.__dict__.clear()
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def _app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "UPLOAD_DIR": str(tmp_path_factory.mktemp("uploads")),
        }
    )
    app.test_client_class = RequestIsolatingClient
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


@pytest.fixture
def inbox(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """Mail goes over real SMTP (aiosmtpd) to this inbox: MAIL_SERVER points at it."""
    with smtp_inbox() as (collected, port):
        monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
        monkeypatch.setitem(app.config, "MAIL_PORT", port)
        yield collected


# --- people --------------------------------------------------------------------------------------


def _as_if_verified(user: User) -> None:
    """The suite's people opened their sign-up link long ago: verified, and the link's email is
    not among the messages other tests count (tests of verification sign up with verified=False).
    """
    verification.mark_verified(user)
    db.session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.user_id == user.id, OutboxMessage.kind == "verify_email"
        )
    )


@pytest.fixture
def make_student(app: Flask) -> Any:
    def make(*, verified: bool = True, **overrides: Any) -> User:
        user = accounts.register_student(student_data(**overrides))
        if verified:
            _as_if_verified(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_sme(app: Flask) -> Any:
    def make(*, verified: bool = True, **overrides: Any) -> User:
        user = accounts.register_sme(sme_data(**overrides))
        if verified:
            _as_if_verified(user)
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
