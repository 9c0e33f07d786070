"""Monthly check-ins: while a match is active, each side answers three questions once a month
(satisfaction 1-5, hours this month, what is blocking).

A month (Korea time) is due from the month the work started; once it is over without an
answer from a side, that check-in is missed: the side gets one reminder (a scheduler job; at
most one per match, side and month, whatever runs it twice), and a match with two missed
check-ins, or a latest satisfaction of 2 or less, needs the coordinators' attention.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, literal, select
from sqlalchemy.exc import IntegrityError

from app import schemas
from app.extensions import db
from app.models import CheckIn, CheckInReminder, Match, MatchStatus, User, utcnow
from app.services import audit, workspace
from app.services.errors import Conflict
from app.services.plain_reads import rows as plain_rows
from app.services.validation import validate
from app.services.workspace import KST

SIDES = ("student", "sme")
MISSED_FOR_ATTENTION = 2
LOW_SATISFACTION = 2


def period_of(moment: datetime) -> str:
    return moment.astimezone(KST).strftime("%Y-%m")


def _next_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    return f"{year + month // 12}-{month % 12 + 1:02d}"


def due_periods(match: Match, now: datetime) -> list[str]:
    """Months that are over and in which the match was active (oldest first)."""
    return _due_periods(match.activated_at, match.completed_at, now)


def _due_periods(
    activated_at: datetime | None, completed_at: datetime | None, now: datetime
) -> list[str]:
    if activated_at is None:
        return []
    current = period_of(now)
    last = period_of(completed_at) if completed_at else None
    periods, period = [], period_of(activated_at)
    while period < current and (last is None or period <= last):
        periods.append(period)
        period = _next_period(period)
    return periods


def submit(match_id: int, user: User, data: dict[str, Any]) -> CheckIn:
    """A side's answer for the current month (once a month)."""
    access = workspace.working(user, match_id, sides=SIDES)
    if access.match.status != MatchStatus.ACTIVE:
        raise Conflict.single("status", "not_active")
    answer = validate(schemas.CheckInIn, data)
    checkin = CheckIn(
        match_id=match_id,
        side=access.side,
        period=period_of(utcnow()),
        satisfaction=answer.satisfaction,
        hours=round(answer.hours, 2),
        blockers=answer.blockers,
        created_at=utcnow(),
    )
    savepoint = db.session.begin_nested()
    try:
        db.session.add(checkin)
        db.session.flush()
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()
        raise Conflict.single("satisfaction", "already_checked_in") from None
    audit.record(
        "checkin_submitted",
        actor=user,
        target=access.match,
        detail={"period": checkin.period, "satisfaction": checkin.satisfaction},
    )
    return checkin


def of_match(match_id: int) -> list[CheckIn]:
    return list(
        db.session.scalars(
            select(CheckIn)
            .where(CheckIn.match_id == match_id)
            .order_by(CheckIn.period.desc(), CheckIn.side)
        )
    )


def answered_this_month(match_id: int, side: str) -> bool:
    return (
        db.session.scalar(
            select(CheckIn.id).where(
                CheckIn.match_id == match_id,
                CheckIn.side == side,
                CheckIn.period == period_of(utcnow()),
            )
        )
        is not None
    )


@dataclass
class Attention:
    match: Match
    missed: dict[str, list[str]] = field(default_factory=dict)  # side -> months
    low: list[CheckIn] = field(default_factory=list)  # latest answers of 2 or less

    @property
    def flagged(self) -> bool:
        return _flagged(self.missed, self.low)

    @property
    def reasons(self) -> list[str]:
        """Why, in the reader's words (call it where a locale is chosen: a page or an email)."""
        out = []
        for side, months in self.missed.items():
            if len(months) >= MISSED_FOR_ATTENTION:
                who = _("The student") if side == "student" else _("The company")
                out.append(
                    _(
                        "%(who)s missed %(num)s check-ins (%(months)s).",
                        who=who,
                        num=len(months),
                        months=", ".join(months),
                    )
                )
        for answer in self.low:
            who = _("The student") if answer.side == "student" else _("The company")
            out.append(
                _(
                    "%(who)s rated the work %(n)s of 5 in %(month)s.",
                    who=who,
                    n=answer.satisfaction,
                    month=answer.period,
                )
            )
        return out


