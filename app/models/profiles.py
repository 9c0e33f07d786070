"""Student and SME profiles. Sets of codes (markets, industries, ...) live in small code tables,
so coordinators can filter on them with plain SQL on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.bilingual import LocalizedText, as_written, pick
from app.extensions import Model
from app.models.base import UTCDateTime, utcnow
from app.models.user import User

LEVEL_ORDER = ("native", "fluent", "business", "conversational", "basic")


class _LanguageRow(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def level(self) -> str: ...


class _CodeRow(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def code(self) -> str: ...


class _StudentRows(Protocol):
    @property
    def bio(self) -> str: ...

    @property
    def language_rows(self) -> Sequence[_LanguageRow]: ...
    @property
    def code_rows(self) -> Sequence[_CodeRow]: ...


class StudentDerivations:
    """What a student's pages read of their rows, written once for the model (`Student`) and for
    the plain rows an SME's pages load as columns (`app.services.reviews.StudentRow`)."""

    __slots__ = ()

    @property
    def bio_as_written(self: _StudentRows) -> LocalizedText:
        """The bio with the language its script tells (for a `lang` attribute and a label)."""
        return as_written(self.bio)

    @property
    def languages(self: _StudentRows) -> list[dict[str, str]]:
        return [{"code": row.code, "level": row.level} for row in self.language_rows]

    def codes(self: _StudentRows, kind: str) -> list[str]:
        return sorted(row.code for row in self.code_rows if row.kind == kind)

    @property
    def markets(self: _StudentRows) -> list[str]:
        return StudentDerivations.codes(self, "market")

    @property
    def industries(self: _StudentRows) -> list[str]:
        return StudentDerivations.codes(self, "industry")

    @property
    def regions(self: _StudentRows) -> list[str]:
        return StudentDerivations.codes(self, "region")


class Student(StudentDerivations, Model):
    __tablename__ = "students"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    nationality: Mapped[str] = mapped_column(String(2), index=True)
    topik_level: Mapped[int] = mapped_column(Integer, default=0)
    university: Mapped[str] = mapped_column(String(120))
    major: Mapped[str] = mapped_column(String(120))
    hours_per_week: Mapped[int] = mapped_column(Integer)
    available_from: Mapped[date | None] = mapped_column(Date)
    available_until: Mapped[date | None] = mapped_column(Date)
    visa: Mapped[str] = mapped_column(String(10))
    # What the visa rules (matching.eligibility) depend on; None: not stated (older profiles).
    degree_level: Mapped[str | None] = mapped_column(String(12))  # taxonomy degree_levels
    year_of_study: Mapped[int | None] = mapped_column(Integer)
    expected_graduation: Mapped[date | None] = mapped_column(Date)  # first day of the month
    in_korea_since: Mapped[date | None] = mapped_column(Date)  # first day of the month (D-4)
    bio: Mapped[str] = mapped_column(Text, default="")
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    cv_stored_name: Mapped[str | None] = mapped_column(String(64))
    cv_uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="student")
    language_rows: Mapped[list[StudentLanguage]] = relationship(
        cascade="all, delete-orphan", order_by="StudentLanguage.position"
    )
    code_rows: Mapped[list[StudentCode]] = relationship(cascade="all, delete-orphan")


class StudentLanguage(Model):
    __tablename__ = "student_languages"

    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(2), primary_key=True, index=True)
    level: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer, default=0)


class StudentCode(Model):
    """One market, industry or region of a student."""

    __tablename__ = "student_codes"
    # The dashboard counts students per market, industry and region (GROUP BY kind, code): read
    # in that order from this index alone instead of sorting every row (issue 14).
    __table_args__ = (Index("ix_student_codes_kind_code", "kind", "code", "student_id"),)

    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)


class _SMERows(Protocol):
    @property
    def code_rows(self) -> Sequence[_CodeRow]: ...


class SMEDerivations:
    """What an SME's texts and codes read as on pages, written once for the model (`SME`) and
    for the plain rows a student's proposals page loads as columns
    (`app.services.reviews.ProposedSME`)."""

    __slots__ = ()

    def localized(self, field: str, locale: str | None = None) -> LocalizedText:
        """`company_name`, `products` or `description` in `locale` (default: the reader's),
        the other language when that one was not given; `.lang` says which it is."""
        return pick(getattr(self, f"{field}_ko"), getattr(self, f"{field}_en"), locale)

    @property
    def products(self) -> LocalizedText:
        return self.localized("products")

    @property
    def description(self) -> LocalizedText:
        return self.localized("description")

    def codes(self: _SMERows, kind: str) -> list[str]:
        return sorted(row.code for row in self.code_rows if row.kind == kind)

    @property
    def industries(self: _SMERows) -> list[str]:
        return SMEDerivations.codes(self, "industry")

    @property
    def markets(self: _SMERows) -> list[str]:
        return SMEDerivations.codes(self, "market")

    @property
    def languages_needed(self: _SMERows) -> list[str]:
        return SMEDerivations.codes(self, "language")


class SME(SMEDerivations, Model):
    __tablename__ = "smes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    contact_name: Mapped[str] = mapped_column(String(100))
    # Name, products and description in Korean and/or English (at least one of each pair for the
    # name and the products): readers see their language, the other one labelled as a fallback.
    company_name_ko: Mapped[str | None] = mapped_column(String(120))
    company_name_en: Mapped[str | None] = mapped_column(String(120))
    business_number: Mapped[str] = mapped_column(String(10), unique=True)
    products_ko: Mapped[str | None] = mapped_column(Text)
    products_en: Mapped[str | None] = mapped_column(Text)
    region: Mapped[str] = mapped_column(String(20), index=True)
    capacity: Mapped[int] = mapped_column(Integer)
    exporting: Mapped[bool] = mapped_column(Boolean, default=False)
    min_topik: Mapped[int] = mapped_column(Integer, default=0)
    # KSIC section letter (A-U); None: not stated. Manufacturing (C) and construction (F) matter
    # to the visa rules.
    ksic_section: Mapped[str | None] = mapped_column(String(1))
    hours_needed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # 0: flexible
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    description_ko: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="sme")

    # Read-only views in the reader's language, for every page, email and export that shows one
    # text; in SQL, the Korean name else the English one (search and sort use both columns).
    @hybrid_property
    def company_name(self) -> LocalizedText:
        return self.localized("company_name")

    @company_name.inplace.expression
    @classmethod
    def _company_name_expression(cls) -> Any:
        return func.coalesce(cls.company_name_ko, cls.company_name_en)

    code_rows: Mapped[list[SMECode]] = relationship(cascade="all, delete-orphan")

    @property
    def business_number_display(self) -> str:
        n = self.business_number
        return f"{n[:3]}-{n[3:5]}-{n[5:]}"


class SMECode(Model):
    """One industry, target market or needed language of an SME."""

    __tablename__ = "sme_codes"

    sme_id: Mapped[int] = mapped_column(ForeignKey("smes.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
