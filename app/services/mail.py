"""Email: queued in the outbox table inside the unit of work, delivered after it commits.

With MAIL_SERVER set, `deliver_pending` sends over SMTP and retries failures later (a failure is
recorded on the message, never raised into a cycle or a request). Without a mail server, messages
are simply kept in the outbox for coordinators to read.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import insert, select

from app.extensions import db
from app.models import OutboxMessage, utcnow

MAX_ATTEMPTS = 8
# Session.info keys: mail queued in the open transaction; mail committed and waiting for a kick.
QUEUED, DUE = "mail_queued", "mail_due"
log = logging.getLogger(__name__)


def compose(template: str, locale: str, subject: Any, **context: Any) -> dict[str, str]:
    """Subject, text and HTML of one email, in `locale`. `subject` is a callable run in it."""
    with force_locale(locale):
        return {
            "subject": str(subject()),
            "body_text": render_template(f"email/{template}.txt", **context),
            "body_html": render_template(f"email/{template}.html", **context),
        }


def send_after_commit() -> None:
    """Have what this unit of work queued sent once it commits: the request boundary
    (app.transaction) then wakes the delivery worker. A rollback drops the wish with the rows."""
    db.session.info[QUEUED] = True


def queue_many(messages: list[dict[str, Any]]) -> int:
    """Add messages (dicts of OutboxMessage columns) in one round trip."""
    if not messages:
        return 0
    send_after_commit()
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


def _record_failure(ids: Sequence[int], error: Exception) -> None:
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
