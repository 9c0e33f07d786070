"""The Alembic migrations and the models agree, migrations go down and up again, and SQLite is
configured as a multi-process database (WAL, busy timeout, foreign keys)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from app import create_app
from app.extensions import db


def test_migrations_match_the_models(app: Flask) -> None:
    """After `upgrade()` (done by the fixture) autogenerate finds nothing to do: nothing ignored."""
    db.session.commit()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == [], "\n".join(map(str, differences))


def test_the_database_is_at_the_latest_revision(app: Flask) -> None:
    from alembic.script import ScriptDirectory

    config = app.extensions["migrate"].migrate.get_config()
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several heads, merge them: {heads}"
    db.session.commit()
    with db.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_heads() == tuple(heads)


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Flask]:
    """An application on its own temporary SQLite file and context (the shared DB is untouched)."""
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'scratch.sqlite3'}",
            "UPLOAD_DIR": str(tmp_path / "uploads"),
        }
    )
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def tables() -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_downgrade_to_base_then_upgrade_again(scratch: Flask) -> None:
    upgrade()
    expected = {table.name for table in db.metadata.sorted_tables}
    assert tables() == expected
    downgrade(revision="base")
    assert tables() == set()
    upgrade()
    assert tables() == expected
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_every_revision_steps_down_and_up(scratch: Flask) -> None:
    """Each migration's downgrade undoes exactly its upgrade, one step at a time."""
    from alembic.script import ScriptDirectory

    config = scratch.extensions["migrate"].migrate.get_config()
    revisions = list(ScriptDirectory.from_config(config).walk_revisions("base", "heads"))
    assert revisions
    upgrade()
    after_all = tables()
    for _ in revisions:
        downgrade(revision="-1")
    assert tables() == set()
    for _ in revisions:
        upgrade(revision="+1")
    assert tables() == after_all


def test_the_demo_data_survive_a_round_trip_of_the_schema(scratch: Flask) -> None:
    """A database with data in it upgrades from base (what `make run` does on a fresh machine)."""
    from app.services import demo

    upgrade()
    demo.seed(students=3, smes=2, seed=1)
    db.session.commit()
    assert db.session.execute(text("SELECT count(*) FROM students")).scalar() == 3


@pytest.mark.postgres
def test_downgrade_and_upgrade_on_postgresql(tmp_path: Path) -> None:
    """The same round trip on a temporary PostgreSQL database (not the shared test one)."""
    import os

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    if not os.environ.get("TEST_DATABASE_URL"):
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI=true but TEST_DATABASE_URL is not set: PostgreSQL tests cannot run")
        pytest.skip("TEST_DATABASE_URL is not set (PostgreSQL tests skipped outside CI)")
    url = make_url(os.environ["TEST_DATABASE_URL"])
    name = f"kexport_migrations_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url.set(database=name).render_as_string(hide_password=False),
            "UPLOAD_DIR": str(tmp_path / "uploads"),
        }
    )
    try:
        with app.app_context():
            try:
                upgrade()
                expected = {table.name for table in db.metadata.sorted_tables}
                assert tables() == expected
                downgrade(revision="base")
                assert tables() == set()
                upgrade()
                assert tables() == expected
                with db.engine.connect() as connection:
                    context = MigrationContext.configure(
                        connection, opts={"compare_type": True, "compare_server_default": True}
                    )
                    differences = compare_metadata(context, db.metadata)
                assert differences == [], "\n".join(map(str, differences))
            finally:
                db.session.remove()
                db.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


# --- SQLite pragmas -------------------------------------------------------------------------------


def test_sqlite_file_database_pragmas(scratch: Flask) -> None:
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
    # Every connection of the pool gets them, not only the first one. (Raw DBAPI connections:
    # no transaction is begun, so holding three at once takes no lock.)
    connections = [db.engine.raw_connection() for _ in range(3)]
    try:
        for connection in connections:
            cursor = connection.cursor()
            assert cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert cursor.execute("PRAGMA foreign_keys").fetchone()[0] == 1
            assert cursor.execute("PRAGMA busy_timeout").fetchone()[0] > 0
            cursor.close()
    finally:
        for connection in connections:
            connection.close()


def test_sqlite_foreign_keys_are_enforced(scratch: Flask) -> None:
    from sqlalchemy.exc import IntegrityError

    upgrade()
    with pytest.raises(IntegrityError), db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO consents (user_id, policy_version, collection, provision_to_smes, "
                "given_at) VALUES (424242, 'v', 1, 0, '2026-01-01 00:00:00')"
            )
        )


def test_the_shared_test_database_is_configured_the_same(app: Flask) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas only")
    db.session.commit()
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
