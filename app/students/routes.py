"""Student pages: sign-up, dashboard, profile, CV."""

from __future__ import annotations

from collections.abc import Hashable
from types import SimpleNamespace

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from app.forms import CsrfOnlyForm, step_errors
from app.i18n import current_locale
from app.models import MatchStatus, Role
from app.schemas import StudentSignup
from app.security import check_role
from app.services import (
    accounts,
    consents,
    decisions,
    match_settings,
    profiles,
    reviews,
    threads,
    uploads,
    visibility,
)
from app.services.errors import InvalidInput
from app.services.validation import validate
from app.signing import csrf_token
from app.students.forms import (
    FIELD_STEPS,
    SIGNUP_STEPS,
    CVForm,
    StudentProfileForm,
    StudentSignupForm,
)
from app.templating import PAGE_PARTS, kept_words
from app.transaction import reads_only
from app.web import answer_proposal, flash_refusal, rerender, send_cv, sign_up

bp = Blueprint("students", __name__)

PUBLIC_ENDPOINTS = {"students.signup", "students.signup_check"}


@bp.before_request
def _students_only() -> None:
    if request.endpoint not in PUBLIC_ENDPOINTS:
        check_role(Role.STUDENT)


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> Response | str | tuple[str, int]:
    """Apply to the programme: account, languages and markets, studies, consent (one form shown
    in steps; one POST creates the account), then the CV page."""
    welcome = _(
        "Welcome! Your application is saved. We will email you when an SME is proposed to you."
    )
    steps = [(key, str(label)) for key, label in SIGNUP_STEPS]
    return sign_up(
        StudentSignupForm(),
        "students/signup.html",
        steps,
        accounts.register_student,
        welcome,
        ".signup_cv",
    )


@bp.route("/signup/check", methods=["POST"])
def signup_check() -> Response:
    """One step of the sign-up form checked by the same rules as the whole (nothing is saved):
    the messages of that step's fields, by field name, for the page's script."""
    if current_user.is_authenticated:
        abort(403)  # signing up is for people without an account
    form = StudentSignupForm()
    step = request.form.get("step", type=int) or 0
    try:
        validate(StudentSignup, form.signup_input())
        errors: dict[str, list[str]] = {}
    except InvalidInput as error:
        errors = step_errors(form, error, FIELD_STEPS, step)
    return jsonify({"step": step, "errors": errors})


@bp.route("/signup/cv", methods=["GET", "POST"])
def signup_cv() -> Response | str:
    """The last step of signing up: a CV, if the student has one at hand (or later)."""
    steps = [(key, str(label)) for key, label in SIGNUP_STEPS]
    if request.method == "POST":
        if _save_cv(request.files.get("cv")):
            return redirect(url_for(".dashboard"))
    return render_template("students/signup_cv.html", form=CVForm(), signup_steps=steps)


@bp.route("/")
def dashboard() -> str:
    """What happens next, for this student."""
    student = current_user.student
    matches = reviews.proposals_for_student(student)
    return render_template(
        "students/dashboard.html",
        student=student,
        consent=consents.current_consent(current_user),
        matches=matches,
        steps=reviews.timeline(student, matches),
        completeness=profiles.student_completeness(student),
        next_cycle=match_settings.next_run(),
        unread=threads.unread_counts(current_user, [m.id for m in matches]),
        button=CsrfOnlyForm(),
    )


@bp.route("/proposals")
@reads_only
def proposals() -> str:
    """The SMEs proposed to this student, why, and what to answer."""
    listed = reviews.student_proposals(current_user.student.id)  # plain rows, not ORM objects
    matches = listed.rows
    changeable = decisions.changeable(matches, "student")
    token = csrf_token()
    return render_template(
        "students/proposals.html",
        cards=_proposal_cards(matches, changeable, token),
        page_csrf=token,
        decline_reasons=decisions.decline_reason_labels(),
        changeable=changeable,
        next_cycle=listed.next_run(),
        t=kept_words("students.proposals", PROPOSAL_WORDS),
    )


def _proposal_cards(
    matches: list[reviews.ProposalRow], changeable: set[int], token: str
) -> list[tuple[reviews.ProposalRow, Hashable, Markup | None]]:
    """Each shown card's match, key and kept HTML (None: the template renders it). A card is
    kept rendered (app.templating.PAGE_PARTS) under all it shows: the language, where the app
    is mounted, whether the answer can be changed and the row with its SME (`ProposalRow.key`).
    Looked up here in one loop; a `{% call %}` per card cost the template a macro and two calls
    even when kept (issue 14)."""
    page = ("proposal-card", current_locale(), request.script_root)
    keyed = (
        (match, (*page, match.id in changeable, match.key))
        for match in matches
        if match.status != MatchStatus.WITHDRAWN
    )
    return PAGE_PARTS.kept_rows(keyed, token)


