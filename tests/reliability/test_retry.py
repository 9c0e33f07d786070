"""A scheduled cycle missed or failed in an outage is retried with back-off, and recorded."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from app import create_app, jobs
from app.extensions import db
from app.models import CycleStatus, MatchCycle
from app.services import engine_gateway


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def records() -> list[tuple[str, int, datetime | None]]:
    rows = db.session.scalars(select(MatchCycle).order_by(MatchCycle.id)).all()
    result = [(str(c.status), c.attempt, c.scheduled_for) for c in rows]
    db.session.commit()
    return result


def test_a_cycle_failing_in_an_outage_is_retried_and_each_try_recorded(
    app: Flask, student: Any, sme: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_load = engine_gateway.load_pool
    calls: list[int] = []

    def drops_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:  # the database went away in the middle of the first try
            raise OperationalError("SELECT", {}, Exception("server closed the connection"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(engine_gateway, "load_pool", drops_once)
    clock = Clock()
    runner = jobs.CycleRunner(app, clock=clock)
    db.session.commit()
    runner.scheduled()
    due = runner.pending.due
    assert runner.pending.attempt == 2
    assert runner.pending.next_try == clock.now + jobs.RETRY_BACKOFF_SECONDS[0]
    runner.poll()  # too early: nothing
    assert [r[:2] for r in records()] == [("failed", 1)]
    clock.now += jobs.RETRY_BACKOFF_SECONDS[0]
    runner.poll()
    assert runner.pending is None
    assert records() == [("failed", 1, due), ("finished", 2, due)]


def test_a_scheduled_run_missed_while_the_database_was_unreachable_runs_when_it_is_back(
    app: Flask, student: Any, sme: Any, tmp_path: Any
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": (
                f"postgresql+psycopg://postgres@127.0.0.1:{port}/kx?connect_timeout=3"
            ),
            "UPLOAD_DIR": str(tmp_path),
        }
    )
    clock = Clock()
    runner = jobs.CycleRunner(down, clock=clock)
    runner.scheduled()  # due now, and the database cannot be reached: no record can be written
    assert runner.pending is not None and runner.pending.attempt == 2
    runner.poll()  # the queue cannot be read either: logged, no crash
    for delay in jobs.RETRY_BACKOFF_SECONDS[1:3]:
        clock.now += 10_000
        runner.poll()
        assert runner.pending.next_try == clock.now + delay  # longer each time
    due = runner.pending.due
    runner.app = app  # the database is back
    db.session.commit()
    clock.now += 10_000
    runner.poll()
    assert runner.pending is None
    assert records() == [("finished", 4, due)]
    with down.app_context():
        db.engine.dispose()


def test_a_second_scheduler_does_not_run_the_period_again(
    app: Flask, student: Any, sme: Any
) -> None:
    db.session.commit()
    first = jobs.CycleRunner(app)
    first.scheduled()
    late = jobs.CycleRunner(app)  # a second scheduler whose try came after the first finished
    late.pending = jobs.ScheduledRun(due=datetime.now(UTC).replace(second=0, microsecond=0))
    late.poll()
    assert late.pending is None
    assert [r[0] for r in records()] == ["finished"]


def test_giving_up_after_the_last_back_off(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    def always_down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("SELECT", {}, Exception("could not connect"))

    monkeypatch.setattr(engine_gateway, "load_pool", always_down)
    clock = Clock()
    runner = jobs.CycleRunner(app, clock=clock)
    db.session.commit()
    runner.scheduled()
    tries = 1
    while runner.pending is not None:
        clock.now += 10_000
        runner.poll()
        tries += 1
    assert tries == len(jobs.RETRY_BACKOFF_SECONDS) + 1
    assert [r[1] for r in records()] == list(range(1, tries + 1))
    assert {r[0] for r in records()} == {str(CycleStatus.FAILED)}
