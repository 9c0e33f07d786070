"""Backups and restores: the database and the upload folder beside it.

SQLite is copied with its online backup API, which copies a consistent snapshot including what
is still in the write-ahead log (a plain `cp` of the live file misses acknowledged writes that
sit in `-wal`). PostgreSQL is dumped with `pg_dump -Fc` and restored with `pg_restore`.
The database is backed up first and the CVs after it: a CV is deleted only after the commit that
dropped it, and new ones get new names, so every file the database copy names is still there to
copy (barring a CV replaced in the seconds between the two, which the manifest counts).

A backup is a folder: `database.sqlite3` or `database.pgdump`, `uploads/`, `manifest.json`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import func, inspect, select, text, update
from sqlalchemy.engine import URL, make_url

from app.extensions import db
from app.models import DataVersion, Student, User
from app.services import uploads


class BackupError(RuntimeError):
    """A backup or restore could not be made; the message says why."""


@dataclass
class BackupReport:
    path: Path
    database: str
    files: int
    missing_files: int
    bytes: int


def _url() -> URL:
    return make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])


def _sqlite_path(url: URL) -> Path:
    database = url.database or ""
    if database.startswith("file:"):  # a URI filename: file:path?mode=...
        database = database[5:].split("?", 1)[0]
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string for pg_dump/pg_restore; the password goes in the environment."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    dsn = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return dsn, env


def _run(command: list[str], env: dict[str, str]) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    except FileNotFoundError as error:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL client tools)") from error
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[:2000]}")


def backup(destination: Path) -> BackupReport:
    """Write a new backup folder under `destination` and return what it holds."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = destination / f"kexport-{stamp}"
    folder.mkdir(parents=True, exist_ok=False)
    url = _url()
    db.session.commit()  # no transaction of ours may hold SQLite's lock during the copy
    if url.get_backend_name() == "sqlite":
        target = folder / "database.sqlite3"
        source = sqlite3.connect(str(_sqlite_path(url)))
        copy = sqlite3.connect(str(target))
        try:
            source.backup(copy)  # online: a consistent snapshot, WAL included
        finally:
            copy.close()
            source.close()
        kind = "sqlite"
    elif url.get_backend_name() == "postgresql":
        target = folder / "database.pgdump"
        dsn, env = _libpq(url)
        _run(["pg_dump", "--format=custom", "--no-owner", f"--file={target}", dsn], env)
        kind = "postgresql"
    else:
        raise BackupError(f"no backup method for {url.get_backend_name()}")

    referenced = set(
        db.session.scalars(
            select(Student.cv_stored_name).where(Student.cv_stored_name.is_not(None))
        )
    )
    revision = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    users = db.session.scalar(select(func.count(User.id)))
    db.session.rollback()
    files_dir = folder / "uploads"
    files_dir.mkdir()
    copied = 0
    size = target.stat().st_size
    source_dir = uploads.upload_dir_path()
    if source_dir.is_dir():
        for path in sorted(source_dir.iterdir()):
            if path.is_file() and path.name.endswith(uploads.SUFFIX):
                shutil.copy2(path, files_dir / path.name)
                copied += 1
                size += path.stat().st_size
    present = {p.name.removesuffix(uploads.SUFFIX) for p in files_dir.iterdir()}
    missing = len(referenced - present)
    manifest = {
        "created_at": stamp,
        "database": kind,
        "database_file": target.name,
        "database_sha256": _sha256(target),
        "alembic_revision": revision,
        "users": users,
        "files": copied,
        "missing_files": missing,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return BackupReport(path=folder, database=kind, files=copied, missing_files=missing, bytes=size)


def restore(source: Path, *, force: bool = False) -> dict[str, object]:
    """Load a backup folder into the configured database and upload folder.

    Stop the web workers and the scheduler first. Without `force`, the database must be empty
    (no users), so a restore never silently overwrites live data."""
    manifest_path = source / "manifest.json"
    if not manifest_path.is_file():
        raise BackupError(f"{source} is not a backup folder (no manifest.json)")
    manifest = json.loads(manifest_path.read_text())
    dump = source / manifest["database_file"]
    if _sha256(dump) != manifest["database_sha256"]:
        raise BackupError(f"{dump.name} does not match its checksum: the backup is damaged")
    url = _url()
    if manifest["database"] != url.get_backend_name():
        raise BackupError(
            f"this backup is of a {manifest['database']} database; "
            f"DATABASE_URL points at {url.get_backend_name()}"
        )
    if not force and _has_users():
        raise BackupError("the database already has users; restore into an empty one or --force")
    db.session.remove()
    db.engine.dispose()  # no pooled connection may keep the old file or schema open
    if manifest["database"] == "sqlite":
        backup_db = sqlite3.connect(str(dump))
        live = sqlite3.connect(str(_sqlite_path(url)))
        try:
            backup_db.backup(live)
        finally:
            live.close()
            backup_db.close()
    else:
        dsn, env = _libpq(url)
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--exit-on-error",
                "-d",
                dsn,
                str(dump),
            ],
            env,
        )
    _new_data_epoch()
    target_dir = uploads.upload_dir()
    restored = 0
    for path in sorted((source / "uploads").iterdir()):
        shutil.copy2(path, target_dir / path.name)
        os.chmod(target_dir / path.name, 0o600)
        restored += 1
    return {
        "database": manifest["database"],
        "files": restored,
        "created_at": manifest["created_at"],
    }


def _new_data_epoch() -> None:
    """The restored data may sit at a version number a running process has already seen with
    other data after it (the dashboard's counts are kept by `data_versions`' epoch and number):
    a new epoch, so nothing counted before the restore is taken for the restored data. (A
    backup from before that table has none: `flask db upgrade` makes it, with its own epoch.)"""
    with db.engine.begin() as connection:
        if inspect(connection).has_table("data_versions"):
            connection.execute(update(DataVersion).values(epoch=uuid.uuid4().hex))


def _has_users() -> bool:
    try:
        return bool(db.session.scalar(select(func.count(User.id))))
    except Exception:  # noqa: BLE001 - no schema yet: an empty database
        return False
    finally:
        db.session.rollback()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
