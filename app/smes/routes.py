"""SME pages: sign-up, dashboard, profile."""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from app.forms import step_errors
from app.i18n import code_name, current_locale, error_messages
from app.models import Role
from app.schemas import SMESignup
from app.security import check_role
from app.services import (
    accounts,
    audit,
    decisions,
    outcomes,
    profiles,
    reviews,
    threads,
    visibility,
)
from app.services.errors import InvalidInput
from app.services.validation import validate
from app.signing import csrf_token
from app.smes.forms import FIELD_STEPS, SIGNUP_STEPS, SMEProfileForm, SMESignupForm
from app.templating import RenderedRows, kept_words
from app.transaction import reads_only
from app.web import answer_proposal, rerender, send_cv, sign_up

bp = Blueprint("smes", __name__)

PUBLIC_ENDPOINTS = {"smes.signup", "smes.signup_check"}


@bp.before_request
def _smes_only() -> None:
    if request.endpoint not in PUBLIC_ENDPOINTS:
        check_role(Role.SME)


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> Response | str | tuple[str, int]:
    """Register a company: account, profile and consent in one form."""
    welcome = _(
        "Welcome! Your company is registered. We will email you when students are proposed to you."
    )
    steps = [(key, str(label)) for key, label in SIGNUP_STEPS]
    return sign_up(
        SMESignupForm(), "smes/signup.html", steps, accounts.register_sme, welcome, ".dashboard"
    )


@bp.route("/signup/check", methods=["POST"])
def signup_check() -> Response:
    """One step of the sign-up form checked by the same rules as the whole (nothing is saved)."""
    if current_user.is_authenticated:
        abort(403)  # signing up is for people without an account
    form = SMESignupForm()
    step = request.form.get("step", type=int) or 0
    try:
        validate(SMESignup, form.signup_input())
        errors: dict[str, list[str]] = {}
    except InvalidInput as error:
        errors = step_errors(form, error, FIELD_STEPS, step)
    return jsonify({"step": step, "errors": errors})


@bp.route("/")
def dashboard() -> str:
    """What happens next, for this SME."""
    review = reviews.review_for_sme(current_user.sme)
    working = review.current + [m for m in review.history if m.status == "completed"]
    return render_template(
        "smes/dashboard.html",
        sme=current_user.sme,
        review=review,
        working=working,
        unread=threads.unread_counts(current_user, [m.id for m in working]),
        export_status=outcomes.export_status(current_user.sme.id),
        ladder=outcomes.LADDER,
        next_cycle=review.next_run(),
        completeness=profiles.sme_completeness(current_user.sme),
    )


@bp.route("/candidates")
@reads_only  # its audit row is written after the read (app.transaction)
def candidates() -> tuple[str, int]:
    """Every proposed student on one page, ranked, with the reasons they fit; filtered and
    sorted by the query string (a plain GET form: works without JavaScript)."""
    filter_errors: dict[str, list[str]] = {}
    try:
        filters = reviews.candidate_filters(request.args)
    except InvalidInput as error:
        filters, filter_errors = reviews.CandidateFilters(), error_messages(error)
    sme = current_user.sme
    review = reviews.review_for_sme(sme, filters)
    html = render_template("smes/candidates.html", **_candidates_context(review, filter_errors))
    # Written though the answer is a 400 (filters to correct): the page still showed the rows.
    audit.record("candidates_viewed", target=sme, detail={"students": _shown(review)})
    return html, 400 if filter_errors else 200


def _shown(review: reviews.SMEReview) -> int:
    return len(review.pending) + len(review.waiting) + len(review.current) + len(review.history)


# The candidate cards this process rendered (app.templating.RenderedRows), by `_card_keys`.
CANDIDATE_CARDS = RenderedRows()


def _card_keys(
    changeable: set[int], filter_args: dict[str, Any]
) -> Callable[[reviews.MatchRow, bool], tuple[Any, ...]]:
    """The key of a candidate card: everything `smes/_candidate.html` and the decision forms'
    macros show, so that a kept card is the one this request would render. The page's part:
    the reader's language (words, code names, reasons), where the app is mounted and the
    filters the forms carry back (the URLs); then the card's: its match and student as loaded,
    whether it has the decision buttons, and whether its answer can still be changed. The
    student's part is built once per student with the row (`reviews.StudentRow.key`)."""
    page = (current_locale(), request.script_root, tuple(sorted(filter_args.items())))

    def key(match: reviews.MatchRow, actions: bool) -> tuple[Any, ...]:
        return (
            *page,
            actions,
            match.id in changeable,
            match.id,
            match.score,
            match.sme_shortlisted,
            match.sme_decision,
            match.reasons_json,  # as stored: decoded only when the card is rendered
            match.student.key,
        )

    return key


