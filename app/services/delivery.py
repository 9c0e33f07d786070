"""Delivery off the request path: after a commit that queued mail (or a reset request), turn
reset requests into emails, queue new proposals' emails, and send what waits.

It sits above app.services.mail (the outbox and SMTP), accounts and notifications, which all
queue; keeping it apart from mail is what lets them import mail without a loop.
"""

from __future__ import annotations

import logging
import os
import threading

from flask import Flask, current_app

from app.extensions import db
from app.services import accounts, notifications

log = logging.getLogger(__name__)


def kick() -> None:
    """After a commit that queued mail (or a reset request): get it sent, off the request path.

    MAIL_AFTER_COMMIT says how: "thread" (default) wakes this process's mail thread and returns
    at once, so a request never waits on SMTP and a reset for a known address answers as fast as
    one for an unknown address; "inline" does the work here (tests: deterministic); "off" leaves
    it to the scheduler's mail job."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    how = app.config.get("MAIL_AFTER_COMMIT", "thread")
    if how == "inline":
        work()
    elif how == "thread":
        _MailThread.wake(app)


def work() -> None:
    """Turn queued reset requests into emails, queue new proposals' emails, send what waits."""
    try:
        accounts.process_reset_requests()
        db.session.commit()
    except Exception:  # noqa: BLE001 - a mail problem must not fail the caller
        db.session.rollback()
        log.exception("processing password reset requests failed; the mail job retries")
    notifications.send_pending()


class _MailThread:
    """One daemon thread per application and process, woken after commits; several wakes
    before it runs make one pass."""

    _lock = threading.Lock()

    @classmethod
    def wake(cls, app: Flask) -> None:
        with cls._lock:
            pid, event = app.extensions.get("mail_thread", (None, None))
            if event is None or pid != os.getpid():  # none yet, or this process was forked
                event = threading.Event()
                app.extensions["mail_thread"] = (os.getpid(), event)
                thread = threading.Thread(
                    target=cls._run, args=(app, event), name="mail-after-commit", daemon=True
                )
                thread.start()
        event.set()

    @staticmethod
    def _run(app: Flask, event: threading.Event) -> None:
        while True:
            event.wait()
            event.clear()
            with app.app_context():
                try:
                    work()
                finally:
                    db.session.remove()
