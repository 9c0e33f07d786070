"""The dashboard's counts kept by data version (issue 14): every table its statements read moves
`data_versions` on in the writing transaction (database triggers), so kept counts are exactly
those counting now would give, after any kind of write; and on PostgreSQL two writers do not
deadlock on the version row (the bump is deferred to commit)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import Table, delete, event, insert, select, text, update
from sqlalchemy.sql import visitors

from app.extensions import db
from app.models import DataVersion, ExportStatus, Match, MatchStatus, StudentCode, User
from app.services import stats
from tests.coordinators.test_dashboard_counts import programme  # noqa: F401 - a fixture


def _tables_read_by_the_dashboard() -> set[str]:
    """The tables in the compiled statements `dashboard_counts` runs when it counts."""
    statements: list[Any] = []

    def seen(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        if context.compiled is not None:  # the text of BEGIN and the like has none
            statements.append(context.compiled.statement)

    stats.KEPT_COUNTS.clear()
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        stats.dashboard_counts()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    return {
        element.name
        for statement in statements
        for element in visitors.iterate(statement)
        if isinstance(element, Table)
    }


def _tables_with_the_bump() -> set[str]:
    """Tables whose inserts, updates and deletes all move the version on, as the database has
    them (so a table a later migration copied without its triggers is caught too)."""
    if db.engine.dialect.name == "postgresql":
        rows = db.session.execute(
            text(
                "SELECT tgrelid::regclass::text, tgtype, tgdeferrable, tginitdeferred "
                "FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
                "WHERE p.proname = 'bump_data_version'"
            )
        ).all()
        # tgtype bits: 1 row, 4 insert, 8 delete, 16 update; deferred to commit (no deadlock)
        return {
            table
            for table, kind, deferrable, deferred in rows
            if kind & (1 | 4 | 8 | 16) == 1 | 4 | 8 | 16 and deferrable and deferred
        }
    rows = db.session.execute(
        text("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
    ).all()
    events: dict[str, set[str]] = {}
    for table, sql in rows:
        words = sql.upper().split()
        if "DATA_VERSIONS" in sql.upper() and "AFTER" in words:
            events.setdefault(table, set()).add(words[words.index("AFTER") + 1])
    return {table for table, kinds in events.items() if kinds == {"INSERT", "UPDATE", "DELETE"}}


@pytest.mark.usefixtures("programme")
def test_every_table_the_dashboard_reads_moves_the_version_on() -> None:
    read = _tables_read_by_the_dashboard()
    # the statements were seen (a sanity check on the derivation itself)
    assert {"data_versions", "matches", "students", "student_codes", "cycles"} <= read
    missing = read - {"data_versions"} - _tables_with_the_bump()
    assert not missing, (
        f"the dashboard counts these, but writes to them keep stale figures: {missing}"
    )


def _version() -> tuple[str, int]:
    row = db.session.execute(select(DataVersion.epoch, DataVersion.n)).one()
    return row[0], row[1]


def _check_current() -> stats.DashboardCounts:
    """The dashboard's counts equal a count made now, and are kept (the next call reads them)."""
    counts = stats.dashboard_counts()
    assert counts == stats._count_all()
    assert stats.dashboard_counts() is counts
    return counts


@pytest.mark.usefixtures("programme")
def test_the_kept_counts_follow_every_kind_of_write() -> None:
    stats.KEPT_COUNTS.clear()
    before = _check_current()
    match_ids = db.session.scalars(select(Match.id).order_by(Match.id)).all()
    some = db.session.execute(select(Match.student_id, Match.sme_id, Match.cycle_id)).first()
    assert some is not None
    db.session.commit()

    def wrote(change: Any) -> None:
        nonlocal before
        version = _version()
        db.session.commit()  # on SQLite the session's transaction holds the write lock
        change()
        db.session.commit()
        assert _version()[1] > version[1]
        after = _check_current()
        assert after != before, "the write changed no figure: the test would prove nothing"
        before = after

    # a cycle's proposals: one Core multi-row INSERT
    rows = [
        dict(
            student_id=some.student_id,
            sme_id=some.sme_id,
            cycle_id=some.cycle_id,
            status=MatchStatus.PROPOSED,
            score=0.5,
            student_view=0.5,
            sme_view=0.5,
            reasons=[],
        )
        for _ in range(3)
    ]
    wrote(lambda: db.session.execute(insert(Match), rows))
    # an approval through the ORM
    wrote(lambda: setattr(db.session.get(Match, match_ids[0]), "status", MatchStatus.COMPLETED))
    # an SME's export stage, by a Core UPDATE
    wrote(lambda: db.session.execute(update(ExportStatus).values(status="usd_1m")))
    # a student's codes, by a Core DELETE
    wrote(lambda: db.session.execute(delete(StudentCode).where(StudentCode.kind == "market")))

    # another writer (the scheduler, another worker): its own connection and transaction
    def elsewhere() -> None:
        with db.engine.begin() as connection:
            connection.execute(
                update(Match).where(Match.id == match_ids[1]).values(status="withdrawn")
            )

    wrote(elsewhere)

    # a write rolled back moves nothing: the kept counts are still served
    version = _version()
    db.session.execute(update(Match).values(status="expired"))
    db.session.rollback()
    assert _version() == version
    assert stats.dashboard_counts() is before


@pytest.mark.usefixtures("programme")
def test_a_version_row_made_again_never_reuses_a_number() -> None:
    stats.KEPT_COUNTS.clear()
    _check_current()
    epoch, _ = _version()
    db.session.execute(delete(DataVersion))
    db.session.commit()
    stats.KEPT_COUNTS.clear()
    # no version: counted, and nothing kept under a number a later row could reuse
    assert stats.dashboard_counts() == stats._count_all()
    assert len(stats.KEPT_COUNTS) == 0  # nothing kept
    db.session.execute(update(Match).values(score=0.25))
    db.session.commit()
    new_epoch, n = _version()
    assert new_epoch != epoch and n >= 1
    _check_current()


@pytest.mark.parametrize("bump", ["at commit", "immediate"])
@pytest.mark.usefixtures("programme")
def test_two_writers_do_not_deadlock_on_the_version(bump: str) -> None:
    """A writes a counted row, then waits for a row B holds; B then writes a counted row. If
    the bump locked the version row at A's first write, B would wait for A: a deadlock (the
    "immediate" case shows the test sees one). Deferred to commit, B commits, then A."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: one write lock, no row locks")
    first, second = db.session.scalars(select(Match.id).limit(2)).all()
    user_id = db.session.scalars(select(User.id).limit(1)).one()
    db.session.commit()
    n = _version()[1]
    a, b = db.engine.connect(), db.engine.connect()
    errors: list[BaseException] = []
    try:
        for conn in (a, b):
            conn.begin()
            conn.execute(text("SET LOCAL lock_timeout = '20s'"))
            if bump == "immediate":
                conn.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
        b.execute(update(User).where(User.id == user_id).values(email=User.email))
        a.execute(update(Match).where(Match.id == first).values(score=0.1))

        def a_goes_on() -> None:
            try:
                a.execute(update(User).where(User.id == user_id).values(email=User.email))
                a.commit()
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
                a.rollback()

        waiting = threading.Thread(target=a_goes_on)
        waiting.start()
        try:
            b.execute(update(Match).where(Match.id == second).values(score=0.2))
            b.commit()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
            b.rollback()
        waiting.join(30)
    finally:
        a.close()
        b.close()
    if bump == "immediate":
        assert errors and "deadlock" in str(errors[0]).lower()
    else:
        assert errors == []
        db.session.commit()
        assert _version()[1] == n + 2
