"""Matching cycles: a run of the engine over the pool, and the proposals it leaves behind.

The pool, the profiles and the engine call come from `app.services.engine_gateway`; the settings
from `app.services.match_settings`. This module owns the cycle's record, lock and transaction.

A cycle takes the cycle lock (app.services.cycle_lock), writes a `running` record, computes,
and then writes its proposals, the expiry of stale proposals, the emails, and its own
`finished` mark in ONE transaction. A crash before that commit leaves every earlier proposal as
it was; the record is marked failed, and the next run starts from the same state.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import insert, select, update

from app.extensions import db
from app.models import CycleStatus, Match, MatchCycle, MatchStatus, User, utcnow
from app.services import audit, engine_gateway, match_settings, notifications
from app.services.cycle_lock import CycleBusy, cycle_lock
from app.services.engine_gateway import Pool
from matching import MatchResult

log = logging.getLogger(__name__)

__all__ = ["CycleBusy", "recent_cycles", "run_cycle"]


class ConcurrentChange(RuntimeError):
    """The pool changed under the cycle (e.g. a proposal was answered while it ran)."""


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
    match_settings.get()  # a first cycle stores the defaults it ran with
    # Plain values, read once: touching an expired ORM attribute after a commit would open a new
    # transaction (on SQLite, the write lock) for the whole engine run.
    settings = match_settings.current()
    mode, k = settings["mode"], settings["candidates_k"]
    weights = match_settings.engine_weights() or {}
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
        pool = engine_gateway.load_pool(settings["expiry_days"])
        inputs = engine_gateway.load_inputs(pool)
        db.session.commit()  # end the read: no lock is held while the engine computes
        loaded = time.perf_counter()
        result = engine_gateway.run(inputs, mode=mode, weights=weights, k=k)
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
    cycle: MatchCycle, pool: Pool, result: MatchResult, timings: tuple[float, float, float]
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
            "reasons": engine_gateway.reason_rows(pair.reasons),
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
