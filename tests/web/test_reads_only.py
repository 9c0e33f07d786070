"""Pages that only read (issue 14.3): on SQLite their read begins DEFERRED, so a worker holding
the write lock does not stop them; the audit row the page promises (SECURITY.md item 16) is
written after the read, in a short transaction of its own, committed before the response. On
PostgreSQL (no write lock) the row is written in the read's own transaction, committed before
the response all the same."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.models import AuditEvent
from app.services import audit, cycles, reviews


@contextlib.contextmanager
def _engine_events(*names: str) -> Iterator[list[str]]:
    """The engine's transaction events (`begin`, `commit`, `rollback`) in the order they fire."""
    seen: list[str] = []
    listeners = {
        name: functools.partial(lambda name, _conn: seen.append(name), name) for name in names
    }
    for name, listener in listeners.items():
        event.listen(db.engine, name, listener)
    try:
        yield seen
    finally:
        for name, listener in listeners.items():
            event.remove(db.engine, name, listener)


def _committed(action: str) -> list[dict[str, Any] | None]:
    """The entries another connection sees: only what is committed."""
    with db.engine.connect() as other:
        return list(other.scalars(select(AuditEvent.detail).where(AuditEvent.action == action)))


@pytest.fixture
def statements(app: Flask) -> Any:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split())[:80])

    event.listen(db.engine, "before_cursor_execute", note)
    yield seen
    event.remove(db.engine, "before_cursor_execute", note)


def test_the_candidates_page_reads_first_and_writes_its_audit_after(
    client, login_as, student, sme, statements
):
    cycles.run_cycle()
    login_as(sme)
    statements.clear()
    assert client.get("/sme/candidates").status_code == 200
    statements = statements[:]  # the request's
    assert _committed("candidates_viewed") == [{"students": 1}]
    inserts = [n for n, s in enumerate(statements) if s.startswith("INSERT")]
    assert len(inserts) == 1 and "audit_events" in statements[inserts[0]]
    if db.engine.dialect.name == "sqlite":
        begins = [(n, s) for n, s in enumerate(statements) if s.startswith("BEGIN")]
        # The read, deferred; then the audit's own transaction, which waits for the lock.
        assert [s for _, s in begins] == ["BEGIN DEFERRED", "BEGIN IMMEDIATE"]
        reads = [n for n, s in enumerate(statements) if s.startswith("SELECT")]
        assert begins[0][0] < min(reads) and max(reads) < begins[1][0] < inserts[0]


def test_the_audit_row_goes_in_the_reads_transaction_on_postgresql(client, login_as, student, sme):
    """One transaction (one checkout, BEGIN and COMMIT) instead of two. (SQLite: the read is
    committed and the audit's transaction begun on the same connection, under one SQLAlchemy
    transaction, tests above.)"""
    cycles.run_cycle()
    login_as(sme)
    client.get("/sme/candidates")  # the first visit may load what a process keeps
    with _engine_events("begin", "commit") as transactions:
        assert client.get("/sme/candidates").status_code == 200
    assert _committed("candidates_viewed") == [{"students": 1}, {"students": 1}]
    assert transactions == ["begin", "commit"]


def test_a_page_whose_audit_row_cannot_be_written_is_not_served(
    client, login_as, student, sme, monkeypatch
):
    """The promise: no served read of personal data without its audit row. The row written in
    the read's transaction (PostgreSQL) or after it (SQLite): if it fails, the page is not
    sent, the database's error page is."""
    cycles.run_cycle()
    login_as(sme)

    def fails(_entries: Any) -> None:
        raise OperationalError("INSERT INTO audit_events", {}, Exception("disk full"))

    monkeypatch.setattr(audit, "write", fails)
    response = client.get("/sme/candidates")
    assert response.status_code == 503
    assert "match-" not in response.get_data(as_text=True)
    assert _committed("candidates_viewed") == []


def test_a_page_with_filters_to_correct_is_audited_too(client, login_as, student, sme):
    cycles.run_cycle()
    login_as(sme)
    assert client.get("/sme/candidates?language=klingon").status_code == 400
    assert _committed("candidates_viewed") == [{"students": 1}]


def test_a_refused_visit_to_a_reads_only_page_is_audited(client, login_as, student):
    login_as(student)
    assert client.get("/sme/candidates").status_code == 403
    assert _committed("forbidden") == [{"path": "/sme/candidates"}]


