"""`flask backup` then `flask restore` into a fresh database: the data, the CVs, and a cycle."""

from __future__ import annotations

import io
import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from kexport_support import student_data
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from app.models import CycleStatus, DataVersion, Student, User
from app.services import accounts, cycles, uploads

PDF = b"%PDF-1.7\n% a CV to keep\n%%EOF\n"


@pytest.fixture
def fresh_url(app: Flask, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind as the test database."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    name = f"{url.database}_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_a_backup_restores_into_a_fresh_database_and_a_cycle_runs(
    app: Flask, runner, student, sme, fresh_url: str, tmp_path: Path
) -> None:
    if make_url(fresh_url).get_backend_name() == "postgresql":
        import shutil

        if not shutil.which("pg_dump"):
            pytest.skip("pg_dump is not installed")
    change = uploads.save_cv(student.student, io.BytesIO(PDF))
    db.session.commit()
    change.committed()
    # A sign-up still in SQLite's write-ahead log (not yet checkpointed) must be in the backup.
    accounts.register_student(student_data(email="late@example.org", name="Late Sign-up"))
    db.session.commit()

    expected = {"late@example.org", student.email, sme.email}
    epoch = db.session.scalar(select(DataVersion.epoch))
    result = runner.invoke(args=["backup", str(tmp_path / "backups")])
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "backups").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["files"] == 1 and manifest["missing_files"] == 0 and manifest["users"] == 3

    restored = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": fresh_url,
            "UPLOAD_DIR": str(tmp_path / "restored-uploads"),
        }
    )
    with restored.app_context():  # (the runner would reuse the test app's pushed context)
        result = restored.test_cli_runner().invoke(args=["restore", str(folder)])
        assert result.exit_code == 0, result.output
        emails = set(db.session.scalars(select(User.email)))
        assert emails == expected
        # counts kept by a running process under the old epoch are never taken for these data
        assert db.session.scalar(select(DataVersion.epoch)) not in (None, epoch)
        name = db.session.scalar(
            select(Student.cv_stored_name).where(Student.cv_stored_name.is_not(None))
        )
        assert uploads.path_of(name).read_bytes() == PDF
        cycle = cycles.run_cycle(trigger="cli")
        assert cycle.status == CycleStatus.FINISHED and cycle.n_proposed >= 1
        # A second restore over live data is refused without --force.
        again = restored.test_cli_runner().invoke(args=["restore", str(folder)])
        assert again.exit_code == 1 and "already has users" in again.output
        db.session.remove()
        db.engine.dispose()


def test_a_damaged_backup_is_refused(app: Flask, runner, student, tmp_path: Path) -> None:
    assert runner.invoke(args=["backup", str(tmp_path)]).exit_code == 0
    (folder,) = tmp_path.glob("kexport-*")
    dump = next(folder.glob("database.*"))
    dump.write_bytes(dump.read_bytes()[:-10] + b"0123456789")
    result = runner.invoke(args=["restore", str(folder), "--force"])
    assert result.exit_code == 1 and "checksum" in result.output


def test_sqlite_backup_uses_the_online_api_not_a_file_copy(
    app: Flask, runner, student, tmp_path: Path
) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    assert runner.invoke(args=["backup", str(tmp_path)]).exit_code == 0
    (dump,) = tmp_path.glob("kexport-*/database.sqlite3")
    copy = sqlite3.connect(dump)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("SELECT email FROM users").fetchall() == [(student.email,)]
    finally:
        copy.close()
