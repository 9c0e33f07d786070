"""The matching settings: their defaults, their rules, where they are stored, and the schedule.

The one place that knows what a cycle runs with. Before, the defaults were written in the model,
in `cycles.get_settings` and in `tuning.current`, and reading them from `cycles` pulled the whole
cycle machinery (and an import loop through notifications) into every caller. This module sits
below cycles, notifications, decisions and the scheduler; it imports none of them.

A coordinator's weights are stored as given; the engine normalises them to sum 1 and refuses
weights that leave nothing to pair on, so the same rule is checked here before saving.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from apscheduler.triggers.cron import CronTrigger
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import Select, select

from app.extensions import db
from app.models import MatchSettings, User, utcnow
from app.services import audit
from app.services.errors import InvalidInput
from app.services.plain_reads import read
from app.services.validation import validate
from matching import DEFAULT_WEIGHTS, FACTORS, MAIN_FACTORS

# What a cycle runs with until a coordinator saves something else.
DEFAULT_MODE = "stable"
DEFAULT_CANDIDATES_K = 50  # shortlist per student; stable mode widens it for the unplaced
DEFAULT_EXPIRY_DAYS = 14  # an unanswered proposal goes back to the pool after two weeks
MODES = ("stable", "optimal")

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


def get() -> MatchSettings:
    """The settings row, created with the defaults the first time it is needed (flushed)."""
    row = db.session.get(MatchSettings, 1)
    if row is None:
        row = MatchSettings(
            id=1,
            mode=DEFAULT_MODE,
            candidates_k=DEFAULT_CANDIDATES_K,
            expiry_days=DEFAULT_EXPIRY_DAYS,
        )
        db.session.add(row)
        db.session.flush()
    return row


def current() -> dict[str, Any]:
    """The settings as plain values, without writing anything (defaults if none saved yet).

    `weights` is complete (every factor); `schedule` is None when the default applies."""
    row = db.session.get(MatchSettings, 1)
    weights = dict(DEFAULT_WEIGHTS)
    if row is not None and row.weights:
        weights.update(row.weights)
    return {
        "mode": row.mode if row else DEFAULT_MODE,
        "weights": weights,
        "candidates_k": row.candidates_k if row else DEFAULT_CANDIDATES_K,
        "expiry_days": row.expiry_days if row else DEFAULT_EXPIRY_DAYS,
        "schedule": row.schedule if row else None,
    }


def get_row() -> MatchSettings | None:
    """The settings row if one was stored (reads only)."""
    return db.session.get(MatchSettings, 1)


def engine_weights() -> dict[str, Any] | None:
    """What the engine runs with: the two-sided weights adopted from a training report
    (`{"sme_view", "student_view"}`, see app.services.learned_weights), else the weights a
    coordinator saved, or None for the engine's own defaults."""
    row = db.session.get(MatchSettings, 1)
    if row is not None and row.side_weights:
        return {side: dict(w) for side, w in row.side_weights.items()}
    return dict(row.weights) if row is not None and row.weights else None


def parse(data: dict[str, Any]) -> SettingsIn:
    """Check settings from a form or the API; raises InvalidInput naming the field."""
    # A weight left empty means its default, not "required".
    weights = {k: v for k, v in (data.get("weights") or {}).items() if v not in (None, "")}
    return validate(SettingsIn, {**data, "weights": weights})


def save(data: dict[str, Any], coordinator: User) -> MatchSettings:
    """Store the settings the next cycles run with; audited with the old and new values."""
    new = parse(data)
    before = current()
    before.pop("schedule", None)
    settings = get()
    if settings.side_weights and new.weights.model_dump() != before["weights"]:
        # Weights typed by hand replace learned ones: the page said which set is in force.
        after_learned: dict[str, Any] = {"learned_weights_dropped": settings.side_weights}
        settings.side_weights = None
    else:
        after_learned = {}
    settings.mode = new.mode
    settings.weights = new.weights.model_dump()
    settings.candidates_k = new.candidates_k
    settings.expiry_days = new.expiry_days
    settings.updated_by_id = coordinator.id
    settings.updated_at = utcnow()
    after = {
        "mode": new.mode,
        "weights": new.weights.model_dump(),
        "candidates_k": new.candidates_k,
        "expiry_days": new.expiry_days,
        **after_learned,
    }
    audit.record(
        "settings_changed",
        actor=coordinator,
        target=settings,
        detail={"before": before, "after": after},
    )
    db.session.flush()
    return settings