def test_a_reads_only_view_that_writes_is_refused(client, login_as, sme, monkeypatch):
    """Its write would start from a read that may be stale (SQLite: DEFERRED): a bug, said so."""
    real = reviews.review_for_sme

    def writes(*args: Any, **kwargs: Any) -> Any:
        db.session.add(AuditEvent(action="written_in_the_read"))
        return real(*args, **kwargs)

    login_as(sme)
    monkeypatch.setattr(reviews, "review_for_sme", writes)
    with pytest.raises(RuntimeError, match="reads_only"):
        client.get("/sme/candidates")
    assert _committed("written_in_the_read") == []


def test_the_page_is_read_while_another_worker_holds_the_write_lock(
    app, client, login_as, student, sme
):
    """Before, the page's first statement waited for the lock (BEGIN IMMEDIATE); now only its
    audit row waits, after the page was read and rendered."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock; PostgreSQL readers never wait for writers")
    cycles.run_cycle()
    login_as(sme)
    read_under_lock = threading.Event()
    holding = threading.Event()

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if holding.is_set() and "FROM matches" in statement:
            read_under_lock.set()

    event.listen(db.engine, "before_cursor_execute", note)
    answer: list[int] = []
    try:
        with db.engine.connect() as writer:
            writer.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: this worker holds the lock
            holding.set()

            def visit() -> None:
                with app.app_context():  # as another worker would: its own session
                    answer.append(client.get("/sme/candidates").status_code)

            visitor = threading.Thread(target=visit)
            visitor.start()
            assert read_under_lock.wait(8), "the page did not read while the lock was held"
            assert visitor.is_alive()  # its audit row waits for the lock
            writer.commit()
            holding.clear()
        visitor.join(15)
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert answer == [200]
    assert _committed("candidates_viewed") == [{"students": 1}]
    assert db.session.scalar(select(func.count(AuditEvent.id))) >= 1


def test_the_audit_row_is_written_after_another_worker_wrote_since_the_read_began(
    app, client, login_as, student, sme, monkeypatch
):
    """The read's snapshot ends before the audit row's transaction begins: a write committed by
    another worker while the page was read leaves the page answered and its row written (an
    insert in the read's own, now stale, snapshot fails on SQLite; a BEGIN inside it too)."""
    cycles.run_cycle()
    login_as(sme)
    real = reviews.review_for_sme

    def another_worker_writes_meanwhile(*args: Any, **kwargs: Any) -> Any:
        rows = real(*args, **kwargs)  # the page's read has begun
        with db.engine.begin() as other:
            other.execute(AuditEvent.__table__.insert().values(action="written_meanwhile"))
        return rows

    monkeypatch.setattr(reviews, "review_for_sme", another_worker_writes_meanwhile)
    assert client.get("/sme/candidates").status_code == 200
    assert _committed("written_meanwhile") == [None]
    assert _committed("candidates_viewed") == [{"students": 1}]
    # The session goes on after it: the next request reads and writes as before.
    assert client.get("/sme/candidates").status_code == 200
    assert len(_committed("candidates_viewed")) == 2


def _transaction_ends(app: Flask, client: Any, path: str) -> list[str]:
    with _engine_events("commit", "rollback") as ends:
        with app.app_context():  # a request's own session, ended by its teardown
            assert client.get(path).status_code == 200
    return ends


def test_a_page_that_only_read_ends_with_commit_on_postgresql(app, client, login_as, coordinator):
    """psycopg forgets its prepared statements at every ROLLBACK (and deallocates them on the
    server): ending a read with COMMIT keeps them for the busy pages."""
    login_as(coordinator)
    ends = _transaction_ends(app, client, "/coordinator/cycles")
    if db.engine.dialect.name == "sqlite":
        assert "commit" not in ends  # left alone: the session's end rolls it back
    else:
        assert ends[0] == "commit"


def test_a_write_the_session_did_not_see_is_still_rolled_back(
    app, client, login_as, coordinator, monkeypatch
):
    """Only what PostgreSQL confirms wrote nothing is committed: a row written on the session's
    connection behind the unit of work's back (Core) is not."""
    from app.coordinators import cycles as cycles_views

    real = cycles_views.cycles.recent_cycles

    def writes_behind_the_back(*args: Any, **kwargs: Any) -> Any:
        db.session.connection().execute(
            AuditEvent.__table__.insert().values(action="written_behind_the_back")
        )
        return real(*args, **kwargs)

    login_as(coordinator)
    monkeypatch.setattr(cycles_views.cycles, "recent_cycles", writes_behind_the_back)
    ends = _transaction_ends(app, client, "/coordinator/cycles")
    assert "commit" not in ends
    assert _committed("written_behind_the_back") == []
