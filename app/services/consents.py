"""The consent a person gave last: read by accounts, privacy and the workspace alike, so it sits
below all three (none of them imports another for it)."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Consent, User

#: Which of a person's answers is the latest: the last given, then the last written. The one
#: rule for `current_consent` and for the answer read with the user on every request
#: (app.sessions).
LATEST_FIRST = (Consent.given_at.desc(), Consent.id.desc())


def current_consent(user: User) -> Consent | None:
    return db.session.scalar(
        select(Consent).where(Consent.user_id == user.id).order_by(*LATEST_FIRST).limit(1)
    )
