"""Accounts: sign-up, login, logout, passwords, deletion."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from datetime import timedelta
from typing import Any

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from app import schemas
from app.extensions import db
from app.models import (
    SME,
    Consent,
    LoginFailure,
    PasswordReset,
    PasswordResetRequest,
    Role,
    Student,
    User,
    rows_changed,
    utcnow,
)
from app.services import (
    audit,
    consents,
    mail,
    privacy,
    profiles,
    ratelimit,
    tokens,
    uploads,
    verification,
)
from app.services.cycle_lock import hold_off_cycle_saves
from app.services.decisions import withdraw_pending_for_student
from app.services.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    TooManyAttempts,
)
from app.services.validation import validate

# Checked against when the email is unknown, so a miss costs as much time as a wrong password.
_DUMMY_HASH: str | None = None


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def _add_user(email: str, password_hash: str, role: Role, locale: str | None) -> User:
    user = User(email=email, password_hash=password_hash, role=role, locale=locale)
    db.session.add(user)
    return user


def _flush_unique(field_by_constraint: dict[str, str]) -> None:
    """Flush; a unique violation becomes a Conflict on the field it concerns."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        message = str(exc.orig).lower()
        for needle, field in field_by_constraint.items():
            if needle in message:
                raise Conflict.single(field, "taken") from None
        raise


def register_student(data: dict[str, Any], *, locale: str | None = None) -> User:
    form = validate(schemas.StudentSignup, data)
    password_hash = hash_password(form.password)  # before any query: keep the transaction short
    if find_by_email(form.email):
        raise Conflict.single("email", "taken")
    user = _add_user(form.email, password_hash, Role.STUDENT, locale)
    user.student = Student()
    profiles.apply_student_profile(user.student, form)
    _record_consent(user, form.consent)
    _flush_unique({"email": "email"})
    audit.record("signup", actor=user, target=user.student)
    verification.send_link(user)
    return user


def register_sme(data: dict[str, Any], *, locale: str | None = None) -> User:
    form = validate(schemas.SMESignup, data)
    password_hash = hash_password(form.password)  # before any query: keep the transaction short
    if find_by_email(form.email):
        raise Conflict.single("email", "taken")
    if db.session.scalar(select(SME.id).where(SME.business_number == form.business_number)):
        raise Conflict.single("business_number", "taken")
    user = _add_user(form.email, password_hash, Role.SME, locale)
    user.sme = SME(business_number=form.business_number)
    profiles.apply_sme_profile(user.sme, form)
    _record_consent(user, form.consent)
    _flush_unique({"email": "email", "business_number": "business_number"})
    audit.record("signup", actor=user, target=user.sme)
    verification.send_link(user)
    return user


def create_coordinator(email: str, password: str) -> User:
    creds = validate(schemas.NewCredentials, {"email": email, "password": password})
    if find_by_email(creds.email):
        raise Conflict.single("email", "taken")
    user = _add_user(creds.email, hash_password(creds.password), Role.COORDINATOR, None)
    verification.mark_verified(user)  # created by an operator at the command line
    _flush_unique({"email": "email"})
    audit.record("coordinator_created", actor=None, target=user)
    return user


def _record_consent(user: User, consent: schemas.ConsentIn) -> Consent:
    row = Consent(
        user=user,
        policy_version=current_app.config["CONSENT_POLICY_VERSION"],
        collection=consent.collection,
        provision_to_smes=consent.provision_to_smes,
    )
    db.session.add(row)
    return row


def update_consent(user: User, data: dict[str, Any]) -> Consent:
    """Record a new answer; withdrawing provision to SMEs hides the student's open proposals."""
    consent = validate(schemas.ConsentIn, data)
    hold_off_cycle_saves()  # a cycle's save then sees the withdrawal (or waits for it)
    row = _record_consent(user, consent)
    if user.student and not consent.provision_to_smes:
        withdraw_pending_for_student(user.student, user)
    audit.record(
        "consent_changed",
        actor=user,
        target=user,
        detail={"provision_to_smes": consent.provision_to_smes},
    )
    db.session.flush()
    return row


