"""Who may see and do what in a match after approval: one lookup for every page and API call,
the contact details each side sees, and the emails the second half of the journey sends.

    proposed ──> approved ──(kickoff picked, or a coordinator)──> active ──> completed

Nothing of this opens before approval: no contact, no thread, no kickoff. The student and the
SME of a match, and coordinators, are its only readers; anyone else gets "not found", never
"forbidden", so a match's existence is not revealed. Contact details also need the student's
consent to provision to hold (withdrawing it hides them again).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, url_for
from flask_babel import force_locale
from sqlalchemy import select, update

from app import schemas
from app.extensions import db
from app.models import (
    Activity,
    CheckIn,
    ContactDetails,
    ExportStatus,
    Match,
    MatchOutcome,
    MatchStatus,
    Message,
    Role,
    User,
    rows_changed,
    utcnow,
)
from app.services import audit, consents, mail, visibility
from app.services.errors import NotFound
from app.services.validation import validate

KST = ZoneInfo("Asia/Seoul")  # the programme runs in Korea: meetings and months are Korea time
AFTER_APPROVAL = (MatchStatus.APPROVED, MatchStatus.ACTIVE, MatchStatus.COMPLETED)


@dataclass(frozen=True)
class Access:
    match: Match
    side: str  # student | sme | coordinator

    @property
    def is_party(self) -> bool:
        return self.side in ("student", "sme")


def visible(user: User, match_id: int) -> Access:
    """The match if `user` may see it (app.services.visibility, the one rule); else NotFound."""
    return Access(visibility.get_visible_match(match_id, user), visibility.side_of(user))


def working(user: User, match_id: int, *, sides: tuple[str, ...] = ()) -> Access:
    """Like `visible`, and approved (or later): what the second half of the journey needs.
    Before approval none of it exists (no thread, no contact, no kickoff): not found.

    `sides` narrows who may act (say, only the SME offers kickoff times); anyone else who can
    see the match is refused as not found, like a stranger."""
    access = visible(user, match_id)
    if sides and access.side not in sides:
        raise NotFound("not for this side")
    if access.match.status not in AFTER_APPROVAL:
        raise NotFound("nothing before approval")
    return access


def set_status(match_id: int, expected: MatchStatus, new: MatchStatus, **values: Any) -> bool:
    """Compare-and-set on a match's status; True if this call made the change."""
    result = db.session.execute(
        update(Match)
        .where(Match.id == match_id, Match.status == expected)
        .values(status=new, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    db.session.expire_all()
    return rows_changed(result) == 1


# --- contact --------------------------------------------------------------------------------------


def contact_details(user: User) -> ContactDetails:
    return db.session.get(ContactDetails, user.id) or ContactDetails(user_id=user.id)


def update_contact(user: User, data: dict[str, Any]) -> ContactDetails:
    """Save a person's phone, messenger handle and (SMEs) address."""
    values = validate(schemas.ContactIn, data)
    details = contact_details(user)
    details.phone = values.phone or None
    details.messenger = values.messenger or None
    details.address = (values.address or None) if user.role == Role.SME else None
    db.session.add(details)
    audit.record("contact_updated", actor=user, target=user)
    db.session.flush()
    return details


def contact_open(match: Match) -> bool:
    """Approved (or later) and the student still consents to their profile going to the SME."""
    if match.status not in AFTER_APPROVAL:
        return False
    consent = consents.current_consent(match.student.user)
    return bool(consent and consent.provision_to_smes)


def contact_for(access: Access, viewer: User) -> dict[str, Any] | None:
    """Both parties' contact details for a party or a coordinator, or None; every view audited."""
    match = access.match
    if not contact_open(match):
        return None
    student, sme = match.student, match.sme
    student_details, sme_details = contact_details(student.user), contact_details(sme.user)
    audit.record("contact_viewed", actor=viewer, target=match, detail={"side": access.side})
    return {
        "student": {
            "name": student.name,
            "email": student.user.email,
            "phone": student_details.phone,
            "messenger": student_details.messenger,
        },
        "sme": {
            "contact_name": sme.contact_name,
            "company_name": sme.company_name,
            "email": sme.user.email,
            "phone": sme_details.phone,
            "address": sme_details.address,
        },
    }


# --- email ----------------------------------------------------------------------------------------


def parties(match: Match) -> list[User]:
    return [match.student.user, match.sme.user]


def locale_of(user: User) -> str:
    return user.locale or ("ko" if user.role == Role.SME else "en")


def tell(
    match: Match,
    recipients: list[User],
    kind: str,
    subject: Callable[[User], str],
    lines: Callable[[User], list[str]],
    *,
    actor: User | None = None,
    attachments: list[dict[str, str]] | None = None,
) -> int:
    """Queue one email per recipient, each in their language, linking to the match's page.

    `subject` and `lines` run in the recipient's locale, given the recipient: a subject says
    what happened and with whom. The person who caused the event (`actor`) is left out: nobody
    is emailed about their own action. The HTML version escapes every line (user text such as
    a message or a place goes through Jinja's autoescape)."""
    messages = []
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_URL"]):
        link = url_for("matches.workspace", match_id=match.id, _external=True)
        for user in recipients:
            if actor is not None and user.id == actor.id:
                continue
            locale = locale_of(user)
            with force_locale(locale):
                text_lines = [str(line) for line in lines(user)]
            content = mail.compose(
                "collab_update",
                locale,
                lambda user=user: subject(user),
                name=display_name(user),
                lines=text_lines,
                link=link,
            )
            messages.append(
                {
                    "recipient": user.email,
                    "user_id": user.id,
                    "locale": locale,
                    "kind": kind,
                    "attachments": attachments,
                    **content,
                }
            )
    return mail.queue_many(messages)


def other_side(match: Match, user: User) -> str:
    """How `user` knows the other side of `match`: the company for its student, the student's
    name for its SME (and, for anyone else, both)."""
    if user.id == match.student.user_id:
        return match.sme.company_name
    if user.id == match.sme.user_id:
        return match.student.name
    return f"{match.student.name} × {match.sme.company_name}"


def display_name(user: User) -> str:
    if user.student:
        return user.student.name
    if user.sme:
        return user.sme.contact_name
    return user.email


# --- the person's copy of their data (PIPA) ----------------------------------------------------


def export_for(user: User) -> dict[str, Any]:
    """What the second half of the journey keeps about `user`, for their data download: their
    contact details, and per match the messages they wrote, the work log (students), their
    check-ins and the outcome; SMEs also their export status."""
    details = db.session.get(ContactDetails, user.id)
    data: dict[str, Any] = {
        "contact_details": {
            "phone": details.phone,
            "messenger": details.messenger,
            "address": details.address,
        }
        if details
        else None,
        "matches": [],
    }
    if user.student:
        mine, side = Match.student_id == user.student.id, "student"
    elif user.sme:
        mine, side = Match.sme_id == user.sme.id, "sme"
        status = db.session.get(ExportStatus, user.sme.id)
        data["export_status"] = (
            {
                "status": status.status,
                "first_export_on": _iso(status.first_export_on),
                "markets": status.markets,
            }
            if status
            else None
        )
    else:
        return data
    for match in db.session.scalars(
        select(Match).where(mine, Match.status.in_(AFTER_APPROVAL)).order_by(Match.id)
    ):
        messages = db.session.scalars(
            select(Message)
            .where(Message.match_id == match.id, Message.author_id == user.id)
            .order_by(Message.id)
        )
        activities: Iterable[Activity] = (
            db.session.scalars(
                select(Activity).where(Activity.match_id == match.id).order_by(Activity.id)
            )
            if side == "student"
            else []
        )
        answers = db.session.scalars(
            select(CheckIn)
            .where(CheckIn.match_id == match.id, CheckIn.side == side)
            .order_by(CheckIn.period)
        )
        outcome = db.session.get(MatchOutcome, match.id)
        data["matches"].append(
            {
                "match_id": match.id,
                "status": str(match.status),
                "messages": [
                    {"at": _iso(m.created_at), "body": m.body, "attachment": bool(m.attachment)}
                    for m in messages
                ],
                "work_log": [
                    {
                        "date": _iso(a.worked_on),
                        "kind": a.kind,
                        "hours": a.hours,
                        "note": a.note,
                        "status": a.status,
                    }
                    for a in activities
                ],
                "checkins": [
                    {
                        "period": c.period,
                        "satisfaction": c.satisfaction,
                        "hours": c.hours,
                        "blockers": c.blockers,
                    }
                    for c in answers
                ],
                "outcome": {
                    "student_outcome": outcome.student_outcome,
                    "student_note": outcome.student_note,
                }
                if outcome and side == "student"
                else {
                    "markets": outcome.markets,
                    "contracts": outcome.contracts,
                    "note": outcome.sme_note,
                }
                if outcome
                else None,
            }
        )
    return data


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
