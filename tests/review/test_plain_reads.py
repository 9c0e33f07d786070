"""`plain_reads.read`: a statement of columns on the session's connection (issue 14) reads what
`db.session.execute` would, in the same transaction, changes this request made included."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import SME, AuditEvent, User
from app.services import decisions, reviews
from app.services.plain_reads import read


def _count() -> int:
    return int(read(select(func.count(AuditEvent.id))).scalar() or 0)


def test_a_read_sees_what_the_request_added_and_has_not_flushed(app: Flask) -> None:
    before = _count()
    db.session.add(AuditEvent(action="pending"))  # not flushed: the ORM would flush it first
    assert _count() == before + 1
    db.session.rollback()
    assert _count() == before


def test_a_read_is_in_the_sessions_transaction(app: Flask, sme: User) -> None:
    # a change the request flushed but did not commit is seen, as by the session itself
    assert sme.sme is not None
    sme_id = sme.sme.id
    assert decisions.places_taken(sme_id) == 0
    db.session.execute(select(SME).where(SME.id == sme_id))  # the session's transaction begun
    sme.sme.capacity = 7
    db.session.flush()
    assert read(select(SME.capacity).where(SME.id == sme_id)).scalar() == 7
    assert reviews.places_left(sme.sme) == 7
    db.session.rollback()
