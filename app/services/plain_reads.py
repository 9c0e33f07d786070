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

from sqlalchemy import ColumnElement, CursorResult, Executable, Insert, literal
from sqlalchemy.orm import QueryableAttribute

from app.db_sqlite import statements_listened
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


def rows(statement: Executable, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """`read(statement, params).all()` as plain tuples, the statement sent on the driver's own
    cursor: for the busiest pages' statements, built once per process (each keeps its compiled
    form here for the process's life).

    SQLAlchemy's execution of a compiled, cached statement (its execution context, the result's
    metadata and row objects) cost ~0.2 ms of a candidates page whose rows SQLite reads in about
    as much (issue 14). Here the statement is compiled once per dialect, as SQLAlchemy would
    compile it; each call builds its parameters with the compiled form's own processors, runs
    it on the cursor of the session's connection (in its transaction, after the same autoflush)
    and applies the columns' result processors (`UTCDateTime`'s, say), as SQLAlchemy does. A
    driver's error is raised as SQLAlchemy raises it (`_handle_dbapi_exception`: the same
    wrapped error, the same handling of a lost connection). While anything listens to the
    engine's statements (the tests' statement counts, Flask-SQLAlchemy's recorded queries),
    and for a statement with an expanding `IN` list (its text changes with the list's length),
    SQLAlchemy sends it as before: the same SQL and values either way. Values written into the
    text (`literal_execute`) are written as SQLAlchemy writes them, the text kept per set of
    values."""
    session = db.session()
    if session.autoflush:
        session.flush()  # returns at once when nothing is pending
    connection = session.connection()
    plan = _plan(statement, connection)
    if plan is None or statements_listened(connection):
        return [tuple(row) for row in connection.execute(statement, params or {})]
    return plan.run(connection, params or {})


def insert_row(statement: Insert, row: Mapping[str, Any]) -> None:
    """`connection.execute(statement, [row])` on the session's connection, in its transaction,
    the INSERT sent on the driver's own cursor (the audit row of a page that shows personal
    data: SQLAlchemy's execution of it cost ~70 µs against ~20 on the driver, issue 14).

    The statement is compiled once per dialect and set of columns, as SQLAlchemy compiles it
    for one row (on PostgreSQL with its `RETURNING` of the key, whose row is not read); the
    values go through the compiled form's own bind processors (JSON, `UTCDateTime`). Only for
    rows that name every column with a Python-side default (nothing for SQLAlchemy's execution
    to fill in) and while nothing listens to the statements; else SQLAlchemy sends it. A
    driver's error is raised as SQLAlchemy raises it."""
    connection = db.session().connection()
    plan = _plan(statement, connection, tuple(sorted(row)))
    if plan is None or statements_listened(connection):
        connection.execute(statement, [dict(row)])
        return
    plan.run(connection, row, fetch=False)


class _DriverPlan:
    """A statement compiled once for one dialect: its SQL, its parameters' order and processors,
    its columns' result processors (from the first cursor description: a driver's type codes
    are what SQLAlchemy's processors are chosen by)."""

    def __init__(self, statement: Executable, compiled: Any, dialect: Any) -> None:
        self.statement = statement  # held, so that its id is not reused while this lives
        self.dialect = dialect
        self.compiled = compiled
        self.sql = compiled.string
        self.positiontup = compiled.positiontup if compiled.positional else None
        self.escaped = compiled.escaped_bind_names
        self.bind_processors = compiled._bind_processors
        self.types = [entry.type for entry in compiled._result_columns]
        self.result_processors: list[Any] | None = None
        # Values written into the text (`literal_execute`: the matches list's LIMIT and
        # OFFSET), and the text SQLAlchemy writes for each set of them, kept per set.
        self.literal_keys = tuple(
            sorted(compiled.bind_names[bind] for bind in compiled.literal_execute_params)
        )
        self.written: dict[tuple[Any, ...], tuple[str, Any, Any]] = {}

    def parameters(self, params: Mapping[str, Any]) -> tuple[str, Any]:
        """The statement's text and the driver's parameters for `params`."""
        values = self.compiled.construct_params(params or None, escape_names=False)
        sql, positiontup, process = self.sql, self.positiontup, self.bind_processors
        if self.literal_keys:
            sql, positiontup, process = self._written(values)
        if positiontup is not None:
            return sql, self.dialect.execute_sequence_format(
                [
                    process[key](values[key]) if key in process else values[key]
                    for key in positiontup
                ]
            )
        escaped = self.escaped or {}
        return sql, {
            escaped.get(key, key): process[key](value) if key in process else value
            for key, value in values.items()
        }

    def _written(self, values: dict[str, Any]) -> tuple[str, Any, Any]:
        """The text with the literal values written in, as SQLAlchemy writes it
        (`_process_parameters_for_postcompile`, which takes them out of `values`), kept per
        set of values (a list's few page sizes and offsets)."""
        key = tuple(values[name] for name in self.literal_keys)
        written = self.written.get(key)
        if written is None:
            state = self.compiled._process_parameters_for_postcompile(values)
            written = (
                state.statement,
                state.positiontup,
                {**self.bind_processors, **state.processors},
            )
            if len(self.written) < _WRITTEN_KEPT:
                self.written[key] = written
        else:
            for name in self.literal_keys:
                del values[name]
        return written

    def run(
        self, connection: Any, params: Mapping[str, Any], *, fetch: bool = True
    ) -> list[tuple[Any, ...]]:
        """The statement run on the connection's own cursor, its rows processed as SQLAlchemy
        processes them (none read with `fetch` False: an INSERT's `RETURNING` row is not
        wanted); a driver's error raised as SQLAlchemy raises it."""
        sql, parameters = self.parameters(params)
        cursor = connection.connection.cursor()
        try:
            self.dialect.do_execute(cursor, sql, parameters, None)
            if not fetch:
                return []
            fetched = cursor.fetchall()
            processors: list[Any] = self.result_processors or []
            if self.result_processors is None:
                processors = self.result_processors = [
                    type_._cached_result_processor(self.dialect, column[1])
                    for type_, column in zip(self.types, cursor.description, strict=True)
                ]
        except self.dialect.loaded_dbapi.Error as error:
            connection._handle_dbapi_exception(error, sql, parameters, cursor, None)
        finally:
            cursor.close()
        processed = [(i, process) for i, process in enumerate(processors) if process]
        if not processed:
            return fetched if self.dialect.name == "sqlite" else [tuple(row) for row in fetched]
        out = []
        for row in fetched:
            values = list(row)
            for i, process in processed:
                values[i] = process(values[i])
            out.append(tuple(values))
        return out


_PLANS: dict[tuple[Any, ...], _DriverPlan | None] = {}
_PLANS_KEPT = 512  # statements built once per process, times the engines a process makes (tests)
_WRITTEN_KEPT = 64  # texts per statement with values written in (page sizes and offsets)


def _plan(
    statement: Executable, connection: Any, column_keys: tuple[str, ...] | None = None
) -> _DriverPlan | None:
    """The statement's plan for the connection's dialect (for an INSERT, per set of columns
    given: `column_keys`, sorted as SQLAlchemy sorts them), or None where SQLAlchemy's
    execution has work of its own: expanding `IN` lists, a schema map, or defaults it would
    compute (an INSERT's Python-side defaults of the columns not given)."""
    dialect = connection.dialect
    key: tuple[Any, ...] = (id(statement), id(dialect))
    if column_keys is not None:  # an INSERT's plan, per set of columns given
        key += (column_keys,)
    plan = _PLANS.get(key, _MISSING)
    if plan is _MISSING or (plan is not None and plan.statement is not statement):
        compiled = statement.compile(  # type: ignore[attr-defined]
            dialect=dialect, column_keys=list(column_keys) if column_keys is not None else None
        )
        expanding = bool(compiled.post_compile_params)  # `IN` lists: a text per length
        defaults = bool(getattr(compiled, "insert_prefetch", None)) or bool(
            getattr(compiled, "update_prefetch", None)
        )
        plan = (
            None
            if expanding or defaults or compiled.schema_translate_map
            else _DriverPlan(statement, compiled, dialect)
        )
        if len(_PLANS) >= _PLANS_KEPT:
            _PLANS.clear()
        _PLANS[key] = plan
    return plan


_MISSING: Any = object()
