"""PIPA as product features: a person's copy of their data; deletion after the retention period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select

from app.extensions import db
from app.models import Consent, User, utcnow
from app.services import audit, profiles


def export_user_data(user: User) -> dict[str, Any]:
    consents = db.session.scalars(
        select(Consent).where(Consent.user_id == user.id).order_by(Consent.given_at)
    )
    data: dict[str, Any] = {
        "account": {
            "email": user.email,
            "role": str(user.role),
            "locale": user.locale,
            "created_at": user.created_at.isoformat(),
            "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
        },
        "consents": [
            {
                "policy_version": c.policy_version,
                "collection": c.collection,
                "provision_to_smes": c.provision_to_smes,
                "given_at": c.given_at.isoformat(),
            }
            for c in consents
        ],
    }
    if user.student:
        data["student"] = profiles.student_dict(user.student)
    if user.sme:
        data["sme"] = profiles.sme_dict(user.sme)
    audit.record("data_exported", actor=user, target=user)
    return data


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
    from flask import current_app

    from app.models import HOLDING_STATUSES, SME, LoginFailure, Match, OutboxMessage, Role, Student
    from app.services import accounts

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
    return PurgeReport(len(expired), files, outbox.rowcount or 0, failures.rowcount or 0)
