"""One matching cycle at a time, however many processes try, and a fence for the one that lost.

The lock says who may run a cycle now:

- PostgreSQL: a session-level advisory lock held on a dedicated connection for the whole cycle;
  if the process dies, the server drops the connection and the lock with it.
- SQLite: a lease row written under BEGIN IMMEDIATE (SQLite's write lock), naming its holder
  (process id and host) and kept alive by a heartbeat thread. A holder whose process is gone
  (same host, no such pid) frees the lease at once; one on another host, or whose pid was reused,
  after `LEASE_TTL` without a heartbeat.

A lock held on the side can be lost while the cycle computes (its connection drops, the server
restarts, a heartbeat stalls) and a second cycle can then take it. So the lock is not what allows
a save: each holder takes a new `generation` of the `cycle_lease` row (a fencing token), and the
save's transaction first runs `fence(lease)`, a conditional UPDATE that must find that generation.
On PostgreSQL the UPDATE also locks the row until the save commits, so a new holder's
`generation + 1` waits for that commit and then reads the pool the save left behind. A cycle that
lost its lock writes nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db
from app.models import CycleLease, rows_changed, utcnow
from app.services.errors import DomainError

log = logging.getLogger(__name__)

ADVISORY_KEY = 0x4B455850  # "KEXP": the cycle's advisory lock id
# SQLite lease: a live holder beats every HEARTBEAT; one silent for LEASE_TTL is taken as dead.
HEARTBEAT = timedelta(seconds=10)
LEASE_TTL = timedelta(seconds=60)
HOST = socket.gethostname()[:255]


class CycleBusy(DomainError):
    """Another cycle is queued or running (a page says so; the API answers its own 409)."""

    status = 409
    code = "conflict"
    key = "cycle_busy"


class LockLost(RuntimeError):
    """This cycle's lock was taken over by another cycle: it must not write."""


@dataclass
class Lease:
    """What holding the lock gives: the fencing token, and for tests the lock's connection."""

    generation: int
    backend_pid: int | None = None  # PostgreSQL: the server process holding the advisory lock
    holder: str = ""
    stop: threading.Event = field(default_factory=threading.Event)


@contextmanager
def cycle_lock() -> Iterator[Lease]:
    if db.engine.dialect.name == "postgresql":
        with _advisory_lock() as lease:
            yield lease
    else:
        with _sqlite_lease() as lease:
            yield lease


def fence(lease: Lease) -> None:
    """First statement of the save's transaction: prove this cycle still owns the right to write.

    Touches exactly one row while the generation is the one this cycle took; on PostgreSQL it
    also holds that row locked until the save commits or rolls back."""
    proof = db.session.execute(
        update(CycleLease)
        .where(CycleLease.id == 1, CycleLease.generation == lease.generation)
        .values(generation=CycleLease.generation)
        .execution_options(synchronize_session=False)
    )
    if rows_changed(proof) != 1:
        raise LockLost(
            f"this cycle lost the cycle lock (generation {lease.generation}) to another cycle "
            "while it computed; it saved nothing"
        )


def hold_off_cycle_saves() -> None:
    """Call in a transaction that changes the pool (a pair by hand, an account deleted, consent
    withdrawn): a cycle's save then waits for it to commit, or it waits for the save, so the save
    always sees the change. (SQLite serialises every write transaction already.)"""
    if db.engine.dialect.name == "postgresql":
        _ensure_row(db.session.connection())
        db.session.execute(
            select(CycleLease.id).where(CycleLease.id == 1).with_for_update(read=True)
        )


def lock_lease_row() -> None:
    """Hold the lease row until the transaction ends (PostgreSQL; SQLite's write lock already
    serialises): requests for a cycle check and queue one at a time."""
    if db.engine.dialect.name == "postgresql":
        _ensure_row(db.session.connection())
        db.session.execute(select(CycleLease.id).where(CycleLease.id == 1).with_for_update())


def _ensure_row(connection: Connection) -> None:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    connection.execute(
        dialect.insert(CycleLease).values(id=1, generation=0).on_conflict_do_nothing()
    )


