"""Error pages: generic, translated, never a traceback; JSON under /api/."""

from __future__ import annotations

import logging

from flask import Flask, Response, g, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.extensions import db, login_manager
from app.services import audit
from app.services.errors import DomainError, StorageError, StorageFull

log = logging.getLogger(__name__)

# How long a client should wait before trying again after a 503/507: long enough for a database
# restart or failover, short enough that a person retrying by hand is not kept waiting.
RETRY_AFTER_SECONDS = 30


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _titles() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        401: _("Please log in."),
        403: _("You do not have access to this page."),
        404: _("This page does not exist."),
        405: _("This action is not allowed here."),
        409: _("This was changed in the meantime. Reload the page and try again."),
        413: _("The upload is too large."),
        422: _("Some of the data sent is not valid."),
        429: _("Too many attempts. Please wait and try again."),
        500: _("Something went wrong on our side. Please try again later."),
        503: _(
            "The service is briefly unavailable. Nothing was lost: please try again in a minute."
        ),
        507: _(
            "There is no room left to store this right now. Nothing was saved: please try again "
            "later."
        ),
    }


def render_error(
    status: int, message: str | None = None, retry_after: int | None = None
) -> Response:
    message = message or _titles().get(status, _titles()[400])
    if _wants_json():
        body = jsonify(
            {
                "error": {
                    "code": _API_CODES.get(status, str(status)),
                    "message": message,
                    "fields": {},
                }
            }
        )
    else:
        body = render_template("errors/error.html", status=status, message=message)  # type: ignore[assignment]
    response = make_response(body, status)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


_API_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
    507: "insufficient_storage",
}


def storage_status(error: BaseException) -> int:
    """503 for a database or folder we cannot reach or write; 507 when the disk is full."""
    text = str(getattr(error, "orig", None) or error).lower()
    full = isinstance(error, StorageFull) or "disk is full" in text or "no space left" in text
    return 507 if full else 503


def render_unavailable(error: BaseException) -> Response:
    """A database or storage outage: 503/507 with Retry-After, as JSON under /api, else a page.

    Nothing about the request is kept: the unit of work is rolled back, and the page is rendered
    as for an anonymous reader, because loading the user would ask the database again."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is already gone; nothing to undo
        log.debug("rollback after an outage failed", exc_info=True)
    g._login_user = login_manager.anonymous_user()
    status = storage_status(error)
    log.error("%s on %s: %s", status, request.path, str(error).splitlines()[0][:300])
    return render_error(status, retry_after=RETRY_AFTER_SECONDS)


def init_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(_error: CSRFError):  # type: ignore[no-untyped-def]
        return render_error(400, _("This form has expired. Please go back, reload and try again."))

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(StorageError)
    def _unavailable(error: Exception):  # type: ignore[no-untyped-def]
        # The database is down, read-only or full, or the upload folder cannot be written: the
        # request may well succeed a minute later, so say so (never a 500).
        return render_unavailable(error)

    @app.errorhandler(DomainError)
    def _domain(error: DomainError):  # type: ignore[no-untyped-def]
        # A rule said no where no view caught it (e.g. an id that is not the user's): its status,
        # never a 500. Views that can say more catch it themselves.
        db.session.rollback()
        if error.status == 403:
            audit.record("forbidden", detail={"path": request.path[:200]})
            db.session.commit()
        return render_error(error.status)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):  # type: ignore[no-untyped-def]
        status = error.code or 500
        if status == 403:
            audit.record("forbidden", detail={"path": request.path[:200]})
            db.session.commit()
        response = render_error(status)
        # What the exception says about itself beyond its body: a 405's `Allow` (the methods the
        # URL takes, which RFC 9110 requires), a 401's `WWW-Authenticate`...
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(InternalServerError)
    def _internal(error: InternalServerError):  # type: ignore[no-untyped-def]
        db.session.rollback()
        app.logger.error("unhandled error on %s", request.path, exc_info=error.original_exception)
        return render_error(500)