# What every proposal card repeats (`t` in the template), translated once per language.
PROPOSAL_WORDS = {
    "title": _l("Proposals"),
    "why": _l("Why you were proposed"),
    "products": _l("Products"),
    "markets": _l("Target markets"),
    "exporting": _l("Already exporting"),
    "yes": _l("Yes"),
    "no": _l("No"),
    "decline": _l("Decline this proposal"),
    "declined": _l("You declined. Changed your mind?"),
}


@bp.route("/proposals/<int:match_id>/decision", methods=["POST"])
def decide(match_id: int) -> Response:
    """Accept or decline one proposal."""
    visibility.get_visible_match(match_id, current_user)  # 404 unless it is this student's
    return answer_proposal(match_id, "students.proposals")


@bp.route("/proposals/<int:match_id>/answer", methods=["POST"])
def change_answer(match_id: int) -> Response:
    """Change an answer given, until a coordinator acts on it (a decline undone restores it)."""
    visibility.get_visible_match(match_id, current_user)  # 404 unless it is this student's
    return answer_proposal(match_id, "students.proposals", change=True)


@bp.route("/participation", methods=["POST"])
def participation() -> Response:
    """Pause or resume taking part in matching cycles."""
    paused = request.form.get("paused") == "1"
    withdrawn = reviews.set_paused(current_user, paused)
    if paused:
        flash(_paused_message(withdrawn), "info")
    else:
        flash(_("Welcome back: you take part in the next matching cycle."), "success")
    return redirect(url_for(".dashboard"))


def _paused_message(withdrawn: int) -> str:
    if not withdrawn:
        return _("You are paused and will not be proposed to SMEs.")
    return ngettext(
        "You are paused and will not be proposed to SMEs. %(num)s open proposal was withdrawn.",
        "You are paused and will not be proposed to SMEs. %(num)s open proposals were withdrawn.",
        withdrawn,
    )


@bp.route("/profile")
def profile() -> str:
    """The student's profile as SMEs and coordinators see it."""
    return render_template(
        "students/profile.html",
        student=current_user.student,
        completeness=profiles.student_completeness(current_user.student),
        cv_form=CVForm(),
        button=CsrfOnlyForm(),
    )


@bp.route("/profile/edit", methods=["GET", "POST"])
def edit_profile() -> Response | str | tuple[str, int]:
    """Change the profile; the next matching cycle uses it."""
    student = current_user.student
    form = StudentProfileForm(obj=None if request.method == "POST" else _form_data(student))
    if form.is_submitted():
        try:
            profiles.update_student(current_user, form.profile_input())
        except InvalidInput as error:
            return rerender("students/edit.html", form, error)
        flash(_("Your profile is saved."), "success")
        return redirect(url_for(".profile"))
    return render_template("students/edit.html", form=form)


def _form_data(student):  # type: ignore[no-untyped-def]
    """An object with the form's field names, for pre-filling the edit form."""

    data = profiles.student_dict(student)
    data["topik_level"] = str(student.topik_level)
    data["hours_per_week"] = str(student.hours_per_week)
    data["available_from"] = data["available_from"] or ""
    data["available_until"] = data["available_until"] or ""
    data["degree_level"] = data["degree_level"] or ""
    data["year_of_study"] = str(data["year_of_study"] or "")
    data["expected_graduation"] = data["expected_graduation"] or ""
    data["in_korea_since"] = data["in_korea_since"] or ""
    data["languages"] = [SimpleNamespace(**row) for row in student.languages]
    return SimpleNamespace(**data)


@bp.route("/cv", methods=["POST"])
def upload_cv() -> Response | tuple[str, int]:
    """Upload or replace the CV (PDF, 5 MB at most)."""
    _save_cv(request.files.get("cv"))
    return redirect(url_for(".profile"))


def _save_cv(file) -> bool:  # type: ignore[no-untyped-def]
    """Store an uploaded CV, with a message either way; True when it was saved."""
    if file is None or not file.filename:
        flash_refusal(InvalidInput.single("cv", "no_file"))
        return False
    try:
        uploads.save_cv(current_user.student, file.stream)  # published when the request commits
    except InvalidInput as error:
        flash_refusal(error)
        return False
    flash(_("Your CV is saved."), "success")
    return True


@bp.route("/cv")
def download_cv() -> Response:
    """The student's own CV, as an attachment."""
    student = current_user.student
    if not student.cv_stored_name:
        abort(404)
    return send_cv(student)


@bp.route("/cv/delete", methods=["POST"])
def delete_cv() -> Response:
    """Remove the CV."""
    uploads.remove_cv(current_user.student)  # the file goes when the request commits
    flash(_("Your CV is removed."), "success")
    return redirect(url_for(".profile"))
