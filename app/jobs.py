"""The scheduler: one process runs the matching cycles (and the mail retries).

Gunicorn workers never start it: every worker would run every job. `flask scheduler` runs it in
the foreground as its own process; `make run` starts one inside the single development server.
The cycle's database lock makes a second scheduler started by mistake skip, and say so.

Cycles reach this process two ways: the schedule (a cron trigger; a run that fails, e.g. in a
database outage, is tried again with back-off, and every try is a cycle record with its due time
and attempt number), and the queue (the API and the coordinators' button record a `queued` cycle
and answer at once; a poll every few seconds runs it here, never inside a web request).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from app.extensions import db
from app.services import (
    cycles,
    delivery,
    mail,
    match_settings,
    ratelimit,
    reminders,
    retention,
    uploads,
)
from app.services.match_settings import cron_trigger

log = logging.getLogger(__name__)

CYCLE_JOB = "matching-cycle"
QUEUE_JOB = "cycle-queue"
JOB_DEFAULTS = {
    "coalesce": True,  # a backlog of missed runs becomes one run
    "max_instances": 1,
    "misfire_grace_time": 6 * 3600,  # the default of 1 s silently drops a late run
}


# A cycle asked for from the API or the button is picked up within this many seconds.
QUEUE_POLL_SECONDS = 3
# After a scheduled run fails (the database is down, the cycle failed), try again after these
# delays, then give up until the next scheduled time (a blip at Monday 06:00 must not lose the
# week, and a cycle that fails for good must not be retried forever).
RETRY_BACKOFF_SECONDS = (30, 60, 120, 300, 600, 900, 1800)


@dataclass
class ScheduledRun:
    due: datetime  # when the schedule said to run (UTC, to the minute)
    attempt: int = 1
    next_try: float = 0.0  # time.monotonic() of the next try


@dataclass
class CycleRunner:
    """The scheduler process's cycle jobs: the scheduled run with its retries, and the queue.

    One instance per scheduler process; the jobs call it from APScheduler's threads, so a lock
    lets only one of them run a cycle at a time here (the database lock does across processes).
    """

    app: Flask
    clock: Callable[[], float] = time.monotonic
    pending: ScheduledRun | None = None
    busy: threading.Lock = field(default_factory=threading.Lock)

    def scheduled(self) -> None:
        """Job: the schedule fired. Remember the run as due, and try it now."""
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        with self.busy:
            self.pending = ScheduledRun(due=now)
            self._try_pending()

    def poll(self) -> None:
        """Job: run queued cycles, mark interrupted ones failed, retry a due scheduled run."""
        if not self.busy.acquire(blocking=False):
            return  # a cycle is running in this process; the next poll comes soon
        try:
            with self.app.app_context():
                try:
                    self._run_queue()
                except Exception:  # noqa: BLE001 - e.g. the database is down: next poll
                    log.warning("could not look at the cycle queue", exc_info=True)
            if self.pending and self.clock() >= self.pending.next_try:
                self._try_pending()
        finally:
            self.busy.release()

    def _run_queue(self) -> None:

        cycles.reap_interrupted()
        for cycle_id in cycles.queued_ids():
            try:
                cycle = cycles.run_cycle(trigger="queued", cycle_id=cycle_id)
            except cycles.CycleBusy:
                return  # another process holds the lock; the queue waits for the next poll
            except cycles.CycleNotNeeded:
                continue
            log.info("queued cycle %s: %s, %s proposals", cycle.id, cycle.status, cycle.n_proposed)

    def _try_pending(self) -> None:

        run = self.pending
        assert run is not None
        with self.app.app_context():
            try:
                cycle = cycles.run_cycle(
                    trigger="schedule", scheduled_for=run.due, attempt=run.attempt
                )
            except cycles.CycleNotNeeded:
                log.info("the cycle due at %s ran already", run.due.isoformat())
                self.pending = None
                return
            except cycles.CycleBusy:
                # Another process runs a cycle; if it is this period's, the next try sees it
                # finished and stops. Not a failure: same attempt, soon.
                run.next_try = self.clock() + RETRY_BACKOFF_SECONDS[0]
                return
            except Exception as error:  # noqa: BLE001 - the database is down, or worse
                self._retry_later(run, f"{type(error).__name__}: {str(error).splitlines()[0]}")
                return
            if cycle.status != "finished":
                self._retry_later(run, f"cycle {cycle.id} failed: {cycle.error}")
                return
            log.info(
                "scheduled cycle %s (due %s, try %s): finished, %s proposals",
                cycle.id,
                run.due.isoformat(),
                run.attempt,
                cycle.n_proposed,
            )
            self.pending = None

    def _retry_later(self, run: ScheduledRun, why: str) -> None:
        if run.attempt > len(RETRY_BACKOFF_SECONDS):
            log.error(
                "scheduled cycle due %s gave up after %s tries: %s",
                run.due.isoformat(),
                run.attempt,
                why,
            )
            self.pending = None
            return
        delay = RETRY_BACKOFF_SECONDS[run.attempt - 1]
        log.warning(
            "scheduled cycle due %s, try %s failed (%s); trying again in %s s",
            run.due.isoformat(),
            run.attempt,
            why[:300],
            delay,
        )
        run.attempt += 1
        run.next_try = self.clock() + delay


def run_scheduled_cycle(app: Flask) -> None:
    """Run the scheduled cycle now, once (tests and one-off use; the scheduler uses a runner)."""
    CycleRunner(app).scheduled()


def deliver_mail(app: Flask) -> None:
    """Job: reset requests into links, emails for new proposals, retries of what failed to send
    (the web processes' mail threads do the same right after their commits)."""

    with app.app_context():
        delivery.work()


def send_reminders(app: Flask) -> None:
    """Job: kickoff reminders, unread-message emails, missed check-ins; then deliver."""

    with app.app_context():
        sent = reminders.run()
        db.session.commit()
        mail.deliver_pending()
        if sent.kickoffs or sent.unread or sent.checkins:
            log.info("reminders: %s", sent)


def purge_expired_data(app: Flask) -> None:
    """Job: delete what is past its retention period (the files go with the commit)."""

    with app.app_context():
        report = retention.purge_expired()
        ratelimit.purge_older_than(timedelta(days=1))  # longer than any rate-limit window
        db.session.commit()
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

    with app.app_context():
        schedule = match_settings.schedule()
        db.session.commit()
        return schedule


def configure_scheduler(scheduler: BaseScheduler, app: Flask) -> None:
    timezone = app.config["SCHEDULER_TIMEZONE"]
    state: dict[str, Any] = {"schedule": current_schedule(app)}
    runner = CycleRunner(app)
    scheduler.add_job(
        runner.scheduled,
        cron_trigger(state["schedule"], timezone),
        id=CYCLE_JOB,
        replace_existing=True,
    )
    scheduler.add_job(runner.poll, "interval", seconds=QUEUE_POLL_SECONDS, id=QUEUE_JOB)

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
    # Every 10 minutes: an hour's limit on unread-message emails is then kept within 10 minutes,
    # and a kickoff reminder goes out between 24 h and 23 h 50 before the meeting.
    scheduler.add_job(send_reminders, "interval", minutes=10, args=[app], id="reminders")
    log.info(
        "scheduler (pid %s): matching cycles on %r (%s)", os.getpid(), state["schedule"], timezone
    )


def make_scheduler(background: bool) -> BaseScheduler:
    if background:
        return BackgroundScheduler(job_defaults=JOB_DEFAULTS)

    return BlockingScheduler(job_defaults=JOB_DEFAULTS)
