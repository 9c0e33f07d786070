"""The kickoff meeting: the SME offers up to three times (Korea time; a place or a video link),
the student picks one, and the match becomes active.

    approved ──(SME offers slots; may offer again until one is picked)──> slots offered
    slots offered ──(student picks: one UPDATE ... WHERE chosen IS NULL)──> agreed, match active

Both sides then get an email with an iCalendar (.ics) invitation, and a reminder 24 hours
before (a scheduler job; each kickoff is reminded once, whatever runs the job twice).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _
from icalendar import Calendar, Event, vCalAddress, vText
from sqlalchemy import select, update

from app import schemas
from app.extensions import db
from app.models import Kickoff, Match, MatchStatus, User, rows_changed, utcnow
from app.services import audit, workspace
from app.services.errors import Conflict, InvalidInput
from app.services.validation import validate
from app.services.workspace import KST

MEETING_LENGTH = timedelta(hours=1)
REMIND_BEFORE = timedelta(hours=24)
FURTHEST = timedelta(days=366)


def _as_utc(value: datetime) -> datetime:
    """A naive time is Korea time (what the form's datetime-local field sends)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=KST)
    return value.astimezone(UTC)


def get(match_id: int) -> Kickoff | None:
    return db.session.get(Kickoff, match_id)


def offer(match_id: int, user: User, data: dict[str, Any]) -> Kickoff:
    """The SME offers (or offers again) up to three meeting times."""
    access = workspace.working(user, match_id, sides=("sme",))
    if access.match.status != MatchStatus.APPROVED:
        raise Conflict.single("status", "kickoff_confirmed")
    body = validate(schemas.KickoffIn, data)
    now = utcnow()
    slots = []
    for index, slot in enumerate(body.slots):
        starts_at = _as_utc(slot.starts_at).replace(second=0, microsecond=0)  # minutes
        if starts_at <= now:
            raise InvalidInput.single(f"slots.{index}.starts_at", "slot_in_past")
        if starts_at > now + FURTHEST:
            raise InvalidInput.single(f"slots.{index}.starts_at", "slot_too_far")
        slots.append({"starts_at": starts_at.isoformat(), "place": slot.place})
    kickoff = get(match_id)
    if kickoff is None:
        kickoff = Kickoff(match_id=match_id, slots=slots, offered_at=now, uid=_uid())
        db.session.add(kickoff)
        db.session.flush()
    else:
        # Offering again replaces the times, unless the student has just picked one.
        result = db.session.execute(
            update(Kickoff)
            .where(Kickoff.match_id == match_id, Kickoff.chosen.is_(None))
            .values(slots=slots, offered_at=now)
            .execution_options(synchronize_session=False)
        )
        if rows_changed(result) != 1:
            raise Conflict.single("status", "kickoff_confirmed")
        db.session.expire_all()
        again = get(match_id)
        assert again is not None  # the UPDATE above just changed it
        kickoff = again
    match = access.match
    audit.record("kickoff_offered", actor=user, target=match, detail={"slots": len(slots)})
    workspace.tell(
        match,
        [match.student.user],
        "kickoff_offered",
        lambda _user: _(
            "%(company)s offers times for a first meeting", company=match.sme.company_name
        ),
        lambda _user: [
            _(
                "%(company)s offers these times for your first meeting (Korea time). "
                "Pick one on the match page:",
                company=match.sme.company_name,
            ),
            *[slot_text(s) for s in slots],
        ],
    )
    return kickoff


def slot_text(slot: dict[str, Any]) -> str:
    when = format_datetime(datetime.fromisoformat(slot["starts_at"]), "full")
    return _("%(when)s — %(place)s", when=when, place=slot["place"])


def confirm(match_id: int, user: User, data: dict[str, Any]) -> Kickoff:
    """The student picks one time: the meeting is agreed and the match becomes active."""
    access = workspace.working(user, match_id, sides=("student",))
    pick = validate(schemas.KickoffPick, data)
    kickoff = get(match_id)
    if kickoff is None:
        raise Conflict.single("slot", "no_kickoff")
    if pick.slot >= len(kickoff.slots):
        raise InvalidInput.single("slot", "no_such_slot")
    chosen = kickoff.slots[pick.slot]
    starts_at = datetime.fromisoformat(chosen["starts_at"])
    result = db.session.execute(
        update(Kickoff)
        .where(Kickoff.match_id == match_id, Kickoff.chosen.is_(None))
        .values(chosen=pick.slot, starts_at=starts_at, place=chosen["place"], confirmed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if rows_changed(result) != 1:
        raise Conflict.single("slot", "kickoff_confirmed")
    # A coordinator may already have activated the match by hand: then it simply stays active.
    if workspace.set_status(
        match_id, MatchStatus.APPROVED, MatchStatus.ACTIVE, activated_at=utcnow()
    ):
        audit.record("match_activated", actor=user, target=access.match, detail={"by": "kickoff"})
    kickoff = get(match_id)
    assert kickoff is not None
    match = db.session.get(Match, match_id)
    assert match is not None
    audit.record("kickoff_confirmed", actor=user, target=match, detail={"slot": pick.slot})
    workspace.tell(
        match,
        workspace.parties(match),
        "kickoff_confirmed",
        lambda person: _(
            "First meeting agreed with %(name)s", name=workspace.other_side(match, person)
        ),
        lambda _user: [
            _(
                "%(student)s and %(company)s meet for the first time (Korea time):",
                student=match.student.name,
                company=match.sme.company_name,
            ),
            slot_text(chosen),
            _("The invitation is attached as a calendar file."),
        ],
        actor=user,
        attachments=[ics_attachment(match, kickoff)],
    )
    return kickoff


def _uid() -> str:
    return f"kickoff-{secrets.token_hex(12)}@kexport"


def ics(match: Match, kickoff: Kickoff) -> str:
    """The agreed meeting as an iCalendar file (RFC 5545), built with the icalendar library."""
    assert kickoff.starts_at is not None
    calendar = Calendar()
    calendar.add("prodid", "-//K-Export Warrior Match//kickoff//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", kickoff.uid)
    event.add("dtstamp", kickoff.confirmed_at or utcnow())
    event.add("dtstart", kickoff.starts_at.astimezone(UTC))
    event.add("dtend", (kickoff.starts_at + MEETING_LENGTH).astimezone(UTC))
    event.add("summary", f"K-Export Warrior: {match.student.name} × {match.sme.company_name}")
    event.add("location", vText(kickoff.place or ""))
    if (kickoff.place or "").startswith(("https://", "http://")):
        event.add("url", kickoff.place)
    for user in workspace.parties(match):
        attendee = vCalAddress(f"mailto:{user.email}")
        attendee.params["cn"] = vText(workspace.display_name(user))
        event.add("attendee", attendee, encode=0)
    calendar.add_component(event)
    return calendar.to_ical().decode("utf-8")


def ics_attachment(match: Match, kickoff: Kickoff) -> dict[str, str]:
    return {
        "filename": "kickoff.ics",
        "mimetype": "text/calendar",
        "content": ics(match, kickoff),
    }


def send_reminders(now: datetime | None = None) -> int:
    """Job: remind both sides of meetings that start within 24 hours. Each kickoff's reminder is
    claimed by one conditional UPDATE, so two runs (or two schedulers) send it once."""
    now = now or utcnow()
    due = db.session.scalars(
        select(Kickoff.match_id).where(
            Kickoff.starts_at.is_not(None),
            Kickoff.starts_at > now,
            Kickoff.starts_at <= now + REMIND_BEFORE,
            Kickoff.reminded_at.is_(None),
        )
    ).all()
    sent = 0
    for match_id in due:
        claimed = db.session.execute(
            update(Kickoff)
            .where(Kickoff.match_id == match_id, Kickoff.reminded_at.is_(None))
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        if rows_changed(claimed) != 1:
            continue
        kickoff = get(match_id)
        match = db.session.get(Match, match_id)
        if (
            kickoff is None
            or kickoff.starts_at is None
            or match is None
            or match.status not in workspace.AFTER_APPROVAL
        ):
            continue
        chosen = {"starts_at": kickoff.starts_at.isoformat(), "place": kickoff.place}
        workspace.tell(
            match,
            workspace.parties(match),
            "kickoff_reminder",
            lambda person, match=match: _(  # type: ignore[misc]  # defaults bind the loop values
                "Reminder: your first meeting with %(name)s is tomorrow",
                name=workspace.other_side(match, person),
            ),
            lambda _user, chosen=chosen: [  # type: ignore[misc]  # defaults bind the loop values
                _("A reminder of your first meeting (Korea time):"),
                slot_text(chosen),
            ],
            attachments=[ics_attachment(match, kickoff)],
        )
        sent += 1
    if sent:
        current_app.logger.info("kickoff reminders sent: %s", sent)
    return sent