def _candidates_context(
    review: reviews.SMEReview, filter_errors: dict[str, list[str]]
) -> dict[str, Any]:
    changeable = decisions.changeable(review.waiting + review.history, "sme")
    back_args = _filter_args()
    card_key = _card_keys(changeable, back_args)
    token = csrf_token()

    def cards(matches: list[reviews.MatchRow], actions: bool) -> list[tuple[Any, ...]]:
        """Each card's match, key and kept HTML (None: the template renders it), looked up
        here in one loop rather than by a `{% call %}` per card in the template (issue 14)."""
        return CANDIDATE_CARDS.kept_rows(((m, card_key(m, actions)) for m in matches), token)

    return {
        "sme": current_user.sme,
        "review": review,
        "decline_reasons": decisions.decline_reason_labels(),
        "filter_errors": filter_errors,
        # Built only when the filter form is rendered, not when it is kept (`filter_form_key`).
        "filter_choices": functools.partial(_filter_choices, review),
        "filter_form_key": _filter_form_key(review, filter_errors),
        "filter_labels": kept_words("smes.filter_labels", FILTER_LABELS),
        "t": kept_words("smes.candidates", CANDIDATE_WORDS),
        "back_args": back_args,
        "changeable": changeable,
        "next_cycle": review.next_run(),
        "cards": CANDIDATE_CARDS,
        "page_csrf": token,
        "pending_cards": cards(review.pending, True),
        "waiting_cards": cards(review.waiting, False),
        "current_cards": cards(review.current, False),
    }


FILTER_LABELS = {
    "language": _l("Speaks"),
    "market": _l("Knows the market"),
    "topik": _l("TOPIK at least"),
    "region": _l("Can work in"),
    "shortlisted": _l("Shortlisted only"),
    "sort": _l("Sort by"),
}

# What every candidate card repeats (`t` in the template), translated once per language.
CANDIDATE_WORDS = {
    "shortlisted": _l("Shortlisted"),
    "fit": _l("Fit score"),
    "why": _l("Why this student"),
    "languages": _l("Languages"),
    "topik": _l("Korean (TOPIK)"),
    "markets": _l("Markets"),
    "industries": _l("Industries"),
    "regions": _l("Can work in"),
    "hours": _l("Hours per week"),
    "cv": _l("Download CV (PDF)"),
    "decline": _l("Decline this candidate"),
    "shortlist": _l("Shortlist"),
    "unshortlist": _l("Remove from shortlist"),
    # The page's own headings, and the history table's, which repeats them on every row.
    "title": _l("Candidates"),
    "waiting_for_answer": _l("Waiting for your answer"),
    "you_accepted": _l("You accepted — waiting for the student or a coordinator"),
    "your_students": _l("Your students"),
    "earlier": _l("Earlier candidates"),
    "student": _l("Student"),
    "your_answer": _l("Your answer"),
    "outcome": _l("Outcome"),
    "date": _l("Date"),
}

FILTER_KEYS = ("language", "market", "topik", "region", "shortlisted", "sort")


def _filter_form_key(
    review: reviews.SMEReview, filter_errors: dict[str, list[str]]
) -> tuple[Any, ...]:
    """Everything the filter form shows (`smes/_candidate_filters.html`, kept in `PAGE_PARTS`):
    the language (its words, the codes' names), where the app is mounted (its action), the
    filters chosen, the codes offered, the errors, and how many candidates are shown of how
    many. No CSRF token: it is a GET form."""
    options = review.options
    return (
        "candidate-filters",
        current_locale(),
        request.script_root,
        review.filters,
        tuple(options.languages),
        tuple(options.markets),
        tuple(options.regions),
        tuple((field, tuple(messages)) for field, messages in filter_errors.items()),
        len(review.pending),
        review.pending_total,
    )


