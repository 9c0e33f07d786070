"""The one way into the matching engine: who is in the pool, rows as profiles, the engine's run.

Cycles, the settings preview and the pair preview all come through here, so a cycle's proposal,
a preview and a coordinator's look at one pair are computed from the same inputs the same way.
Nothing here writes: callers own their transaction (a cycle ends its read before the engine
computes, so no lock is held meanwhile; see `app.services.cycles`).

Reads with Core selects (no ORM objects): a cycle at 10,000 × 5,000 loads tens of thousands of
rows, and building ORM instances for them would cost more than the engine itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
from sqlalchemy import false, func, or_, select

import matching
from app.extensions import db
from app.models import (
    CLOSED_STATUSES,
    HOLDING_STATUSES,
    SME,
    CycleStatus,
    Match,
    MatchCycle,
    MatchStatus,
    SMECode,
    Student,
    StudentCode,
    StudentLanguage,
    utcnow,
)
from app.services import eligibility
from app.services.errors import NotFound
from matching import MatchResult, Reason, SMEProfile, StudentProfile


def chunks(ids: Sequence[int], size: int = 5000) -> Iterable[Sequence[int]]:
    # Bounded IN lists: SQLite caps bound parameters, PostgreSQL plans long lists slowly.
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


# --- the pool -------------------------------------------------------------------------------


@dataclass
class Pool:
    """Everything a cycle decides from, read in one go."""

    student_ids: list[int]
    free_seats: dict[int, int]  # sme_id -> places left
    excluded: set[tuple[int, int]]
    expiring_ids: list[int]
    priority: list[int]
    stats: dict[str, int] = field(default_factory=dict)


def load_pool(expiry_days: int) -> Pool:
    """Who the next cycle may pair: consenting, unpaused, free students; SMEs with free places;
    the pairs never to propose again; the proposals about to expire; last cycle's unplaced."""
    now = utcnow()
    cutoff = now - timedelta(days=expiry_days)
    expiring_ids = list(
        db.session.scalars(
            select(Match.id).where(
                Match.status == MatchStatus.PROPOSED,
                Match.created_at < cutoff,
                or_(Match.student_decision.is_(None), Match.sme_decision.is_(None)),
            )
        )
    )
    expiring = set(expiring_ids)
    holding = db.session.execute(
        select(Match.id, Match.student_id, Match.sme_id).where(Match.status.in_(HOLDING_STATUSES))
    ).all()
    busy_students = {row.student_id for row in holding if row.id not in expiring}
    used_seats: dict[int, int] = {}
    for row in holding:
        if row.id not in expiring:
            used_seats[row.sme_id] = used_seats.get(row.sme_id, 0) + 1

    candidates = db.session.scalars(eligibility.eligible_students()).all()
    student_ids = [sid for sid in candidates if sid not in busy_students]

    free_seats = {}
    for sme_id, capacity in db.session.execute(eligibility.eligible_smes()):
        left = capacity - used_seats.get(sme_id, 0)
        if left > 0:
            free_seats[sme_id] = left

    excluded = {
        (row.student_id, row.sme_id)
        for row in db.session.execute(
            select(Match.student_id, Match.sme_id).where(
                or_(
                    Match.status.in_(CLOSED_STATUSES),
                    Match.student_decision == "decline",
                    Match.sme_decision == "decline",
                    Match.id.in_(expiring_ids) if expiring_ids else false(),
                )
            )
        )
    }
    last = db.session.scalar(
        select(MatchCycle)
        .where(MatchCycle.status == CycleStatus.FINISHED)
        .order_by(MatchCycle.id.desc())
        .limit(1)
    )
    waiting = set(student_ids)
    priority = [sid for sid in (last.unplaced_student_ids or []) if sid in waiting] if last else []
    return Pool(
        student_ids=student_ids,
        free_seats=free_seats,
        excluded=excluded,
        expiring_ids=expiring_ids,
        priority=priority,
        stats={"seats": sum(free_seats.values())},
    )


