"""The audit entries a reads-only page keeps aside are written as one Core INSERT after its read
(`audit.write`, issue 14), not through the ORM's unit of work: the rows must be the ones a flush
of the same entries writes, to the byte a reader of the trail sees."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import text

from app.extensions import db
from app.models import AuditEvent
from app.services import audit

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