def _next_generation(connection: Connection, **values: Any) -> int:
    _ensure_row(connection)
    connection.execute(
        update(CycleLease)
        .where(CycleLease.id == 1)
        .values(generation=CycleLease.generation + 1, **values)
    )
    generation = connection.scalar(select(CycleLease.generation).where(CycleLease.id == 1))
    assert generation is not None
    return int(generation)


@contextmanager
def _advisory_lock() -> Iterator[Lease]:
    connection = db.engine.connect()
    try:
        got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY})
        if not got.scalar():
            raise CycleBusy
        backend_pid = connection.scalar(text("SELECT pg_backend_pid()"))
        # A save of a cycle that lost this lock holds the row: this waits for its commit.
        generation = _next_generation(
            connection,
            holder=f"pg:{backend_pid}",
            host=HOST,
            pid=os.getpid(),
            heartbeat_at=utcnow(),
        )
        connection.commit()  # end the transaction; the session-level lock stays held
        try:
            yield Lease(generation=generation, backend_pid=backend_pid)
        finally:
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
                connection.commit()
            except Exception:  # noqa: BLE001 - the connection is gone, and the lock with it
                log.warning("the cycle lock's connection was lost before its release")
    finally:
        try:
            connection.close()
        except Exception:  # noqa: BLE001
            log.debug("closing a dead lock connection failed", exc_info=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, as another user
    return True


def holder_alive(lease: Any, now: datetime) -> bool:
    """Whether the lease row's holder still runs: dead at once if its process is gone from this
    host, else alive until its heartbeat is LEASE_TTL old."""
    if not lease.holder:
        return False
    if lease.host == HOST and lease.pid is not None and not _pid_alive(lease.pid):
        return False
    return lease.expires_at is not None and lease.expires_at > now


@contextmanager
def _sqlite_lease() -> Iterator[Lease]:
    engine = db.engine
    holder = uuid.uuid4().hex
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as connection:
        with connection.begin():  # BEGIN IMMEDIATE: no other writer until we commit
            _ensure_row(connection)
            row = connection.execute(select(CycleLease).where(CycleLease.id == 1)).first()
            now = utcnow()
            if row is not None and holder_alive(row, now):
                raise CycleBusy
            if row is not None and row.holder:
                log.warning(
                    "cycle lease of pid %s on %s taken over: the holder is gone",
                    row.pid,
                    row.host,
                )
            generation = _next_generation(
                connection,
                holder=holder,
                pid=os.getpid(),
                host=HOST,
                heartbeat_at=now,
                expires_at=now + LEASE_TTL,
            )
    lease = Lease(generation=generation, holder=holder)
    beat = threading.Thread(
        target=_heartbeat, args=(engine, lease), name="cycle-lease-heartbeat", daemon=True
    )
    beat.start()
    try:
        yield lease
    finally:
        lease.stop.set()
        beat.join(HEARTBEAT.total_seconds() + 15)
        with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as connection:
            with connection.begin():
                connection.execute(
                    update(CycleLease)
                    .where(CycleLease.id == 1, CycleLease.holder == holder)
                    .values(holder=None, expires_at=None, pid=None, heartbeat_at=None)
                )


def _heartbeat(engine: Engine, lease: Lease) -> None:
    """Push the lease's expiry forward while the cycle runs; stop if another holder took it."""
    while not lease.stop.wait(HEARTBEAT.total_seconds()):
        try:
            with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as connection:
                with connection.begin():
                    now = utcnow()
                    kept = connection.execute(
                        update(CycleLease)
                        .where(CycleLease.id == 1, CycleLease.holder == lease.holder)
                        .values(heartbeat_at=now, expires_at=now + LEASE_TTL)
                    ).rowcount
        except Exception:  # noqa: BLE001 - busy for a moment: the next beat tries again
            log.warning("cycle lease heartbeat failed; trying again", exc_info=True)
            continue
        if not kept:
            log.error("the cycle lease was taken over; this cycle's save will be refused")
            return