# --- rows as profiles -----------------------------------------------------------------------


def months_since(month: date | None, today: date | None = None) -> int | None:
    """Whole months from a month (its first day) to today's month; None when not stated."""
    if month is None:
        return None
    today = today or date.today()
    return max(0, (today.year - month.year) * 12 + today.month - month.month)


def load_students(ids: Sequence[int]) -> list[StudentProfile]:
    languages: dict[int, dict[str, str]] = defaultdict(dict)
    codes: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    workplaces: dict[int, int] = defaultdict(int)
    rows: list[Any] = []
    for chunk in chunks(ids):
        rows += db.session.execute(
            select(
                Student.id,
                Student.nationality,
                Student.topik_level,
                Student.hours_per_week,
                Student.major,
                Student.bio,
                Student.visa,
                Student.degree_level,
                Student.year_of_study,
                Student.in_korea_since,
                Student.available_from,
                Student.available_until,
            ).where(Student.id.in_(chunk))
        ).all()
        # Placements held now: the visa rules cap how many workplaces a student may have.
        for sid, count in db.session.execute(
            select(Match.student_id, func.count(Match.id))
            .where(
                Match.student_id.in_(chunk),
                Match.status.in_((MatchStatus.APPROVED, MatchStatus.ACTIVE)),
            )
            .group_by(Match.student_id)
        ):
            workplaces[sid] = count
        for sid, code, level in db.session.execute(
            select(StudentLanguage.student_id, StudentLanguage.code, StudentLanguage.level).where(
                StudentLanguage.student_id.in_(chunk)
            )
        ):
            languages[sid][code] = level
        for sid, kind, code in db.session.execute(
            select(StudentCode.student_id, StudentCode.kind, StudentCode.code).where(
                StudentCode.student_id.in_(chunk)
            )
        ):
            codes[sid][kind].append(code)
    return [
        StudentProfile(
            id=row.id,
            nationality=row.nationality,
            languages=languages[row.id],
            markets=tuple(sorted(codes[row.id]["market"])),
            industries=tuple(sorted(codes[row.id]["industry"])),
            regions=tuple(sorted(codes[row.id]["region"])),
            topik_level=row.topik_level,
            hours_per_week=row.hours_per_week,
            text=f"{row.major}. {row.bio or ''}",
            visa=row.visa or "",
            degree_level=row.degree_level or "",
            year_of_study=row.year_of_study or 0,
            months_in_korea=months_since(row.in_korea_since),
            available_from=row.available_from,
            available_until=row.available_until,
            current_workplaces=workplaces[row.id],
        )
        for row in rows
    ]


def _sme_text(row: Any) -> str:
    products = " / ".join(t for t in (row.products_ko, row.products_en) if t)
    description = " / ".join(t for t in (row.description_ko, row.description_en) if t)
    return f"{products}. {description}"


def load_smes(ids: Sequence[int]) -> list[SMEProfile]:
    codes: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    rows: list[Any] = []
    for chunk in chunks(ids):
        rows += db.session.execute(
            select(
                SME.id,
                SME.region,
                SME.capacity,
                SME.min_topik,
                SME.products_ko,
                SME.products_en,
                SME.description_ko,
                SME.description_en,
                SME.ksic_section,
                SME.hours_needed,
                SME.period_start,
                SME.period_end,
            ).where(SME.id.in_(chunk))
        ).all()
        for sme_id, kind, code in db.session.execute(
            select(SMECode.sme_id, SMECode.kind, SMECode.code).where(SMECode.sme_id.in_(chunk))
        ):
            codes[sme_id][kind].append(code)
    return [
        SMEProfile(
            id=row.id,
            industries=tuple(sorted(codes[row.id]["industry"])),
            markets=tuple(sorted(codes[row.id]["market"])),
            languages_needed=tuple(sorted(codes[row.id]["language"])),
            region=row.region,
            capacity=row.capacity,
            min_topik=row.min_topik,
            # Both languages' words: the text model compares whatever the two sides wrote.
            text=_sme_text(row),
            ksic_section=row.ksic_section or "",
            hours_needed=row.hours_needed,
            period_start=row.period_start,
            period_end=row.period_end,
        )
        for row in rows
    ]


