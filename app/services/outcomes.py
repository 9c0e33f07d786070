"""Outcomes: what a completed match brought, and an SME's export status — the programme's real
result, which the SME keeps up to date after the match too.

    active ──(the SME with its export status, or a coordinator)──> completed

The export ladder: none → first_export → usd_100k → usd_1m (a year). The student records what
came of it for them: a job offer from the SME, an E-7 work visa, further study, or other.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import schemas
from app.extensions import db
from app.models import SME, ExportStatus, Match, MatchOutcome, MatchStatus, Role, User, utcnow
from app.services import audit, workspace
from app.services.errors import Conflict, NotAllowed
from app.services.validation import validate

LADDER = {
    "none": _l("No exports yet"),
    "first_export": _l("First export made"),
    "usd_100k": _l("USD 100k a year"),
    "usd_1m": _l("USD 1M a year"),
}
STUDENT_OUTCOMES = {
    "job_offer": _l("Job offer from the company"),
    "e7_visa": _l("E-7 work visa"),
    "further_study": _l("Further study"),
    "other": _l("Other"),
}
EXPORTING = ("first_export", "usd_100k", "usd_1m")


def export_status(sme_id: int) -> ExportStatus:
    return db.session.get(ExportStatus, sme_id) or ExportStatus(
        sme_id=sme_id, status="none", markets=[]
    )


def _save_status(sme_id: int, body: schemas.ExportStatusIn, actor: User) -> ExportStatus:
    status = export_status(sme_id)
    before = status.status
    status.status = body.status
    status.first_export_on = body.first_export_on if body.status != "none" else None
    status.markets = list(body.markets)
    status.updated_at = utcnow()
    db.session.add(status)
    db.session.flush()
    audit.record(
        "export_status_updated",
        actor=actor,
        target=db.session.get(SME, sme_id),
        detail={"from": before, "to": body.status},
    )
    return status


def set_export_status(user: User, data: dict[str, Any]) -> ExportStatus:
    """An SME updates its export status, at any time."""
    if user.role != Role.SME or user.sme is None:
        raise NotAllowed("SMEs only")
    return _save_status(user.sme.id, validate(schemas.ExportStatusIn, data), user)


def outcome_of(match_id: int) -> MatchOutcome | None:
    return db.session.get(MatchOutcome, match_id)


def complete(match_id: int, user: User, data: dict[str, Any]) -> Match:
    """The SME (or a coordinator) completes an active match and records what it brought."""
    access = workspace.working(user, match_id, sides=("sme", "coordinator"))
    body = validate(schemas.CompletionIn, data)
    if not workspace.set_status(
        match_id,
        MatchStatus.ACTIVE,
        MatchStatus.COMPLETED,
        completed_at=utcnow(),
        outcome=_legacy_outcome(body),
    ):
        raise Conflict.single("status", "not_active")
    match = db.session.get(Match, match_id)
    assert match is not None
    _save_status(match.sme_id, body, user)
    outcome = outcome_of(match_id) or MatchOutcome(match_id=match_id)
    outcome.markets = list(body.markets)
    outcome.contracts = body.contracts
    outcome.sme_note = body.note
    outcome.sme_recorded_at = utcnow()
    db.session.add(outcome)
    db.session.flush()
    audit.record(
        "match_completed",
        actor=user,
        target=match,
        detail={"export_status": body.status, "contracts": body.contracts, "side": access.side},
    )
    workspace.tell(
        match,
        workspace.parties(match),
        "match_completed",
        lambda person: _(
            "Completed: your match with %(name)s", name=workspace.other_side(match, person)
        ),
        lambda person: [
            _(
                "The work of %(student)s with %(company)s is completed. Thank you for taking part.",
                student=match.student.name,
                company=match.sme.company_name,
            ),
            _("Tell us on the match page what came of it for you.")
            if person.role == Role.STUDENT
            else _("Keep your export status up to date: it is the programme's real result."),
        ],
        actor=user,
    )
    return match


def _legacy_outcome(body: schemas.CompletionIn) -> str:
    """The match's one-word outcome (coordinators' lists and CSV) from the fuller record."""
    if body.contracts:
        return "contract_signed"
    if body.markets or body.status != "none":
        return "market_entered"
    return "none"


def record_student_outcome(match_id: int, user: User, data: dict[str, Any]) -> MatchOutcome:
    """The student says what came of a completed match for them (may be changed later)."""
    access = workspace.working(user, match_id, sides=("student",))
    if access.match.status != MatchStatus.COMPLETED:
        raise Conflict.single("status", "not_completed")
    body = validate(schemas.StudentOutcomeIn, data)
    outcome = outcome_of(match_id) or MatchOutcome(match_id=match_id, markets=[], contracts=0)
    outcome.student_outcome = body.outcome
    outcome.student_note = body.note
    outcome.student_recorded_at = utcnow()
    db.session.add(outcome)
    db.session.flush()
    audit.record(
        "student_outcome_recorded",
        actor=user,
        target=access.match,
        detail={"outcome": body.outcome},
    )
    return outcome
