"""A cycle that loses its lock while it computes writes nothing: never two cycles' proposals.

On PostgreSQL the lock's own connection is terminated (`pg_terminate_backend`) while the first
cycle computes, and a second cycle starts and finishes meanwhile. On SQLite the first cycle's
lease is made to look abandoned (its heartbeat stale, its pid gone), which is how a stalled
holder loses it. Either way the first cycle's save must be refused by the fence.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text, update

from app.extensions import db
from app.models import HOLDING_STATUSES, SME, CycleLease, CycleStatus, Match, MatchCycle, utcnow
from app.services import cycles, engine_gateway


def doubles() -> tuple[int, int]:
    """(students with two open proposals, SMEs over capacity)."""
    per_student = (
        select(Match.student_id)
        .where(Match.status.in_(HOLDING_STATUSES))
        .group_by(Match.student_id)
        .having(func.count(Match.id) > 1)
    ).subquery()
    used = (
        select(Match.sme_id, func.count(Match.id).label("n"))
        .where(Match.status.in_(HOLDING_STATUSES))
        .group_by(Match.sme_id)
    ).subquery()
    over = select(SME.id).join(used, used.c.sme_id == SME.id).where(used.c.n > SME.capacity)
    result = (
        db.session.scalar(select(func.count()).select_from(per_student)) or 0,
        db.session.scalar(select(func.count()).select_from(over.subquery())) or 0,
    )
    db.session.commit()
    return result


def lose_the_lock() -> None:
    """What the world does to the first cycle's lock while it computes."""
    if db.engine.dialect.name == "postgresql":
        holder = db.session.scalar(select(CycleLease.holder).where(CycleLease.id == 1))
        assert holder and holder.startswith("pg:")
        # With a timeout, PostgreSQL waits for the backend to be gone (its advisory lock freed);
        # without one it only signals it, and the next cycle could find the lock still held.
        gone = db.session.scalar(
            text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": int(holder[3:])}
        )
        assert gone
    else:
        db.session.execute(
            update(CycleLease).values(pid=2**22 + 12345, expires_at=utcnow())  # no such process
        )
    db.session.commit()


def test_a_cycle_that_lost_its_lock_saves_nothing_and_says_so(
    app: Flask, make_student: Any, make_sme: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_sme(capacity=2)
    for i in range(3):
        make_student(email=f"s{i}@example.org", name=f"Student {i}")
    real_run = engine_gateway.run
    computing, go_on = threading.Event(), threading.Event()
    first_thread: list[threading.Thread] = []

    def run(*args: Any, **kwargs: Any) -> Any:
        result = real_run(*args, **kwargs)
        if threading.current_thread() in first_thread:
            computing.set()
            assert go_on.wait(30)  # the first cycle is still "computing" while the world moves
        return result

    monkeypatch.setattr(engine_gateway, "run", run)
    outcome: dict[str, Any] = {}

    def first() -> None:
        with app.app_context():
            cycle = cycles.run_cycle(trigger="schedule")
            outcome.update(id=cycle.id, status=str(cycle.status), error=cycle.error)
            db.session.remove()

    thread = threading.Thread(target=first)
    first_thread.append(thread)
    thread.start()
    try:
        assert computing.wait(30)
        lose_the_lock()
        second = cycles.run_cycle(trigger="cli")  # takes the lock the first one lost
        assert second.status == CycleStatus.FINISHED and second.n_proposed == 2
        db.session.commit()  # (on SQLite, reading the record back holds the write lock)
    finally:
        go_on.set()
        thread.join(60)
    assert outcome["status"] == "failed"
    assert "LockLost" in outcome["error"] and "saved nothing" in outcome["error"]
    assert doubles() == (0, 0)
    assert db.session.scalar(select(func.count(Match.id))) == 2  # the second cycle's only
    first_record = db.session.get(MatchCycle, outcome["id"])
    assert first_record.status == CycleStatus.FAILED and first_record.n_proposed == 0
    # And the next cycle runs normally: the lock was released however it was lost.
    assert cycles.run_cycle().status == CycleStatus.FINISHED


def test_the_fence_refuses_a_stale_generation(app: Flask, student: Any, sme: Any) -> None:
    from app.services.cycle_lock import Lease, LockLost, cycle_lock, fence

    with cycle_lock() as lease:
        fence(lease)  # the current holder passes
        db.session.rollback()
        with pytest.raises(LockLost):
            fence(Lease(generation=lease.generation - 1))
        db.session.rollback()