@dataclass
class Inputs:
    """A pool with its profiles: what the engine is given."""

    pool: Pool
    students: list[StudentProfile]
    smes: list[SMEProfile]


def load_inputs(pool: Pool) -> Inputs:
    return Inputs(
        pool=pool,
        students=load_students(pool.student_ids),
        smes=load_smes(sorted(pool.free_seats)),
    )


# --- the engine's answers -------------------------------------------------------------------


def run(
    inputs: Inputs,
    *,
    mode: Literal["stable", "optimal"],
    weights: Mapping[str, float] | None,
    k: int,
    explain: bool = True,
) -> MatchResult:
    """One cycle's computation over `inputs` (pure: no database access)."""
    pool = inputs.pool
    return matching.run(
        inputs.students,
        inputs.smes,
        mode=mode,
        weights=weights or None,
        k=k,
        excluded=pool.excluded,
        priority=pool.priority,
        capacity_override=pool.free_seats,
        explain=explain,
    )


@dataclass(frozen=True)
class PairScore:
    score: float
    student_view: float
    sme_view: float
    reasons: list[dict[str, Any]]
    # Unweighted criterion values per view, stored on a match so its answers can teach weights.
    criteria: dict[str, dict[str, float]] = field(default_factory=dict, compare=False)


def score_pair(student_id: int, sme_id: int, weights: Mapping[str, Any] | None) -> PairScore:
    """The model's score and reasons for one pair, as stored on a match. NotFound if unknown."""
    students = load_students([student_id])
    smes = load_smes([sme_id])
    if not students or not smes:
        raise NotFound("no such student or SME")
    score, student_view, sme_view, reasons = matching.explain_pair(
        students[0], smes[0], weights=weights or None
    )
    return PairScore(
        score=round(score, 6),
        student_view=round(student_view, 6),
        sme_view=round(sme_view, 6),
        reasons=reason_rows(reasons),
        criteria=matching.learning.pair_criteria(students[0], smes[0], weights or None),
    )


# --- "why not": one pair, and the students nothing fits ----------------------------------------


def rules_in_force() -> matching.RuleTable:
    """The visa rule table the engine applies today (matching/rules/, by effective date)."""
    return matching.load_rules()


def _closed_before(student_id: int, sme_id: int) -> bool:
    """The pair ended before (declined, rejected, expired, withdrawn): never proposed again."""
    return bool(
        db.session.scalar(
            select(func.count(Match.id)).where(
                Match.student_id == student_id,
                Match.sme_id == sme_id,
                or_(
                    Match.status.in_(CLOSED_STATUSES),
                    Match.student_decision == "decline",
                    Match.sme_decision == "decline",
                ),
            )
        )
    )


def _unplaced_last_cycle() -> set[int]:
    last = db.session.scalar(
        select(MatchCycle)
        .where(MatchCycle.status == CycleStatus.FINISHED)
        .order_by(MatchCycle.id.desc())
        .limit(1)
    )
    return set(last.unplaced_student_ids or []) if last else set()


@dataclass(frozen=True)
class PairCheck:
    """One pair, proposed or not, as a cycle would see it now (plain values for the views)."""

    acceptable: bool
    score: float
    student_view: float
    sme_view: float
    reasons: list[dict[str, Any]]
    blocked: list[str]
    blocked_params: dict[str, dict[str, Any]]
    rules_version: str


