"""SQLite's cycle lease names its holder and beats: a dead holder frees it at once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import CycleLease, CycleStatus, utcnow
from app.services import cycle_lock, cycles
from app.services.cycle_lock import HOST, CycleBusy


@pytest.fixture(autouse=True)
def _sqlite_only(app: Flask) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the lease row is SQLite's lock (PostgreSQL: an advisory lock)")


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    process.wait()
    return process.pid


def held_by(pid: int, host: str = HOST, expires_in: timedelta = timedelta(minutes=30)) -> None:
    now = utcnow()
    db.session.add(
        CycleLease(
            id=1, holder="x" * 32, pid=pid, host=host, heartbeat_at=now, expires_at=now + expires_in
        )
    )
    db.session.commit()


def test_a_lease_whose_process_is_gone_is_taken_over_at_once(student, sme) -> None:
    held_by(dead_pid())  # killed with -9 a moment ago: its lease would run 30 more minutes
    started = time.monotonic()
    assert cycles.run_cycle().status == CycleStatus.FINISHED
    assert time.monotonic() - started < 10


def test_a_live_holder_on_this_host_blocks(student, sme) -> None:
    held_by(os.getppid())
    with pytest.raises(CycleBusy):
        cycles.run_cycle()


def test_a_holder_on_another_host_blocks_until_its_heartbeat_is_stale(student, sme) -> None:
    held_by(dead_pid(), host="another-host", expires_in=timedelta(seconds=30))
    with pytest.raises(CycleBusy):
        cycles.run_cycle()  # its pid means nothing here: only the heartbeat counts
    db.session.execute(
        CycleLease.__table__.update().values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert cycles.run_cycle().status == CycleStatus.FINISHED


def test_the_holder_names_itself_and_its_heartbeat_moves(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cycle_lock, "HEARTBEAT", timedelta(seconds=0.2))
    with cycle_lock.cycle_lock() as lease:
        first = db.session.execute(select(CycleLease)).scalar_one()
        assert (first.pid, first.host, first.generation) == (os.getpid(), HOST, lease.generation)
        beat = first.heartbeat_at
        db.session.commit()
        time.sleep(1.0)
        db.session.expire_all()
        again = db.session.execute(select(CycleLease)).scalar_one()
        assert again.heartbeat_at > beat and again.expires_at > utcnow()
        db.session.commit()
    released = db.session.execute(select(CycleLease)).scalar_one()
    assert released.holder is None and released.pid is None


def test_each_holder_takes_a_new_generation(app: Flask) -> None:
    with cycle_lock.cycle_lock() as first:
        pass
    with cycle_lock.cycle_lock() as second:
        pass
    assert second.generation == first.generation + 1
