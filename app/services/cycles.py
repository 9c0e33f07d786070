"""Matching cycles: a run of the engine over the pool, and the proposals it leaves behind.

The pool, the profiles and the engine call come from `app.services.engine_gateway`; the settings
from `app.services.match_settings`. This module owns the cycle's record, lock and transaction.

A cycle takes the cycle lock (app.services.cycle_lock), writes a `running` record, computes,
and then writes its proposals, the expiry of stale proposals, the emails, and its own
`finished` mark in ONE transaction. A crash before that commit leaves every earlier proposal as
it was; the record is marked failed, and the next run starts from the same state.

The save trusts nothing it read before the engine ran:
- it first proves that this cycle still holds the lock (`cycle_lock.fence`: the lease
  generation it took must still be current); a cycle that lost its lock writes nothing and
  its record says why;
- it re-reads who can still take a proposal (a student paired by hand, deleted or who
  withdrew consent meanwhile; an SME whose places filled up) and leaves those proposals out,
  committing the rest (`n_skipped` on the record).

Web requests never run a cycle: they record a `queued` one (`request_cycle`), and the scheduler
process runs it (`app.jobs`). `flask match run` runs one in the foreground.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, update

from app.extensions import db
from app.models import (
    HOLDING_STATUSES,
    CycleStatus,
    Match,
    MatchCycle,
    MatchStatus,
    User,
    rows_changed,
    utcnow,
)
from app.services import audit, eligibility, engine_gateway, match_settings, notifications
from app.services.cycle_lock import CycleBusy, Lease, cycle_lock, fence, lock_lease_row
from app.services.engine_gateway import Pool
from matching import MatchResult

log = logging.getLogger(__name__)

__all__ = ["CycleBusy", "CycleNotNeeded", "recent_cycles", "request_cycle", "run_cycle"]

ACTIVE_STATUSES = (CycleStatus.QUEUED, CycleStatus.RUNNING)


class CycleNotNeeded(Exception):
    """The run asked for is done already (a scheduled period's cycle finished; a queued cycle
    was taken by another scheduler)."""


def request_cycle(trigger: str, started_by: User | None) -> MatchCycle:
    """Record a `queued` cycle for the scheduler process to run (the caller commits).

    Raises CycleBusy when a cycle is already queued or running. The check and the insert are
    serialised on the lease row (PostgreSQL) or by SQLite's write lock, so two coordinators
    clicking at once queue one cycle."""
    lock_lease_row()
    active = db.session.scalar(
        select(func.count(MatchCycle.id)).where(MatchCycle.status.in_(ACTIVE_STATUSES))
    )
    if active:
        raise CycleBusy
    settings = match_settings.current()
    cycle = MatchCycle(
        status=CycleStatus.QUEUED,
        trigger=trigger,
        started_by_id=started_by.id if started_by else None,
        mode=settings["mode"],
        weights=match_settings.engine_weights() or {},
        candidates_k=settings["candidates_k"],
    )
    db.session.add(cycle)
    db.session.flush()
    audit.record("cycle_requested", target=cycle, detail={"trigger": trigger})
    return cycle


def queued_ids() -> list[int]:
    ids = list(
        db.session.scalars(
            select(MatchCycle.id)
            .where(MatchCycle.status == CycleStatus.QUEUED)
            .order_by(MatchCycle.id)
        )
    )
    db.session.commit()
    return ids


def reap_interrupted() -> int:
    """Mark `running` records whose process is gone as failed, now (not at the next cycle).

    A record is only running while its cycle holds the lock; if the lock can be taken, its
    holder is dead (PostgreSQL dropped its connection; SQLite found its pid gone)."""
    running = db.session.scalar(
        select(func.count(MatchCycle.id)).where(MatchCycle.status == CycleStatus.RUNNING)
    )
    db.session.commit()
    if not running:
        return 0
    try:
        with cycle_lock():
            reaped = _reap()
            db.session.commit()
    except CycleBusy:
        return 0  # its holder is alive
    return reaped


def _reap(keep: int | None = None) -> int:
    result = db.session.execute(
        update(MatchCycle)
        .where(MatchCycle.status == CycleStatus.RUNNING, MatchCycle.id != (keep or 0))
        .values(
            status=CycleStatus.FAILED,
            finished_at=utcnow(),
            error="interrupted: the process running this cycle stopped before it finished",
        )
        .execution_options(synchronize_session=False)
    )
    if rows_changed(result):
        log.warning("marked %s interrupted cycle(s) failed", rows_changed(result))
    return int(rows_changed(result) or 0)


def run_cycle(
    trigger: str = "manual",
    started_by: User | None = None,
    *,
    cycle_id: int | None = None,
    scheduled_for: datetime | None = None,
    attempt: int = 1,
) -> MatchCycle:
    """Run one cycle now: a new one, or the queued record `cycle_id`.

    Raises CycleBusy when another one holds the lock, CycleNotNeeded when `cycle_id` is no longer
    queued or a cycle finished since `scheduled_for`. Returns the cycle's record, `finished` or
    `failed` (the error is on the record and logged; the earlier state is untouched)."""
    db.session.commit()  # start from a clean unit of work: the cycle commits as it goes
    try:
        with cycle_lock() as lease:
            cycle = _run_locked(lease, trigger, started_by, cycle_id, scheduled_for, attempt)
            db.session.commit()  # no transaction of ours may outlive the lock (SQLite's lease)
    except CycleBusy:
        log.warning("matching cycle (%s) skipped: another cycle is running", trigger)
        raise
    if cycle.status == CycleStatus.FINISHED:
        notifications.send_pending()
    return cycle


def _start_record(
    lease: Lease,
    trigger: str,
    started_by: User | None,
    cycle_id: int | None,
    scheduled_for: datetime | None,
    attempt: int,
    mode: str,
    weights: dict[str, float],
    k: int,
) -> MatchCycle:
    """The `running` record: a queued one claimed (compare-and-set), or a new one."""
    values = {
        "status": CycleStatus.RUNNING,
        "started_at": utcnow(),
        "mode": mode,
        "weights": weights,
        "candidates_k": k,
        "fence": lease.generation,
    }
    if cycle_id is not None:
        claimed = db.session.execute(
            update(MatchCycle)
            .where(MatchCycle.id == cycle_id, MatchCycle.status == CycleStatus.QUEUED)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if rows_changed(claimed) != 1:
            db.session.commit()
            raise CycleNotNeeded(f"cycle {cycle_id} is no longer queued")
        claimed_cycle = db.session.get(MatchCycle, cycle_id, populate_existing=True)
        assert claimed_cycle is not None
        cycle = claimed_cycle
    else:
        if scheduled_for is not None and db.session.scalar(
            select(func.count(MatchCycle.id)).where(
                MatchCycle.status == CycleStatus.FINISHED,
                MatchCycle.started_at >= scheduled_for,
            )
        ):
            db.session.commit()
            raise CycleNotNeeded(f"a cycle finished since {scheduled_for.isoformat()}")
        cycle = MatchCycle(
            trigger=trigger,
            started_by_id=started_by.id if started_by else None,
            scheduled_for=scheduled_for,
            attempt=attempt,
            **values,
        )
        db.session.add(cycle)
    db.session.commit()
    return cycle


def _run_locked(
    lease: Lease,
    trigger: str,
    started_by: User | None,
    cycle_id: int | None,
    scheduled_for: datetime | None,
    attempt: int,
) -> MatchCycle:
    # We hold the lock, so any cycle still marked running was left by a process that died (or
    # lost its lock: its save will be refused by the fence).
    _reap(keep=cycle_id)
    match_settings.get()  # a first cycle stores the defaults it ran with
    # Plain values, read once: touching an expired ORM attribute after a commit would open a new
    # transaction (on SQLite, the write lock) for the whole engine run.
    settings = match_settings.current()
    mode, k = settings["mode"], settings["candidates_k"]
    weights = match_settings.engine_weights() or {}
    cycle = _start_record(
        lease, trigger, started_by, cycle_id, scheduled_for, attempt, mode, weights, k
    )
    cycle_id = cycle.id
    try:
        started = time.perf_counter()
        pool = engine_gateway.load_pool(settings["expiry_days"])
        inputs = engine_gateway.load_inputs(pool)
        db.session.commit()  # end the read: no lock is held while the engine computes
        loaded = time.perf_counter()
        result = engine_gateway.run(inputs, mode=mode, weights=weights, k=k)
        computed = time.perf_counter()
        fence(lease)  # first statement of the save's transaction
        _save_results(cycle, pool, result, timings=(loaded - started, computed - loaded, computed))
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        log.exception("matching cycle %s failed", cycle_id)
        failed = db.session.get(MatchCycle, cycle_id, populate_existing=True)
        assert failed is not None
        cycle = failed
        cycle.status = CycleStatus.FAILED
        cycle.finished_at = utcnow()
        cycle.error = f"{type(error).__name__}: {error}"[:2000]
        db.session.commit()
        return cycle
    log.info(
        "matching cycle %s finished: %s students, %s SMEs, %s proposed, %s skipped, %s expired",
        cycle.id,
        cycle.n_students,
        cycle.n_smes,
        cycle.n_proposed,
        cycle.n_skipped,
        cycle.n_expired,
    )
    return cycle


def _save_results(
    cycle: MatchCycle, pool: Pool, result: MatchResult, timings: tuple[float, float, float]
) -> None:
    """Everything the cycle changes, in the caller's single transaction (after `fence`)."""
    now = utcnow()
    n_expired = 0
    if pool.expiring_ids:
        # A proposal answered by both sides while the engine ran no longer expires; it keeps
        # holding its student and place, and the re-check below leaves their new ones out.
        n_expired = rows_changed(
            db.session.execute(
                update(Match)
                .where(
                    Match.id.in_(pool.expiring_ids),
                    Match.status == MatchStatus.PROPOSED,
                    or_(Match.student_decision.is_(None), Match.sme_decision.is_(None)),
                )
                .values(status=MatchStatus.EXPIRED, updated_at=now)
                .execution_options(synchronize_session=False)
            )
        )
    pairs = still_possible(result.pairs)
    criteria = {
        (pair.student_id, pair.sme_id): values
        for pair, values in zip(result.pairs, engine_gateway.criteria_rows(result), strict=True)
    }
    rows = [
        {
            "cycle_id": cycle.id,
            "student_id": pair.student_id,
            "sme_id": pair.sme_id,
            "status": MatchStatus.PROPOSED,
            "score": round(pair.score, 6),
            "student_view": round(pair.student_view, 6),
            "sme_view": round(pair.sme_view, 6),
            "reasons": engine_gateway.reason_rows(pair.reasons),
            "criteria": criteria[(pair.student_id, pair.sme_id)],
            "proposed_by": "cycle",
            "created_at": now,
            "updated_at": now,
        }
        for pair in pairs
    ]
    if rows:
        db.session.execute(insert(Match), rows)
    placed = {pair.student_id for pair in pairs}
    cycle.status = CycleStatus.FINISHED
    cycle.finished_at = utcnow()
    cycle.n_students = len(pool.student_ids)
    cycle.n_smes = len(pool.free_seats)
    cycle.n_seats = pool.stats.get("seats", 0)
    cycle.n_excluded = len(pool.excluded)
    cycle.n_expired = n_expired
    cycle.n_proposed = len(rows)
    cycle.n_skipped = len(result.pairs) - len(rows)
    cycle.total_score = round(result.total_score, 6)
    cycle.placed_share = round(result.placed_share, 6)
    cycle.blocking_pairs = result.blocking_pairs
    cycle.unplaced_student_ids = [sid for sid in pool.student_ids if sid not in placed]
    cycle.load_seconds, cycle.engine_seconds = round(timings[0], 4), round(timings[1], 4)
    cycle.save_seconds = round(time.perf_counter() - timings[2], 4)
    audit.record(
        "cycle_finished",
        target=cycle,
        detail={
            "proposed": cycle.n_proposed,
            "expired": cycle.n_expired,
            "skipped": cycle.n_skipped,
            "mode": cycle.mode,
        },
    )


