"""Coordinator pages for people: every student and SME, one profile, a CV, a confirmation link."""

from __future__ import annotations

from dataclasses import asdict

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.coordinators.common import bp, page_number
from app.extensions import db
from app.models import SME, Student, User
from app.services import audit, consents, directory, verification
from app.services.errors import TooManyAttempts
from app.web import flash_refusal, send_cv


@bp.route("/students")
def students() -> str:
    """Every student, filtered by nationality, language, market, industry, region."""
    filters = directory.StudentFilters.from_args(request.args)
    page = directory.page_of(directory.student_query(filters), page_number())
    audit.record("students_listed", detail={"page": page.page, **asdict(filters)})
    return render_template("coordinators/students.html", page=page, filters=asdict(filters))


@bp.route("/students/<int:student_id>")
def student(student_id: int) -> str:
    """One student's whole profile."""
    student = db.get_or_404(Student, student_id)
    audit.record("student_viewed", target=student)
    return render_template(
        "coordinators/student.html",
        student=student,
        consent=consents.current_consent(student.user),
    )


@bp.route("/students/<int:student_id>/cv")
def student_cv(student_id: int) -> Response:
    """A student's CV, as an attachment."""
    student = db.get_or_404(Student, student_id)
    if not student.cv_stored_name:
        abort(404)
    audit.record("cv_downloaded", target=student)
    return send_cv(student)


@bp.route("/smes")
def smes() -> str:
    """Every SME, filtered by language, market, industry, region."""
    filters = directory.SMEFilters.from_args(request.args)
    page = directory.page_of(directory.sme_query(filters), page_number())
    html = render_template("coordinators/smes.html", page=page, filters=asdict(filters))
    audit.record("smes_listed", detail={"page": page.page, **asdict(filters)})
    return html


@bp.route("/smes/<int:sme_id>")
def sme(sme_id: int) -> str:
    """One SME's whole profile."""
    sme = db.get_or_404(SME, sme_id)
    audit.record("sme_viewed", target=sme)
    return render_template("coordinators/sme.html", sme=sme)


@bp.route("/users/<int:user_id>/verification", methods=["POST"])
def resend_verification(user_id: int) -> Response:
    """Send a student or an SME their email confirmation link again."""
    user = db.get_or_404(User, user_id)
    try:
        sent = verification.send_link(user, actor=current_user._get_current_object())
    except TooManyAttempts as error:
        flash_refusal(error, "warning")
        return redirect(_profile_url(user))
    if sent:
        flash(_("The confirmation link is sent again to %(email)s.", email=user.email), "info")
    return redirect(_profile_url(user))


def _profile_url(user: User) -> str:
    """The coordinator's page of this person."""
    if user.student:
        return url_for(".student", student_id=user.student.id)
    if user.sme:
        return url_for(".sme", sme_id=user.sme.id)
    return url_for(".dashboard")
