"""The audit entries a reads-only page keeps aside are written as one Core INSERT after its read
(`audit.write`, issue 14), not through the ORM's unit of work, a page's one entry on the
driver's cursor (`plain_reads.insert_row`): the rows must be the ones a flush of the same
entries writes, to the byte a reader of the trail sees, in the same transaction."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import AuditEvent
from app.models.base import utcnow
from app.services import audit, plain_reads
from tests.web.test_queries_per_page import counted

ENTRIES: list[dict[str, Any]] = [
    {
        "actor_id": 7,
        "actor_role": "sme",
        "ip": "192.0.2.1",
        "action": "candidates_viewed",
        "target_type": "sme",
        "target_id": 3,
        "detail": {"students": 20, "filters": {"language": "vi", "topik": 0}, "note": "한국어"},
    },
    {"action": "forbidden", "detail": None},  # nothing but the action: every other column NULL
    {"actor_id": 1, "actor_role": "coordinator", "action": "matches_listed", "detail": {}},
]

ROWS = text(
    "SELECT actor_id, actor_role, ip, action, target_type, target_id, "
    "CAST(detail AS TEXT), detail IS NULL, at IS NOT NULL FROM audit_events ORDER BY id"
)


def _rows() -> list[Any]:
    return [tuple(row) for row in db.session.execute(ROWS)]


def test_written_entries_are_the_rows_a_flush_writes(app: Flask) -> None:
    db.session.add_all([AuditEvent(**entry) for entry in ENTRIES])
    db.session.commit()
    flushed = _rows()
    db.session.execute(text("DELETE FROM audit_events"))
    db.session.commit()
    audit.write([AuditEvent(**entry) for entry in ENTRIES])
    db.session.commit()
    assert _rows() == flushed
    assert len(flushed) == len(ENTRIES)


def _written_alone(entries: list[dict[str, Any]]) -> list[Any]:
    for entry in entries:  # one entry a call: a page's audit row, sent on the driver
        audit.write([AuditEvent(**entry)])
    db.session.commit()
    return _rows()


def test_an_entry_written_alone_on_the_driver_is_the_row_a_flush_writes(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []
    parameters = plain_reads._DriverPlan.parameters

    def noted(plan: Any, params: Any) -> Any:
        sent.append(plan.sql)
        return parameters(plan, params)

    monkeypatch.setattr(plain_reads._DriverPlan, "parameters", noted)
    db.session.add_all([AuditEvent(**entry) for entry in ENTRIES])
    db.session.commit()
    flushed = _rows()
    db.session.execute(text("DELETE FROM audit_events"))
    db.session.commit()
    before = utcnow()
    assert _written_alone(ENTRIES) == flushed
    after = utcnow()
    stamps = db.session.scalars(select(AuditEvent.at).order_by(AuditEvent.id)).all()
    assert all(before <= stamp <= after and stamp.tzinfo is not None for stamp in stamps)
    assert len([sql for sql in sent if sql.startswith("INSERT INTO audit_events")]) == len(ENTRIES)


def test_an_entry_written_alone_while_statements_are_listened_to_is_the_same_row(
    app: Flask,
) -> None:
    """While anything listens (the tests' counts), SQLAlchemy sends the INSERT: the same SQL and
    values, seen by the listener."""
    driver = _written_alone(ENTRIES)
    db.session.execute(text("DELETE FROM audit_events"))
    db.session.commit()
    with counted() as statements:
        listened = _written_alone(ENTRIES)
    assert listened == driver
    inserts = [s for s in statements if s.startswith("INSERT INTO audit_events")]
    assert len(inserts) == len(ENTRIES)


def test_the_at_column_defaults_to_the_function_write_calls() -> None:
    """`write` fills `at` itself with `utcnow` (so that no default is left for SQLAlchemy's
    execution to compute): the column's own default must be that function."""
    default = AuditEvent.__table__.c.at.default
    assert default is not None and default.is_callable
    assert default.arg.__wrapped__ is utcnow  # type: ignore[attr-defined]


def test_an_insert_leaving_a_python_default_goes_through_sqlalchemy(app: Flask) -> None:
    """A row without a column SQLAlchemy fills in from a Python default is not sent on the
    driver (no plan): SQLAlchemy computes the default, as always."""
    before = utcnow()
    plain_reads.insert_row(insert(AuditEvent.__table__), {"action": "plain"})
    db.session.commit()
    (stamp,) = db.session.scalars(select(AuditEvent.at)).all()
    assert before <= stamp <= utcnow()


def test_an_entry_written_on_the_driver_is_rolled_back_with_its_transaction(app: Flask) -> None:
    audit.write([AuditEvent(**ENTRIES[0])])
    db.session.rollback()
    assert _rows() == []


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(app: Flask) -> None:
    """A failed INSERT (here a taken id) raises SQLAlchemy's wrapped error, which the request
    boundary answers and rolls back as any other database error."""
    audit.write([AuditEvent(**ENTRIES[0])])
    taken = db.session.scalar(select(AuditEvent.id))
    with pytest.raises(IntegrityError):
        plain_reads.insert_row(
            insert(AuditEvent.__table__), {"id": taken, "action": "again", "at": utcnow()}
        )
    db.session.rollback()
