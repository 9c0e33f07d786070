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
- A request that wrote nothing ends its read with the request (the session's rollback); on
  PostgreSQL with a COMMIT instead, once the server confirms nothing was written, which keeps
  the driver's prepared statements (`_read_ends_with_commit`).
- A view marked `@reads_only` (the busiest pages) writes nothing but its audit rows: on SQLite
  its read begins DEFERRED, so it neither takes nor waits for the write lock while it works, and
  its audit rows are written after the read, in a short transaction of their own, committed
  before the response is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, has_app_context, request
from flask_sqlalchemy.session import Session
from sqlalchemy import event, text
from sqlalchemy.orm import ORMExecuteState
from werkzeug.wrappers import Response

from app.db_sqlite import send_begin
from app.extensions import db
from app.services import audit, delivery, uploads
from app.services.mail import DUE, QUEUED

View = TypeVar("View", bound=Callable[..., Any])


def commits_itself(view: View) -> View:
    """Opt a view out of the boundary's commit: it commits or rolls back on its own."""
    view.commits_itself = True  # type: ignore[attr-defined]
    return view


def reads_only(view: View) -> View:
    """Mark a view that writes nothing but audit rows (pages people read, under load).

    On SQLite every other transaction begins IMMEDIATE (app.db_sqlite): it holds the database's
    write lock from the request's first query to its end, reads included, so two web workers
    never serve at once. This view's read begins DEFERRED and holds nothing; the audit rows it
    records (`audit.record`) wait until the read is over and are then written in a short
    transaction of their own, committed before the response is sent, whatever the view answered
    short of a server error (a 400 with filters to correct still showed the rows). A marked view
    that writes anything else is refused: its write would start from a read that may be stale."""
    view.reads_only = True  # type: ignore[attr-defined]
    return view


def sqlite_begin_mode() -> str:
    """How a transaction begins on SQLite (app.db_sqlite): DEFERRED for the read of a
    `@reads_only` view, IMMEDIATE for everything else (and for that view's audit rows)."""
    return "DEFERRED" if has_app_context() and g.get(READ_ONLY_BEGIN) else "IMMEDIATE"


def commit_now() -> None:
    """Commit what this request did so far, before it goes on (the boundary commits the rest).

    Only for what must outlive a request that then fails or refuses: a counted attempt, the
    audit of a refusal, a token's last use. Every caller says why in a comment."""
    db.session.commit()


WROTE = "unit_of_work_wrote"  # Session.info: this transaction flushed or executed a write
READ_ONLY_BEGIN = "read_only_begin"  # g: the request's read has not ended: begin it DEFERRED


def init_transactions(app: Flask) -> None:
    if not event.contains(Session, "after_commit", _committed):
        event.listen(Session, "after_commit", _committed)
        event.listen(Session, "after_rollback", _rolled_back)
        event.listen(Session, "after_flush", _wrote)
        event.listen(Session, "do_orm_execute", _wrote_directly)
    # First of all the request's hooks: the user is loaded (the request's first query) by those
    # that come after, and a reads-only view's read must already begin DEFERRED then.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_of_request)
    app.after_request(end_of_request)


def _view() -> Any:
    return current_app.view_functions.get(request.endpoint or "")


def _start_of_request() -> None:
    # Only mail this request commits is this request's to send: a session that outlived a
    # job or a command (or a test's) may still carry an older wish, which the mail job sends.
    db.session.info.pop(DUE, None)
    if getattr(_view(), "reads_only", False):
        g.setdefault(READ_ONLY_BEGIN, True)
        audit.record_after_read()


def _writes_pending() -> bool:
    session = db.session
    return bool(session.new or session.dirty or session.deleted or session.info.get(WROTE))


def end_of_request(response: Response) -> Response:
    """Commit or roll back the request's unit of work, then wake the mail worker if it is due."""
    view = _view()
    if getattr(view, "reads_only", False):
        return _after_read(response)
    # A request that wrote nothing is left alone (its read ends with the request, as before),
    # but for PostgreSQL's COMMIT instead of ROLLBACK below.
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
    elif _read_ends_with_commit(view, response):
        try:
            db.session.commit()
        except Exception:  # noqa: BLE001 - nothing was written: the answer stands, as before
            db.session.rollback()
    if db.session.info.pop(DUE, False):
        delivery.kick()
    return response


# Whether this transaction has written anything at all, as PostgreSQL knows it: an id is given to
# a transaction at its first write of any kind (rows, locks, DDL), however the write was sent.
_NOTHING_WRITTEN = text("SELECT txid_current_if_assigned() IS NULL")


def _read_ends_with_commit(view: Any, response: Response) -> bool:
    """On PostgreSQL, a request that only read ends its transaction with COMMIT, not with the
    ROLLBACK the session's end would send: for a transaction that wrote nothing the two are the
    same, but psycopg forgets every statement it prepared on the connection at a ROLLBACK (and
    sends DEALLOCATE ALL), so one page that only read made the busy pages' statements be parsed
    and planned again for their next ~10 requests on that worker (issue 14). Only when
    PostgreSQL confirms that nothing was written (a write the session did not see, say Core on
    its connection, is still rolled back), nothing waits for a commit (mail, files) and the
    answer is not an error."""
    if _on_sqlite() or response.status_code >= 400 or getattr(view, "commits_itself", False):
        return False
    session = db.session()
    if (
        not session.in_transaction()
        or session.info.get(QUEUED)
        or session.info.get(uploads.PENDING)
    ):
        return False
    try:
        return session.scalar(_NOTHING_WRITTEN) is True
    except Exception:  # noqa: BLE001 - the session's end rolls back, as before
        return False


def _after_read(response: Response) -> Response:
    """A `@reads_only` view's end: its audit rows are written and committed before the response
    is sent. On SQLite its read ends first (it wrote nothing) and the rows go in a transaction
    of their own (IMMEDIATE: a fresh one, which waits for the lock instead of failing on a stale
    read). Elsewhere (PostgreSQL: no write lock, readers never wait) they go in the read's own
    transaction: one commit instead of two, and no second checkout, BEGIN and COMMIT."""
    queued = audit.recorded_after_read()
    if _writes_pending():
        db.session.rollback()
        raise RuntimeError(f"{request.endpoint} is marked @reads_only but wrote to the database")
    if not (queued and response.status_code < 500):
        db.session.commit()  # ends the read; nothing to write
        g.pop(READ_ONLY_BEGIN, None)
        return response
    try:
        if _on_sqlite():
            _end_read_and_begin_write()
        audit.write(queued)
        db.session.commit()
    except Exception as error:  # noqa: BLE001 - answered by the app's own handlers
        db.session.rollback()
        return current_app.make_response(current_app.handle_user_exception(error))
    return response


_ON_SQLITE = "kx_transactions_on_sqlite"  # app.extensions


def _on_sqlite() -> bool:
    """Whether the application's database is SQLite, looked up once per application (the
    session's bind, looked up per request, cost more calls than the rest of a page's end)."""
    on_sqlite = current_app.extensions.get(_ON_SQLITE)
    if on_sqlite is None:
        on_sqlite = current_app.extensions[_ON_SQLITE] = db.engine.dialect.name == "sqlite"
    return bool(on_sqlite)


def _end_read_and_begin_write() -> None:
    """End the read (it wrote nothing) and begin the audit rows' transaction.

    On SQLite both happen on the read's own connection, inside one SQLAlchemy transaction:
    COMMIT ends the read's snapshot and BEGIN IMMEDIATE starts a fresh transaction that waits
    for the write lock (busy_timeout), exactly what a commit and a new session transaction did,
    without the session's commit (events, expiry) and the connection's return to the pool and
    checkout again in between (~0.2 ms of a page that shows personal data, issue 14). The
    session's commit after the rows commits that transaction. SQLite only: elsewhere the rows
    are written in the read's own transaction (`_after_read`)."""
    connection = db.session.connection()
    # The driver's commit, as SQLAlchemy's own commit ends a transaction (the read wrote
    # nothing: nothing to fail); the BEGIN on the driver, its errors raised as SQLAlchemy's.
    connection.connection.dbapi_connection.commit()  # type: ignore[union-attr]
    send_begin(connection, "IMMEDIATE")
    g.pop(READ_ONLY_BEGIN, None)


def _committed(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint: the request's transaction goes on
        return
    if has_app_context():  # the read is over: whatever comes next begins IMMEDIATE
        g.pop(READ_ONLY_BEGIN, None)
    session.info.pop(WROTE, None)
    if session.info.pop(QUEUED, False):
        session.info[DUE] = True
    uploads.committed(session)


def _rolled_back(session: Session) -> None:
    if session.in_nested_transaction():
        return
    if has_app_context():
        g.pop(READ_ONLY_BEGIN, None)
    session.info.pop(WROTE, None)
    session.info.pop(QUEUED, None)
    uploads.rolled_back(session)


def _wrote(session: Session, _flush_context: Any) -> None:
    session.info[WROTE] = True


def _wrote_directly(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[WROTE] = True