def _filter_choices(review: reviews.SMEReview) -> dict[str, list[tuple[str, str]]]:
    """The filters' choices, named in the reader's language and sorted as they read."""
    options = review.options
    return {
        kind: sorted(((c, code_name(kind, c)) for c in codes), key=lambda pair: pair[1])
        for kind, codes in (
            ("languages", options.languages),
            ("countries", options.markets),
            ("regions", options.regions),
        )
    }


def _filter_args() -> dict[str, Any]:
    """The list's filters, carried through a button press back to the list."""
    return {k: request.args[k][:20] for k in FILTER_KEYS if request.args.get(k)}


@bp.route("/candidates/<int:match_id>/decision", methods=["POST"])
def decide(match_id: int) -> Response:
    """Accept or decline one candidate."""
    visibility.get_visible_match(match_id, current_user)  # 404 unless this SME may see it
    return answer_proposal(match_id, "smes.candidates", _filter_args())


@bp.route("/candidates/<int:match_id>/answer", methods=["POST"])
def change_answer(match_id: int) -> Response:
    """Change an answer given, until a coordinator acts on it (a decline undone restores it)."""
    visibility.get_visible_match(match_id, current_user)  # 404 unless this SME may see it
    return answer_proposal(match_id, "smes.candidates", _filter_args(), change=True)


@bp.route("/candidates/<int:match_id>/shortlist", methods=["POST"])
def shortlist(match_id: int) -> Response:
    """Put a candidate on (or off) the shortlist."""
    reviews.toggle_shortlist(current_user, match_id)
    return redirect(url_for(".candidates", _anchor=f"match-{match_id}", **_filter_args()))


@bp.route("/candidates/<int:match_id>/cv")
def candidate_cv(match_id: int) -> Response:
    """A proposed student's CV, once the student was proposed to this SME."""
    match = visibility.get_visible_match(match_id, current_user)
    if not match.student.cv_stored_name:
        abort(404)
    audit.record("cv_downloaded", target=match.student, detail={"match_id": match.id})
    return send_cv(match.student)


@bp.route("/export-status", methods=["GET", "POST"])
def export_status() -> Response | str | tuple[str, int]:
    """The company's export status: the programme's real result, kept up to date."""
    status = outcomes.export_status(current_user.sme.id)
    page: dict[str, Any] = {"status": status, "ladder": outcomes.LADDER}
    if request.method == "GET":
        return render_template("smes/export_status.html", errors={}, values={}, **page)
    try:
        outcomes.set_export_status(current_user, _export_status_input())
    except InvalidInput as error:
        return rerender("smes/export_status.html", None, error, values=request.form, **page)
    flash(_("Your export status is saved."), "success")
    return redirect(url_for(".export_status"))


def _export_status_input() -> dict[str, Any]:
    data = {"status": request.form.get("status", ""), "markets": request.form.getlist("markets")}
    if request.form.get("first_export_on"):
        data["first_export_on"] = request.form["first_export_on"]
    return data


@bp.route("/profile")
def profile() -> str:
    """The company profile as students and coordinators see it."""
    return render_template(
        "smes/profile.html",
        sme=current_user.sme,
        completeness=profiles.sme_completeness(current_user.sme),
    )


@bp.route("/profile/edit", methods=["GET", "POST"])
def edit_profile() -> Response | str | tuple[str, int]:
    """Change the company profile; the next matching cycle uses it."""
    sme = current_user.sme
    form = SMEProfileForm(obj=None if request.method == "POST" else _form_data(sme))
    if form.is_submitted():
        try:
            profiles.update_sme(current_user, form.profile_input())
        except InvalidInput as error:
            return rerender("smes/edit.html", form, error)
        flash(_("Your company profile is saved."), "success")
        return redirect(url_for(".profile"))
    return render_template("smes/edit.html", form=form)


def _form_data(sme) -> SimpleNamespace:  # type: ignore[no-untyped-def]
    data = profiles.sme_dict(sme)
    data["capacity"] = str(sme.capacity)
    data["min_topik"] = str(sme.min_topik)
    data["ksic_section"] = sme.ksic_section or ""
    data["hours_needed"] = str(sme.hours_needed)
    data["period_start"] = data["period_start"] or ""
    data["period_end"] = data["period_end"] or ""
    return SimpleNamespace(**data)
