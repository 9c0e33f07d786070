"""The work log: the student records what they did, the SME confirms or disputes each entry.

    logged ──(SME: one UPDATE ... WHERE status = 'logged')──> confirmed | disputed

Hours are counted per week (Monday to Sunday) against the student's legal weekly limit
(`weekly_limit`): an entry that would go over it is refused, and both sides are emailed when a
week first reaches HOURS_WARNING_SHARE of it, before the limit is exceeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import IO, Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from app import schemas
from app.extensions import db
from app.models import Activity, Match, MatchStatus, Student, User, rows_changed, utcnow
from app.services import audit, engine_gateway, uploads, workspace
from app.services.errors import Conflict, InvalidInput, NotFound
from app.services.validation import validate
from app.services.workspace import KST

KINDS = {
    "market_research": _l("Market research"),
    "translation": _l("Translation"),
    "buyer_contact": _l("Buyer contact"),
    "trade_fair": _l("Trade fair or event"),
    "social_media": _l("Social media"),
    "other": _l("Other"),
}
STATUSES = {
    "logged": _l("Waiting for the company"),
    "confirmed": _l("Confirmed"),
    "disputed": _l("Disputed"),
}


def weekly_limit(student: Student) -> int:
    """The most hours a week this student may legally work: the visa rule table in force
    (the same one the engine applies, by degree, year and TOPIK), read through the engine
    gateway's own profile of the student. Where no rule sets a limit (no visa given, "other",
    or a visa without one: D-10, E-7, F), the hours a week the student said they can work."""
    profiles = engine_gateway.load_students([student.id])
    if profiles:
        legal = engine_gateway.rules_in_force().limits(profiles[0]).max_hours
        if legal is not None:
            return legal
    return student.hours_per_week


def week_of(day: date) -> tuple[date, date]:
    start = day - timedelta(days=day.weekday())
    return start, start + timedelta(days=6)


def week_hours(match_id: int, day: date) -> float:
    start, end = week_of(day)
    return float(
        db.session.scalar(
            select(func.coalesce(func.sum(Activity.hours), 0)).where(
                Activity.match_id == match_id,
                Activity.worked_on >= start,
                Activity.worked_on <= end,
                Activity.status != "disputed",  # a disputed entry is not counted as work
            )
        )
        or 0
    )


@dataclass
class Week:
    start: date
    hours: float
    limit: int

    @property
    def warning(self) -> bool:
        return self.hours >= self.limit * current_app.config["HOURS_WARNING_SHARE"]


def this_week(match: Match) -> Week:
    today = utcnow().astimezone(KST).date()
    return Week(week_of(today)[0], week_hours(match.id, today), weekly_limit(match.student))


def entries(match_id: int) -> list[Activity]:
    return list(
        db.session.scalars(
            select(Activity)
            .where(Activity.match_id == match_id)
            .order_by(Activity.worked_on.desc(), Activity.id.desc())
        )
    )


def log(
    match_id: int, user: User, data: dict[str, Any], attachment: IO[bytes] | None = None
) -> tuple[Activity, uploads.FileChange]:
    """The student adds an entry; returns it and its file change (published when the unit of
    work commits)."""
    access = workspace.working(user, match_id, sides=("student",))
    if access.match.status != MatchStatus.ACTIVE:
        raise Conflict.single("status", "not_active")
    entry = validate(schemas.ActivityIn, data)
    today = utcnow().astimezone(KST).date()
    if entry.date > today:
        raise InvalidInput.single("date", "date_in_future")
    hours = round(entry.hours, 2)
    limit = weekly_limit(access.match.student)
    before = week_hours(match_id, entry.date)
    total = before + hours
    if total > limit:
        raise InvalidInput.single("hours", "weekly_limit", total=_n(total), limit=limit)
    change = uploads.store_pdf(attachment, "attachment")[0] if attachment else uploads.FileChange()
    activity = Activity(
        match_id=match_id,
        kind=entry.kind,
        worked_on=entry.date,
        hours=hours,
        note=entry.note,
        attachment=change.new,
        status="logged",
        created_at=utcnow(),
    )
    db.session.add(activity)
    db.session.flush()
    audit.record(
        "activity_logged",
        actor=user,
        target=access.match,
        detail={"activity_id": activity.id, "hours": hours},
    )
    threshold = limit * current_app.config["HOURS_WARNING_SHARE"]
    if before < threshold <= total:
        _warn(access.match, entry.date, total, limit, actor=user)
    return activity, change


def _n(hours: float) -> str:
    return f"{hours:g}"


def _warn(match: Match, day: date, total: float, limit: int, *, actor: User) -> None:
    start, _end = week_of(day)
    audit.record("hours_warning", target=match, detail={"week": start.isoformat(), "hours": total})
    workspace.tell(
        match,
        workspace.parties(match),
        "hours_warning",
        lambda _user: _(
            "Working hours: %(student)s is close to the weekly limit", student=match.student.name
        ),
        lambda _user: [
            _(
                "%(student)s has logged %(total)s of at most %(limit)s hours in the week of "
                "%(week)s. Plan the rest of the week so the legal limit is not exceeded.",
                student=match.student.name,
                total=_n(total),
                limit=limit,
                week=start.isoformat(),
            )
        ],
        actor=actor,  # the student who logged the hours sees the warning on the page
    )


def review(match_id: int, activity_id: int, user: User, data: dict[str, Any]) -> Activity:
    """The SME confirms or disputes an entry, once."""
    access = workspace.working(user, match_id, sides=("sme",))
    body = validate(schemas.ActivityReviewIn, data)
    activity = db.session.get(Activity, activity_id)
    if activity is None or activity.match_id != match_id:
        raise NotFound("no such entry")
    status = "confirmed" if body.decision == "confirm" else "disputed"
    result = db.session.execute(
        update(Activity)
        .where(Activity.id == activity_id, Activity.status == "logged")
        .values(status=status, sme_comment=body.comment or None, reviewed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if rows_changed(result) != 1:
        raise Conflict.single("decision", "already_reviewed")
    db.session.expire_all()
    audit.record(
        f"activity_{status}", actor=user, target=access.match, detail={"activity_id": activity_id}
    )
    activity = db.session.get(Activity, activity_id)
    assert activity is not None
    return activity


def attachment_of(match_id: int, activity_id: int, user: User) -> Activity:
    workspace.working(user, match_id)
    activity = db.session.get(Activity, activity_id)
    if activity is None or activity.match_id != match_id or not activity.attachment:
        raise NotFound("no such file")
    audit.record(
        "activity_file_downloaded",
        actor=user,
        target=workspace.visible(user, match_id).match,
        detail={"activity_id": activity_id},
    )
    return activity
