"""A match after approval, for its student, its SME and coordinators: contact, kickoff,
messages, work log, check-ins and outcome on one page.

Thin views: form → one service call → redirect (the request boundary commits). Who may see and
do what is decided by `workspace.visible` / `workspace.working` inside each service (one lookup
for every page and the API); a refusal with words (a broken field, a state conflict) shows the
page again, with them and a 4xx; anything else the match's readers may not see is a plain 404.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.extensions import db
from app.forms import CsrfOnlyForm
from app.i18n import error_messages
from app.models import ContactDetails, MatchStatus, Role
from app.security import check_role
from app.services import (
    checkins,
    decisions,
    kickoff,
    outcomes,
    threads,
    uploads,
    worklog,
    workspace,
)
from app.services.errors import InvalidInput
from app.transaction import commit_now
from app.web import rerender

bp = Blueprint("matches", __name__)


@bp.before_request
def _people_of_the_programme() -> None:
    check_role(Role.STUDENT, Role.SME, Role.COORDINATOR)  # CSRF: CSRFProtect, app-wide


def _page(match_id: int, *, errors: dict[str, list[str]] | None = None, section: str = "") -> str:
    access = workspace.visible(current_user, match_id)
    if access.is_party and access.match.status not in workspace.AFTER_APPROVAL:
        abort(404)  # nothing of this page exists for the parties before approval
    match = access.match
    working = match.status in workspace.AFTER_APPROVAL
    thread = threads.read(match.id, current_user) if working else None
    context: dict[str, Any] = {
        "access": access,
        "match": match,
        "contact": workspace.contact_for(access, current_user) if working else None,
        "kickoff": kickoff.get(match.id),
        "thread": thread,
        "week": worklog.this_week(match) if working else None,
        "entries": worklog.entries(match.id),
        "checkins": checkins.of_match(match.id),
        "checked_in": access.is_party and checkins.answered_this_month(match.id, access.side),
        "outcome": outcomes.outcome_of(match.id),
        "export_status": outcomes.export_status(match.sme_id),
        "kinds": worklog.KINDS,
        "activity_statuses": worklog.STATUSES,
        "ladder": outcomes.LADDER,
        "student_outcomes": outcomes.STUDENT_OUTCOMES,
        "outcome_codes": decisions.OUTCOMES,
        "errors": errors or {},
        "section": section,
        "values": request.form if errors else {},
        "button": CsrfOnlyForm(),
        "Status": MatchStatus,
    }
    return render_template("matches/workspace.html", **context)


def _refused(match_id: int, error: InvalidInput, section: str) -> tuple[str, int]:
    """The page again with the refusal's messages by field (app.i18n.error_messages, as
    web.rerender shows them). Not through rerender: this page is read after the rollback, and
    what reading it records is kept though the answer is a 4xx."""
    db.session.rollback()  # nothing of the refused change, then the page as it stands
    html = _page(match_id, errors=error_messages(error), section=section)
    commit_now()  # the read mark and the audit of the contact view stay, though this is a 4xx
    return html, error.status


def _back(match_id: int, section: str) -> Response:
    return redirect(url_for(".workspace", match_id=match_id, _anchor=section))


def _file(field: str) -> Any:
    file = request.files.get(field)
    return file.stream if file is not None and file.filename else None


def _send_pdf(stored: str, name: str) -> Response:
    response = send_file(
        uploads.path_of(stored),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=name,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/<int:match_id>", endpoint="workspace")
def workspace_page(match_id: int) -> str:
    """Everything after approval on one page."""
    return _page(match_id)


@bp.route("/<int:match_id>/messages", methods=["POST"])
def post_message(match_id: int) -> Response | tuple[str, int]:
    """Send a message (and optionally a PDF) in the match's thread."""
    try:
        threads.post(
            match_id, current_user, {"body": request.form.get("body", "")}, _file("attachment")
        )
    except InvalidInput as error:
        return _refused(match_id, error, "messages")
    return _back(match_id, "messages")


@bp.route("/<int:match_id>/messages/<int:message_id>/file")
def message_file(match_id: int, message_id: int) -> Response:
    """A message's PDF, as an attachment, for the match's readers only."""
    message = threads.attachment_of(match_id, message_id, current_user)
    return _send_pdf(message.attachment or "", f"message-{message.id}.pdf")


@bp.route("/<int:match_id>/kickoff", methods=["POST"])
def offer_kickoff(match_id: int) -> Response | tuple[str, int]:
    """The SME offers up to three meeting times."""
    slots = []
    for index in range(3):
        starts_at = request.form.get(f"slot-{index}-starts_at", "").strip()
        place = request.form.get(f"slot-{index}-place", "").strip()
        if starts_at or place:
            slots.append({"starts_at": starts_at, "place": place})
    try:
        kickoff.offer(match_id, current_user, {"slots": slots})
    except InvalidInput as error:
        return _refused(match_id, error, "kickoff")
    flash(_("The times are sent to the student."), "success")
    return _back(match_id, "kickoff")