def consent_is_current(user: User, answer: tuple[bool | None, str | None] | None = None) -> bool:
    """Students and SMEs must have answered the policy in force (asked again when it changes).

    `answer`: the latest answer's (collection, policy version) when already read, as the
    session's user load reads it (app.sessions.consent_read_with); otherwise it is read here."""
    if user.role == Role.COORDINATOR:
        return True
    if answer is None:
        consent = consents.current_consent(user)
        answer = (consent.collection, consent.policy_version) if consent else (None, None)
    collection, policy_version = answer
    return bool(collection and policy_version == current_app.config["CONSENT_POLICY_VERSION"])


def _check_throttle(email: str, ip: str) -> None:
    """Too many failures for this account, or (a far higher number) from this address."""
    config = current_app.config
    since = utcnow() - config["LOGIN_FAILURE_WINDOW"]
    recent = LoginFailure.at >= since
    for column, value, limit in (
        (LoginFailure.email, email, config["LOGIN_MAX_FAILURES"]),
        (LoginFailure.ip, ip, config["LOGIN_MAX_FAILURES_PER_ADDRESS"]),
    ):
        failures = db.session.scalar(
            select(func.count(LoginFailure.id)).where(recent, column == value)
        )
        if failures and failures >= limit:
            raise TooManyAttempts(retry_after=int(config["LOGIN_FAILURE_WINDOW"].total_seconds()))


def limit_signups(address: str) -> None:
    """Count a sign-up attempt of this address; TooManyAttempts past the limit (HTML and API:
    one counter). Flushes only: the caller commits before the work, so a failure still counts."""
    config = current_app.config
    ratelimit.hit(
        "signup",
        address,
        limit=config["API_SIGNUP_LIMIT_PER_ADDRESS"],
        window=config["API_SIGNUP_LIMIT_WINDOW"],
    )


def authenticate(email: str, password: str, *, ip: str) -> User:
    """The user these credentials belong to; counts failures per account and per address."""
    # NUL belongs to no address, and PostgreSQL cannot even compare a text holding it: keep the
    # attempt (it still counts as a failure) in a form every database accepts.
    email = (email or "").replace("\x00", "\ufffd").strip().lower()[:254]
    _check_throttle(email, ip)
    user = find_by_email(email) if email else None
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
    if user is None or not check_password_hash(user.password_hash, password or ""):
        db.session.add(LoginFailure(email=email, ip=ip))
        # What was typed can be a password in the wrong field: keep only a keyed hash of it, so
        # repeated tries on one address can be told apart without storing the text.
        detail = {"email_hash": _keyed_hash(email)} if user is None else None
        audit.record("login_failed", actor=user, detail=detail)
        raise AuthenticationFailed("wrong email or password")
    db.session.execute(delete(LoginFailure).where(LoginFailure.email == email))
    user.last_login_at = utcnow()
    audit.record("login", actor=user)
    return user


def _keyed_hash(text: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:16]


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(os.urandom(16).hex())
    return _DUMMY_HASH


def end_all_sessions(user: User) -> None:
    """Invalidate every session of this user, everywhere (logout, password change, deletion).

    API tokens are sessions too: they are revoked with the rest."""
    user.rotate_session_token()
    tokens.revoke_all(user)


def logout(user: User) -> None:
    end_all_sessions(user)
    audit.record("logout", actor=user)


def change_password(user: User, data: dict[str, Any]) -> None:
    change = validate(schemas.PasswordChange, data)
    if not check_password_hash(user.password_hash, change.current_password):
        raise InvalidInput.single("current_password", "wrong_password")
    user.password_hash = hash_password(change.new_password)
    end_all_sessions(user)
    _end_reset_links(user)
    audit.record("password_changed", actor=user)


