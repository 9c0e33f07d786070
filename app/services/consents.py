"""The consent a person gave last: read by accounts, privacy and the workspace alike, so it sits
below all three (none of them imports another for it)."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Consent, User


def current_consent(user: User) -> Consent | None:
    return db.session.scalar(
        select(Consent)
        .where(Consent.user_id == user.id)
        .order_by(Consent.given_at.desc(), Consent.id.desc())
        .limit(1)
    )
