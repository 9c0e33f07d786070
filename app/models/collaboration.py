"""After the match: contact details, the kickoff meeting, messages, the work log, monthly
check-ins and outcomes (of a match, and an SME's export status, the programme's real result).

Everything here hangs off a match or a user with ON DELETE CASCADE, so deleting an account
(which deletes its student or SME row, and so its matches) deletes all of it too.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models.base import UTCDateTime, utcnow
from app.models.matching import Match


class ContactDetails(Model):
    """What a person adds to their name and email for the other side of an approved match."""

    __tablename__ = "contact_details"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    phone: Mapped[str | None] = mapped_column(String(30))
    messenger: Mapped[str | None] = mapped_column(String(100))  # e.g. "KakaoTalk: linh.vn"
    address: Mapped[str | None] = mapped_column(String(200))  # SMEs: where to find them
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Kickoff(Model):
    """The first meeting: up to three slots offered by the SME, one picked by the student."""

    __tablename__ = "kickoffs"

    match_id: Mapped[int] = mapped_column(
        ForeignKey("matches.id", ondelete="CASCADE"), primary_key=True
    )
    # [{"starts_at": ISO 8601 UTC, "place": "..."}]; shown in Korea time.
    slots: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    chosen: Mapped[int | None] = mapped_column(Integer)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    place: Mapped[str | None] = mapped_column(String(300))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # iCalendar UID: the same event in everyone's calendar, and the reminder updates nothing.
    uid: Mapped[str] = mapped_column(String(80))


class Message(Model):
    """One message in a match's thread: plain text, optionally a PDF."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_match_id_id", "match_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_role: Mapped[str] = mapped_column(String(20))  # student | sme | coordinator
    body: Mapped[str] = mapped_column(Text)
    attachment: Mapped[str | None] = mapped_column(String(64))  # stored name (random hex)
    attachment_size: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    match: Mapped[Match] = relationship()


class ThreadState(Model):
    """Per person and match: the last message read, and when they were last emailed about it."""

    __tablename__ = "thread_states"

    match_id: Mapped[int] = mapped_column(
        ForeignKey("matches.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    last_read_id: Mapped[int] = mapped_column(Integer, default=0)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Activity(Model):
    """One entry of the student's work log, confirmed or disputed by the SME."""

    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_match_worked_on", "match_id", "worked_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    worked_on: Mapped[date] = mapped_column(Date)
    hours: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    attachment: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="logged")  # logged|confirmed|disputed
    sme_comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CheckIn(Model):
    """One side's monthly answer: satisfaction 1-5, hours this month, what is blocking."""

    __tablename__ = "checkins"
    __table_args__ = (UniqueConstraint("match_id", "side", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id", ondelete="CASCADE"), index=True)
    side: Mapped[str] = mapped_column(String(10))  # student | sme
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM (Korea time)
    satisfaction: Mapped[int] = mapped_column(Integer)
    hours: Mapped[float] = mapped_column(Float)
    blockers: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CheckInReminder(Model):
    """A reminder sent for a missed check-in: at most one per match, side and month."""

    __tablename__ = "checkin_reminders"

    match_id: Mapped[int] = mapped_column(
        ForeignKey("matches.id", ondelete="CASCADE"), primary_key=True
    )
    side: Mapped[str] = mapped_column(String(10), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MatchOutcome(Model):
    """What came of a completed match, as each side records it."""

    __tablename__ = "match_outcomes"

    match_id: Mapped[int] = mapped_column(
        ForeignKey("matches.id", ondelete="CASCADE"), primary_key=True
    )
    markets: Mapped[list[str]] = mapped_column(JSON, default=list)
    contracts: Mapped[int] = mapped_column(Integer, default=0)
    sme_note: Mapped[str] = mapped_column(Text, default="")
    sme_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # job_offer | e7_visa | further_study | other
    student_outcome: Mapped[str | None] = mapped_column(String(20), index=True)
    student_note: Mapped[str] = mapped_column(Text, default="")
    student_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ExportStatus(Model):
    """An SME's place on the programme's ladder: none → first export → USD 100k → USD 1M a year."""

    __tablename__ = "export_statuses"

    sme_id: Mapped[int] = mapped_column(ForeignKey("smes.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="none", index=True)
    first_export_on: Mapped[date | None] = mapped_column(Date)
    markets: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
