"""Coordinator pages: the programme at a glance, every student, SME and match, the cycles, the
weights, CSV in and out, and the audit trail.

Thin views: form → one service call → flash → redirect. Access is checked once, below.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.coordinators.forms import (
    FACTOR_LABELS,
    BulkForm,
    ImportForm,
    MatchActionForm,
    PairForm,
    ScheduleForm,
    SettingsForm,
    settings_input,
    show_errors,
)
from app.extensions import db
from app.forms import CsrfOnlyForm
from app.i18n import error_message, translate_errors
from app.models import SME, AuditEvent, Match, Role, Student, User
from app.security import check_role
from app.services import (
    accounts,
    audit,
    checkins,
    cycles,
    decisions,
    directory,
    engine_gateway,
    exports,
    imports,
    learned_weights,
    mail,
    match_settings,
    stats,
    tuning,
    verification,
)
from app.services.errors import DomainError, InvalidInput, TooManyAttempts
from app.services.explanations import block_text, reason_text
from app.students.routes import send_cv
from matching import FACTORS

bp = Blueprint("coordinators", __name__)


@bp.before_request
def _coordinators_only() -> None:
    check_role(Role.COORDINATOR)


@bp.context_processor
def _visa_rules() -> dict[str, Any]:
    # Cheap: the engine parses the rule files once per process.
    return {"visa_rules": engine_gateway.rules_in_force()}


MAX_PAGE = 100_000  # far past any real list; keeps OFFSET within a 64-bit integer


def _page() -> int:
    page = request.args.get("page", 1, type=int) or 1
    return min(max(page, 1), MAX_PAGE)


def _words(error: DomainError) -> list[str]:
    """A refusal in the reader's words."""
    if isinstance(error, InvalidInput):
        return [m for messages in translate_errors(error.fields).values() for m in messages]
    if isinstance(error, decisions.NotFound):
        return [_("This match does not exist.")]
    return [_("This action is not allowed here.")]


def _refusal(code: str) -> str:
    return _("This match does not exist.") if code == "not_found" else error_message(code, {})


# --- the programme ----------------------------------------------------------------------------


@bp.route("/")
def dashboard() -> str:
    """The programme at a glance: charts, with the same numbers as tables."""
    return render_template(
        "coordinators/dashboard.html",
        counts=directory.counts(),
        stats=stats.programme(),
        targets=stats.targets_json(),
        attention=checkins.needs_attention(),
    )


@bp.route("/stats.json")
def stats_json() -> Response:
    """The dashboard's numbers, for the charts (and for anyone who wants them as JSON)."""
    return jsonify({**stats.programme().as_json(), **stats.targets_json()})


@bp.route("/targets.csv")
def targets_csv() -> Response:
    """The programme's targets and the funnel per cycle and per cohort, as CSV."""
    audit.record("csv_exported", detail={"kind": "targets"})
    db.session.commit()
    return Response(
        stats.targets_csv(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": "attachment; filename=kexport-targets.csv",
            "Content-Type": "text/csv; charset=utf-8",
        },
    )


# --- matches ----------------------------------------------------------------------------------


@bp.route("/matches")
def matches() -> str:
    """Every match, filtered, with bulk approve and reject."""
    filters = directory.MatchFilters.from_args(request.args)
    page = directory.page_of(directory.match_query(filters), _page())
    html = render_template(
        "coordinators/matches.html",
        page=page,
        filters=asdict(filters),
        form=BulkForm(),
        cycles=cycles.recent_cycles(50),
        statuses=directory.MATCH_STATUSES,
    )
    # Recorded after rendering: a commit before it would expire the rows the page reads.
    audit.record("matches_listed", detail={"page": page.page, **asdict(filters)})
    db.session.commit()
    return html


@bp.route("/matches/bulk", methods=["POST"])
def bulk() -> Response:
    """Approve or reject the ticked proposals; say how many, and why the others were refused."""
    form = BulkForm()
    if not form.validate_on_submit():
        abort(400)
    ids = [int(v) for v in request.form.getlist("match_ids") if _id(v) is not None]
    action = request.form.get("action", "")
    back = url_for(".matches", **_filter_args())
    if not ids:
        flash(_("Tick at least one match first."), "warning")
        return redirect(back)
    try:
        result = decisions.bulk(action, ids, current_user, reason=form.reason.data or "")
    except InvalidInput as error:
        flash(" ".join(_words(error)), "danger")
        return redirect(back)
    db.session.commit()
    mail.kick()
    if result.done:
        message = (
            ngettext("%(num)d match approved.", "%(num)d matches approved.", len(result.done))
            if action == "approve"
            else ngettext("%(num)d match rejected.", "%(num)d matches rejected.", len(result.done))
        )
        flash(message, "success")
    for match_id, code in sorted(result.failed.items()):
        flash(_("Match #%(id)s: %(reason)s", id=match_id, reason=_refusal(code)), "warning")
    return redirect(back)


