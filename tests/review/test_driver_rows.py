"""The busiest pages' statements read on the driver's cursor (`plain_reads.rows`, issue 14).

`rows` compiles a statement built once per process once per dialect and runs it on the cursor of
the session's connection, with SQLAlchemy's own parameter and result processors. These tests
check that what it reads is what SQLAlchemy's execution reads (values and their types, aware
times included), that a driver's error is raised as SQLAlchemy's, that a statement is still
seen by whatever listens to the engine's statements, and that statements whose text changes per
execution are left to SQLAlchemy. The pages stay byte for byte the same
(`scripts/compare_pages.py`)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Integer, bindparam, event, select, table
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from app.models import User
from app.services import checkins, directory, plain_reads, reviews, stats
from tests.review.test_rows_as_columns import STATES, programme  # noqa: F401 - the fixture


def _statements(user: User) -> list[tuple[Any, dict[str, Any]]]:
    assert user.sme is not None
    first = db.session.scalars(select(reviews.Match.student_id)).first()
    return [
        (reviews._sme_rows_query(), {"sme_id": user.sme.id}),
        (reviews._proposal_rows_query(), {"student_id": first}),
        (directory._ready_count_query(), {}),
        (directory._cycle_starts_query(), {"limit": 50}),
        (stats._version_query(), {}),
        (checkins._active_matches_query(), {}),  # a value written into the text
    ]


def _typed(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Each value with its type (and a time's zone): equal values of other types differ."""
    return [
        tuple((value, type(value), getattr(value, "tzinfo", None)) for value in row) for row in rows
    ]


def test_the_drivers_rows_are_sqlalchemys(app, programme) -> None:  # noqa: F811
    for statement, params in _statements(programme):
        expected = [tuple(row) for row in plain_reads.read(statement, params)]
        got = plain_reads.rows(statement, params)
        assert _typed(got) == _typed(expected)
        # ... and read on the driver: the statement has its plan
        dialect = db.session.connection().dialect
        assert plain_reads._PLANS[(id(statement), id(dialect))] is not None
    candidates = plain_reads.rows(*_statements(programme)[0])
    assert len(candidates) == 6 and candidates[0][8].utcoffset() is not None  # created_at, aware


def test_a_statement_is_seen_by_what_listens_to_the_engine(app, programme) -> None:  # noqa: F811
    statement, params = _statements(programme)[0]
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(sql)

    expected = plain_reads.rows(statement, params)
    event.listen(db.engine, "before_cursor_execute", note)
    try:
        assert plain_reads.rows(statement, params) == expected
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert len(seen) == 1 and "FROM matches" in seen[0]


def test_a_drivers_error_is_raised_as_sqlalchemys(app) -> None:
    missing = select(bindparam("x", 1, type_=Integer)).select_from(table("no_such_table"))
    with pytest.raises(DBAPIError) as raised:
        plain_reads.rows(missing)
    assert raised.value.orig is not None  # the driver's own error, wrapped
    db.session.rollback()
    assert plain_reads.rows(select(bindparam("y", 2, type_=Integer))) == [(2,)]


def test_values_written_into_the_text_are_written_per_execution(app, programme) -> None:  # noqa: F811
    """The matches list's LIMIT and OFFSET (`literal_execute`): each page's own text."""
    rows, _count = directory._listed_statements(())  # no filter: every match
    pages = [(limit, offset) for limit in (1, 2) for offset in (0, 1, 2)] * 2
    for limit, offset in pages:
        values = {"limit": limit, "offset": offset}
        expected = [tuple(row) for row in plain_reads.read(rows, values)]
        assert _typed(plain_reads.rows(rows, values)) == _typed(expected)
        assert len(expected) == min(limit, max(len(STATES) - offset, 0))


def test_a_statement_whose_text_changes_is_left_to_sqlalchemy(app, programme) -> None:  # noqa: F811
    ids = select(User.id).where(User.id.in_(bindparam("ids", expanding=True))).order_by(User.id)
    assert plain_reads.rows(ids, {"ids": [programme.id]}) == [(programme.id,)]
    dialect = db.session.connection().dialect
    assert plain_reads._PLANS[(id(ids), id(dialect))] is None


def test_what_the_session_has_pending_is_read(app, make_student) -> None:
    user = make_student(email="pending@example.org")
    user.email = "changed@example.org"  # not flushed yet
    by_id = select(User.email).where(User.id == bindparam("id", type_=Integer))
    assert plain_reads.rows(by_id, {"id": user.id}) == [("changed@example.org",)]
    db.session.rollback()