def still_possible(pairs: list[Any]) -> list[Any]:
    """The engine's pairs that can still be proposed, read inside the save's transaction.

    While the engine ran, a coordinator may have paired a student by hand, a person may have
    deleted their account, withdrawn consent or paused, and places may have filled. Keep a pair
    only if its student is still eligible and holds no open proposal, and its SME is still
    eligible with a place left (best scores first when places ran short)."""
    if not pairs:
        return []
    eligible_students = set(db.session.scalars(eligibility.eligible_students()))
    busy = set(
        db.session.scalars(
            select(Match.student_id).where(Match.status.in_(HOLDING_STATUSES)).distinct()
        )
    )
    used = dict(
        db.session.execute(
            select(Match.sme_id, func.count(Match.id))
            .where(Match.status.in_(HOLDING_STATUSES))
            .group_by(Match.sme_id)
        ).all()
    )
    seats = {
        sme_id: capacity - used.get(sme_id, 0)
        for sme_id, capacity in db.session.execute(eligibility.eligible_smes())
    }
    kept = []
    for pair in sorted(pairs, key=lambda p: (-p.score, p.student_id, p.sme_id)):
        if pair.student_id not in eligible_students or pair.student_id in busy:
            continue
        if seats.get(pair.sme_id, 0) <= 0:
            continue
        seats[pair.sme_id] -= 1
        busy.add(pair.student_id)
        kept.append(pair)
    if len(kept) < len(pairs):
        log.warning(
            "cycle save: %s of %s proposals left out, the pool changed while the engine ran",
            len(pairs) - len(kept),
            len(pairs),
        )
    kept.sort(key=lambda p: (p.student_id, p.sme_id))
    return kept


def recent_cycles(limit: int = 20) -> list[MatchCycle]:
    return list(db.session.scalars(select(MatchCycle).order_by(MatchCycle.id.desc()).limit(limit)))
