"""SQLite's BEGINs sent on the driver (`db_sqlite.send_begin`, issue 14): the same transaction
begun, a driver's error raised as SQLAlchemy's (a locked database is the `OperationalError`
the app answers with its 503 page), and the statement still seen by whatever listens."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy.exc
from sqlalchemy import event, text

from app.db_sqlite import send_begin
from app.extensions import db


@pytest.fixture
def on_sqlite(app: Any) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's BEGIN modes; PostgreSQL begins as the driver does")


def test_the_begin_sent_on_the_driver_begins_the_transaction(on_sqlite: None) -> None:
    with db.engine.connect() as connection:
        driver = connection.connection.dbapi_connection
        assert driver is not None and not driver.in_transaction
        send_begin(connection, "IMMEDIATE")
        assert driver.in_transaction


def test_a_locked_database_is_sqlalchemys_error(on_sqlite: None) -> None:
    with db.engine.connect() as holder, db.engine.connect() as waiter:
        holder.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the write lock is held
        waiter.connection.dbapi_connection.execute("PRAGMA busy_timeout=50")  # type: ignore[union-attr]
        with pytest.raises(sqlalchemy.exc.OperationalError, match="locked"):
            send_begin(waiter, "IMMEDIATE")
        holder.rollback()


def test_the_begin_is_seen_by_what_listens(on_sqlite: None) -> None:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    with db.engine.connect() as connection:
        event.listen(db.engine, "before_cursor_execute", note)
        try:
            connection.begin()  # the engine's `begin` event sends it (app.db_sqlite)
        finally:
            event.remove(db.engine, "before_cursor_execute", note)
    assert seen == ["BEGIN IMMEDIATE"]