# --- the schedule ---------------------------------------------------------------------------


def cron_trigger(expression: str, timezone: str) -> CronTrigger:
    """A cron expression as APScheduler's trigger; ValueError when it is not one.

    Five fields (minute hour day month weekday) as in crontab, or a sixth for the ISO week
    number, as APScheduler's `week` field: `0 6 * * mon */2` runs on Mondays of odd weeks (every
    second week; a 53-week year runs in weeks 53 and 1 in a row). Plain cron cannot say "every N
    weeks", and the schedule picker needs to."""
    fields = expression.split()
    if len(fields) == 6:
        minute, hour, day, month, day_of_week, week = fields
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=day_of_week,
            week=week,
            timezone=timezone,
        )
    return CronTrigger.from_crontab(expression, timezone=timezone)


# --- the schedule picker: day, time, every N weeks <-> a cron expression ------------------------

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = {
    "mon": _l("Monday"),
    "tue": _l("Tuesday"),
    "wed": _l("Wednesday"),
    "thu": _l("Thursday"),
    "fri": _l("Friday"),
    "sat": _l("Saturday"),
    "sun": _l("Sunday"),
}
EVERY_WEEKS_MAX = 4
_PICKED = re.compile(
    r"(?P<minute>\d{1,2}) (?P<hour>\d{1,2}) \* \* (?P<day>[a-z]{3})(?: \*/(?P<weeks>\d))?"
)


@dataclass(frozen=True)
class Picked:
    """A schedule as the picker shows it: a weekday, a time (HH:MM) and every N weeks."""

    day: str
    time: str
    weeks: int


def cron_from_picker(day: str, time: str, weeks: Any) -> str:
    """The cron expression for "every `weeks` weeks on `day` at `time`"; InvalidInput naming
    the picker's field when one is not valid."""
    day = (day or "").strip().lower()[:3]
    if day not in WEEKDAYS:
        raise InvalidInput.single("schedule_day", "unknown_code", code=day)
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", (time or "").strip())
    if match is None:
        raise InvalidInput.single("schedule_time", "time_format")
    try:
        every = int(str(weeks).strip() or "1")
    except ValueError:
        raise InvalidInput.single("schedule_weeks", "int_parsing") from None
    if not 1 <= every <= EVERY_WEEKS_MAX:
        raise InvalidInput.single("schedule_weeks", "less_than_equal", le=EVERY_WEEKS_MAX)
    hour, minute = int(match[1]), int(match[2])
    return f"{minute} {hour} * * {day}" + (f" */{every}" if every > 1 else "")


def picked(expression: str | None) -> Picked | None:
    """The picker's values for an expression it could have written, else None (an expert's)."""
    match = _PICKED.fullmatch(" ".join((expression or "").split()).lower())
    if match is None or match["day"] not in WEEKDAYS:
        return None
    hour, minute, weeks = int(match["hour"]), int(match["minute"]), int(match["weeks"] or 1)
    if hour > 23 or minute > 59 or not 1 <= weeks <= EVERY_WEEKS_MAX:
        return None
    return Picked(match["day"], f"{hour:02d}:{minute:02d}", weeks)


def schedule_words(expression: str | None) -> str:
    """A schedule in the reader's words ("Every Monday at 06:00"); an expression the picker
    could not have written is shown as itself, named as a cron expression."""
    if not expression:
        return _("the default schedule")
    chosen = picked(expression)
    if chosen is None:
        return _("cron expression %(expression)s", expression=expression)
    day = WEEKDAY_NAMES[chosen.day]
    if chosen.weeks == 1:
        return _("every %(day)s at %(time)s", day=day, time=chosen.time)
    return _("every %(n)s weeks on %(day)s at %(time)s", n=chosen.weeks, day=day, time=chosen.time)