def _filter_args() -> dict[str, str]:
    """The list's filters, carried through the bulk form: the coordinator lands where they were."""
    names = [f.name for f in directory.MatchFilters.__dataclass_fields__.values()] + ["page"]
    return {n: request.form[n] for n in names if request.form.get(n)}


@bp.route("/matches/<int:match_id>", methods=["GET", "POST"])
def match(match_id: int) -> Response | str | tuple[str, int]:
    """One match: every reason, both decisions, its history; approve, reject, activate, complete."""
    match = db.get_or_404(Match, match_id)
    form = MatchActionForm()
    if form.is_submitted():
        if not form.validate():
            abort(400)
        action = request.form.get("action", "")
        reason = form.reason.data or ""
        steps: dict[str, Any] = {
            "approve": lambda: decisions.approve(match_id, current_user),
            "override": lambda: decisions.approve(
                match_id, current_user, override_reason=reason or ""
            ),
            "reject": lambda: decisions.reject(match_id, current_user, reason=reason),
            "activate": lambda: decisions.activate(match_id, current_user),
            "complete": lambda: decisions.complete(
                match_id, current_user, outcome=form.outcome.data or "none"
            ),
        }
        if action not in steps:
            abort(400)
        if action == "override" and not reason.strip():
            error: DomainError = InvalidInput.single("reason", "missing")
        else:
            try:
                steps[action]()
            except DomainError as caught:
                error = caught
            else:
                db.session.commit()
                mail.kick()
                flash(_done_message(action), "success")
                return redirect(url_for(".match", match_id=match_id))
        db.session.rollback()
        match = db.get_or_404(Match, match_id)
        messages = _words(error)
        if isinstance(error, InvalidInput) and "reason" in error.fields:
            form.reason.errors = translate_errors(error.fields)["reason"]
        return _match_page(match, form, messages), error.status
    audit.record("match_viewed", target=match)
    db.session.commit()
    return _match_page(match, form)


def _done_message(action: str) -> str:
    return {
        "approve": _("The match is approved."),
        "override": _("The match is approved (override recorded)."),
        "reject": _("The match is rejected."),
        "activate": _("The match is now active."),
        "complete": _("The match is completed."),
    }[action]


def _match_page(match: Match, form: MatchActionForm, messages: list[str] | None = None) -> str:
    history = db.session.execute(
        db.select(AuditEvent, User.email)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.target_type == "match", AuditEvent.target_id == match.id)
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    reasons = sorted(match.reasons or [], key=lambda r: -r.get("weight", 0))
    return render_template(
        "coordinators/match.html",
        match=match,
        form=form,
        form_errors=messages or [],
        reasons=[(r, reason_text(r)) for r in reasons],
        history=history,
        outcomes=decisions.OUTCOMES,
        decline_reasons=decisions.DECLINE_REASONS,
    )


