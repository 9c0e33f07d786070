"""Reading plain columns on the session's own connection, without the ORM's execution step.

The busiest pages read their rows as columns with statements built once per process (issue 14).
`db.session.execute` still runs each through the ORM first (its compile state, the
`do_orm_execute` events, the result's ORM wrapping): about 0.1 ms a statement on this machine,
as much as SQLite takes to run these small queries. `read` executes the statement on the
connection of the session's transaction instead: the same transaction, the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, CursorResult, Executable, literal
from sqlalchemy.orm import QueryableAttribute

from app.extensions import db


def read(
    statement: Executable, params: Mapping[str, Any] | None = None
) -> CursorResult[*tuple[Any, ...]]:
    """The rows of `statement` (columns, not ORM entities), in the session's transaction.

    What the session has pending is flushed first, as its own `execute` would (autoflush), so
    the rows read never miss a change this request made."""
    session = db.session()
    if session.autoflush:
        session.flush()  # returns at once when nothing is pending
    return session.connection().execute(statement, params or {})


def one_of(
    column: ColumnElement[Any] | QueryableAttribute[Any], values: Iterable[Any]
) -> ColumnElement[bool]:
    """`column IN (values)` for a fixed list, with a bound parameter of its own for each value.

    `column.in_(values)` binds the list as one "expanding" parameter, which SQLAlchemy writes
    into the compiled statement's text again on every execution (a regular expression over the
    whole text, then each value): the SME's rows statement carries two such lists, ~0.03 ms of
    every candidates page (issue 14). The same condition, the same values; only how they are
    sent differs."""
    return column.in_([literal(value, type_=column.type) for value in values])
