"""Small helpers every blueprint's views share."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import FunctionType
from typing import Any

from flask import Flask, Request, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wrappers import Response

from app.errors import render_error
from app.extensions import db
from app.forms import apply_errors, forget_wrong_passwords
from app.i18n import current_locale, error_messages
from app.models import Student, User
from app.schemas import ID_MAX
from app.services import accounts, decisions, uploads
from app.services.audit import client_ip
from app.services.errors import DomainError, InvalidInput, TooManyAttempts, UnknownReference
from app.sessions import start_session
from app.transaction import commit_now


class QueryValues(ImmutableMultiDict[str, str]):
    """A request's query string and form values; `get` of a key not given answers at once.

    Werkzeug's own `get` finds a missing key by raising and catching a `BadRequestKeyError`,
    and the pages read several optional filters and `?page=` on every request (issue 14)."""

    def get(self, key: str, default: Any = None, type: Any = None) -> Any:  # type: ignore[override]
        if key not in self:
            return default
        return super().get(key, default, type)


class AppRequest(Request):
    """Flask's request with `QueryValues` for `args` and `form` (`create_app`)."""

    parameter_storage_class = QueryValues


class App(Flask):
    """Flask, with `ensure_sync` answering a plain function at once.

    Flask asks `inspect.iscoroutinefunction` of every hook, view and handler it calls, about 13
    times a page (four calls each: methods and partials unwrapped first); for a plain function
    the answer is its code's coroutine flag, read here directly, as `inspect` reads it (issue
    14). Anything else (a method, a partial, a function marked as a coroutine) goes to Flask."""

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        if (
            type(func) is FunctionType
            and not func.__code__.co_flags & inspect.CO_COROUTINE
            and not hasattr(func, "_is_coroutine_marker")  # inspect.markcoroutinefunction
        ):
            return func
        return super().ensure_sync(func)


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


def sign_up(
    form: Any,
    template: str,
    steps: list[tuple[str, str]],
    register: Callable[..., User],
    welcome: str,
    then: str,
) -> Response | str | tuple[str, int]:
    """A sign-up page (students' and SMEs' alike): the form, or its answer — the attempt counted
    first, then the account (`register`), its session, the welcome, and on to `then`."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    if not form.is_submitted():
        return render_template(template, form=form, signup_steps=steps)
    refused = refuse_signup_flood()
    if refused is not None:
        return refused
    try:
        user = register(form.signup_input(), locale=current_locale())
    except InvalidInput as error:
        return rerender(template, form, error, signup_steps=steps)
    start_session(user)
    flash(welcome, "success")
    return redirect(url_for(then))


# --- refusals: the one way a service's "no" reaches the person ----------------------------------
#
# Services raise DomainError (app.services.errors): InvalidInput names the fields and the rule each
# broke; any other names its sentence (`key`) and, where one is to blame, its field.
# app.i18n.error_messages words both, by field ("" for none). A form page shows them with
# `rerender`, a button press with `flash_refusal`, the API as JSON naming the field
# (api.routes._domain_error). Either way nothing of the refused request is kept: it is rolled
# back before the answer is rendered (the match workspace, which keeps what reading it records,
# renders itself the same way: matches.routes._refused).


def rerender(
    template: str,
    form: FlaskForm | None,
    error: DomainError,
    *,
    form_name: str = "form",
    **context: Any,
) -> tuple[str, int]:
    """The same page again with its 4xx: each message beside the field it names (on `form`,
    passed to the template as `form_name`; on a page without a WTForms form, by field name as
    `errors`), the messages that name no field above the form (`form_errors`)."""
    db.session.rollback()
    if form is None:
        body = render_template(template, errors=error_messages(error), **context)
    else:
        form_errors = apply_errors(form, error)
        forget_wrong_passwords(form)
        context[form_name] = form
        body = render_template(template, form_errors=form_errors, **context)
    # An id typed into a form that names nobody is a field to correct, not a missing page (the
    # API answers it 404, as its description says).
    return body, 422 if isinstance(error, UnknownReference) else error.status


def flash_refusal(error: DomainError, category: str = "danger") -> None:
    """A refused button press: nothing of it is kept (the request boundary would commit the
    redirect that follows), and its reasons become flash messages on the page it came from."""
    db.session.rollback()
    for messages in error_messages(error).values():
        for message in messages:
            flash(message, category)


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
        flash_refusal(error)
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
