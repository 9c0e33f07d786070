from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from app.extensions import db
from app.models import AuditEvent, User


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
    db.session.add(event)
    return event
