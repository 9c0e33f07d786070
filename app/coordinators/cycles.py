"""Coordinator pages for cycles: run one now, the schedule, the settings, learned weights."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.coordinators.common import bp
from app.coordinators.forms import (
    FACTOR_LABELS,
    ScheduleForm,
    SettingsForm,
    settings_input,
)
from app.forms import CsrfOnlyForm
from app.services import cycles, learned_weights, match_settings, tuning
from app.services.errors import DomainError, InvalidInput
from app.web import flash_refusal, rerender
from matching import FACTORS

# --- cycles, schedule, settings -------------------------------------------------------------


@bp.route("/cycles", endpoint="cycles")
def cycles_page() -> str:
    """Run a cycle now, set the schedule, and see every cycle's figures."""
    expression = match_settings.current()["schedule"]
    form = ScheduleForm.showing(expression, current_app.config["MATCH_SCHEDULE"])
    return render_template("coordinators/cycles.html", form=form, **_cycles_context())


def _cycles_context() -> dict[str, Any]:
    return {
        "history": cycles.recent_cycles(30),
        "next_run": match_settings.next_run(),
        "default_schedule": current_app.config["MATCH_SCHEDULE"],
        "timezone": current_app.config["SCHEDULER_TIMEZONE"],
        "settings": match_settings.current(),
        "factor_labels": FACTOR_LABELS,
    }


@bp.route("/cycles/run", methods=["POST"])
def run_cycle() -> Response:
    """Ask for a matching cycle now: the scheduler process runs it, never this request."""
    if not ScheduleForm().validate_on_submit():
        abort(400)
    try:
        cycle = cycles.request_cycle(trigger="manual", started_by=current_user)
    except cycles.CycleBusy as error:
        flash_refusal(error, "warning")
        return redirect(url_for(".cycles"))
    flash(_queued(cycle.id), "info")
    return redirect(url_for(".cycles"))


def _queued(cycle_id: int) -> str:
    return _(
        "Cycle #%(id)s is queued: the scheduler starts it within a few seconds. This page "
        "shows how it goes.",
        id=cycle_id,
    )


@bp.route("/cycles/schedule", methods=["POST"])
def schedule() -> Response | tuple[str, int]:
    """Change when cycles run by themselves (a cron expression)."""
    form = ScheduleForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        picker = form.picker() if request.form.get("action") == "picker" else None
        match_settings.set_schedule(form.schedule.data or "", current_user, picker=picker)
    except InvalidInput as error:
        return rerender("coordinators/cycles.html", form, error, **_cycles_context())
    flash(_("The schedule is saved. The scheduler picks it up within a minute."), "success")
    return redirect(url_for(".cycles"))


@bp.route("/settings", methods=["GET", "POST"])
def settings() -> Response | str | tuple[str, int]:
    """The weights of the criteria and the cycle's options, with a preview before saving."""
    saved = match_settings.current()
    if request.method == "GET":
        return _settings_page(SettingsForm.showing(saved), saved)
    form = SettingsForm()
    if not form.validate():
        abort(400)
    try:
        if request.form.get("action") == "save":
            return _save_settings(form)
        result = tuning.preview(settings_input(form))
    except InvalidInput as error:
        return rerender("coordinators/settings.html", form, error, **_settings_context(saved))
    return _settings_page(form, saved, preview=result)


def _save_settings(form: SettingsForm) -> Response:
    match_settings.save(settings_input(form), current_user)
    flash(_("The settings are saved; the next cycle uses them."), "success")
    return redirect(url_for(".settings"))


def _settings_page(
    form: SettingsForm, saved: dict[str, Any], preview: tuning.Preview | None = None
) -> str:
    return render_template(
        "coordinators/settings.html", form=form, preview=preview, **_settings_context(saved)
    )


def _settings_context(saved: dict[str, Any]) -> dict[str, Any]:
    return {
        "saved": saved,
        "factors": FACTORS,
        "factor_labels": FACTOR_LABELS,
        "learned_in_force": learned_weights.status_source() == "adopted",
    }


# --- learned weights ------------------------------------------------------------------------------


@bp.get("/learned-weights", endpoint="learned_weights")
def learned_weights_page() -> str:
    """Current vs suggested weights per side, the held-out figures, Adopt / Keep, roll-back."""
    return render_template(
        "coordinators/learned_weights.html",
        form=CsrfOnlyForm(),
        factors=FACTORS,
        factor_labels=FACTOR_LABELS,
        **tuning.learned_weights_review(),
    )


def _learned_action(action: Any, success: str) -> Response:
    if not CsrfOnlyForm().validate():
        abort(400)
    try:
        action()
    except DomainError as error:
        flash_refusal(error)
        return redirect(url_for(".learned_weights"))
    flash(success, "success")
    return redirect(url_for(".learned_weights"))


@bp.post("/learned-weights/train")
def learned_weights_train() -> Response:
    """Learn from the answers so far (adopts nothing)."""
    return _learned_action(
        lambda: learned_weights.train(current_user),
        _("New suggestion computed. Nothing changes until you adopt it."),
    )


@bp.post("/learned-weights/adopt")
def learned_weights_adopt() -> Response:
    """Use a report's weights from the next cycle."""
    report_id = request.form.get("report_id", type=int) or 0
    return _learned_action(
        lambda: learned_weights.adopt(report_id, current_user),
        _("Adopted: the next cycle uses these weights."),
    )


@bp.post("/learned-weights/keep")
def learned_weights_keep() -> Response:
    """Keep the weights in force; the suggestion is noted as declined."""
    report_id = request.form.get("report_id", type=int) or 0
    return _learned_action(
        lambda: learned_weights.keep(report_id, current_user),
        _("Kept the weights in force."),
    )


@bp.post("/learned-weights/rollback")
def learned_weights_rollback() -> Response:
    """Put an earlier weight set back in force, or the settings' own weights."""
    adoption_id = request.form.get("adoption_id", type=int)
    if adoption_id:
        action: Any = lambda: learned_weights.roll_back(adoption_id, current_user)  # noqa: E731
    else:
        action = lambda: learned_weights.back_to_settings(current_user)  # noqa: E731
    return _learned_action(action, _("Rolled back: the next cycle uses that set."))
