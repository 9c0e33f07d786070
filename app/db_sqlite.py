"""SQLite as a real multi-process database: WAL, a busy timeout, foreign keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


def configure_sqlite(engine: Engine, begin_mode: Callable[[], str] = lambda: "IMMEDIATE") -> None:
    """`begin_mode` says how a transaction begins when its connection does not say
    (`sqlite_begin`): the request boundary lets the read of a view that only reads begin
    DEFERRED (app.transaction.reads_only)."""

    # Let SQLAlchemy, not pysqlite, open transactions, so BEGIN IMMEDIATE can be issued on purpose
    # (the cycle lease) and every transaction starts where we say (SQLAlchemy's documented recipe).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # Every transaction takes SQLite's write lock up front (BEGIN IMMEDIATE). A deferred one that
    # reads and then writes fails at once with "database is locked" if another connection wrote
    # in between (WAL cannot upgrade a stale snapshot); waiting on busy_timeout instead is what
    # several web workers on one SQLite file need. PostgreSQL is the multi-writer production DB.
    # The exception: the read of a page that writes nothing (its audit rows come after, in a
    # transaction of their own), which then never holds the lock while it renders.
    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin") or begin_mode()
        send_begin(connection, mode)


# What listens to the statements a connection sends (the tests' counts, recorded queries).
_STATEMENT_EVENTS = (
    "before_execute",
    "after_execute",
    "before_cursor_execute",
    "after_cursor_execute",
)


def statements_listened(connection: Any) -> bool:
    """Whether anything listens to the statements `connection` sends: then a statement sent on
    the driver (`send_begin`, `plain_reads.rows`) goes through SQLAlchemy instead, so it is seen."""
    dispatch = connection.dispatch
    return any(getattr(dispatch, name) for name in _STATEMENT_EVENTS)


def send_begin(connection: Any, mode: str) -> None:
    """`BEGIN <mode>` on `connection`, sent on the driver: SQLAlchemy's execution path for these
    few characters (an execution context, a cursor result) cost ~40 µs against ~2 µs on the
    driver, and a page's audit row has two BEGINs (issue 14). A driver's error is raised as
    SQLAlchemy raises it (`_handle_dbapi_exception`: a locked database is the same
    `OperationalError`, answered 503). While anything listens to the connection's statements,
    it goes through SQLAlchemy as before, so they see it."""
    statement = f"BEGIN {mode}"
    if statements_listened(connection):
        connection.exec_driver_sql(statement)
        return
    try:
        connection.connection.dbapi_connection.execute(statement)
    except connection.dialect.loaded_dbapi.Error as error:
        connection._handle_dbapi_exception(error, statement, (), None, None)
