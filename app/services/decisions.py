"""The life of a pair, as a state machine of compare-and-set transitions.

    proposed ──(student and SME each accept or decline)──> declined
    proposed ──(coordinator)──> approved | rejected
    approved ──> active ──> completed (with an optional outcome)
    proposed ──(consent withdrawn, account paused)──> withdrawn

Until a coordinator acts, a person may change their answer (`change_answer`): an acceptance
becomes a decline (proposed ──> declined), and a decline is undone (declined ──> proposed, their
side accepted) while the pair can still stand — the student holds no other open match, the SME
has a free place, the other side has not declined and both are still eligible.

Every transition is one `UPDATE ... WHERE id = :id AND status = :expected` that must touch
exactly one row: of twenty simultaneous clicks, one is recorded and the others get a Conflict.
Approval also locks the SME's row (PostgreSQL `FOR UPDATE`; SQLite's transactions are already
serialised), so concurrent approvals can never exceed its capacity.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, Select, bindparam, func, select, update

from app.extensions import db
from app.i18n import current_locale
from app.models import (
    HOLDING_STATUSES,
    SME,
    Match,
    MatchStatus,
    Role,
    Student,
    User,
    rows_changed,
    utcnow,
)
from app.services import audit, eligibility, engine_gateway, mail, match_settings
from app.services.cycle_lock import hold_off_cycle_saves
from app.services.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotAllowed,
    NotFound,
    UnknownReference,
)
from app.services.plain_reads import one_of, read
from app.templating import KEPT_VALUES

DECLINE_REASONS = {
    "not_a_fit": _l("Not a good fit"),
    "language": _l("Language skills do not match"),
    "market": _l("Different target market"),
    "schedule": _l("Schedule or hours do not work"),
    "location": _l("Location is too far"),
    "capacity": _l("No time or capacity at the moment"),
    "other": _l("Other"),
}


def decline_reason_labels() -> Mapping[str, str]:
    """The decline reasons in the reader's language (code -> label), translated once per
    language and process (`templating.KEPT_VALUES`): a page lists them under every card, and a
    lazy string is translated again each time it is shown."""
    return KEPT_VALUES.get(
        ("decline_reasons", current_locale()),
        lambda: MappingProxyType({code: str(label) for code, label in DECLINE_REASONS.items()}),
    )


OUTCOMES = {
    "market_research": _l("Market research delivered"),
    "translation": _l("Materials translated"),
    "buyer_contacted": _l("Buyer contacted"),
    "trade_fair": _l("Trade fair supported"),
    "contract_signed": _l("Export contract signed"),
    "market_entered": _l("Market entered"),
    "none": _l("No outcome yet"),
}
REASON_MAX = 500


@dataclass
class BulkResult:
    done: list[int]
    refused: dict[int, DomainError]

    @property
    def failed(self) -> dict[int, str]:
        """Each refusal's code: the first broken rule's type, else the error's own code."""
        return {match_id: _failure_code(error) for match_id, error in self.refused.items()}


def _match(match_id: int) -> Match:
    match = db.session.get(Match, match_id)
    if match is None:
        raise NotFound("no such match", key="match_not_found")
    return match


def _reason_text(text: str | None) -> str:
    text = (text or "").strip()
    if len(text) > REASON_MAX:
        raise InvalidInput.single("reason", "string_too_long", max_length=REASON_MAX)
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in text):
        raise InvalidInput.single("reason", "control_chars")
    return text


