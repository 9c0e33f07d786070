"""Weights learnt from people's answers: the labelled examples, training, adoption, roll-back.

Every proposal keeps, when it is made, its per-criterion values from both views
(`Match.criteria`, written by the cycle's save and by a pair made by hand). An answer is a
label for its own side (`matching.learning.answer_label` says how each decline reason is used):

    SME accepts/declines      -> an example for the SME-view learner
    student accepts/declines  -> an example for the student-view learner
    decline "capacity"/"schedule"  -> not used (says nothing about the pair's fit)
    decline "language"/"market"/"location"/"not_a_fit"/"other" -> a negative, once
    completed with a good outcome  -> that pair's accepts count twice (the SME's record of the
                                      pair for both sides; the student's job offer or E-7 visa
                                      for the student's side)
    coordinator approve/reject     -> not a label for either side: a coordinator's judgement is
                                      not what an SME or a student values (kept on the match)

Nothing is adopted automatically: `train` stores a report (plain numbers); a coordinator's
`adopt` puts its weights in force from the next cycle (audited); `roll_back` puts any earlier
set back. Below `MODEL_MIN_DECISIONS` answers on either side, `train` refuses (409).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Match,
    MatchCycle,
    MatchOutcome,
    ModelReport,
    User,
    WeightAdoption,
    utcnow,
)
from app.services import audit, match_settings
from app.services.errors import DomainError, NotFound
from matching import SIDES, learning, side_weights


class NotEnoughAnswers(DomainError):
    """Too few answers to learn from (or only one kind of answer)."""

    status = 409
    code = "not_enough_answers"
    key = "not_enough_answers"

    def __init__(self, needed: int, message: str = "not enough answers to learn from"):
        super().__init__(message, needed=needed)
        self.needed = needed


@dataclass
class Examples:
    """The labelled examples per side, and how many answers were left out and why."""

    answers: dict[str, learning.Answers]
    ignored: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {side: len(a) for side, a in self.answers.items()}


def _reason_code(text: str | None) -> str:
    # decisions.decide stores "code: note" (or the code alone): the code is what the label reads.
    return (text or "").split(":", 1)[0].strip()


def examples() -> Examples:
    """Every answered proposal with its criterion values, as one training set per side.

    The time order of an answer is its cycle; a pair made by hand belongs to the last cycle
    started before it was made."""
    cycles = db.session.execute(
        select(MatchCycle.id, MatchCycle.started_at).order_by(MatchCycle.started_at)
    ).all()
    starts = [c.started_at for c in cycles]
    rows = db.session.execute(
        select(
            Match.cycle_id,
            Match.created_at,
            Match.criteria,
            Match.sme_decision,
            Match.sme_reason,
            Match.student_decision,
            Match.student_reason,
            Match.outcome,
            MatchOutcome.student_outcome,
        )
        .outerjoin(MatchOutcome, MatchOutcome.match_id == Match.id)
        .where(Match.criteria.is_not(None))
        .order_by(Match.id)
    ).all()
    data: dict[str, dict[str, list[Any]]] = {s: {"X": [], "y": [], "g": [], "w": []} for s in SIDES}
    ignored = dict.fromkeys(SIDES, 0)
    for row in rows:
        if not row.criteria:
            continue
        if row.cycle_id is not None:
            group = row.cycle_id
        else:
            at = bisect.bisect_right(starts, row.created_at) - 1
            group = cycles[at].id if at >= 0 else 0
        # What came of a completed pair: the SME's record counts for both sides; a student's
        # own good outcome (a job offer, an E-7 visa) for the student's side.
        student_outcome = (
            row.student_outcome if row.student_outcome in learning.GOOD_OUTCOMES else row.outcome
        )
        for side, decision, reason, outcome in (
            ("sme_view", row.sme_decision, row.sme_reason, row.outcome),
            ("student_view", row.student_decision, row.student_reason, student_outcome),
        ):
            if decision is None:
                continue
            label = learning.answer_label(decision, _reason_code(reason), outcome)
            if label is None:
                ignored[side] += 1
                continue
            values = row.criteria.get(side) or {}
            d = data[side]
            d["X"].append(values)
            d["y"].append(label[0])
            d["g"].append(group)
            d["w"].append(label[1])
    answers = {
        side: learning.Answers(
            learning.as_matrix(d["X"]),
            np.asarray(d["y"], dtype=np.int64),
            np.asarray(d["g"], dtype=np.int64),
            np.asarray(d["w"], dtype=float),
        )
        for side, d in data.items()
    }
    return Examples(answers, ignored)


def min_decisions() -> int:
    return int(current_app.config["MODEL_MIN_DECISIONS"])


def in_force() -> dict[str, dict[str, float]]:
    """The weights the next cycle runs with, per side (normalised)."""
    return side_weights(match_settings.engine_weights())


def latest_report() -> ModelReport | None:
    return db.session.scalar(select(ModelReport).order_by(ModelReport.id.desc()).limit(1))


def adoptions(limit: int = 20) -> list[WeightAdoption]:
    return list(
        db.session.scalars(select(WeightAdoption).order_by(WeightAdoption.id.desc()).limit(limit))
    )


@dataclass
class Status:
    """What the page and `GET /api/v1/model` show."""

    weights: dict[str, dict[str, float]]
    source: str  # "adopted" (a learned set is in force) or "settings" (coordinators' / defaults)
    counts: dict[str, int]
    minimum: int
    needed: int  # more answers needed on the side that has fewest; 0 when training may run
    latest: ModelReport | None
    history: list[WeightAdoption]


def status_source() -> str:
    row = match_settings.get_row()
    return "adopted" if row is not None and row.side_weights else "settings"


def status() -> Status:
    counts = examples().counts()
    minimum = min_decisions()
    return Status(
        weights=in_force(),
        source=status_source(),
        counts=counts,
        minimum=minimum,
        needed=max(0, minimum - min(counts.values())),
        latest=latest_report(),
        history=adoptions(),
    )


def train(coordinator: User | None = None) -> ModelReport:
    """Fit both sides on every answer so far and store the report (flushed, not committed)."""
    data = examples()
    counts = data.counts()
    needed = max(0, min_decisions() - min(counts.values()))
    if needed:
        raise NotEnoughAnswers(needed)
    current = in_force()
    try:
        report = learning.learn(data.answers, current)
    except ValueError as error:  # e.g. the newest cycle has only accepts
        raise NotEnoughAnswers(0, str(error)) from None
    body = report.to_dict()
    body["ignored"] = data.ignored
    row = ModelReport(
        created_by_id=coordinator.id if coordinator else None,
        n_answers=report.n_answers,
        weights=report.suggested,
        current_weights=current,
        better=report.better,
        report=body,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "model_trained",
        actor=coordinator,
        target=row,
        detail={"n_answers": row.n_answers, "better": row.better},
    )
    return row


def _put_in_force(
    weights: dict[str, dict[str, float]],
    coordinator: User,
    *,
    kind: str,
    report_id: int | None = None,
    rolled_back_to_id: int | None = None,
) -> WeightAdoption:
    before = in_force()
    side_weights(weights)  # the engine's rule: refuses a set that leaves nothing to pair on
    settings = match_settings.get()
    settings.side_weights = {s: dict(weights[s]) for s in SIDES}
    settings.updated_by_id = coordinator.id
    settings.updated_at = utcnow()
    adoption = WeightAdoption(
        adopted_by_id=coordinator.id,
        report_id=report_id,
        rolled_back_to_id=rolled_back_to_id,
        kind=kind,
        weights=settings.side_weights,
    )
    db.session.add(adoption)
    db.session.flush()
    audit.record(
        "weights_adopted",
        actor=coordinator,
        target=adoption,
        detail={
            "kind": kind,
            "report_id": report_id,
            "rolled_back_to": rolled_back_to_id,
            "before": before,
            "after": settings.side_weights,
        },
    )
    return adoption


def adopt(report_id: int, coordinator: User) -> WeightAdoption:
    """Put a report's suggested weights in force from the next cycle (audited)."""
    report = db.session.get(ModelReport, report_id)
    if report is None:
        raise NotFound("no such report", key="weight_set_gone")
    return _put_in_force(report.weights, coordinator, kind="report", report_id=report.id)


