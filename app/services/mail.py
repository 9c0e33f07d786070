"""Email: queued in the outbox table inside the unit of work, delivered after it commits.

With MAIL_SERVER set, `deliver_pending` sends over SMTP and retries failures later (a failure is
recorded on the message, never raised into a cycle or a request). Without a mail server, messages
are simply kept in the outbox for coordinators to read.
"""

from __future__ import annotations

import logging
import os
import smtplib
import threading
from email.message import EmailMessage
from typing import Any

from flask import Flask, current_app, render_template
from flask_babel import force_locale
from sqlalchemy import insert, select

from app.extensions import db
from app.models import OutboxMessage, utcnow

MAX_ATTEMPTS = 8
log = logging.getLogger(__name__)


def compose(template: str, locale: str, subject: Any, **context: Any) -> dict[str, str]:
    """Subject, text and HTML of one email, in `locale`. `subject` is a callable run in it."""
    with force_locale(locale):
        return {
            "subject": str(subject()),
            "body_text": render_template(f"email/{template}.txt", **context),
            "body_html": render_template(f"email/{template}.html", **context),
        }


def queue_many(messages: list[dict[str, Any]]) -> int:
    """Add messages (dicts of OutboxMessage columns) in one round trip."""
    if not messages:
        return 0
    status = "pending" if current_app.config.get("MAIL_SERVER") else "stored"
    now = utcnow()
    rows = [
        {"status": status, "attempts": 0, "created_at": now, "attachments": None, **m}
        for m in messages
    ]
    db.session.execute(insert(OutboxMessage), rows)
    return len(rows)


def deliver_pending(limit: int = 200) -> dict[str, int]:
    """Send what is waiting. Commits per message, so one bad address blocks nothing."""
    config = current_app.config
    counts = {"sent": 0, "failed": 0}
    if not config.get("MAIL_SERVER"):
        return counts
    ids = db.session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending", OutboxMessage.attempts < MAX_ATTEMPTS)
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    db.session.commit()
    if not ids:
        return counts
    try:
        smtp = _connect()
    except (OSError, smtplib.SMTPException) as error:
        _record_failure(ids, error)
        counts["failed"] = len(ids)
        return counts
    with smtp:
        for message_id in ids:
            message = db.session.get(OutboxMessage, message_id)
            if message is None or message.status != "pending":
                continue
            try:
                smtp.send_message(_as_email(message))
            except (OSError, smtplib.SMTPException) as error:
                message.attempts += 1
                message.last_error = f"{type(error).__name__}: {error}"[:500]
                counts["failed"] += 1
            else:
                message.status, message.sent_at = "sent", utcnow()
                message.attempts += 1
                counts["sent"] += 1
            db.session.commit()
    return counts


def _connect() -> smtplib.SMTP:
    config = current_app.config
    smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10)
    if config.get("MAIL_USE_TLS"):
        smtp.starttls()
    if config.get("MAIL_USERNAME"):
        smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    return smtp


def _record_failure(ids: list[int], error: Exception) -> None:
    for message_id in ids:
        message = db.session.get(OutboxMessage, message_id)
        if message is not None:
            message.attempts += 1
            message.last_error = f"{type(error).__name__}: {error}"[:500]
    db.session.commit()


def _as_email(message: OutboxMessage) -> EmailMessage:
    email = EmailMessage()
    email["From"] = current_app.config["MAIL_SENDER"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email.set_content(message.body_text)
    email.add_alternative(message.body_html, subtype="html")
    for attachment in message.attachments or []:
        maintype, subtype = attachment["mimetype"].split("/", 1)
        email.add_attachment(
            attachment["content"].encode("utf-8"),
            maintype=maintype,
            subtype=subtype,
            filename=attachment["filename"],
        )
    return email


# --- sending off the request path --------------------------------------------------------------


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
    from app.services import accounts, notifications

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
