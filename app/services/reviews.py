"""What an SME and a student see of their proposals, and the little they can change about them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import SME, Match, MatchStatus, Student, User, utcnow
from app.services import audit, eligibility
from app.services.cycle_lock import hold_off_cycle_saves
from app.services.decisions import NotFound, places_taken, withdraw_pending_for_student

# An SME never sees a proposal hidden because the student withdrew consent or paused.
SME_VISIBLE = tuple(s for s in MatchStatus if s != MatchStatus.WITHDRAWN)


def sme_can_see(sme_id: int) -> tuple[ColumnElement[bool], ...]:
    """The matches an SME may see: its own, not withdrawn, and only of students who still consent
    to provision (withdrawal hides them from every SME, past matches included; the rows stay for
    the programme's records). The one place every SME-facing view and API call asks."""
    return (
        Match.sme_id == sme_id,
        Match.status.in_(SME_VISIBLE),
        Match.student_id.in_(eligibility.students_shown_to_smes()),
    )


@dataclass
class SMEReview:
    pending: list[Match]  # awaiting this SME's answer, best first
    waiting: list[Match]  # answered by the SME, awaiting the student or a coordinator
    current: list[Match]  # approved or active
    history: list[Match]  # declined, rejected, expired, completed
    places_left: int


def _with_people(query, *, sme: bool = True):  # type: ignore[no-untyped-def]
    """Load every match's people with the match: a fixed number of queries, whatever the rows.
    An SME's own page leaves its SME out: it is the one already loaded (`current_user.sme`), so
    `match.sme` comes from the session's identity map without a query."""
    options = [
        selectinload(Match.student).selectinload(Student.language_rows),
        selectinload(Match.student).selectinload(Student.code_rows),
    ]
    if sme:
        options.append(selectinload(Match.sme).selectinload(SME.code_rows))
    return query.options(*options)


def review_for_sme(sme: SME) -> SMEReview:
    matches = db.session.scalars(
        _with_people(select(Match), sme=False)
        .where(*sme_can_see(sme.id))
        .order_by(Match.score.desc(), Match.id)
    ).all()
    pending = [m for m in matches if m.status == MatchStatus.PROPOSED and not m.sme_decision]
    waiting = [m for m in matches if m.status == MatchStatus.PROPOSED and m.sme_decision]
    current = [m for m in matches if m.status in (MatchStatus.APPROVED, MatchStatus.ACTIVE)]
    history = sorted(
        (m for m in matches if m not in pending and m not in waiting and m not in current),
        key=lambda m: m.updated_at,
        reverse=True,
    )
    # Shortlisted candidates first, then by score.
    pending.sort(key=lambda m: (not m.sme_shortlisted, -m.score, m.id))
    return SMEReview(pending, waiting, current, history, places_left=places_left(sme))


def places_left(sme: SME) -> int:
    return max(sme.capacity - places_taken(sme.id), 0)


def sme_match(sme: SME, match_id: int) -> Match:
    """A match of this SME that it may see; anything else is 'not found' (never 'forbidden')."""
    match = db.session.scalar(select(Match).where(Match.id == match_id, *sme_can_see(sme.id)))
    if match is None:
        raise NotFound("no such match")
    return match


def toggle_shortlist(user: User, match_id: int) -> Match:
    assert user.sme is not None
    match = sme_match(user.sme, match_id)
    db.session.execute(
        update(Match)
        .where(Match.id == match.id)
        .values(sme_shortlisted=~Match.sme_shortlisted, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(match)
    audit.record(
        "shortlist_toggled", actor=user, target=match, detail={"shortlisted": match.sme_shortlisted}
    )
    return match


def proposals_for_student(student: Student) -> list[Match]:
    return list(
        db.session.scalars(
            _with_people(select(Match))
            .where(Match.student_id == student.id)
            .order_by(Match.created_at.desc(), Match.id.desc())
        )
    )


def student_match(student: Student, match_id: int) -> Match:
    match = db.session.get(Match, match_id)
    if match is None or match.student_id != student.id:
        raise NotFound("no such match")
    return match


@dataclass
class Step:
    key: str
    done: bool
    at: datetime | None = None


def timeline(student: Student, matches: list[Match]) -> list[Step]:
    """Signed up → proposed → accepted → approved → active, for the most advanced match."""
    order = {
        MatchStatus.PROPOSED: 1,
        MatchStatus.APPROVED: 3,
        MatchStatus.ACTIVE: 4,
        MatchStatus.COMPLETED: 5,
    }
    best = max(
        (m for m in matches if m.status in order),
        key=lambda m: (order[m.status] + (m.student_decision == "accept"), m.id),
        default=None,
    )
    rank = 0 if best is None else order[best.status]
    accepted = best is not None and (best.student_decision == "accept" or rank >= 3)
    return [
        Step("signed_up", True, student.created_at),
        Step("proposed", best is not None, best.created_at if best else None),
        Step("accepted", accepted),
        Step("approved", rank >= 3),
        Step("active", rank >= 4),
    ]


def set_paused(user: User, paused: bool) -> int:
    """Pause or resume taking part. Pausing leaves the student out of cycles and withdraws the
    proposals not yet accepted; returns how many were withdrawn."""
    student = user.student
    assert student is not None
    hold_off_cycle_saves()  # a cycle's save then sees the pause (or waits for it)
    student.paused = paused
    withdrawn = withdraw_pending_for_student(student, user, keep_accepted=True) if paused else 0
    audit.record(
        "participation_paused" if paused else "participation_resumed", actor=user, target=student
    )
    db.session.flush()
    return withdrawn