def keep(report_id: int, coordinator: User) -> ModelReport:
    """A coordinator looked at a suggestion and kept the weights in force (audited)."""
    report = db.session.get(ModelReport, report_id)
    if report is None:
        raise NotFound("no such report", key="weight_set_gone")
    audit.record("weights_kept", actor=coordinator, target=report, detail={"better": report.better})
    return report


def roll_back(adoption_id: int, coordinator: User) -> WeightAdoption:
    """Put an earlier adopted set back in force (a new, audited adoption)."""
    earlier = db.session.get(WeightAdoption, adoption_id)
    if earlier is None:
        raise NotFound("no such weight set", key="weight_set_gone")
    return _put_in_force(
        earlier.weights, coordinator, kind="rollback", rolled_back_to_id=earlier.id
    )


def back_to_settings(coordinator: User) -> WeightAdoption:
    """Stop using learned weights: the coordinators' own weights (or the defaults) again."""
    flat = match_settings.current()["weights"]
    adoption = _put_in_force({s: flat for s in SIDES}, coordinator, kind="defaults")
    match_settings.get().side_weights = None
    return adoption


def auc_summary(report: ModelReport) -> dict[str, dict[str, float | None]]:
    """`{"sme_view": {"current", "learned"}, ...}`: the held-out ROC AUCs of a report."""
    out: dict[str, dict[str, float | None]] = {}
    for side in SIDES:
        metrics = report.report["sides"][side]["metrics"]
        out[side] = {
            "current": metrics["current"]["auc"],
            "learned": metrics.get("learned", {}).get("auc"),
        }
    return out


__all__ = [
    "Examples",
    "NotEnoughAnswers",
    "Status",
    "adopt",
    "auc_summary",
    "back_to_settings",
    "examples",
    "in_force",
    "keep",
    "roll_back",
    "status",
    "train",
]
