from __future__ import annotations

import functools
from typing import Any

from flask import g, has_request_context, request
from flask_login import current_user
from sqlalchemy import Insert, insert

from app.extensions import db
from app.models import AuditEvent, User
from app.models.base import utcnow
from app.services import plain_reads


def client_ip() -> str | None:
    # Behind a proxy, ProxyFix (set up in the factory) has already put the client's address here.
    return request.remote_addr if has_request_context() else None


def record(
    action: str,
    *,
    actor: User | None = None,
    target: Any = None,
    detail: dict[str, Any] | None = None,
    anonymous: bool = False,
) -> AuditEvent:
    """Add one audit entry to the current unit of work. Never pass secrets in `detail`.

    `anonymous` keeps no actor and no address (the entry left when an account is deleted)."""
    if actor is None and not anonymous and has_request_context() and current_user.is_authenticated:
        actor = current_user._get_current_object()
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        actor_role=str(actor.role) if actor else None,
        ip=None if anonymous else client_ip(),
        action=action,
        target_type=type(target).__name__.lower() if target is not None else None,
        target_id=getattr(target, "id", None),
        detail=detail,
    )
    queue = g.get(_AFTER_READ) if has_request_context() else None
    if queue is not None:  # a reads-only view: written after its read (app.transaction)
        queue.append(event)
    else:
        db.session.add(event)
    return event


_AFTER_READ = "audit_after_read"  # g: the entries a reads-only view recorded, not yet added


def record_after_read() -> None:
    """From now on in this request, `record` keeps its entries aside instead of adding them to
    the unit of work (app.transaction.reads_only writes them once the read is over)."""
    g.setdefault(_AFTER_READ, [])


def recorded_after_read() -> list[AuditEvent]:
    """The entries kept aside, handed over once (and no longer kept aside after)."""
    return g.pop(_AFTER_READ, None) or []


# What `record` sets on an entry, and `at`, the time the row is written (the column's default).
_WRITTEN = ("actor_id", "actor_role", "ip", "action", "target_type", "target_id", "detail")


@functools.cache
def _insert_query() -> Insert:
    return insert(AuditEvent.__table__)  # type: ignore[arg-type] # a Table: Core, not the ORM


def write(entries: list[AuditEvent]) -> None:
    """Write entries kept aside (a reads-only view's, app.transaction) as an INSERT of their
    columns on the session's connection, in its transaction: the ORM's unit of work for them
    (state, flush plan, identity map, expiry at commit) cost ~0.3 ms of a page's ~7 (issue 14).
    The rows are the same: `at` from the column's default function (`utcnow`, called here as
    SQLAlchemy's execution would call it; a test holds the two together), `detail` through its
    JSON type. One entry (a page's audit row) is sent on the driver (`plain_reads.insert_row`);
    several as one executemany, as before."""
    rows = [
        {name: getattr(entry, name) for name in _WRITTEN} | {"at": utcnow()} for entry in entries
    ]
    if len(rows) == 1:
        plain_reads.insert_row(_insert_query(), rows[0])
    else:
        db.session.connection().execute(_insert_query(), rows)