def _flagged(missed: dict[str, list[str]], low: list[CheckIn]) -> bool:
    return bool(low) or any(len(months) >= MISSED_FOR_ATTENTION for months in missed.values())


def needs_attention(now: datetime | None = None) -> list[Attention]:
    """Active matches with two missed check-ins on a side, or a latest satisfaction ≤ 2."""
    now = now or utcnow()
    # The active matches as three plain columns: the coordinators' dashboard asks on every
    # request, and loading every active match as an ORM object (or running the ORM's execution
    # step for none) cost more than the answer (issue 14); only the flagged ones are loaded.
    active = plain_rows(_active_matches_query())
    if not active:
        return []
    answers: dict[int, list[CheckIn]] = {}
    for checkin in db.session.scalars(
        select(CheckIn)
        .join(Match, Match.id == CheckIn.match_id)
        .where(Match.status == MatchStatus.ACTIVE)
        .order_by(CheckIn.period)
    ):
        answers.setdefault(checkin.match_id, []).append(checkin)
    # What each flagged match shows (missed months, low answers), by match id.
    found: dict[int, tuple[dict[str, list[str]], list[CheckIn]]] = {}
    for match_id, activated_at, completed_at in active:
        mine = answers.get(match_id, [])
        due = _due_periods(activated_at, completed_at, now)
        missed: dict[str, list[str]] = {}
        low: list[CheckIn] = []
        for side in SIDES:
            done = {a.period for a in mine if a.side == side}
            missed_months = [p for p in due if p not in done]
            if missed_months:
                missed[side] = missed_months
            latest = [a for a in mine if a.side == side]
            if latest and latest[-1].satisfaction <= LOW_SATISFACTION:
                low.append(latest[-1])
        if _flagged(missed, low):
            found[match_id] = (missed, low)
    if not found:
        return []
    matches = db.session.scalars(select(Match).where(Match.id.in_(list(found))))
    by_id = {match.id: match for match in matches}
    return [
        Attention(by_id[match_id], *found[match_id]) for match_id in found
    ]  # by id, as `active`


@functools.cache
def _active_matches_query() -> Select[int, datetime | None, datetime | None]:
    """The status is written into the statement, not bound: PostgreSQL plans a prepared
    statement's parameter without its value, and for `status = $1` that plan reads every match
    (0.48 ms with 1,096 proposed ones), so it planned again on each dashboard (~0.1 ms) to use
    `ix_matches_status`; with the value in the text the plan is made once (issue 14).
    SQLAlchemy writes it in at execution (`literal_execute`), quoted by the column's type."""
    active = literal(MatchStatus.ACTIVE, type_=Match.status.type, literal_execute=True)
    return (
        select(Match.id, Match.activated_at, Match.completed_at)
        .where(Match.status == active)
        .order_by(Match.id)
    )


def send_reminders(now: datetime | None = None) -> int:
    """Job: remind a side that missed last month's check-in of an active match, once."""
    now = now or utcnow()
    sent = 0
    for match in db.session.scalars(select(Match).where(Match.status == MatchStatus.ACTIVE)):
        due = due_periods(match, now)
        if not due:
            continue
        period = due[-1]
        answered = set(
            db.session.scalars(
                select(CheckIn.side).where(CheckIn.match_id == match.id, CheckIn.period == period)
            )
        )
        for side in SIDES:
            if side in answered:
                continue
            savepoint = db.session.begin_nested()
            try:
                db.session.add(
                    CheckInReminder(match_id=match.id, side=side, period=period, sent_at=now)
                )
                db.session.flush()
                savepoint.commit()
            except IntegrityError:
                savepoint.rollback()  # reminded before
                continue
            user = match.student.user if side == "student" else match.sme.user
            workspace.tell(
                match,
                [user],
                "checkin_reminder",
                lambda _user, p=period: _("Your check-in for %(month)s is missing", month=p),  # type: ignore[misc]  # defaults bind the loop values
                lambda _user, p=period: [  # type: ignore[misc]  # defaults bind the loop values
                    _(
                        "We have no check-in from you for %(month)s. It takes a minute: how "
                        "satisfied you are, how many hours you worked, and what is blocking.",
                        month=p,
                    )
                ],
            )
            sent += 1
    return sent
