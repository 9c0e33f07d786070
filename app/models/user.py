from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Enum, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models.base import UTCDateTime, utcnow

if TYPE_CHECKING:
    from app.models.profiles import SME, Student


class Role(enum.StrEnum):
    STUDENT = "student"
    SME = "sme"
    COORDINATOR = "coordinator"


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class User(UserMixin, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased: the unique index is then case-insensitive on every database.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    locale: Mapped[str | None] = mapped_column(String(5))
    # Flask-Login's "alternative id": rotating it ends every session that carries the old one.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the person opened a verification link (or a reset link: it reached them too).
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    student: Mapped[Student | None] = relationship(
        back_populates="user", cascade="all, delete-orphan", uselist=False
    )
    sme: Mapped[SME | None] = relationship(
        back_populates="user", cascade="all, delete-orphan", uselist=False
    )

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def rotate_session_token(self) -> None:
        self.session_token = new_session_token()

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"