@bp.route("/pair", methods=["GET", "POST"])
def pair() -> Response | str | tuple[str, int]:
    """Pair any student with any SME: search, preview the model's view of the pair, then create."""
    form = PairForm(formdata=request.form if request.method == "POST" else request.args)
    student_q = directory._search_text({"q": request.args.get("student_q")})
    sme_q = directory._search_text({"q": request.args.get("sme_q")})
    context: dict[str, Any] = {
        "student_q": student_q,
        "sme_q": sme_q,
        "student_options": db.session.scalars(
            directory.student_query(directory.StudentFilters(q=student_q)).limit(50)
        ).all(),
        "sme_options": db.session.scalars(
            directory.sme_query(directory.SMEFilters(q=sme_q)).limit(50)
        ).all(),
    }
    student_id, sme_id = _id(form.student_id.data), _id(form.sme_id.data)
    error: InvalidInput | None = None
    searching = request.method == "GET" and "preview" not in request.args
    if searching and (student_id is None or sme_id is None):
        audit.record(
            "pair_searched",
            detail={
                "students": len(context["student_options"]),
                "smes": len(context["sme_options"]),
            },
        )
        db.session.commit()
        return render_template("coordinators/pair.html", form=form, **context)
    if student_id is None or sme_id is None:
        fields = {}
        if student_id is None:
            fields["student_id"] = [{"type": "missing", "ctx": {}}]
        if sme_id is None:
            fields["sme_id"] = [{"type": "missing", "ctx": {}}]
        error = InvalidInput(fields)
    elif request.method == "POST":
        if not form.validate():
            abort(400)
        try:
            created = decisions.pair(
                student_id,
                sme_id,
                current_user,
                reason=form.reason.data or "",
                override=bool(form.override.data),
            )
        except InvalidInput as caught:
            db.session.rollback()
            error = caught
        else:
            db.session.commit()
            mail.kick()
            flash(
                _("The pair is proposed. Both sides are told and can accept or decline."), "success"
            )
            return redirect(url_for(".match", match_id=created.id))
    try:
        context["preview"] = _pair_preview(student_id, sme_id)
        if request.method == "GET" and context["preview"]:
            audit.record(
                "pair_previewed", target=context["preview"]["student"], detail={"sme_id": sme_id}
            )
            db.session.commit()
    except decisions.NotFound:
        error = error or InvalidInput.single(
            "student_id" if db.session.get(Student, student_id or 0) is None else "sme_id",
            "unknown_code",
            code="",
        )
    if error is not None:
        form_errors = show_errors(form, error.fields)
        return (
            render_template(
                "coordinators/pair.html", form=form, form_errors=form_errors, **context
            ),
            error.status,
        )
    return render_template("coordinators/pair.html", form=form, **context)


@bp.route("/no-fit")
def no_fit() -> str:
    """Students for whom no SME is acceptable yet, their closest SMEs and what is missing."""
    settings = match_settings.current()
    rows = engine_gateway.no_fit_yet(match_settings.engine_weights(), settings["expiry_days"])
    students = {
        s.id: s
        for s in db.session.scalars(
            select(Student).where(Student.id.in_([r.student_id for r in rows]))
        )
    }
    smes = {
        s.id: s
        for s in db.session.scalars(
            select(SME).where(SME.id.in_({c.sme_id for r in rows for c in r.closest}))
        )
    }
    return render_template("coordinators/no_fit.html", rows=rows, students=students, smes=smes)


