"""The coordinators' knobs: criterion weights, mode, shortlist size, expiry, schedule.

`preview` runs the engine on today's pool twice, with the saved settings and with proposed ones,
and says what would change in the next cycle. It only reads: nothing is added, nothing flushed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Annotated, Any, Literal

from flask import current_app
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import select

from app.extensions import db
from app.models import SME, MatchSettings, Student, User, utcnow
from app.services import audit, engine_adapter
from app.services.errors import InvalidInput
from app.services.validation import validate
from matching import pipeline
from matching.model import DEFAULT_WEIGHTS, FACTORS, MAIN_FACTORS

MESSAGES = {
    "weights_main_zero": _l(
        "Give at least one of language, target market or industry a weight above 0."
    ),
    "weight_not_finite": _l("Enter a number of at least 0."),
    "cron_invalid": _l(
        "This is not a cron expression. Write five fields: minute hour day month weekday, "
        "e.g. 0 6 * * mon (Mondays at 06:00)."
    ),
}

Weight = Annotated[float, Field(ge=0, le=1000)]


class Weights(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Weight = DEFAULT_WEIGHTS["language"]
    market: Weight = DEFAULT_WEIGHTS["market"]
    industry: Weight = DEFAULT_WEIGHTS["industry"]
    region: Weight = DEFAULT_WEIGHTS["region"]
    korean: Weight = DEFAULT_WEIGHTS["korean"]
    text: Weight = DEFAULT_WEIGHTS["text"]

    @field_validator("*")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise PydanticCustomError("weight_not_finite", "enter a finite number")
        return value


class SettingsIn(BaseModel):
    """The rules for the settings; the engine normalises the weights to sum 1."""

    model_config = ConfigDict(extra="ignore")

    mode: Literal["stable", "optimal"]
    weights: Weights
    candidates_k: Annotated[int, Field(ge=5, le=500)]
    expiry_days: Annotated[int, Field(ge=1, le=90)]

    @field_validator("weights")
    @classmethod
    def _main_factor_positive(cls, value: Weights) -> Weights:
        # The engine refuses weights that leave nothing to pair on (matching.model).
        if sum(getattr(value, f) for f in MAIN_FACTORS) <= 0:
            raise PydanticCustomError("weights_main_zero", "no main criterion has a weight")
        return value


def current() -> dict[str, Any]:
    """The saved settings as plain values (defaults if no coordinator saved any yet)."""
    row = db.session.get(MatchSettings, 1)
    weights = dict(DEFAULT_WEIGHTS)
    if row is not None and row.weights:
        weights.update(row.weights)
    return {
        "mode": row.mode if row else "stable",
        "weights": weights,
        "candidates_k": row.candidates_k if row else 50,
        "expiry_days": row.expiry_days if row else 14,
        "schedule": row.schedule if row else None,
    }


def parse(data: dict[str, Any]) -> SettingsIn:
    # A weight left empty means its default, not "required".
    weights = {k: v for k, v in (data.get("weights") or {}).items() if v not in (None, "")}
    return validate(SettingsIn, {**data, "weights": weights})


@dataclass
class Outcome:
    proposals: int
    placed_share: float
    total_score: float
    blocking_pairs: int
    pairs: dict[int, int]  # student_id -> sme_id


@dataclass
class Change:
    student_id: int
    student_name: str
    before: tuple[int, str] | None  # (sme_id, company) or None: not proposed
    after: tuple[int, str] | None


@dataclass
class Preview:
    pool_students: int
    pool_smes: int
    saved: Outcome
    proposed: Outcome
    n_changed: int
    changes: list[Change] = field(default_factory=list)


def _run(settings: dict[str, Any]) -> tuple[Outcome, int, int]:
    from app.services.cycles import load_pool

    pool = load_pool(SimpleNamespace(expiry_days=settings["expiry_days"]))  # type: ignore[arg-type]
    students = engine_adapter.load_students(pool.student_ids)
    smes = engine_adapter.load_smes(sorted(pool.free_seats))
    result = pipeline.run(
        students,
        smes,
        mode=settings["mode"],
        weights=settings["weights"],
        k=settings["candidates_k"],
        excluded=pool.excluded,
        priority=pool.priority,
        capacity_override=pool.free_seats,
        explain=False,
    )
    outcome = Outcome(
        proposals=len(result.pairs),
        placed_share=result.placed_share,
        total_score=result.total_score,
        blocking_pairs=result.blocking_pairs,
        pairs={p.student_id: p.sme_id for p in result.pairs},
    )
    return outcome, len(pool.student_ids), len(pool.free_seats)


def preview(data: dict[str, Any], sample: int = 15) -> Preview:
    """What the next cycle would propose with the saved settings and with these. Reads only."""
    proposed_settings = parse(data).model_dump()
    saved, n_students, n_smes = _run(current())
    proposed, _, _ = _run(proposed_settings)
    changed = sorted(
        sid
        for sid in set(saved.pairs) | set(proposed.pairs)
        if saved.pairs.get(sid) != proposed.pairs.get(sid)
    )
    shown = changed[:sample]
    sme_ids = {saved.pairs.get(s) for s in shown} | {proposed.pairs.get(s) for s in shown}
    students = dict(
        db.session.execute(select(Student.id, Student.name).where(Student.id.in_(shown))).all()
    )
    companies = dict(
        db.session.execute(
            select(SME.id, SME.company_name).where(SME.id.in_([i for i in sme_ids if i]))
        ).all()
    )

    def side(sme_id: int | None) -> tuple[int, str] | None:
        return (sme_id, companies.get(sme_id, "")) if sme_id else None

    return Preview(
        pool_students=n_students,
        pool_smes=n_smes,
        saved=saved,
        proposed=proposed,
        n_changed=len(changed),
        changes=[
            Change(
                sid,
                students.get(sid, ""),
                side(saved.pairs.get(sid)),
                side(proposed.pairs.get(sid)),
            )
            for sid in shown
        ],
    )


def save(data: dict[str, Any], coordinator: User) -> MatchSettings:
    """Store the settings the next cycles run with; audited with the old and new values."""
    from app.services.cycles import get_settings

    new = parse(data)
    before = current()
    settings = get_settings()
    settings.mode = new.mode
    settings.weights = new.weights.model_dump()
    settings.candidates_k = new.candidates_k
    settings.expiry_days = new.expiry_days
    settings.updated_by_id = coordinator.id
    settings.updated_at = utcnow()
    after = {k: v for k, v in current().items() if k != "schedule"}
    after.update(
        mode=new.mode,
        weights=new.weights.model_dump(),
        candidates_k=new.candidates_k,
        expiry_days=new.expiry_days,
    )
    before.pop("schedule", None)
    audit.record(
        "settings_changed",
        actor=coordinator,
        target=settings,
        detail={"before": before, "after": after},
    )
    db.session.flush()
    return settings


def set_schedule(expression: str, coordinator: User) -> MatchSettings:
    """A new cron schedule for the cycles; empty goes back to the default (MATCH_SCHEDULE)."""
    from app.jobs import cron_trigger
    from app.services.cycles import get_settings

    text = " ".join((expression or "").split())
    if len(text) > 100 or any(ord(ch) < 32 for ch in text):
        raise InvalidInput.single("schedule", "cron_invalid")
    if text:
        try:
            cron_trigger(text, current_app.config["SCHEDULER_TIMEZONE"])
        except (ValueError, TypeError, KeyError):
            raise InvalidInput.single("schedule", "cron_invalid") from None
    settings = get_settings()
    before = settings.schedule
    settings.schedule = text or None
    settings.updated_by_id = coordinator.id
    settings.updated_at = utcnow()
    audit.record(
        "schedule_changed",
        actor=coordinator,
        target=settings,
        detail={"before": before, "after": settings.schedule},
    )
    db.session.flush()
    return settings


def next_run() -> datetime | None:
    """When the stored schedule fires next, or None if it is not valid.

    Read in the caller's session: a separate app context would have its own session, which on
    SQLite would wait on the request's own write lock."""
    from app.jobs import cron_trigger

    schedule = current()["schedule"] or current_app.config["MATCH_SCHEDULE"]
    try:
        trigger = cron_trigger(schedule, current_app.config["SCHEDULER_TIMEZONE"])
    except ValueError:
        return None
    return trigger.get_next_fire_time(None, datetime.now(trigger.timezone))


__all__ = ["FACTORS", "MESSAGES", "Preview", "SettingsIn", "current", "preview", "save"]