@bp.route("/<int:match_id>/kickoff/confirm", methods=["POST"])
def confirm_kickoff(match_id: int) -> Response | tuple[str, int]:
    """The student picks one of the offered times; the work starts."""
    try:
        kickoff.confirm(match_id, current_user, {"slot": request.form.get("slot", "")})
    except InvalidInput as error:
        return _refused(match_id, error, "kickoff")
    flash(_("The meeting is agreed. The invitation is in your email."), "success")
    return _back(match_id, "kickoff")


@bp.route("/<int:match_id>/kickoff.ics")
def kickoff_ics(match_id: int) -> Response:
    """The agreed meeting as a calendar file."""
    access = workspace.working(current_user, match_id)
    meeting = kickoff.get(match_id)
    if meeting is None or meeting.starts_at is None:
        abort(404)
    body = kickoff.ics(access.match, meeting)
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": "attachment; filename=kickoff.ics"},
    )


@bp.route("/<int:match_id>/activities", methods=["POST"])
def log_activity(match_id: int) -> Response | tuple[str, int]:
    """The student adds a work-log entry."""
    data = {k: request.form.get(k, "") for k in ("kind", "date", "hours", "note")}
    try:
        worklog.log(match_id, current_user, data, _file("attachment"))
    except InvalidInput as error:
        return _refused(match_id, error, "worklog")
    flash(_("The entry is saved; the company is asked to confirm it."), "success")
    return _back(match_id, "worklog")


@bp.route("/<int:match_id>/activities/<int:activity_id>/review", methods=["POST"])
def review_activity(match_id: int, activity_id: int) -> Response | tuple[str, int]:
    """The SME confirms or disputes an entry."""
    data = {k: request.form.get(k, "") for k in ("decision", "comment")}
    try:
        worklog.review(match_id, activity_id, current_user, data)
    except InvalidInput as error:
        return _refused(match_id, error, "worklog")
    return _back(match_id, "worklog")


@bp.route("/<int:match_id>/activities/<int:activity_id>/file")
def activity_file(match_id: int, activity_id: int) -> Response:
    """A work-log entry's PDF, for the match's readers only."""
    activity = worklog.attachment_of(match_id, activity_id, current_user)
    return _send_pdf(activity.attachment or "", f"activity-{activity.id}.pdf")


@bp.route("/<int:match_id>/checkins", methods=["POST"])
def check_in(match_id: int) -> Response | tuple[str, int]:
    """This month's check-in."""
    data = {k: request.form.get(k, "") for k in ("satisfaction", "hours", "blockers")}
    try:
        checkins.submit(match_id, current_user, data)
    except InvalidInput as error:
        return _refused(match_id, error, "checkins")
    flash(_("Thank you: your check-in is saved."), "success")
    return _back(match_id, "checkins")


@bp.route("/<int:match_id>/complete", methods=["POST"])
def complete(match_id: int) -> Response | tuple[str, int]:
    """The SME (or a coordinator) completes the match with its export status."""
    try:
        outcomes.complete(match_id, current_user, _completion_input())
    except InvalidInput as error:
        return _refused(match_id, error, "outcome")
    flash(_("The match is completed. Thank you!"), "success")
    return _back(match_id, "outcome")


def _completion_input() -> dict[str, Any]:
    """The completion form's fields; a date or a count left empty is not sent at all."""
    data: dict[str, Any] = {
        k: request.form.get(k, "") for k in ("status", "first_export_on", "contracts", "note")
    }
    data["markets"] = request.form.getlist("markets")
    if not data["first_export_on"]:
        data.pop("first_export_on")
    if not data["contracts"]:
        data.pop("contracts")
    return data


@bp.route("/<int:match_id>/student-outcome", methods=["POST"])
def student_outcome(match_id: int) -> Response | tuple[str, int]:
    """The student says what came of the match for them."""
    data = {k: request.form.get(k, "") for k in ("outcome", "note")}
    try:
        outcomes.record_student_outcome(match_id, current_user, data)
    except InvalidInput as error:
        return _refused(match_id, error, "outcome")
    flash(_("Thank you: your answer is saved."), "success")
    return _back(match_id, "outcome")


@bp.route("/contact", methods=["GET", "POST"])
def contact() -> Response | str | tuple[str, int]:
    """My phone, messenger handle and (SMEs) address, for the other side of approved matches."""
    if current_user.role == Role.COORDINATOR:
        abort(404)
    if request.method == "GET":
        return _contact_page(workspace.contact_details(current_user))
    data = {k: request.form.get(k, "") for k in CONTACT_FIELDS}
    try:
        workspace.update_contact(current_user, data)
    except InvalidInput as error:
        return rerender("matches/contact.html", None, error, details=data, button=CsrfOnlyForm())
    flash(_("Your contact details are saved."), "success")
    return redirect(url_for(".contact"))


CONTACT_FIELDS = ("phone", "messenger", "address")


def _contact_page(details: ContactDetails) -> str:
    values = {k: getattr(details, k) or "" for k in CONTACT_FIELDS}
    return render_template("matches/contact.html", details=values, errors={}, button=CsrfOnlyForm())
