"""The health check: can the service answer, and can it still write what it is asked to keep.

A `SELECT 1` says the database answers; it does not notice a read-only or full database file,
a PostgreSQL standby, or an upload folder that became read-only. So the check writes: one row
(committed) and one small file in the upload folder (fsynced, then removed).
"""

from __future__ import annotations

import errno
import logging
import os
import secrets

from sqlalchemy import text, update
from sqlalchemy.exc import IntegrityError

from app.errors import storage_status
from app.extensions import db
from app.models import HealthProbe, rows_changed, utcnow
from app.services import uploads

log = logging.getLogger(__name__)


def check() -> tuple[dict[str, str], int]:
    """{"status", "database", "database_write", "uploads"} and the HTTP status (200 or 503/507)."""
    report = {"database": "ok", "database_write": "ok", "uploads": "ok"}
    statuses = []
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception as error:  # noqa: BLE001 - any failure means "not healthy"
        _rollback()
        report["database"] = report["database_write"] = "unreachable"
        statuses.append(storage_status(error))
    else:
        try:
            _write_probe()
        except Exception as error:  # noqa: BLE001
            _rollback()
            statuses.append(storage_status(error))
            report["database_write"] = "full" if statuses[-1] == 507 else "failed"
            log.error("health check: the database refused a write: %s", error)
    try:
        _write_file()
    except OSError as error:
        full = error.errno in {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
        statuses.append(507 if full else 503)
        report["uploads"] = "full" if full else "not writable"
        log.error("health check: the upload folder refused a write: %s", error)
    report["status"] = "error" if statuses else "ok"
    return report, max(statuses, default=200)


def _write_probe() -> None:
    now = utcnow()
    probe = update(HealthProbe).where(HealthProbe.id == 1).values(checked_at=now)
    if rows_changed(db.session.execute(probe)) == 0:
        db.session.add(HealthProbe(id=1, checked_at=now))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # a concurrent first check inserted the row: that write worked


def _write_file() -> None:
    folder = uploads.upload_dir_path()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f".health-{secrets.token_hex(8)}"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(b"ok\n")
            handle.flush()
            os.fsync(handle.fileno())
    finally:
        path.unlink(missing_ok=True)


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is gone already
        log.debug("rollback failed", exc_info=True)