def _compare_and_set(match_id: int, expected: MatchStatus, **values: Any) -> None:
    result = db.session.execute(
        update(Match)
        .where(Match.id == match_id, Match.status == expected)
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if rows_changed(result) != 1:
        raise Conflict.single("status", "not_pending")
    db.session.expire_all()


def _side(match: Match, user: User) -> str:
    if user.role == Role.STUDENT and user.student and match.student_id == user.student.id:
        return "student"
    if user.role == Role.SME and user.sme and match.sme_id == user.sme.id:
        return "sme"
    # never reveal that someone else's match exists
    raise NotFound("no such match", key="match_not_found")


def _answer(decision: str, reason: str, note: str) -> str:
    """The answer's stored reason text; refuses an unknown decision or a decline without reason."""
    if decision not in ("accept", "decline"):
        raise InvalidInput.single("decision", "unknown_code", code=str(decision)[:20])
    if decision == "decline" and reason not in DECLINE_REASONS:
        raise InvalidInput.single("reason", "missing" if not reason else "unknown_code")
    note = _reason_text(note)
    return f"{reason}: {note}" if reason and note else (reason or note)


def decide(match_id: int, user: User, decision: str, reason: str = "", note: str = "") -> Match:
    """The student or the SME of a proposal accepts or declines it (once)."""
    match = _match(match_id)
    side = _side(match, user)
    text = _answer(decision, reason, note)
    values: dict[str, Any] = {f"{side}_decision": decision, f"{side}_reason": text or None}
    if side == "sme":
        values["sme_shortlisted"] = False  # the shortlist is for deciding; the SME has decided
    if decision == "decline":
        values["status"] = MatchStatus.DECLINED
    result = db.session.execute(
        update(Match)
        .where(
            Match.id == match_id,
            Match.status == MatchStatus.PROPOSED,
            getattr(Match, f"{side}_decision").is_(None),
        )
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if rows_changed(result) != 1:
        raise Conflict.single("status", "not_pending")
    db.session.expire_all()
    match = _match(match_id)
    audit.record(f"match_{decision}", actor=user, target=match, detail={"side": side})
    _notify(match, f"{side}_{decision}", actor=user)
    return match


def change_answer(
    match_id: int, user: User, decision: str, reason: str = "", note: str = ""
) -> Match:
    """The student or the SME changes the answer they gave, until a coordinator acts on it.

    accept → decline: the proposal is declined, as a first decline would have.
    decline → accept: the decline is undone and the pair restored (proposed, this side accepted),
    if it can still stand: the other side has not declined too, the student holds no other open
    match (a cycle since may have proposed another), the SME has a free place, and both are still
    eligible. Each is one compare-and-set on the status and this side's answer, so a coordinator's
    approval or rejection, a cycle's expiry or a second click in between turns it into a Conflict.
    """
    match = _match(match_id)
    side = _side(match, user)
    text = _answer(decision, reason, note)
    before = getattr(match, f"{side}_decision")
    if before is None or before == decision:
        raise Conflict.single("decision", "answer_unchanged")
    if decision == "decline":
        expected = MatchStatus.PROPOSED
        event = f"{side}_decline"
        values: dict[str, Any] = {"status": MatchStatus.DECLINED}
    else:
        hold_off_cycle_saves()  # a cycle saving now sees the restored pair, or this sees its save
        _check_restorable(match, side)
        expected = MatchStatus.DECLINED
        event = f"{side}_reaccept"
        values = {"status": MatchStatus.PROPOSED}
    result = db.session.execute(
        update(Match)
        .where(
            Match.id == match_id,
            Match.status == expected,
            getattr(Match, f"{side}_decision") == before,
        )
        .values(
            updated_at=utcnow(),
            **values,
            **{f"{side}_decision": decision, f"{side}_reason": text or None},
        )
        .execution_options(synchronize_session=False)
    )
    if rows_changed(result) != 1:
        raise Conflict.single("status", "answer_final")
    db.session.expire_all()
    match = _match(match_id)
    audit.record(
        "match_answer_changed",
        actor=user,
        target=match,
        detail={"side": side, "answer": decision},
    )
    _notify(match, event, actor=user)  # the other side is told; the person saw it on the page
    return match


def _check_restorable(match: Match, side: str) -> None:
    """Refuse to undo a decline when the pair could not be proposed again now."""
    other = "sme" if side == "student" else "student"
    if match.status != MatchStatus.DECLINED or getattr(match, f"{other}_decision") == "decline":
        raise Conflict.single("status", "answer_final")
    refusal = eligibility.why_not_student(match.student_id) or eligibility.why_not_sme(match.sme_id)
    if refusal:
        raise Conflict.single("status", refusal)
    holding = db.session.scalar(
        select(func.count(Match.id)).where(
            Match.student_id == match.student_id,
            Match.id != match.id,
            Match.status.in_(HOLDING_STATUSES),
        )
    )
    if holding:
        raise Conflict.single("status", "pair_moved_on")
    sme_holding = db.session.scalar(
        select(func.count(Match.id)).where(
            Match.sme_id == match.sme_id, Match.status.in_(HOLDING_STATUSES)
        )
    )
    if (sme_holding or 0) >= match.sme.capacity:
        raise Conflict.single("status", "pair_moved_on")


class Answered(Protocol):
    """What `changeable` reads of a match: a model, or a row an SME's page loaded as columns
    (app.services.reviews.MatchRow)."""

    @property
    def id(self) -> int: ...
    @property
    def student_id(self) -> int: ...
    @property
    def sme_id(self) -> int: ...
    @property
    def status(self) -> MatchStatus: ...
    @property
    def student_decision(self) -> str | None: ...
    @property
    def sme_decision(self) -> str | None: ...


def changeable(matches: Sequence[Answered], side: str) -> set[int]:
    """Which of these matches' answers `side` may still change (what the pages offer): the same
    rules as `change_answer`, asked for all of them in a fixed number of queries."""
    other = "sme" if side == "student" else "student"
    out = {
        m.id
        for m in matches
        if m.status == MatchStatus.PROPOSED and getattr(m, f"{side}_decision") == "accept"
    }
    declined = [
        m
        for m in matches
        if m.status == MatchStatus.DECLINED
        and getattr(m, f"{side}_decision") == "decline"
        and getattr(m, f"{other}_decision") != "decline"
    ]
    if not declined:
        return out
    student_ids = {m.student_id for m in declined}
    sme_ids = {m.sme_id for m in declined}
    eligible_students = set(db.session.scalars(eligibility.eligible_students(among=student_ids)))
    capacity: dict[int, int] = {
        row[0]: row[1] for row in db.session.execute(eligibility.eligible_smes(among=sme_ids))
    }
    busy = set(
        db.session.scalars(
            select(Match.student_id).where(
                Match.student_id.in_(student_ids), Match.status.in_(HOLDING_STATUSES)
            )
        )
    )
    load: dict[int, int] = {
        row[0]: row[1]
        for row in db.session.execute(
            select(Match.sme_id, func.count(Match.id))
            .where(Match.sme_id.in_(sme_ids), Match.status.in_(HOLDING_STATUSES))
            .group_by(Match.sme_id)
        )
    }
    for m in declined:
        if (
            m.student_id in eligible_students
            and m.sme_id in capacity
            and m.student_id not in busy
            and load.get(m.sme_id, 0) < capacity[m.sme_id]
        ):
            out.add(m.id)
    return out


def approve(match_id: int, coordinator: User, *, override_reason: str = "") -> Match:
    """A coordinator makes a proposal final. Needs both sides' acceptance unless overridden."""
    _coordinator(coordinator)
    match = _match(match_id)
    override_reason = _reason_text(override_reason)
    if not (match.student_decision == "accept" and match.sme_decision == "accept"):
        if not override_reason:
            raise Conflict.single("status", "not_accepted")
    # Serialise approvals per SME, then count its places (never more than its capacity).
    capacity = db.session.scalar(
        select(SME.capacity).where(SME.id == match.sme_id).with_for_update()
    )
    if capacity is None or places_taken(match.sme_id) >= capacity:
        raise Conflict.single("sme", "capacity_full")
    _compare_and_set(
        match_id,
        MatchStatus.PROPOSED,
        status=MatchStatus.APPROVED,
        coordinator_note=override_reason or None,
    )
    match = _match(match_id)
    audit.record(
        "match_approved",
        actor=coordinator,
        target=match,
        detail={"override": override_reason} if override_reason else None,
    )
    _notify(match, "approved")
    return match


@functools.cache
def places_taken_query() -> Select[int]:
    """Built once per process, the SME's id bound: every candidates page and SME dashboard
    asks it, and building it cost five times what running it does (issue 14)."""
    return select(func.count(Match.id)).where(
        Match.sme_id == bindparam("sme_id", type_=Integer),
        one_of(Match.status, (MatchStatus.APPROVED, MatchStatus.ACTIVE)),
    )


def places_taken(sme_id: int) -> int:
    """Places of an SME held by approved or active matches (what its capacity limits)."""
    return read(places_taken_query(), {"sme_id": sme_id}).scalar() or 0


def reject(match_id: int, coordinator: User, *, reason: str = "") -> Match:
    _coordinator(coordinator)
    reason = _reason_text(reason)
    _match(match_id)
    _compare_and_set(
        match_id, MatchStatus.PROPOSED, status=MatchStatus.REJECTED, coordinator_note=reason or None
    )
    match = _match(match_id)
    audit.record("match_rejected", actor=coordinator, target=match)
    _notify(match, "rejected")
    return match


def activate(match_id: int, coordinator: User) -> Match:
    _coordinator(coordinator)
    _match(match_id)
    _compare_and_set(
        match_id, MatchStatus.APPROVED, status=MatchStatus.ACTIVE, activated_at=utcnow()
    )
    match = _match(match_id)
    audit.record("match_activated", actor=coordinator, target=match)
    _notify(match, "active")
    return match


def complete(match_id: int, coordinator: User, *, outcome: str = "none") -> Match:
    _coordinator(coordinator)
    if outcome not in OUTCOMES:
        raise InvalidInput.single("outcome", "unknown_code", code=str(outcome)[:40])
    _match(match_id)
    _compare_and_set(
        match_id,
        MatchStatus.ACTIVE,
        status=MatchStatus.COMPLETED,
        outcome=outcome,
        completed_at=utcnow(),
    )
    match = _match(match_id)
    audit.record("match_completed", actor=coordinator, target=match, detail={"outcome": outcome})
    _notify(match, "completed")
    return match


def pair(
    student_id: int, sme_id: int, coordinator: User, *, reason: str = "", override: bool = False
) -> Match:
    """A coordinator proposes a pair by hand, scored and explained like a cycle's proposals.

    The cycle's eligibility always applies (app.services.eligibility: consent, pause). Without
    `override`, its fit rules apply too (student free, SME with a free place, pair not closed
    before, and nothing in `engine_gateway.check_pair`'s block codes: visa rules, periods, a
    language or market in common, the SME's TOPIK minimum); with it, a reason is required and
    kept, and the audit entry names the rules it bypassed."""
    _coordinator(coordinator)
    hold_off_cycle_saves()  # a cycle saving now sees this pair, or this sees its proposals
    reason = _reason_text(reason)
    if override and not reason:
        raise InvalidInput.single("reason", "missing")
    student = db.session.get(Student, student_id)
    sme = db.session.get(SME, sme_id)
    if student is None:
        raise UnknownReference.single("student_id", "unknown_code", code=str(student_id))
    if sme is None:
        raise UnknownReference.single("sme_id", "unknown_code", code=str(sme_id))
    # The cycle's own eligibility (consent, pause): an override bypasses fit, never consent.
    refusal = eligibility.why_not_student(student_id)
    if refusal:
        raise Conflict.single("student_id", refusal)
    refusal = eligibility.why_not_sme(sme_id)
    if refusal:
        raise Conflict.single("sme_id", refusal)
    holding = db.session.scalar(
        select(func.count(Match.id)).where(
            Match.student_id == student_id, Match.status.in_(HOLDING_STATUSES)
        )
    )
    if holding and not override:
        raise Conflict.single("student_id", "student_busy")
    sme_holding = db.session.scalar(
        select(func.count(Match.id)).where(
            Match.sme_id == sme_id, Match.status.in_(HOLDING_STATUSES)
        )
    )
    if (sme_holding or 0) >= sme.capacity and not override:
        raise Conflict.single("sme_id", "capacity_full")
    closed_before = db.session.scalar(
        select(func.count(Match.id)).where(
            Match.student_id == student_id,
            Match.sme_id == sme_id,
            Match.status.notin_(
                (
                    MatchStatus.PROPOSED,
                    MatchStatus.APPROVED,
                    MatchStatus.ACTIVE,
                    MatchStatus.COMPLETED,
                )
            ),
        )
    )
    if closed_before and not override:
        raise Conflict.single("sme_id", "pair_closed")
    check = engine_gateway.check_pair(student_id, sme_id, match_settings.engine_weights())
    rules = [code for code in check.blocked if code != "declined_before"]  # pair_closed above
    if rules and not override:
        raise Conflict.single("sme_id", "pair_blocked", codes=rules)
    scored = engine_gateway.score_pair(student_id, sme_id, match_settings.engine_weights())
    match = Match(
        student_id=student_id,
        sme_id=sme_id,
        status=MatchStatus.PROPOSED,
        score=scored.score,
        student_view=scored.student_view,
        sme_view=scored.sme_view,
        reasons=scored.reasons,
        criteria=scored.criteria,
        proposed_by="coordinator",
        coordinator_note=reason or None,
    )
    db.session.add(match)
    db.session.flush()
    mail.send_after_commit()  # its proposal emails (app.services.notifications)
    audit.record(
        "match_paired",
        actor=coordinator,
        target=match,
        detail={
            "override": bool(override),
            "reason": reason or None,
            **({"blocked": check.blocked} if check.blocked else {}),
        },
    )
    return match


def preview_pair(student_id: int, sme_id: int) -> tuple[float, float, float, list[dict[str, Any]]]:
    """The model's score and reasons for one pair, with the current weights."""
    scored = engine_gateway.score_pair(student_id, sme_id, match_settings.engine_weights())
    return scored.score, scored.student_view, scored.sme_view, scored.reasons


COORDINATOR_ACTIONS = ("approve", "override", "reject", "activate", "complete")


def act(
    action: str, match_id: int, coordinator: User, *, reason: str = "", outcome: str = "none"
) -> Match:
    """A coordinator's step on one match, named as on the match page's buttons: approve,
    approve with an override (which needs a reason), reject, activate or complete."""
    if action == "approve":
        return approve(match_id, coordinator)
    if action == "override":
        if not reason.strip():
            raise InvalidInput.single("reason", "missing")
        return approve(match_id, coordinator, override_reason=reason)
    if action == "reject":
        return reject(match_id, coordinator, reason=reason)
    if action == "activate":
        return activate(match_id, coordinator)
    if action == "complete":
        return complete(match_id, coordinator, outcome=outcome)
    raise InvalidInput.single("action", "unknown_code", code=str(action)[:20])


def bulk(action: str, match_ids: list[int], coordinator: User, *, reason: str = "") -> BulkResult:
    """Approve or reject many; each one on its own savepoint, so one refusal stops nothing."""
    if not match_ids:
        raise InvalidInput.single("match_ids", "none_ticked")
    if action not in ("approve", "reject"):
        raise InvalidInput.single("action", "unknown_code", code=str(action)[:20])
    result = BulkResult(done=[], refused={})
    for match_id in sorted(set(match_ids))[:500]:
        savepoint = db.session.begin_nested()
        try:
            if action == "approve":
                approve(match_id, coordinator, override_reason=reason)
            else:
                reject(match_id, coordinator, reason=reason)
            savepoint.commit()
            result.done.append(match_id)
        except (DomainError, InvalidInput) as error:
            savepoint.rollback()
            result.refused[match_id] = error
    return result


def _failure_code(error: DomainError) -> str:
    if isinstance(error, InvalidInput) and error.fields:
        return str(next(iter(error.fields.values()))[0]["type"])
    return error.code


def _coordinator(user: User) -> None:
    if user.role != Role.COORDINATOR:
        raise NotAllowed("coordinators only")


def event_sentence(event: str, student: str, company: str) -> str:
    """What happened to a match, in one sentence of the current language."""

    sentences = {
        "student_accept": lambda: _(
            "%(student)s has accepted the proposal with %(company)s.",
            student=student,
            company=company,
        ),
        "student_decline": lambda: _(
            "%(student)s has declined the proposal with %(company)s. The next matching cycle "
            "will look for another pair.",
            student=student,
            company=company,
        ),
        "sme_accept": lambda: _(
            "%(company)s has accepted the proposal with %(student)s.",
            student=student,
            company=company,
        ),
        "sme_decline": lambda: _(
            "%(company)s has declined the proposal with %(student)s. The next matching cycle "
            "will look for another pair.",
            student=student,
            company=company,
        ),
        "student_reaccept": lambda: _(
            "%(student)s has changed their answer and accepts the proposal with %(company)s "
            "after all.",
            student=student,
            company=company,
        ),
        "sme_reaccept": lambda: _(
            "%(company)s has changed its answer and accepts the proposal with %(student)s "
            "after all.",
            student=student,
            company=company,
        ),
        "approved": lambda: _(
            "A coordinator has approved the match of %(student)s with %(company)s. You can now "
            "see each other's contact details and write to each other on the match page; the "
            "company offers times for a first meeting.",
            student=student,
            company=company,
        ),
        "rejected": lambda: _(
            "A coordinator has not approved the match of %(student)s with %(company)s. You stay "
            "in the programme and take part in the next matching cycle.",
            student=student,
            company=company,
        ),
        "active": lambda: _(
            "The work of %(student)s with %(company)s has started.",
            student=student,
            company=company,
        ),
        "completed": lambda: _(
            "The work of %(student)s with %(company)s is completed. Thank you for taking part.",
            student=student,
            company=company,
        ),
    }
    return sentences[event]()


def event_subject(event: str, other: str) -> str:
    """The subject of a match update, in the current language: what happened, and with whom
    (`other` is the other side of the match for the recipient)."""

    subjects = {
        "student_accept": lambda: _("%(name)s accepted the proposal", name=other),
        "sme_accept": lambda: _("%(name)s accepted the proposal", name=other),
        "student_decline": lambda: _("%(name)s declined the proposal", name=other),
        "sme_decline": lambda: _("%(name)s declined the proposal", name=other),
        "student_reaccept": lambda: _("%(name)s now accepts the proposal", name=other),
        "sme_reaccept": lambda: _("%(name)s now accepts the proposal", name=other),
        "approved": lambda: _("Approved: your match with %(name)s", name=other),
        "rejected": lambda: _("Not approved: your match with %(name)s", name=other),
        "active": lambda: _("Started: your work with %(name)s", name=other),
        "completed": lambda: _("Completed: your match with %(name)s", name=other),
    }
    return subjects[event]()


def _notify(match: Match, event: str, *, actor: User | None = None) -> None:
    """Tell the match's student and SME, each in their own language, what just happened; the
    person who caused it (`actor`) is not told about their own action: the page already did."""

    student, company = match.student.name, match.sme.company_name
    people = [
        (match.student.user, "students.dashboard", student, company),
        (match.sme.user, "smes.dashboard", company, student),
    ]
    messages = []
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_URL"]):
        for user, endpoint, name, other in people:
            if actor is not None and user.id == actor.id:
                continue
            locale = user.locale or ("ko" if user.role == Role.SME else "en")
            with force_locale(locale):
                # Worded here, printed by both templates: the HTML one escapes it like any value.
                sentence = event_sentence(event, student, company)
            content = mail.compose(
                "match_update",
                locale,
                lambda other=other: event_subject(event, other),
                name=name,
                sentence=sentence,
                link=url_for(endpoint, _external=True),
            )
            messages.append(
                {
                    "recipient": user.email,
                    "user_id": user.id,
                    "locale": locale,
                    "kind": f"match_{event}",
                    **content,
                }
            )
    mail.queue_many(messages)


def withdraw_pending_for_student(
    student: Student, actor: User, *, keep_accepted: bool = False
) -> int:
    """Hide a student's open proposals: all of them when consent to provision is withdrawn
    (SMEs may no longer see the profile); on a pause, those the student has not accepted."""
    conditions = [Match.student_id == student.id, Match.status == MatchStatus.PROPOSED]
    if keep_accepted:
        conditions.append(Match.student_decision.is_(None))
    result = db.session.execute(
        update(Match)
        .where(*conditions)
        .values(status=MatchStatus.WITHDRAWN, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if rows_changed(result):
        audit.record(
            "matches_withdrawn", actor=actor, target=student, detail={"count": rows_changed(result)}
        )
    return rows_changed(result) or 0