def _id(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


def _pair_preview(student_id: int | None, sme_id: int | None) -> dict[str, Any] | None:
    """The pair as the next cycle would see it (score, reasons, what blocks it), before
    anything is written: the same answer as GET /api/v1/pairs/{student_id}/{sme_id}."""
    if student_id is None or sme_id is None:
        return None
    check = engine_gateway.check_pair(student_id, sme_id, match_settings.engine_weights())
    return {
        "student": db.session.get(Student, student_id),
        "sme": db.session.get(SME, sme_id),
        "score": check.score,
        "student_view": check.student_view,
        "sme_view": check.sme_view,
        "acceptable": check.acceptable,
        "blocks": [block_text(code, check.blocked_params.get(code)) for code in check.blocked],
        "reasons": [
            (r, reason_text(r)) for r in sorted(check.reasons, key=lambda r: -r.get("weight", 0))
        ],
    }


# --- cycles, schedule, settings -------------------------------------------------------------


@bp.route("/cycles", endpoint="cycles")
def cycles_page() -> str:
    """Run a cycle now, set the schedule, and see every cycle's figures."""
    return _cycles_page(ScheduleForm(schedule=match_settings.current()["schedule"] or ""))


def _cycles_page(form: ScheduleForm, form_errors: list[str] | None = None) -> str:
    next_run = match_settings.next_run()
    return render_template(
        "coordinators/cycles.html",
        form=form,
        form_errors=form_errors or [],
        history=cycles.recent_cycles(30),
        next_run=next_run,
        default_schedule=current_app.config["MATCH_SCHEDULE"],
        timezone=current_app.config["SCHEDULER_TIMEZONE"],
        settings=match_settings.current(),
        factor_labels=FACTOR_LABELS,
    )


@bp.route("/cycles/run", methods=["POST"])
def run_cycle() -> Response:
    """Ask for a matching cycle now: the scheduler process runs it, never this request."""
    if not ScheduleForm().validate_on_submit():
        abort(400)
    try:
        cycle = cycles.request_cycle(trigger="manual", started_by=current_user)
    except cycles.CycleBusy:
        flash(_("A cycle is already queued or running. Try again when it has finished."), "warning")
        return redirect(url_for(".cycles"))
    db.session.commit()
    flash(
        _(
            "Cycle #%(id)s is queued: the scheduler starts it within a few seconds. This page "
            "shows how it goes.",
            id=cycle.id,
        ),
        "info",
    )
    return redirect(url_for(".cycles"))


@bp.route("/cycles/schedule", methods=["POST"])
def schedule() -> Response | tuple[str, int]:
    """Change when cycles run by themselves (a cron expression)."""
    form = ScheduleForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        match_settings.set_schedule(form.schedule.data or "", current_user)
    except InvalidInput as error:
        db.session.rollback()
        form_errors = show_errors(form, error.fields)
        return _cycles_page(form, form_errors), error.status
    db.session.commit()
    flash(_("The schedule is saved. The scheduler picks it up within a minute."), "success")
    return redirect(url_for(".cycles"))


@bp.route("/settings", methods=["GET", "POST"])
def settings() -> Response | str | tuple[str, int]:
    """The weights of the criteria and the cycle's options, with a preview before saving."""
    saved = match_settings.current()
    if request.method == "GET":
        values = {f"weight_{f}": _plain(saved["weights"][f]) for f in FACTORS}
        form = SettingsForm(
            data={
                "mode": saved["mode"],
                "candidates_k": str(saved["candidates_k"]),
                "expiry_days": str(saved["expiry_days"]),
                **values,
            }
        )
        return _settings_page(form, saved)
    form = SettingsForm()
    if not form.validate():
        abort(400)
    data = settings_input(form)
    try:
        if request.form.get("action") == "save":
            match_settings.save(data, current_user)
            db.session.commit()
            flash(_("The settings are saved; the next cycle uses them."), "success")
            return redirect(url_for(".settings"))
        result = tuning.preview(data)
    except InvalidInput as error:
        db.session.rollback()
        return _settings_page(form, saved, show_errors(form, error.fields)), error.status
    return _settings_page(form, saved, preview=result)


def _plain(number: float) -> str:
    return f"{number:g}"


def _settings_page(
    form: SettingsForm,
    saved: dict[str, Any],
    form_errors: list[str] | None = None,
    preview: tuning.Preview | None = None,
) -> str:
    return render_template(
        "coordinators/settings.html",
        form=form,
        saved=saved,
        form_errors=form_errors or [],
        preview=preview,
        factors=FACTORS,
        factor_labels=FACTOR_LABELS,
        learned_in_force=learned_weights.status_source() == "adopted",
    )


# --- learned weights ------------------------------------------------------------------------------


@bp.get("/learned-weights", endpoint="learned_weights")
def learned_weights_page() -> str:
    """Current vs suggested weights per side, the held-out figures, Adopt / Keep, roll-back."""
    state = learned_weights.status()
    report = state.latest
    preview = None
    adopted_ids = {a.report_id for a in state.history if a.report_id}
    if report is not None and report.better and report.id not in adopted_ids and not state.needed:
        preview = tuning.preview_weights(report.weights)
    return render_template(
        "coordinators/learned_weights.html",
        state=state,
        report=report,
        preview=preview,
        adopted_ids=adopted_ids,
        form=CsrfOnlyForm(),
        factors=FACTORS,
        factor_labels=FACTOR_LABELS,
    )


def _learned_action(action: Any, success: str) -> Response:
    if not CsrfOnlyForm().validate():
        abort(400)
    try:
        action()
    except DomainError as error:
        db.session.rollback()
        flash(learned_weights.message(error), "danger")
        return redirect(url_for(".learned_weights"))
    db.session.commit()
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


@bp.route("/students")
def students() -> str:
    """Every student, filtered by nationality, language, market, industry, region."""
    filters = directory.StudentFilters.from_args(request.args)
    page = directory.page_of(directory.student_query(filters), _page())
    audit.record("students_listed", detail={"page": page.page, **asdict(filters)})
    db.session.commit()
    return render_template("coordinators/students.html", page=page, filters=asdict(filters))


@bp.route("/students/<int:student_id>")
def student(student_id: int) -> str:
    """One student's whole profile."""
    student = db.get_or_404(Student, student_id)
    audit.record("student_viewed", target=student)
    db.session.commit()
    return render_template(
        "coordinators/student.html",
        student=student,
        consent=accounts.current_consent(student.user),
    )


@bp.route("/students/<int:student_id>/cv")
def student_cv(student_id: int) -> Response:
    """A student's CV, as an attachment."""
    student = db.get_or_404(Student, student_id)
    if not student.cv_stored_name:
        abort(404)
    audit.record("cv_downloaded", target=student)
    db.session.commit()
    return send_cv(student)


@bp.route("/smes")
def smes() -> str:
    """Every SME, filtered by language, market, industry, region."""
    filters = directory.SMEFilters.from_args(request.args)
    page = directory.page_of(directory.sme_query(filters), _page())
    html = render_template("coordinators/smes.html", page=page, filters=asdict(filters))
    audit.record("smes_listed", detail={"page": page.page, **asdict(filters)})
    db.session.commit()  # after rendering: a commit before it would expire the rows
    return html


@bp.route("/smes/<int:sme_id>")
def sme(sme_id: int) -> str:
    """One SME's whole profile."""
    sme = db.get_or_404(SME, sme_id)
    audit.record("sme_viewed", target=sme)
    db.session.commit()
    return render_template("coordinators/sme.html", sme=sme)


@bp.route("/users/<int:user_id>/verification", methods=["POST"])
def resend_verification(user_id: int) -> Response:
    """Send a student or an SME their email confirmation link again."""
    user = db.get_or_404(User, user_id)
    try:
        sent = verification.send_link(user, actor=current_user._get_current_object())
    except TooManyAttempts:
        db.session.rollback()
        flash(_("Three links were sent in the last hour; try again later."), "warning")
    else:
        db.session.commit()
        mail.kick()
        if sent:
            flash(_("The confirmation link is sent again to %(email)s.", email=user.email), "info")
    if user.student:
        return redirect(url_for(".student", student_id=user.student.id))
    if user.sme:
        return redirect(url_for(".sme", sme_id=user.sme.id))
    return redirect(url_for(".dashboard"))


# --- CSV out and in ---------------------------------------------------------------------------


@bp.route("/export/<kind>.csv")
def export_csv(kind: str) -> Response:
    """Students, SMEs or matches as CSV (UTF-8 with a BOM, so Excel reads Korean)."""
    if kind not in exports.KINDS:
        abort(404)
    body, count = exports.csv_bytes(kind)
    audit.record("csv_exported", detail={"kind": kind, "rows": count})
    db.session.commit()
    return Response(
        body,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f"attachment; filename=kexport-{kind}.csv",
            "Content-Type": "text/csv; charset=utf-8",
        },
    )


