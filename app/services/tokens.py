"""API bearer tokens: issued once, stored as a SHA-256 hash, expiring, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from app.extensions import db
from app.models import ApiToken, Role, User, rows_changed, utcnow
from app.services import audit, directory
from app.services.errors import DomainError

PREFIX = "kxm_"  # lets secret scanners and people recognise a leaked token
# Writing last_used_at on every request would make every read a write; once a minute is enough.
_TOUCH_EVERY = timedelta(minutes=1)


class TokenNotFound(DomainError):
    status = 404
    code = "not_found"


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def issue(user: User) -> tuple[ApiToken, str]:
    """A new token for `user`; the secret is returned here once and never stored."""
    secret = PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        user_id=user.id,
        token_hash=hash_token(secret),
        created_at=now,
        expires_at=now + timedelta(days=current_app.config["API_TOKEN_DAYS"]),
    )
    db.session.add(token)
    db.session.flush()
    audit.record("api_token_issued", actor=user, target=token)
    return token, secret


def resolve(secret: str) -> User | None:
    """The user a live token belongs to, or None (unknown, expired or revoked)."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    now = utcnow()
    if token is None or not token.is_live(now):
        return None
    if token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY:
        token.last_used_at = now
    return token.user


def of_user(user: User, *, page: int, per_page: int) -> tuple[list[ApiToken], int]:
    """A user's tokens still usable, newest first, a page at a time."""
    live = (
        ApiToken.user_id == user.id,
        ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > utcnow(),
    )
    found = directory.page_of(
        select(ApiToken).where(*live).order_by(ApiToken.id.desc()), page, per_page
    )
    return list(found.items), found.total or 0


def revoke(token_id: int, actor: User) -> ApiToken:
    """Revoke one token: its owner may, and so may any coordinator. Others learn nothing."""
    token = db.session.get(ApiToken, token_id)
    if token is None or (token.user_id != actor.id and actor.role != Role.COORDINATOR):
        raise TokenNotFound("no such token")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(
            "api_token_revoked", actor=actor, target=token, detail={"owner_id": token.user_id}
        )
    db.session.flush()
    return token


def revoke_all(user: User) -> int:
    """Revoke every token of a user (logout everywhere, password change, deletion)."""
    result = db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return rows_changed(result) or 0
