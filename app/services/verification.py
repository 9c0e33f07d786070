"""Email verification: a sign-up sends a single-use, expiring link (only its hash is kept).

Unverified people can log in and edit their profile, but with REQUIRE_EMAIL_VERIFICATION on
(the default) no cycle proposes them and no coordinator pairs them (app.services.eligibility):
a mistyped address would otherwise silently lose every proposal and every reset. Deployments
that verify addresses elsewhere (a university's own system) turn the rule off.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import EmailVerification, User, rows_changed, utcnow
from app.services import audit, mail
from app.services.errors import InvalidInput, TooManyAttempts

SENDS_PER_HOUR = 3  # per account, whoever asks: no mailbox flooding


def required() -> bool:
    return bool(current_app.config["REQUIRE_EMAIL_VERIFICATION"])


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def send_link(user: User, *, actor: User | None = None) -> bool:
    """Queue a verification email (sent after the caller commits: app.transaction).

    False when the address is already verified; TooManyAttempts past SENDS_PER_HOUR."""
    if user.email_verified_at is not None:
        return False
    recent = db.session.scalar(
        select(func.count(EmailVerification.id)).where(
            EmailVerification.user_id == user.id,
            EmailVerification.created_at > utcnow() - timedelta(hours=1),
        )
    )
    if recent and recent >= SENDS_PER_HOUR:
        raise TooManyAttempts(retry_after=3600, key="verification_links")
    token = secrets.token_urlsafe(32)
    hours = current_app.config["EMAIL_VERIFICATION_HOURS"]
    db.session.add(
        EmailVerification(
            user_id=user.id,
            token_hash=_hash(token),
            expires_at=utcnow() + timedelta(hours=hours),
        )
    )
    audit.record("verification_sent", actor=actor or user, target=user)
    _mail_link(user, token, hours)
    return True


def _mail_link(user: User, token: str, hours: int) -> None:

    locale = user.locale or ("ko" if str(user.role) == "sme" else "en")
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_URL"]):
        link = url_for("auth.verify_email", token=token, _external=True)
        content = mail.compose(
            "verify_email", locale, lambda: _("Confirm your email address"), link=link, hours=hours
        )
    mail.queue_many(
        [
            {
                "recipient": user.email,
                "user_id": user.id,
                "locale": locale,
                "kind": "verify_email",
                **content,
            }
        ]
    )


def link_is_valid(token: str) -> bool:
    row = _row(token)
    return row is not None and row.used_at is None and row.expires_at > utcnow()


def _row(token: str) -> EmailVerification | None:
    if not token or len(token) > 200:
        return None
    return db.session.scalar(
        select(EmailVerification).where(EmailVerification.token_hash == _hash(token))
    )


def verify(token: str) -> User:
    """Use a link once: the address is verified and every other outstanding link ends."""
    row = _row(token)
    if row is None or row.used_at is not None or row.expires_at < utcnow():
        raise InvalidInput.single("token", "verification_invalid")
    used = db.session.execute(
        update(EmailVerification)
        .where(EmailVerification.id == row.id, EmailVerification.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if rows_changed(used) != 1:  # two clicks at once: only the first one counts
        raise InvalidInput.single("token", "verification_invalid")
    user = db.session.get(User, row.user_id)
    assert user is not None
    mark_verified(user)
    audit.record("email_verified", actor=user, target=user)
    return user


def mark_verified(user: User) -> None:
    """The address is proven (a link reached it); outstanding links have nothing left to do."""
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    if user.id is not None:
        db.session.execute(
            update(EmailVerification)
            .where(EmailVerification.user_id == user.id, EmailVerification.used_at.is_(None))
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False)
        )
