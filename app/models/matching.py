"""Matches, the cycles that propose them, the settings they run with, and the cycle lease."""

from __future__ import annotations

import enum
import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false as sa_false

from app.extensions import Model
from app.models.base import UTCDateTime, utcnow
from app.models.profiles import SME, Student


class StoredReasons:
    """For plain rows that load a match's `reasons` column as its stored JSON text
    (`reasons_json`, issue 14: no ORM object per row): `reasons` decodes it the first time it is
    read, once per row. The row class declares both fields (a slotted dataclass: this mixin
    adds no slots of its own)."""

    __slots__ = ()
    reasons_json: str
    _reasons: list[dict[str, Any]] | None

    @property
    def reasons(self) -> list[dict[str, Any]]:
        if self._reasons is None:
            # the slot is the row class's (mypy sees only this mixin's empty __slots__)
            self._reasons = json.loads(self.reasons_json)  # type: ignore[misc]
        return self._reasons


class MatchStatus(enum.StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    DECLINED = "declined"  # the student or the SME said no
    REJECTED = "rejected"  # a coordinator said no
    ACTIVE = "active"
    COMPLETED = "completed"
    EXPIRED = "expired"  # nobody answered in time; its people went back to the pool
    WITHDRAWN = "withdrawn"  # hidden because a person withdrew consent or left


# A student in one of these is not in the pool, and the pair uses a place of the SME's capacity.
HOLDING_STATUSES = (MatchStatus.PROPOSED, MatchStatus.APPROVED, MatchStatus.ACTIVE)
# A pair that ended in one of these is never proposed again.
CLOSED_STATUSES = (
    MatchStatus.DECLINED,
    MatchStatus.REJECTED,
    MatchStatus.EXPIRED,
    MatchStatus.WITHDRAWN,
)


class CycleStatus(enum.StrEnum):
    QUEUED = "queued"  # asked for (API, button); the scheduler process will run it
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


def _enum(cls: type[enum.StrEnum]) -> Any:

    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class MatchCycle(Model):
    """One run of the matching engine over the pool, and what it proposed."""

    __tablename__ = "cycles"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[CycleStatus] = mapped_column(_enum(CycleStatus), index=True)
    trigger: Mapped[str] = mapped_column(String(20))  # schedule, manual, cli, api
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mode: Mapped[str] = mapped_column(String(10))
    weights: Mapped[dict[str, Any]] = mapped_column(JSON)  # flat or {"sme_view", "student_view"}
    candidates_k: Mapped[int] = mapped_column(Integer)
    n_students: Mapped[int] = mapped_column(Integer, default=0)
    n_smes: Mapped[int] = mapped_column(Integer, default=0)
    n_seats: Mapped[int] = mapped_column(Integer, default=0)
    n_excluded: Mapped[int] = mapped_column(Integer, default=0)
    n_expired: Mapped[int] = mapped_column(Integer, default=0)
    n_proposed: Mapped[int] = mapped_column(Integer, default=0)
    total_score: Mapped[float | None] = mapped_column(Float)
    placed_share: Mapped[float | None] = mapped_column(Float)
    blocking_pairs: Mapped[int | None] = mapped_column(Integer)
    load_seconds: Mapped[float | None] = mapped_column(Float)
    engine_seconds: Mapped[float | None] = mapped_column(Float)
    save_seconds: Mapped[float | None] = mapped_column(Float)
    # Students of the pool left without a proposal: they come first in the next cycle.
    unplaced_student_ids: Mapped[list[int] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    # A scheduled run: when it was due, and which try this is (retries after an outage).
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempt: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # The lease generation this cycle held: its save is refused if another cycle took it since.
    fence: Mapped[int | None] = mapped_column(Integer)
    # Proposals the save left out because the pool changed while the engine ran.
    n_skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class Match(Model):
    """A student–SME pair and its way from proposal to outcome."""

    __tablename__ = "matches"
    __table_args__ = (
        Index("ix_matches_student_status", "student_id", "status"),
        Index("ix_matches_sme_status", "sme_id", "status"),
        # The coordinators' list, newest first, reads one page of these indexes instead of
        # sorting every match (or every match of a status) with its people (issue 14).
        Index("ix_matches_created_at_id", "created_at", "id"),
        Index("ix_matches_status_created_at_id", "status", "created_at", "id"),
        # The count of proposals ready for a coordinator, on every coordinator's page (the
        # menu): answered from this index alone, not by reading every proposal.
        Index("ix_matches_ready", "status", "student_decision", "sme_decision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycles.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    sme_id: Mapped[int] = mapped_column(ForeignKey("smes.id", ondelete="CASCADE"))
    status: Mapped[MatchStatus] = mapped_column(_enum(MatchStatus), index=True)
    score: Mapped[float] = mapped_column(Float)
    student_view: Mapped[float] = mapped_column(Float)
    sme_view: Mapped[float] = mapped_column(Float)
    # [{"factor", "key", "params", "weight"}]: codes, worded when shown (services.explanations).
    # Rows written before the wording moved to the app also carry the engine's English "detail".
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # {"sme_view": {factor: value}, "student_view": {...}}: the unweighted criterion values the
    # score was built from, kept when proposed so answers can teach the weights (None: older rows).
    criteria: Mapped[dict[str, dict[str, float]] | None] = mapped_column(JSON)
    proposed_by: Mapped[str] = mapped_column(String(20), default="cycle")  # cycle | coordinator
    student_decision: Mapped[str | None] = mapped_column(String(10))
    student_reason: Mapped[str | None] = mapped_column(Text)
    sme_decision: Mapped[str | None] = mapped_column(String(10))
    sme_reason: Mapped[str | None] = mapped_column(Text)
    sme_shortlisted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    coordinator_note: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(40))
    # When the work started (kickoff picked, or a coordinator activated) and ended: check-ins
    # are due for each month in between.
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set once the people concerned have been emailed about the proposal (see notifications).
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    student: Mapped[Student] = relationship()
    sme: Mapped[SME] = relationship()
    cycle: Mapped[MatchCycle | None] = relationship()


class MatchSettings(Model):
    """The coordinators' choices for the next cycles (one row).

    No defaults here: `app.services.match_settings` owns them and creates the row."""

    __tablename__ = "match_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    mode: Mapped[str] = mapped_column(String(10))
    weights: Mapped[dict[str, float] | None] = mapped_column(JSON)  # None: the engine's defaults
    # Two-sided weights adopted from a training report ({"sme_view", "student_view"}); when set,
    # cycles use them instead of `weights`. Saving weights by hand clears them.
    side_weights: Mapped[dict[str, dict[str, float]] | None] = mapped_column(JSON)
    candidates_k: Mapped[int] = mapped_column(Integer)
    schedule: Mapped[str | None] = mapped_column(String(100))  # cron; None: MATCH_SCHEDULE
    expiry_days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class CycleLease(Model):
    """The cycle lock's row (one row, id 1).

    On both databases, `generation` is the fencing token: each cycle that takes the lock adds one,
    and its save must find the number it took. On SQLite the row is also the lock itself: a lease
    taken under BEGIN IMMEDIATE, naming its holder (process id, host) and kept alive by a
    heartbeat that pushes `expires_at` forward. (PostgreSQL locks with an advisory lock.)"""

    __tablename__ = "cycle_lease"

    id: Mapped[int] = mapped_column(primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pid: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class HealthProbe(Model):
    """One row the health check writes, so that a read-only or full database is noticed."""

    __tablename__ = "health_probe"

    id: Mapped[int] = mapped_column(primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DataVersion(Model):
    """One row whose number every write to a table the coordinators' dashboard counts moves on,
    in the writing transaction: database triggers (migration e1f2a3b4c5d6), so that Core bulk
    inserts, the scheduler and any other writer are covered. The dashboard keeps its counts per
    process keyed on (`epoch`, `n`) and counts again only when they change (issue 14).

    `epoch` is drawn at random whenever the row is (re)created, so a table emptied, dropped
    and made again (tests, a downgrade and upgrade) never hands out a number seen before."""

    __tablename__ = "data_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)
    epoch: Mapped[str] = mapped_column(String(36))


class OutboxMessage(Model):
    """Every email the platform sends: queued here, then sent over SMTP or kept for coordinators."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    locale: Mapped[str] = mapped_column(String(5))
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40))
    # [{"filename", "mimetype", "content"}] (text content: an iCalendar invitation).
    attachments: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(
        String(10), default="pending", index=True
    )  # pending|sent|stored
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
