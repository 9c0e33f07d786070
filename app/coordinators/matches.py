"""Coordinator pages for matches: the filtered list with bulk decisions, one match, pairing by hand,
and the students no SME fits yet."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.coordinators.common import bp, page_number
from app.coordinators.forms import BulkForm, MatchActionForm, PairForm
from app.extensions import db
from app.forms import apply_errors
from app.i18n import error_message, translate_errors
from app.models import SME, Match, Student
from app.services import (
    audit,
    audit_words,
    cycles,
    decisions,
    directory,
    engine_gateway,
    match_settings,
)
from app.services.errors import DomainError, InvalidInput, NotFound, UnknownReference
from app.services.explanations import block_text, reason_text


def _words(error: DomainError) -> list[str]:
    """A refusal in the reader's words."""
    if isinstance(error, InvalidInput):
        return [m for messages in translate_errors(error.fields).values() for m in messages]
    if isinstance(error, NotFound):
        return [_("This match does not exist.")]
    return [_("This action is not allowed here.")]


def _refusal(code: str) -> str:
    return _("This match does not exist.") if code == "not_found" else error_message(code, {})


# --- matches ----------------------------------------------------------------------------------


@bp.route("/matches")
def matches() -> str:
    """Every match, filtered, with bulk approve and reject."""
    filters = directory.MatchFilters.from_args(request.args)
    page = directory.page_of(directory.match_query(filters), page_number())
    html = render_template(
        "coordinators/matches.html",
        page=page,
        filters=asdict(filters),
        form=BulkForm(),
        cycles=cycles.recent_cycles(50),
        statuses=directory.MATCH_STATUSES,
    )
    audit.record("matches_listed", detail={"page": page.page, **asdict(filters)})
    return html


@bp.route("/matches/ready")
def ready() -> str:
    """Proposals both sides accepted, oldest first: the coordinator's queue, approved in bulk."""
    filters = directory.MatchFilters(status=directory.READY)
    page = directory.page_of(directory.match_query(filters), page_number())
    html = render_template("coordinators/ready.html", page=page, form=BulkForm(), filters={})
    audit.record("ready_listed", detail={"page": page.page})
    return html


@bp.route("/matches/bulk", methods=["POST"])
def bulk() -> Response:
    """Approve or reject the ticked proposals; say how many, and why the others were refused."""
    form = BulkForm()
    if not form.validate_on_submit():
        abort(400)
    ids = [int(v) for v in request.form.getlist("match_ids") if _id(v) is not None]
    action = request.form.get("action", "")
    back = _bulk_back()
    if not ids:
        flash(_("Tick at least one match first."), "warning")
        return redirect(back)
    try:
        result = decisions.bulk(action, ids, current_user, reason=form.reason.data or "")
    except InvalidInput as error:
        db.session.rollback()  # nothing of a refused batch is kept (the redirect would commit)
        flash(" ".join(_words(error)), "danger")
        return redirect(back)
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


def _bulk_back() -> str:
    """Where the bulk form came from: the queue, or the list with its filters."""
    if request.form.get("queue") == directory.READY:
        page = request.form.get("page", "")
        return url_for(".ready", page=page) if page.isdigit() else url_for(".ready")
    return url_for(".matches", **_filter_args())


def _filter_args() -> dict[str, Any]:
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
                flash(_done_message(action), "success")
                return redirect(url_for(".match", match_id=match_id))
        db.session.rollback()
        match = db.get_or_404(Match, match_id)
        messages = _words(error)
        if isinstance(error, InvalidInput) and "reason" in error.fields:
            form.reason.errors = translate_errors(error.fields)["reason"]
        return _match_page(match, form, messages), error.status
    audit.record("match_viewed", target=match)
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
    reasons = sorted(match.reasons or [], key=lambda r: -r.get("weight", 0))
    return render_template(
        "coordinators/match.html",
        match=match,
        form=form,
        form_errors=messages or [],
        reasons=[(r, reason_text(r)) for r in reasons],
        history=audit_words.match_history(match.id),
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
    except NotFound:
        error = error or InvalidInput.single(
            "student_id" if db.session.get(Student, student_id or 0) is None else "sme_id",
            "unknown_code",
            code="",
        )
    if error is not None:
        form_errors = apply_errors(form, error.fields)
        return (
            render_template(
                "coordinators/pair.html", form=form, form_errors=form_errors, **context
            ),
            # an id typed into the form that names nobody is a field to correct, not a missing page
            422 if isinstance(error, UnknownReference) else error.status,
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
