"""Small helpers every blueprint's views share."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wrappers import Response

from app.api.schemas import ID_MAX
from app.errors import render_error
from app.extensions import db
from app.forms import apply_errors, forget_wrong_passwords
from app.i18n import translate_errors
from app.models import Student
from app.services import accounts, decisions, uploads
from app.services.audit import client_ip
from app.services.errors import InvalidInput, TooManyAttempts
from app.transaction import commit_now


def digits_up_to(limit: int) -> str:
    """A regular expression for the whole numbers 1..limit, written without leading zeros."""
    text = str(limit)
    options = [rf"[1-9]\d{{0,{len(text) - 2}}}"] if len(text) > 1 else []
    for i, digit in enumerate(text):
        low = 1 if i == 0 else 0
        if int(digit) > low:
            options.append(f"{text[:i]}[{low}-{int(digit) - 1}]" + rf"\d{{{len(text) - i - 1}}}")
    options.append(text)
    return "(?:" + "|".join(options) + ")"


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: ids from 1 to ID_MAX, the largest an INTEGER column holds.

    Anything else matches no route, so it is a 404 before any view or query runs (SQLite raised
    OverflowError, a 500, for ids of 2**63 and above). The bound is in the regular expression,
    not only in `max`: werkzeug checks `max` after matching methods, so a path that another
    method's rule shares would be a 405. Installed as the app's `int` converter, so no route can
    forget it; the API's bodies and queries use the same bound (api.schemas)."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:

        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", ID_MAX)
        super().__init__(map, *args, **kwargs)
        self.regex = digits_up_to(ID_MAX)


def refuse_signup_flood() -> Response | None:
    """Count a sign-up attempt of the client's address (one counter with the API's sign-ups,
    before any scrypt hash is paid for); past the limit, the 429 page to answer with."""

    try:
        accounts.limit_signups(client_ip() or "unknown")
    except TooManyAttempts as error:
        return render_error(429, retry_after=error.retry_after)  # the boundary rolls it back
    commit_now()  # counted even if the sign-up then fails
    return None


def rerender(
    template: str, form: FlaskForm, error: InvalidInput, **context: Any
) -> tuple[str, int]:
    """The same form again, each message beside its field, with the error's 4xx status."""
    form_errors = apply_errors(form, error.fields)
    forget_wrong_passwords(form)
    return render_template(template, form=form, form_errors=form_errors, **context), error.status


def flash_errors(error: InvalidInput) -> None:
    """A refused button press: nothing of it is kept (the request boundary would commit the
    redirect that follows), and its reasons become flash messages on the page it came from."""
    db.session.rollback()
    for messages in translate_errors(error.fields).values():
        for message in messages:
            flash(message, "danger")


def answer_proposal(
    match_id: int, back: str, back_args: dict[str, Any] | None = None, *, change: bool = False
) -> Response:
    """The current student's or SME's answer to a proposal (or, with `change`, their new answer
    to one they answered), then back to `back` (an endpoint, with `back_args` in its query
    string: the filters the list was shown with)."""

    try:
        (decisions.change_answer if change else decisions.decide)(
            match_id,
            current_user,
            request.form.get("decision", ""),
            reason=request.form.get("reason", ""),
            note=request.form.get("note", ""),
        )
    except InvalidInput as error:
        flash_errors(error)
        return redirect(url_for(back, _anchor=f"match-{match_id}", **(back_args or {})))
    if change:
        flash(_("Your new answer is saved."), "success")
        return redirect(url_for(back, _anchor=f"match-{match_id}", **(back_args or {})))
    flash(_("Your answer is saved."), "success")
    return redirect(url_for(back, **(back_args or {})))


def send_cv(student: Student) -> Response:
    """Serve a CV: attachment, never rendered inline, never cached (students, their SMEs and
    coordinators all download it this way)."""
    response = send_file(
        uploads.path_of(student.cv_stored_name or ""),  # callers check there is one
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"cv-{student.id}.pdf",
        max_age=0,
    )
    # Named after the student (RFC 5987 filename* for names in any script).
    response.headers["Content-Disposition"] = uploads.attachment_disposition(
        uploads.cv_filename(student.name), fallback=f"cv-{student.id}.pdf"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
