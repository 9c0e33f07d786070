"""Request limits counted in the database, so every web worker counts the same requests.

A sliding window: each allowed request adds one row (scope, hash of the key, time); a request is
refused while `limit` rows of its key lie within the window, and told when the oldest leaves it.
Refused requests are not counted, so a client that waits as told gets through.
"""

from __future__ import annotations

import hashlib
import math
from datetime import timedelta

from sqlalchemy import delete, func, select

from app.extensions import db
from app.models import RateLimitHit, rows_changed, utcnow
from app.services.errors import TooManyAttempts


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def hit(scope: str, key: str, *, limit: int, window: timedelta) -> None:
    """Count one request of `key` in `scope`; raise TooManyAttempts once the limit is reached.

    Flushes only: the caller commits (before doing the work, so a failing request still counts)."""
    now = utcnow()
    since = now - window
    key_hash = _key_hash(key)
    # Keep the table small: this key's rows that left the window are of no further use.
    db.session.execute(
        delete(RateLimitHit).where(
            RateLimitHit.scope == scope, RateLimitHit.key_hash == key_hash, RateLimitHit.at < since
        )
    )
    count, oldest = db.session.execute(
        select(func.count(RateLimitHit.id), func.min(RateLimitHit.at)).where(
            RateLimitHit.scope == scope, RateLimitHit.key_hash == key_hash, RateLimitHit.at >= since
        )
    ).one()
    if count >= limit:
        # min() keeps the column's type, so `oldest` is an aware datetime on every database.
        wait = (oldest + window - now).total_seconds() if oldest is not None else 1
        raise TooManyAttempts(retry_after=max(1, math.ceil(wait)))
    db.session.add(RateLimitHit(scope=scope, key_hash=key_hash, at=now))
    db.session.flush()


def purge_older_than(age: timedelta) -> int:
    """Drop every hit older than `age` (for a periodic job; `hit` already trims its own key)."""
    result = db.session.execute(delete(RateLimitHit).where(RateLimitHit.at < utcnow() - age))
    return rows_changed(result) or 0
