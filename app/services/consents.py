"""The consent a person gave last: read by accounts, privacy and the workspace alike, so it sits
below all three (none of them imports another for it)."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Consent, User

#: Which of a person's answers is the latest: the last one recorded (the highest id), not the
#: one with the latest `given_at`, which a server clock stepped back could put out of order. The
#: one rule for `current_consent`, for the answer read with the user on every request
#: (app.sessions), for the data export's history (app.services.privacy) and for who may be
#: matched and shown to SMEs (app.services.eligibility, which compares ids the same way): a
#: person's account and the cycles never disagree about what they last answered.
LATEST_FIRST = (Consent.id.desc(),)


def current_consent(user: User) -> Consent | None:
    return db.session.scalar(
        select(Consent).where(Consent.user_id == user.id).order_by(*LATEST_FIRST).limit(1)
    )