@functools.cache
def schedule_query() -> Select[str | None]:
    """The stored schedule alone (NULL: none stored), built once per process: every page that
    says when the next cycle runs asks it (issue 14; loading the whole settings row cost more),
    on its own or as a subquery of its rows' statement (then `next_run_of`)."""
    return select(MatchSettings.schedule).where(MatchSettings.id == 1)


def schedule() -> str:
    """The cron expression cycles run on: the coordinators' one, else MATCH_SCHEDULE."""
    return _stored_or_default(read(schedule_query()).scalar())


def _stored_or_default(stored: str | None) -> str:
    return stored or current_app.config["MATCH_SCHEDULE"]


def set_schedule(
    expression: str, coordinator: User, *, picker: tuple[str, str, Any] | None = None
) -> MatchSettings:
    """A new cron schedule for the cycles; empty goes back to the default (MATCH_SCHEDULE).

    `picker` (day, time, every N weeks) writes the expression instead of the typed one."""
    if picker is not None:
        expression = cron_from_picker(*picker)
    text = " ".join((expression or "").split())
    if len(text) > 100 or any(ord(ch) < 32 for ch in text):
        raise InvalidInput.single("schedule", "cron_invalid")
    if text:
        try:
            cron_trigger(text, current_app.config["SCHEDULER_TIMEZONE"])
        except (ValueError, TypeError, KeyError):
            raise InvalidInput.single("schedule", "cron_invalid") from None
    settings = get()
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
    return next_fire(schedule(), current_app.config["SCHEDULER_TIMEZONE"])


def next_run_of(stored: str | None) -> datetime | None:
    """`next_run` for the stored schedule as the caller read it with its own rows
    (`schedule_query`; None: none stored, the default applies)."""
    return next_fire(_stored_or_default(stored), current_app.config["SCHEDULER_TIMEZONE"])


@functools.lru_cache(maxsize=64)
def _trigger(expression: str, timezone: str) -> CronTrigger:
    """`cron_trigger`, parsed once per process and expression (a trigger keeps no state)."""
    return cron_trigger(expression, timezone)


def next_fire(expression: str, timezone: str, now: datetime | None = None) -> datetime | None:
    """When `expression` fires next after `now` (default: the current time), as APScheduler's
    trigger says, or None if it is not a valid schedule.

    Asked by every page that shows the next cycle (issue 14): the trigger is parsed once per
    process and expression, and its answer kept per second (`_next_fire_at`). Not kept until
    that fire time passes: around a daylight saving change APScheduler gives two moments before
    the same fire time different answers."""
    try:
        _trigger(expression, timezone)
    except ValueError:
        return None
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    # APScheduler's `CronTrigger.get_next_fire_time(None, now)` (no start or end date, no
    # jitter) first rounds `now` up to a whole second (`datetime_ceil`) and from there reads
    # only that instant, in the trigger's zone: its answer is a function of the rounded second
    # alone. So the answer for that second, asked once, is the answer for every moment that
    # rounds to it, even across a clock change (tests/cycles/test_next_fire.py checks it against
    # the trigger's own answer at random moments, a microsecond apart).
    second = moment.replace(microsecond=0)
    if moment.microsecond:
        second += timedelta(seconds=1)
    return _next_fire_at(expression, timezone, second)


@functools.lru_cache(maxsize=64)
def _next_fire_at(expression: str, timezone: str, second: datetime) -> datetime | None:
    """The trigger's next fire time from `second` (a whole second, in UTC: a key that names one
    instant; a local time would name two in the hour a clock change repeats)."""
    trigger = _trigger(expression, timezone)
    return trigger.get_next_fire_time(None, second.astimezone(trigger.timezone))


__all__ = [
    "DEFAULT_CANDIDATES_K",
    "DEFAULT_EXPIRY_DAYS",
    "DEFAULT_MODE",
    "FACTORS",
    "MODES",
    "SettingsIn",
    "cron_from_picker",
    "cron_trigger",
    "current",
    "engine_weights",
    "get",
    "get_row",
    "next_fire",
    "next_run",
    "parse",
    "picked",
    "save",
    "schedule",
    "schedule_words",
    "set_schedule",
]
