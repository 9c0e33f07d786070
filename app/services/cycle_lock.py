"""One matching cycle at a time, however many processes try.

PostgreSQL: a session-level advisory lock held on a dedicated connection for the whole cycle;
if the process dies, the server drops the connection and the lock with it.
SQLite: a lease row written under BEGIN IMMEDIATE (SQLite's write lock), with an expiry, so a
lease left by a killed process lapses on its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import select, text, update

from app.extensions import db
from app.models import CycleLease, utcnow

ADVISORY_KEY = 0x4B455850  # "KEXP": the cycle's advisory lock id
LEASE_DURATION = timedelta(minutes=30)


class CycleBusy(Exception):
    """Another cycle is running."""


@contextmanager
def cycle_lock() -> Iterator[None]:
    if db.engine.dialect.name == "postgresql":
        with _advisory_lock():
            yield
    else:
        with _sqlite_lease():
            yield


@contextmanager
def _advisory_lock() -> Iterator[None]:
    connection = db.engine.connect()
    try:
        got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY})
        if not got.scalar():
            raise CycleBusy
        connection.commit()  # end the implicit transaction; the session-level lock stays held
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
            connection.commit()
    finally:
        connection.close()


@contextmanager
def _sqlite_lease() -> Iterator[None]:
    holder = uuid.uuid4().hex
    lease_table = CycleLease.__table__
    with db.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as connection:
        with connection.begin():  # BEGIN IMMEDIATE: no other writer until we commit
            lease = connection.execute(
                select(CycleLease.holder, CycleLease.expires_at).where(CycleLease.id == 1)
            ).first()
            now = utcnow()
            if lease is None:
                connection.execute(
                    lease_table.insert().values(
                        id=1, holder=holder, expires_at=now + LEASE_DURATION
                    )
                )
            elif lease.holder and lease.expires_at and lease.expires_at > now:
                raise CycleBusy
            else:
                connection.execute(
                    update(CycleLease)
                    .where(CycleLease.id == 1)
                    .values(holder=holder, expires_at=now + LEASE_DURATION)
                )
    try:
        yield
    finally:
        with db.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as connection:
            with connection.begin():
                connection.execute(
                    update(CycleLease)
                    .where(CycleLease.id == 1, CycleLease.holder == holder)
                    .values(holder=None, expires_at=None)
                )
