"""Public pages: landing, privacy policy, language switch, health check."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.errors import RETRY_AFTER_SECONDS
from app.forms import CsrfOnlyForm
from app.models import Role
from app.security import is_safe_next
from app.services import health

bp = Blueprint("main", __name__)


@bp.route("/")
def index() -> str:
    """What the programme is, for students, for SMEs, and how matching works."""
    return render_template("main/index.html")


@bp.route("/favicon.ico")
def favicon() -> Response:
    """Browsers and feed readers ask for /favicon.ico whatever the page links to."""
    return current_app.send_static_file("favicon.ico")


@bp.route("/privacy")
def privacy() -> str:
    """The privacy notice (PIPA): purpose, items, retention, rights."""
    return render_template(
        "main/privacy.html",
        version=current_app.config["CONSENT_POLICY_VERSION"],
        retention_years=current_app.config["RETENTION_YEARS"],
    )


@bp.route("/language", methods=["POST"])
def set_language() -> Response:
    """Remember the reader's language (and on their account, for emails)."""
    CsrfOnlyForm()  # the token is checked by CSRFProtect for every POST
    locale = request.form.get("locale", "")
    if locale in current_app.config["LANGUAGES"]:
        session["locale"] = locale
        if current_user.is_authenticated:
            current_user.locale = locale
    target = request.form.get("next")
    return redirect(target if target and is_safe_next(target) else url_for(".index"))


@bp.route("/dashboard")
@login_required
def dashboard() -> Response:
    """Each role's home."""
    home = {
        Role.STUDENT: "students.dashboard",
        Role.SME: "smes.dashboard",
        Role.COORDINATOR: "coordinators.dashboard",
    }
    return redirect(url_for(home[current_user.role]))


@bp.route("/healthz")
def healthz() -> tuple[Response, int]:
    """Can the service answer and still write (database and upload folder), for load balancers."""
    report, status = health.check()
    response = jsonify(report)
    if status != 200:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response, status
