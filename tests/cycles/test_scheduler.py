"""The scheduler process: job defaults, the schedule, and picking up a changed one."""

from __future__ import annotations

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select

from app import jobs
from app.extensions import db
from app.models import CycleStatus, Match, MatchCycle
from app.services import match_settings


def test_job_defaults_coalesce_and_tolerate_late_runs():
    scheduler = jobs.make_scheduler(background=True)
    defaults = scheduler._job_defaults
    assert defaults["coalesce"] is True
    assert defaults["max_instances"] == 1
    assert defaults["misfire_grace_time"] >= 3600  # not APScheduler's silent 1 s


def test_cycle_job_follows_match_schedule_then_the_stored_one(app, monkeypatch):
    monkeypatch.setitem(app.config, "MATCH_SCHEDULE", "0 6 * * mon")
    scheduler = BackgroundScheduler(job_defaults=jobs.JOB_DEFAULTS)
    jobs.configure_scheduler(scheduler, app)
    trigger = scheduler.get_job(jobs.CYCLE_JOB).trigger
    assert str(trigger.fields[trigger.FIELD_NAMES.index("day_of_week")]) == "mon"

    match_settings.get().schedule = "*/5 * * * *"
    db.session.commit()
    follow = scheduler.get_job("follow-schedule").func
    follow()
    trigger = scheduler.get_job(jobs.CYCLE_JOB).trigger
    assert str(trigger.fields[trigger.FIELD_NAMES.index("minute")]) == "*/5"


def test_the_scheduled_job_runs_one_cycle(app, student, sme):
    jobs.run_scheduled_cycle(app)
    cycle = db.session.scalar(select(MatchCycle))
    assert cycle.trigger == "schedule" and cycle.status == CycleStatus.FINISHED
    assert db.session.scalar(select(func.count(Match.id))) == 1


def test_next_run_time_is_in_the_future(app):
    from datetime import datetime

    next_run = match_settings.next_run()
    assert next_run > datetime.now(next_run.tzinfo)


def test_match_run_command_prints_what_it_proposed(runner, student, sme):
    result = runner.invoke(args=["match", "run"])
    assert result.exit_code == 0, result.output
    assert "1 proposals" in result.output
    assert "Nguyen Thi Linh" in result.output and "한빛코스메틱" in result.output
