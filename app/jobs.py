"""The scheduler: one process runs the matching cycles (and the mail retries).

Gunicorn workers never start it: every worker would run every job. `flask scheduler` runs it in
the foreground as its own process; `make run` starts one inside the single development server.
The cycle's database lock makes a second scheduler started by mistake skip, and say so.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from flask import Flask

from app.services.match_settings import cron_trigger

log = logging.getLogger(__name__)

CYCLE_JOB = "matching-cycle"
JOB_DEFAULTS = {
    "coalesce": True,  # a backlog of missed runs becomes one run
    "max_instances": 1,
    "misfire_grace_time": 6 * 3600,  # the default of 1 s silently drops a late run
}


def run_scheduled_cycle(app: Flask) -> None:
    """Job: app context → one service call → commit (inside the service)."""
    from app.services.cycles import CycleBusy, run_cycle

    with app.app_context():
        try:
            cycle = run_cycle(trigger="schedule")
        except CycleBusy:
            return  # logged by the service: another process is running a cycle
        log.info("scheduled cycle %s: %s, %s proposals", cycle.id, cycle.status, cycle.n_proposed)


def deliver_mail(app: Flask) -> None:
    """Job: email new proposals not yet notified, and retry what failed to send."""
    from app.services import notifications

    with app.app_context():
        notifications.send_pending()


def purge_expired_data(app: Flask) -> None:
    """Job: delete what is past its retention period, files after the commit."""
    from datetime import timedelta

    from app.extensions import db
    from app.services import privacy, ratelimit, uploads

    with app.app_context():
        report = privacy.purge_expired()
        ratelimit.purge_older_than(timedelta(days=1))  # longer than any rate-limit window
        db.session.commit()
        uploads.delete_files(report.files)
        swept = uploads.sweep()  # renames a crash interrupted, files nothing references
        db.session.rollback()
        log.info(
            "retention purge: %s accounts, %s emails; uploads: %s published, %s orphans deleted",
            report.accounts,
            report.outbox,
            swept["published"],
            swept["deleted"],
        )


def current_schedule(app: Flask) -> str:
    """The coordinators' schedule from the database, else MATCH_SCHEDULE."""
    from app.extensions import db
    from app.services import match_settings

    with app.app_context():
        schedule = match_settings.schedule()
        db.session.commit()
        return schedule


def configure_scheduler(scheduler: BaseScheduler, app: Flask) -> None:
    timezone = app.config["SCHEDULER_TIMEZONE"]
    state: dict[str, Any] = {"schedule": current_schedule(app)}
    scheduler.add_job(
        run_scheduled_cycle,
        cron_trigger(state["schedule"], timezone),
        args=[app],
        id=CYCLE_JOB,
        replace_existing=True,
    )

    def follow_schedule() -> None:
        """Pick up a schedule a coordinator changed, without a restart."""
        schedule = current_schedule(app)
        if schedule != state["schedule"]:
            try:
                trigger = cron_trigger(schedule, timezone)
            except ValueError:
                log.error("ignoring invalid schedule %r", schedule)
                return
            scheduler.reschedule_job(CYCLE_JOB, trigger=trigger)
            state["schedule"] = schedule
            log.info("matching schedule changed to %r", schedule)

    scheduler.add_job(follow_schedule, "interval", seconds=30, id="follow-schedule")
    scheduler.add_job(deliver_mail, "interval", minutes=5, args=[app], id="deliver-mail")
    scheduler.add_job(purge_expired_data, "cron", hour=3, args=[app], id="retention-purge")
    log.info(
        "scheduler (pid %s): matching cycles on %r (%s)", os.getpid(), state["schedule"], timezone
    )


def make_scheduler(background: bool) -> BaseScheduler:
    if background:
        from apscheduler.schedulers.background import BackgroundScheduler

        return BackgroundScheduler(job_defaults=JOB_DEFAULTS)
    from apscheduler.schedulers.blocking import BlockingScheduler

    return BlockingScheduler(job_defaults=JOB_DEFAULTS)
