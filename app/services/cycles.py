"""Matching cycles: who is in the pool, the engine's run, and the proposals it leaves behind.

A cycle takes the cycle lock (app.services.cycle_lock), writes a `running` record, computes,
and then writes its proposals, the expiry of stale proposals, the emails, and its own
`finished` mark in ONE transaction. A crash before that commit leaves every earlier proposal as
it was; the record is marked failed, and the next run starts from the same state.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import and_, insert, or_, select, update

from app.extensions import db
from app.models import (
    CLOSED_STATUSES,
    HOLDING_STATUSES,
    CycleStatus,
    Match,
    MatchCycle,
    MatchSettings,
    MatchStatus,
    User,
    utcnow,
)
from app.services import audit, eligibility, engine_adapter, notifications
from app.services.cycle_lock import CycleBusy, cycle_lock
from matching import pipeline

log = logging.getLogger(__name__)

__all__ = ["CycleBusy", "run_cycle", "get_settings", "load_pool"]


class ConcurrentChange(RuntimeError):
    """The pool changed under the cycle (e.g. a proposal was answered while it ran)."""


def get_settings() -> MatchSettings:
    settings = db.session.get(MatchSettings, 1)
    if settings is None:
        settings = MatchSettings(id=1, mode="stable", candidates_k=50, expiry_days=14)
        db.session.add(settings)
        db.session.flush()
    return settings


@dataclass
class Pool:
    """Everything a cycle decides from, read in one go."""

    student_ids: list[int]
    free_seats: dict[int, int]  # sme_id -> places left
    excluded: set[tuple[int, int]]
    expiring_ids: list[int]
    priority: list[int]
    stats: dict[str, int] = field(default_factory=dict)


def load_pool(settings: MatchSettings) -> Pool:
    now = utcnow()
    cutoff = now - timedelta(days=settings.expiry_days)
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
                    Match.id.in_(expiring_ids) if expiring_ids else and_(False),
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


def run_cycle(trigger: str = "manual", started_by: User | None = None) -> MatchCycle:
    """Run one cycle now. Raises CycleBusy when another one holds the lock.

    Returns the cycle's record, `finished` or `failed` (the error is on the record and logged;
    the earlier state is untouched)."""
    db.session.commit()  # start from a clean unit of work: the cycle commits as it goes
    try:
        with cycle_lock():
            cycle = _run_locked(trigger, started_by)
            db.session.commit()  # no transaction of ours may outlive the lock (SQLite's lease)
    except CycleBusy:
        log.warning("matching cycle (%s) skipped: another cycle is running", trigger)
        raise
    if cycle.status == CycleStatus.FINISHED:
        notifications.send_pending()
    return cycle


def _run_locked(trigger: str, started_by: User | None) -> MatchCycle:
    # We hold the lock, so any cycle still marked running was left by a process that died.
    db.session.execute(
        update(MatchCycle)
        .where(MatchCycle.status == CycleStatus.RUNNING)
        .values(status=CycleStatus.FAILED, finished_at=utcnow(), error="interrupted")
    )
    settings = get_settings()
    # Plain values, read once: touching an expired ORM attribute after a commit would open a new
    # transaction (on SQLite, the write lock) for the whole engine run.
    mode, weights, k = settings.mode, dict(settings.weights or {}), settings.candidates_k
    cycle = MatchCycle(
        status=CycleStatus.RUNNING,
        trigger=trigger,
        started_by_id=started_by.id if started_by else None,
        mode=mode,
        weights=weights,
        candidates_k=k,
    )
    db.session.add(cycle)
    db.session.commit()
    cycle_id = cycle.id
    try:
        started = time.perf_counter()
        pool = load_pool(settings)
        students = engine_adapter.load_students(pool.student_ids)
        smes = engine_adapter.load_smes(sorted(pool.free_seats))
        db.session.commit()  # end the read: no lock is held while the engine computes
        loaded = time.perf_counter()
        result = pipeline.run(
            students,
            smes,
            mode=mode,  # type: ignore[arg-type]
            weights=weights or None,
            k=k,
            excluded=pool.excluded,
            priority=pool.priority,
            capacity_override=pool.free_seats,
        )
        computed = time.perf_counter()
        _save_results(cycle, pool, result, timings=(loaded - started, computed - loaded, computed))
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        log.exception("matching cycle %s failed", cycle_id)
        cycle = db.session.get(MatchCycle, cycle_id)
        assert cycle is not None
        cycle.status = CycleStatus.FAILED
        cycle.finished_at = utcnow()
        cycle.error = f"{type(error).__name__}: {error}"[:2000]
        db.session.commit()
        return cycle
    log.info(
        "matching cycle %s finished: %s students, %s SMEs, %s proposed, %s expired",
        cycle.id,
        cycle.n_students,
        cycle.n_smes,
        cycle.n_proposed,
        cycle.n_expired,
    )
    return cycle


def _save_results(
    cycle: MatchCycle, pool: Pool, result: pipeline.MatchResult, timings: tuple[float, float, float]
) -> None:
    """Everything the cycle changes, in the caller's single transaction."""
    now = utcnow()
    if pool.expiring_ids:
        expired = db.session.execute(
            update(Match)
            .where(Match.id.in_(pool.expiring_ids), Match.status == MatchStatus.PROPOSED)
            .values(status=MatchStatus.EXPIRED, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if expired.rowcount != len(pool.expiring_ids):
            raise ConcurrentChange("a proposal was answered while the cycle ran; run it again")
    rows = [
        {
            "cycle_id": cycle.id,
            "student_id": pair.student_id,
            "sme_id": pair.sme_id,
            "status": MatchStatus.PROPOSED,
            "score": round(pair.score, 6),
            "student_view": round(pair.student_view, 6),
            "sme_view": round(pair.sme_view, 6),
            "reasons": engine_adapter.reason_rows(pair.reasons),
            "proposed_by": "cycle",
            "created_at": now,
            "updated_at": now,
        }
        for pair in result.pairs
    ]
    if rows:
        db.session.execute(insert(Match), rows)
    placed = {pair.student_id for pair in result.pairs}
    cycle.status = CycleStatus.FINISHED
    cycle.finished_at = utcnow()
    cycle.n_students = len(pool.student_ids)
    cycle.n_smes = len(pool.free_seats)
    cycle.n_seats = pool.stats.get("seats", 0)
    cycle.n_excluded = len(pool.excluded)
    cycle.n_expired = len(pool.expiring_ids)
    cycle.n_proposed = len(rows)
    cycle.total_score = round(result.total_score, 6)
    cycle.placed_share = round(result.placed_share, 6)
    cycle.blocking_pairs = result.blocking_pairs
    cycle.unplaced_student_ids = [sid for sid in pool.student_ids if sid not in placed]
    cycle.load_seconds, cycle.engine_seconds = round(timings[0], 4), round(timings[1], 4)
    cycle.save_seconds = round(time.perf_counter() - timings[2], 4)
    audit.record(
        "cycle_finished",
        target=cycle,
        detail={"proposed": cycle.n_proposed, "expired": cycle.n_expired, "mode": cycle.mode},
    )


def recent_cycles(limit: int = 20) -> list[MatchCycle]:
    return list(db.session.scalars(select(MatchCycle).order_by(MatchCycle.id.desc()).limit(limit)))
