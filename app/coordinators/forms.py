"""Coordinators' forms: they gather raw input and carry the CSRF token; services judge it."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from app.forms import RawNumberField
from app.services.decisions import OUTCOMES
from app.services.match_settings import EVERY_WEEKS_MAX, WEEKDAY_NAMES, picked
from matching import FACTORS


class BulkForm(FlaskForm):
    """Approve or reject the ticked proposals (the ids come as `match_ids` checkboxes)."""

    reason = StringField(_l("Reason (kept on each match; approving with it overrides)"))


class MatchActionForm(FlaskForm):
    reason = TextAreaField(_l("Reason"))
    outcome = SelectField(_l("Outcome"), validate_choice=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outcome.choices = [SelectChoice(code, str(label)) for code, label in OUTCOMES.items()]


class PairForm(FlaskForm):
    student_id = RawNumberField(_l("Student (id)"))
    sme_id = RawNumberField(_l("SME (id)"))
    override = BooleanField(_l("Override the cycle's rules (student busy, SME full, pair closed)"))
    reason = TextAreaField(_l("Reason"))


class ScheduleForm(FlaskForm):
    """The picker (day, time, every N weeks) writes the cron expression; experts may type it."""

    schedule_day = SelectField(_l("Day"), validate_choice=False)
    schedule_time = StringField(_l("Time (Korea)"))
    schedule_weeks = SelectField(_l("How often"), validate_choice=False)
    schedule = StringField(_l("Schedule (cron expression)"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schedule_day.choices = [
            SelectChoice(code, str(name)) for code, name in WEEKDAY_NAMES.items()
        ]
        self.schedule_weeks.choices = [
            SelectChoice(
                str(n), str(_l("Every week")) if n == 1 else str(_l("Every %(n)s weeks", n=n))
            )
            for n in range(1, EVERY_WEEKS_MAX + 1)
        ]

    @classmethod
    def showing(cls, expression: str | None, default: str) -> ScheduleForm:
        """The form for the schedule in force: the picker set to it when it can say it."""
        chosen = picked(expression or default)
        data: dict[str, Any] = {"schedule": expression or ""}
        if chosen is not None:
            data.update(
                schedule_day=chosen.day, schedule_time=chosen.time, schedule_weeks=str(chosen.weeks)
            )
        return cls(data=data)

    def picker(self) -> tuple[str, str, Any]:
        return (
            self.schedule_day.data or "",
            self.schedule_time.data or "",
            self.schedule_weeks.data or "1",
        )


FACTOR_LABELS = {
    "language": _l("Language"),
    "market": _l("Target market"),
    "industry": _l("Industry"),
    "region": _l("Region"),
    "korean": _l("Korean ability"),
    "text": _l("Profile texts"),
}


class SettingsForm(FlaskForm):
    mode = SelectField(
        _l("Assignment"),
        validate_choice=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mode.choices = [
            SelectChoice("stable", str(_l("Stable (nobody would rather swap)"))),
            SelectChoice("optimal", str(_l("Optimal (highest total score)"))),
        ]

    candidates_k = RawNumberField(_l("Candidates per student (5–500)"))
    expiry_days = RawNumberField(_l("Days before an unanswered proposal expires (1–90)"))

    @classmethod
    def showing(cls, saved: dict[str, Any]) -> SettingsForm:
        """The form for the settings in force (numbers written plainly: 1, not 1.0)."""
        weights = {f"weight_{f}": f"{saved['weights'][f]:g}" for f in FACTORS}
        return cls(
            data={
                "mode": saved["mode"],
                "candidates_k": str(saved["candidates_k"]),
                "expiry_days": str(saved["expiry_days"]),
                **weights,
            }
        )


for _factor in FACTORS:
    setattr(SettingsForm, f"weight_{_factor}", RawNumberField(FACTOR_LABELS[_factor]))


def settings_input(form: SettingsForm) -> dict[str, Any]:
    def value(name: str) -> Any:
        text = (getattr(form, name).data or "").strip()
        return text or None

    return {
        "mode": form.mode.data,
        "candidates_k": value("candidates_k"),
        "expiry_days": value("expiry_days"),
        "weights": {factor: value(f"weight_{factor}") for factor in FACTORS},
    }


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"))
    consent_confirmed = BooleanField(
        _l(
            "I confirm that every company in this file has agreed, in writing, to the programme's "
            "privacy notice (collection and use of its data)"
        )
    )
