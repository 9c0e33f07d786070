"""CV files under faults: nothing orphaned, nothing partial, a clear 503/507 instead of a 500."""

from __future__ import annotations

import errno
import io
import os
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.models import User
from app.services import uploads

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def upload(client: FlaskClient, data: bytes, **headers: str) -> Any:
    return client.post(
        "/student/cv",
        data={"cv": (io.BytesIO(data), "cv.pdf", "application/pdf")},
        content_type="multipart/form-data",
        headers=headers,
    )


def files(app: Flask) -> list[str]:
    return sorted(p.name for p in Path(app.config["UPLOAD_DIR"]).iterdir())


def cv_name(user: User) -> str | None:
    db.session.expire_all()
    return user.student.cv_stored_name


@pytest.fixture
def uploader(client: FlaskClient, student: User, login_as: Any) -> FlaskClient:
    login_as(student)
    return client


def test_a_failed_commit_keeps_the_old_cv_and_leaves_no_orphan(
    app: Flask, uploader: FlaskClient, student: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload(uploader, PDF)
    old = cv_name(student)
    assert files(app) == [f"{old}.pdf"]

    def commit_fails() -> None:
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(db.session, "commit", commit_fails)
    response = upload(uploader, PDF + b"% new\n")
    monkeypatch.undo()
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert cv_name(student) == old
    assert files(app) == [f"{old}.pdf"]  # the old file kept, no new file, no part
    assert uploader.get("/student/cv").data == PDF


def test_a_full_disk_leaves_no_partial_file_and_answers_507(
    app: Flask, uploader: FlaskClient, student: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def half_then_full(handle: Any, data: bytes) -> None:
        handle.write(data[: len(data) // 2])
        handle.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(uploads, "_write", half_then_full)
    response = upload(uploader, PDF, **{"Accept-Language": "en"})
    assert response.status_code == 507
    assert "no room left" in response.get_data(as_text=True)
    assert files(app) == [] and cv_name(student) is None


def test_a_read_only_folder_answers_503_in_the_readers_language(
    app: Flask, uploader: FlaskClient, student: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def read_only(handle: Any, data: bytes) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(uploads, "_write", read_only)
    uploader.post("/language", data={"locale": "ko"})
    response = upload(uploader, PDF)
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    page = response.get_data(as_text=True)
    assert "Traceback" not in page and "잠시" in page
    assert files(app) == [] and cv_name(student) is None


def test_the_part_is_renamed_only_after_the_commit(
    app: Flask, uploader: FlaskClient, student: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[str]] = []
    real_commit = db.session.commit

    def commit_and_look() -> None:
        seen.append(files(app))
        real_commit()

    monkeypatch.setattr(db.session, "commit", commit_and_look)
    upload(uploader, PDF)
    monkeypatch.undo()
    name = cv_name(student)
    assert seen[0] == [f"{name}.pdf.part"]  # at commit time: only the part exists
    assert files(app) == [f"{name}.pdf"]


def test_the_sweep_finishes_a_rename_and_removes_orphans(
    app: Flask, student: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A crash between commit and rename: the row names a part file (the process died before
    # the commit's hook could publish it, so the hook never runs).
    change = uploads.save_cv(student.student, io.BytesIO(PDF))
    db.session.info.pop(uploads.PENDING)
    db.session.commit()
    folder = Path(app.config["UPLOAD_DIR"])
    orphan = folder / f"{'a' * 32}.pdf"  # a file no row references, from long ago
    orphan.write_bytes(PDF)
    stray_part = folder / f"{'b' * 32}.pdf.part"
    stray_part.write_bytes(PDF[:10])
    young = folder / f"{'c' * 32}.pdf.part"  # an upload still between write and commit
    young.write_bytes(PDF)
    old = time.time() - 2 * 3600
    for path in (orphan, stray_part):
        os.utime(path, (old, old))
    report = uploads.sweep()
    assert report == {"published": 1, "deleted": 2}
    assert files(app) == sorted([f"{change.new}.pdf", young.name])
