from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models.base import UTCDateTime, utcnow
from app.models.user import User


class Consent(Model):
    """One answer to the privacy notice. Rows are only added, so the history is the record."""

    __tablename__ = "consents"
    # A person's answers in order: the latest is found by one index lookup (who may be shown
    # to an SME, app.services.eligibility.shown_to_smes); it serves lookups by user_id alone too.
    __table_args__ = (Index("ix_consents_user_id_id", "user_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    policy_version: Mapped[str] = mapped_column(String(20))
    collection: Mapped[bool] = mapped_column(Boolean)
    provision_to_smes: Mapped[bool] = mapped_column(Boolean)
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # One-way on purpose: deleting a user leaves this to the database's ON DELETE CASCADE.
    user: Mapped[User] = relationship()


class AuditEvent(Model):
    """Who did what, when (UTC) and from where. Never passwords, tokens or cookies."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # No foreign key: the trail outlives the accounts it mentions (PIPA deletion keeps one entry).
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_role: Mapped[str | None] = mapped_column(String(20))
    ip: Mapped[str | None] = mapped_column(String(45))
    action: Mapped[str] = mapped_column(String(50), index=True)
    target_type: Mapped[str | None] = mapped_column(String(30))
    target_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class LoginFailure(Model):
    """Failed logins, in the database so every web worker counts the same tries."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    ip: Mapped[str] = mapped_column(String(45), index=True)


class PasswordReset(Model):
    """A single-use, expiring password reset; only a hash of its token is kept."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasswordResetRequest(Model):
    """A reset asked for, not yet looked at. The request only adds this row, whatever the
    address, so known and unknown addresses cost the same; the mail job (app.services.delivery)
    looks the address up, issues the link and deletes the row within seconds."""

    __tablename__ = "password_reset_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EmailVerification(Model):
    """A single-use, expiring link that proves an address; only a hash of its token is kept."""

    __tablename__ = "email_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
