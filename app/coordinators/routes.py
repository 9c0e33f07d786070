"""Coordinator pages: the programme at a glance, and every student and SME."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, abort, render_template, request
from werkzeug.wrappers import Response

from app.extensions import db
from app.models import SME, Role, Student
from app.security import check_role
from app.services import accounts, audit, directory
from app.students.routes import send_cv

bp = Blueprint("coordinators", __name__)


@bp.before_request
def _coordinators_only() -> None:
    check_role(Role.COORDINATOR)


MAX_PAGE = 100_000  # far past any real list; keeps OFFSET within a 64-bit integer


def _page() -> int:
    page = request.args.get("page", 1, type=int) or 1
    return min(max(page, 1), MAX_PAGE)


@bp.route("/")
def dashboard() -> str:
    """The programme at a glance."""
    return render_template("coordinators/dashboard.html", counts=directory.counts())


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
    return render_template("coordinators/smes.html", page=page, filters=asdict(filters))


@bp.route("/smes/<int:sme_id>")
def sme(sme_id: int) -> str:
    """One SME's whole profile."""
    sme = db.get_or_404(SME, sme_id)
    audit.record("sme_viewed", target=sme)
    db.session.commit()
    return render_template("coordinators/sme.html", sme=sme)