@bp.route("/smes/import", methods=["GET", "POST"])
def import_smes() -> Response | str | tuple[str, int]:
    """Create SME accounts from a CSV: every row valid, or nothing written."""
    form = ImportForm()
    if not form.is_submitted():
        return render_template("coordinators/import.html", form=form, columns=imports.COLUMNS)
    if not form.validate():
        abort(400)
    upload = form.file.data
    try:
        created = imports.import_smes(
            upload.read() if upload else b"",
            current_user,
            consent_confirmed=bool(form.consent_confirmed.data),
        )
    except imports.ImportRejected as rejected:
        db.session.rollback()
        return (
            render_template(
                "coordinators/import.html",
                form=form,
                columns=imports.COLUMNS,
                report=rejected.rows,
                form_errors=rejected.messages(),
            ),
            422,
        )
    db.session.commit()
    flash(
        ngettext("%(num)d SME imported.", "%(num)d SMEs imported.", len(created)),
        "success",
    )
    return redirect(url_for(".smes"))


# --- the audit trail --------------------------------------------------------------------------


@bp.route("/audit", endpoint="audit")
def audit_log() -> tuple[str, int] | str:
    """Who did what and when, newest first, filtered."""
    filters, errors = directory.AuditFilters.from_args(request.args)
    page = directory.page_of(directory.audit_query(filters), _page(), per_page=50)
    field_errors = {name: error_message(code, {}) for name, code in errors.items()}
    body = render_template(
        "coordinators/audit.html",
        page=page,
        filters=asdict(filters),
        raw=request.args,
        field_errors=field_errors,
        actions=directory.audit_actions(),
    )
    return (body, 400) if field_errors else body
