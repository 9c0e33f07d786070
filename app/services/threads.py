"""A message thread per approved match, between its student, its SME and coordinators.

Plain text only (escaped wherever it is shown, emails included), optionally one PDF of up to
5 MB (checked by content, stored under a random name, served only to the match's readers as an
attachment). Each reader has a read mark (the last message they saw). People who have unread
messages get at most one email an hour about them (a scheduler job). Posting is rate-limited
per person in the database, so every web worker counts the same messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app import schemas
from app.extensions import db
from app.models import Match, Message, ThreadState, User, rows_changed, utcnow
from app.services import audit, ratelimit, uploads, workspace
from app.services.errors import NotFound
from app.services.validation import validate

NOTIFY_EVERY = timedelta(hours=1)
PREVIEW_CHARS = 300


@dataclass
class Thread:
    messages: list[Message]
    read_by_other: int  # the other party's read mark: my messages up to this id were read
    unread: int


def post(
    match_id: int, user: User, data: dict[str, Any], attachment: IO[bytes] | None = None
) -> tuple[Message, uploads.FileChange]:
    """Add a message; returns it and its file change (published when the unit of work commits)."""
    access = workspace.working(user, match_id)
    body = validate(schemas.MessageIn, data)
    config = current_app.config
    ratelimit.hit(
        "message", str(user.id), limit=config["MESSAGE_LIMIT"], window=config["MESSAGE_WINDOW"]
    )
    change, size = (
        uploads.store_pdf(attachment, "attachment") if attachment else (uploads.FileChange(), None)
    )
    message = Message(
        match_id=access.match.id,
        author_id=user.id,
        author_role=access.side,
        body=body.body,
        attachment=change.new,
        attachment_size=size,
        created_at=utcnow(),
    )
    db.session.add(message)
    db.session.flush()
    _mark(access.match.id, user.id, message.id)
    audit.record(
        "message_posted",
        actor=user,
        target=access.match,
        detail={"message_id": message.id, "attachment": change.new is not None},
    )
    return message, change


def read(match_id: int, user: User) -> Thread:
    """The thread, oldest first; reading it moves the reader's mark to its last message."""
    access = workspace.working(user, match_id)
    messages = list(
        db.session.scalars(select(Message).where(Message.match_id == match_id).order_by(Message.id))
    )
    state = db.session.get(ThreadState, (match_id, user.id))
    unread = sum(
        1
        for m in messages
        if m.author_id != user.id and m.id > (state.last_read_id if state else 0)
    )
    if messages:
        _mark(match_id, user.id, messages[-1].id)
    return Thread(messages, _read_by_other(access, user), unread)


def _read_by_other(access: workspace.Access, user: User) -> int:
    """The lowest read mark of the match's other readers among its two parties."""
    others = [u.id for u in workspace.parties(access.match) if u.id != user.id]
    marks = dict(
        db.session.execute(
            select(ThreadState.user_id, ThreadState.last_read_id).where(
                ThreadState.match_id == access.match.id, ThreadState.user_id.in_(others)
            )
        ).all()
    )
    return min((marks.get(uid, 0) for uid in others), default=0)


def _mark(match_id: int, user_id: int, message_id: int) -> None:
    """Move a read mark forward (never back). Upsert in a savepoint: two tabs may race."""
    moved = db.session.execute(
        update(ThreadState)
        .where(
            ThreadState.match_id == match_id,
            ThreadState.user_id == user_id,
            ThreadState.last_read_id < message_id,
        )
        .values(last_read_id=message_id, read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if rows_changed(moved):
        return
    if db.session.get(ThreadState, (match_id, user_id)) is not None:
        return

    savepoint = db.session.begin_nested()
    try:
        db.session.add(
            ThreadState(
                match_id=match_id, user_id=user_id, last_read_id=message_id, read_at=utcnow()
            )
        )
        db.session.flush()
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()


def attachment_of(match_id: int, message_id: int, user: User) -> Message:
    """A message's PDF, for the match's readers only."""
    workspace.working(user, match_id)
    message = db.session.get(Message, message_id)
    if message is None or message.match_id != match_id or not message.attachment:
        raise NotFound("no such file")
    audit.record(
        "message_file_downloaded",
        actor=user,
        target=message.match,
        detail={"message_id": message.id},
    )
    return message


def unread_counts(user: User, match_ids: list[int]) -> dict[int, int]:
    """How many messages of others each of these matches has that `user` has not read."""
    if not match_ids:
        return {}
    last_read = func.coalesce(
        select(ThreadState.last_read_id)
        .where(ThreadState.match_id == Message.match_id, ThreadState.user_id == user.id)
        .correlate(Message)
        .scalar_subquery(),
        0,
    )
    rows = db.session.execute(
        select(Message.match_id, func.count(Message.id))
        .where(
            Message.match_id.in_(match_ids),
            Message.author_id.is_distinct_from(user.id),
            Message.id > last_read,
        )
        .group_by(Message.match_id)
    )
    return {match_id: n for match_id, n in rows}


def notify_unread(now: datetime | None = None) -> int:
    """Job: email each party who has unread messages, at most once an hour per person and
    match, and only about messages that arrived since their last such email."""
    now = now or utcnow()
    recent = db.session.scalars(
        select(Message.match_id)
        .where(Message.created_at >= now - timedelta(days=14))
        .group_by(Message.match_id)
    ).all()
    sent = 0
    for match_id in recent:
        match = db.session.get(Match, match_id)
        if match is None or match.status not in workspace.AFTER_APPROVAL:
            continue
        for user in workspace.parties(match):
            state = db.session.get(ThreadState, (match_id, user.id))
            last_read = state.last_read_id if state else 0
            notified_at = state.notified_at if state else None
            if notified_at is not None and notified_at > now - NOTIFY_EVERY:
                continue
            since = notified_at or datetime.min.replace(tzinfo=now.tzinfo)
            unread = db.session.scalars(
                select(Message)
                .where(
                    Message.match_id == match_id,
                    Message.id > last_read,
                    Message.author_id.is_distinct_from(user.id),
                    Message.created_at > since,
                )
                .order_by(Message.id)
            ).all()
            if not unread:
                continue
            if state is None:
                state = ThreadState(match_id=match_id, user_id=user.id, last_read_id=0)
                db.session.add(state)
            state.notified_at = now
            db.session.flush()
            latest = unread[-1].body
            preview = latest if len(latest) <= PREVIEW_CHARS else latest[:PREVIEW_CHARS] + "…"
            count = len(unread)
            author = _author_name(match, unread[-1].author_id)
            workspace.tell(
                match,
                [user],
                "messages_unread",
                lambda _user, n=count, a=author: ngettext(  # type: ignore[misc]  # defaults bind the loop values
                    "%(num)s new message from %(name)s",
                    "%(num)s new messages, the latest from %(name)s",
                    n,
                    name=a(),
                ),
                lambda _user, n=count, p=preview: [  # type: ignore[misc]  # defaults bind the loop values
                    ngettext(
                        "You have %(num)s unread message. The latest:",
                        "You have %(num)s unread messages. The latest:",
                        n,
                    ),
                    p,
                    _("Answer on the match page (replies to this email are not read)."),
                ],
            )
            sent += 1
    return sent


def _author_name(match: Match, author_id: int | None) -> Callable[[], str]:
    """Who wrote, as the reader knows them (the company, the student, or the coordinators);
    worded when called, in the reader's language."""
    if author_id is not None and author_id == match.sme.user_id:
        return lambda: match.sme.company_name
    if author_id is not None and author_id == match.student.user_id:
        return lambda: match.student.name
    return lambda: _("the programme's coordinators")
