"""The scheduler's reminders after the match, as one unit of work: kickoff meetings tomorrow,
unread messages (at most one email an hour per person), missed monthly check-ins. Each is
idempotent, so a run repeated (or run by a second scheduler by mistake) sends nothing twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.models import utcnow
from app.services import checkins, kickoff, threads


@dataclass
class Sent:
    kickoffs: int
    unread: int
    checkins: int


def run(now: datetime | None = None) -> Sent:
    now = now or utcnow()
    return Sent(
        kickoffs=kickoff.send_reminders(now),
        unread=threads.notify_unread(now),
        checkins=checkins.send_reminders(now),
    )
