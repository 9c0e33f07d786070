"""Retention (PIPA): what is past its period is deleted, by the scheduler's nightly job.

Above accounts and privacy: it deletes accounts (accounts.delete_account, which has privacy
forget the person), so neither of them needs to import it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from app.extensions import db
from app.models import (
    HOLDING_STATUSES,
    SME,
    LoginFailure,
    Match,
    OutboxMessage,
    Role,
    Student,
    User,
    rows_changed,
    utcnow,
)
from app.services import accounts, audit


@dataclass
class PurgeReport:
    accounts: int
    files: list[str]
    outbox: int
    login_failures: int


def purge_expired(now: datetime | None = None) -> PurgeReport:
    """Delete what is past its retention period (PIPA): accounts inactive for RETENTION_YEARS
    (not coordinators, not anyone in an approved or active match), old emails and login failures.

    Returns the CV files to remove once the caller has committed."""
    now = now or utcnow()
    cutoff = now - timedelta(days=365 * current_app.config["RETENTION_YEARS"])
    last_seen = func.coalesce(User.last_login_at, User.created_at)
    working = (
        select(Student.user_id)
        .join(Match, Match.student_id == Student.id)
        .where(Match.status.in_([s for s in HOLDING_STATUSES if s != "proposed"]))
        .union(
            select(SME.user_id)
            .join(Match, Match.sme_id == SME.id)
            .where(Match.status.in_([s for s in HOLDING_STATUSES if s != "proposed"]))
        )
    )
    expired = db.session.scalars(
        select(User).where(
            User.role != Role.COORDINATOR, last_seen < cutoff, User.id.notin_(working)
        )
    ).all()
    files: list[str] = []
    for user in expired:
        files += accounts.delete_account(user, reason="retention")
    outbox = db.session.execute(delete(OutboxMessage).where(OutboxMessage.created_at < cutoff))
    failures = db.session.execute(
        delete(LoginFailure).where(LoginFailure.at < now - timedelta(days=30))
    )
    if expired:
        audit.record("retention_purge", detail={"accounts": len(expired)})
    return PurgeReport(len(expired), files, rows_changed(outbox) or 0, rows_changed(failures) or 0)