def check_pair(student_id: int, sme_id: int, weights: Mapping[str, Any] | None) -> PairCheck:
    """Score, reasons and block codes of any pair (`matching.check_pair`), with what only the
    app knows: whether the pair was closed before, and last cycle's priority. NotFound if an id
    is unknown."""
    students = load_students([student_id])
    smes = load_smes([sme_id])
    if not students or not smes:
        raise NotFound("no such student or SME")
    result = matching.check_pair(
        students[0],
        smes[0],
        weights=weights or None,
        declined_before=_closed_before(student_id, sme_id),
        priority=student_id in _unplaced_last_cycle(),
    )
    return PairCheck(
        acceptable=result.acceptable,
        score=round(result.score, 6),
        student_view=round(result.student_view, 6),
        sme_view=round(result.sme_view, 6),
        reasons=reason_rows(result.reasons),
        blocked=list(result.blocked),
        blocked_params={k: dict(v) for k, v in result.blocked_params.items()},
        rules_version=result.rules_version,
    )


@dataclass(frozen=True)
class Closest:
    sme_id: int
    score: float
    blocked: list[str]
    blocked_params: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class NoFit:
    student_id: int
    closest: list[Closest]


def no_fit_yet(
    weights: Mapping[str, Any] | None, expiry_days: int, n_closest: int = 3
) -> list[NoFit]:
    """Students waiting in the pool for whom no SME of the programme is acceptable (every pair
    is blocked by a rule, or closed before), each with its closest SMEs and what blocks them.

    SMEs count whether or not they have a free place: a full SME is "no place yet", not "no
    fit". Reads only."""
    pool = load_pool(expiry_days)
    sme_ids = [row[0] for row in db.session.execute(eligibility.eligible_smes())]
    students, smes = load_students(pool.student_ids), load_smes(sme_ids)
    if not students or not smes:
        return []
    students.sort(key=lambda p: p.id)
    smes.sort(key=lambda p: p.id)
    rules = rules_in_force()
    model = matching.MatchModel(weights=weights or None, rules=rules, random_state=0).fit(
        students, smes
    )
    row_of = {p.id: i for i, p in enumerate(students)}
    col_of = {p.id: j for j, p in enumerate(smes)}
    closed = [(row_of[a], col_of[b]) for a, b in pool.excluded if a in row_of and b in col_of]
    lists = model.candidates(1, exclude=closed or None)
    counts = np.diff(lists.combined.indptr)
    out = []
    m = len(smes)
    for i in np.flatnonzero(counts == 0):
        combined, _, _ = model.score_pairs(np.full(m, i), np.arange(m))
        nearest = np.argsort(-combined, kind="stable")[:n_closest]
        closest = []
        for j in nearest:
            params = matching.eligibility.blocked_params(students[i], smes[j], rules)
            if (students[i].id, smes[j].id) in pool.excluded:
                params["declined_before"] = {}
            closest.append(
                Closest(
                    sme_id=smes[j].id,
                    score=round(float(combined[j]), 6),
                    blocked=sorted(params),
                    blocked_params={k: dict(v) for k, v in params.items()},
                )
            )
        out.append(NoFit(student_id=students[i].id, closest=closest))
    return out


def criteria_rows(result: MatchResult) -> list[dict[str, dict[str, float]]]:
    """Each new pair's criterion values as stored on its match (`result.pairs` order)."""
    views = [result.criteria[side] for side in matching.SIDES]
    return [
        {
            side: matching.learning.as_mapping(view[p])
            for side, view in zip(matching.SIDES, views, strict=True)
        }
        for p in range(len(result.pairs))
    ]


def reason_rows(reasons: Iterable[Reason]) -> list[dict[str, Any]]:
    """Reasons as stored on a match: keys, codes and numbers, worded only when shown (by
    app.services.explanations, in the reader's language; the engine's English is not kept)."""
    return [
        {
            "factor": r.factor,
            "key": r.key,
            "params": dict(r.params),
            "weight": round(float(r.weight), 6),
        }
        for r in reasons
    ]