def delete_account(user: User, *, reason: str = "self") -> list[str]:
    """Delete a user and every row about them; their files go once this commits (returned, for
    the retention report).

    One audit entry remains (PIPA: the fact of deletion, not the data: no id, no address);
    the outbox and the rest of the trail forget the person (privacy.forget). `reason` says who
    asked: the person ("self") or the retention rule ("retention")."""
    files = uploads.files_of(user)
    hold_off_cycle_saves()  # a cycle's save never inserts a proposal for a deleted person
    end_all_sessions(user)
    privacy.forget(user)
    audit.record(
        "account_deleted", anonymous=True, detail={"role": str(user.role), "reason": reason}
    )
    db.session.delete(user)
    db.session.flush()
    uploads.delete_after_commit(files)
    return files


RESET_LIFETIME = timedelta(hours=1)
RESETS_PER_HOUR = 3


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_password_reset(email: str) -> None:
    """Queue a reset request. The same row is written whatever the address, so a known and an
    unknown address cost the request the same (no timing oracle): the lookup, the link and the
    email happen after the commit, in the delivery worker (see process_reset_requests)."""
    db.session.add(PasswordResetRequest(email=(email or "").replace("\x00", "").strip()[:254]))
    mail.send_after_commit()


def process_reset_requests(limit: int = 100) -> int:
    """Turn queued requests into reset links; each row is deleted by the worker that takes it
    (a conditional DELETE: two workers never both take one). Returns the links issued."""
    issued = 0
    for row in db.session.scalars(
        select(PasswordResetRequest).order_by(PasswordResetRequest.id).limit(limit)
    ).all():
        taken = db.session.execute(
            delete(PasswordResetRequest)
            .where(PasswordResetRequest.id == row.id)
            .execution_options(synchronize_session=False)
        )
        if rows_changed(taken) == 1 and _issue_reset(row.email):
            issued += 1
    return issued


def _issue_reset(email: str) -> str | None:
    """Email a reset link if the account exists; returns the token, or None."""
    user = find_by_email(email)
    if user is None:
        return None
    recent = db.session.scalar(
        select(func.count(PasswordReset.id)).where(
            PasswordReset.user_id == user.id,
            PasswordReset.created_at > utcnow() - timedelta(hours=1),
        )
    )
    if recent and recent >= RESETS_PER_HOUR:  # no mailbox flooding; the answer stays the same
        return None
    token = secrets.token_urlsafe(32)
    db.session.add(
        PasswordReset(
            user_id=user.id, token_hash=_token_hash(token), expires_at=utcnow() + RESET_LIFETIME
        )
    )
    audit.record("password_reset_requested", actor=user)
    _mail_reset_link(user, token)
    return token


def _mail_reset_link(user: User, token: str) -> None:
    locale = user.locale or "en"
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_URL"]):
        link = url_for("auth.reset_password", token=token, _external=True)
        content = mail.compose(
            "password_reset", locale, lambda: _("Reset your password"), link=link, minutes=60
        )
    mail.queue_many(
        [
            {
                "recipient": user.email,
                "user_id": user.id,
                "locale": locale,
                "kind": "password_reset",
                **content,
            }
        ]
    )


def _end_reset_links(user: User) -> None:
    """A password was set: no link asked for before may set another one."""
    db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def reset_password(token: str, new_password: str) -> User:
    """Use a reset token once: set the new password and end every session of the account."""
    password = validate(schemas.PasswordReset, {"password": new_password}).password
    reset = db.session.scalar(
        select(PasswordReset).where(PasswordReset.token_hash == _token_hash(token or ""))
    )
    if reset is None or reset.used_at is not None or reset.expires_at < utcnow():
        raise InvalidInput.single("token", "reset_invalid")
    used = db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if rows_changed(used) != 1:  # two tabs, one token: only the first one counts
        raise InvalidInput.single("token", "reset_invalid")
    user = db.session.get(User, reset.user_id)
    assert user is not None
    user.password_hash = hash_password(password)
    verification.mark_verified(user)  # the link reached this address: it is the person's
    end_all_sessions(user)
    _end_reset_links(user)
    audit.record("password_reset", actor=user)
    return user
