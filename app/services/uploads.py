"""CV files: checked by content, stored under random names outside the static folder."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import IO

from flask import current_app

from app.models import Student, User, utcnow
from app.services import audit
from app.services.errors import UploadRejected

PDF_MAGIC = b"%PDF-"


def upload_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def path_of(stored_name: str) -> Path:
    # Stored names are generated here (hex), never taken from the client; still, refuse anything
    # that could step out of the folder.
    if not stored_name.isalnum():
        raise ValueError("bad stored name")
    return upload_dir() / f"{stored_name}.pdf"


def save_cv(student: Student, stream: IO[bytes]) -> str | None:
    """Write the new CV to disk, point the student at it; returns the replaced file's name.

    The file is written before the row changes so the transaction stays short; the caller
    removes the old file only after the commit (and the new one if the commit fails)."""
    limit = current_app.config["CV_MAX_BYTES"]
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise UploadRejected.single("cv", "file_too_large", limit_mb=limit // (1024 * 1024))
    if not data.startswith(PDF_MAGIC):
        raise UploadRejected.single("cv", "not_pdf")
    stored_name = secrets.token_hex(16)
    path = path_of(stored_name)
    with open(path, "xb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)
    replaced = student.cv_stored_name
    student.cv_stored_name = stored_name
    student.cv_uploaded_at = utcnow()
    audit.record("cv_uploaded", target=student)
    return replaced


def remove_cv(student: Student) -> str | None:
    replaced = student.cv_stored_name
    student.cv_stored_name = None
    student.cv_uploaded_at = None
    audit.record("cv_removed", target=student)
    return replaced


def files_of(user: User) -> list[str]:
    if user.student and user.student.cv_stored_name:
        return [user.student.cv_stored_name]
    return []


def delete_files(stored_names: list[str | None]) -> None:
    for name in stored_names:
        if name:
            path_of(name).unlink(missing_ok=True)
