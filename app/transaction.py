"""One transaction per request: services flush, the request boundary commits (as Indico's request
handler does), and mail goes out only after a commit.

- A view that returns a success or a redirect (status below 400) is committed after it returns;
  a 4xx/5xx answer, or a view that raised, is rolled back. What a view committed itself before
  (a counter that must stay even when the request then fails) stays committed. A request
  that wrote nothing is left alone: its read ends with the request, as it always did.
- What must be kept even when the request then fails (a counted attempt, the audit of a
  refusal, a token's last use) is committed early with `commit_now()`, each caller saying why.
  A view can opt out entirely with `@commits_itself` and handle its own transaction.
- Mail: a service that queues an email (or a reset request) calls `mail.send_after_commit()`.
  When that transaction commits the wish becomes due and, at the end of the request, the
  delivery worker is woken; a rollback drops it with the rows it was about.
- Files: a service that writes or drops an upload hands the change to `uploads.on_commit()`;
  the commit publishes the new file and deletes the replaced ones, a rollback deletes the part.
- Only the outermost transaction counts: a savepoint's commit or rollback (a lost race
  for a read mark) neither sends, publishes nor forgets anything of the request around it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from flask_sqlalchemy.session import Session
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState
from werkzeug.wrappers import Response

from app.extensions import db
from app.services import delivery, uploads
from app.services.mail import DUE, QUEUED

View = TypeVar("View", bound=Callable[..., Any])


def commits_itself(view: View) -> View:
    """Opt a view out of the boundary's commit: it commits or rolls back on its own."""
    view.commits_itself = True  # type: ignore[attr-defined]
    return view


def commit_now() -> None:
    """Commit what this request did so far, before it goes on (the boundary commits the rest).

    Only for what must outlive a request that then fails or refuses: a counted attempt, the
    audit of a refusal, a token's last use. Every caller says why in a comment."""
    db.session.commit()


WROTE = "unit_of_work_wrote"  # Session.info: this transaction flushed or executed a write


def init_transactions(app: Flask) -> None:
    if not event.contains(Session, "after_commit", _committed):
        event.listen(Session, "after_commit", _committed)
        event.listen(Session, "after_rollback", _rolled_back)
        event.listen(Session, "after_flush", _wrote)
        event.listen(Session, "do_orm_execute", _wrote_directly)
    app.before_request(_start_of_request)
    app.after_request(end_of_request)


def _start_of_request() -> None:
    # Only mail this request commits is this request's to send: a session that outlived a
    # job or a command (or a test's) may still carry an older wish, which the mail job sends.
    db.session.info.pop(DUE, None)


def _writes_pending() -> bool:
    session = db.session
    return bool(session.new or session.dirty or session.deleted or session.info.get(WROTE))


def end_of_request(response: Response) -> Response:
    """Commit or roll back the request's unit of work, then wake the mail worker if it is due."""
    view = current_app.view_functions.get(request.endpoint or "")
    # A request that wrote nothing is left alone (its read ends with the request, as before).
    if not getattr(view, "commits_itself", False) and _writes_pending():
        if response.status_code < 400:
            try:
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - answered by the app's own handlers
                db.session.rollback()
                # As if the view had raised it: a database that is down or full answers its
                # 503 page (app.errors), not the bare 500 of an error after the view.
                return current_app.make_response(current_app.handle_user_exception(error))
        else:
            db.session.rollback()
    if db.session.info.pop(DUE, False):
        delivery.kick()
    return response


def _committed(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint: the request's transaction goes on
        return
    session.info.pop(WROTE, None)
    if session.info.pop(QUEUED, False):
        session.info[DUE] = True
    uploads.committed(session)


def _rolled_back(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.info.pop(WROTE, None)
    session.info.pop(QUEUED, None)
    uploads.rolled_back(session)


def _wrote(session: Session, _flush_context: Any) -> None:
    session.info[WROTE] = True


def _wrote_directly(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[WROTE] = True
