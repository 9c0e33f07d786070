"""What the model learnt from people's answers, and which weight sets coordinators put in force."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.base import UTCDateTime, utcnow


class ModelReport(Model):
    """One training run: the suggested two-sided weights and the held-out figures behind them.

    Plain numbers only (`report` is `matching.learning.Report.to_dict()`): nothing loaded from the
    database is ever unpickled or executed."""

    __tablename__ = "model_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    n_answers: Mapped[int] = mapped_column(Integer)
    # {"sme_view": {factor: w}, "student_view": {...}}: learned where better, else current.
    weights: Mapped[dict[str, dict[str, float]]] = mapped_column(JSON)
    # The weights in force when it was trained (what "current" in the figures means).
    current_weights: Mapped[dict[str, dict[str, float]]] = mapped_column(JSON)
    better: Mapped[bool] = mapped_column(Boolean)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)


class WeightAdoption(Model):
    """A two-sided weight set a coordinator put in force: from a report, or back to an earlier set.

    The newest row is the set in force unless a coordinator has saved weights by hand since
    (`MatchSettings.side_weights` is then cleared)."""

    __tablename__ = "weight_adoptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    adopted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    adopted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_reports.id", ondelete="SET NULL")
    )
    # Set when this adoption went back to an earlier one.
    rolled_back_to_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # report | rollback | defaults
    weights: Mapped[dict[str, dict[str, float]]] = mapped_column(JSON)
