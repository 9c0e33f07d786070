"""CV files: checked by content, stored under random names outside the static folder.

A file never outlives the transaction that would reference it, and a row never points at a
half-written file: the bytes go to `<name>.pdf.part` (written, flushed, fsynced) before the row
changes, the request commits, and only then is the part renamed to `<name>.pdf` (one atomic
rename in the same folder). A failed commit deletes the part; so does a failed write (a full
disk, a read-only folder), which is answered 507/503 with a clear message. A crash between the
commit and the rename leaves a part whose name the database knows: `sweep()` (the nightly job)
finishes it, and removes parts and files that nothing references.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO
from urllib.parse import quote

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Activity, Match, Message, Student, User, utcnow
from app.services import audit
from app.services.errors import StorageFull, StorageUnavailable, UploadRejected

log = logging.getLogger(__name__)

PDF_MAGIC = b"%PDF-"
SUFFIX = ".pdf"
PART = ".pdf.part"
# Errors that mean "no room": ENOSPC (disk), EDQUOT (quota), EFBIG (file size limit).
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def upload_dir_path() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def upload_dir() -> Path:
    path = upload_dir_path()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise storage_error(error) from error
    return path


def _check_name(stored_name: str) -> None:
    # Stored names are generated here (hex), never taken from the client; still, refuse anything
    # that could step out of the folder.
    if not stored_name.isalnum():
        raise ValueError("bad stored name")


def path_of(stored_name: str) -> Path:
    _check_name(stored_name)
    return upload_dir() / f"{stored_name}{SUFFIX}"


def part_of(stored_name: str) -> Path:
    _check_name(stored_name)
    return upload_dir() / f"{stored_name}{PART}"


def storage_error(error: OSError) -> StorageFull | StorageUnavailable:
    log.error("upload folder %s: %s", current_app.config["UPLOAD_DIR"], error)
    if error.errno in _FULL:
        return StorageFull(str(error))
    return StorageUnavailable(str(error))


@dataclass
class FileChange:
    """What a request did to the files: a new part to publish, a replaced file to delete."""

    new: str | None = None
    replaced: str | None = None

    def committed(self) -> None:
        if self.new:
            publish(self.new)
        delete_files([self.replaced])

    def failed(self) -> None:
        if self.new:
            _unlink(part_of(self.new))


PENDING = "uploads_pending"  # Session.info: the file changes of the unit of work


def on_commit(change: FileChange) -> FileChange:
    """Publish the new file once this unit of work commits, delete the part if it rolls back
    (app.transaction's session events call `committed` / `rolled_back`)."""
    db.session.info.setdefault(PENDING, []).append(change)
    return change


def delete_after_commit(stored_names: Sequence[str | None]) -> None:
    """Delete these files once the unit of work that dropped their rows commits."""
    for name in stored_names:
        if name:
            on_commit(FileChange(replaced=name))


def committed(session: Session) -> None:
    for change in session.info.pop(PENDING, []):
        change.committed()


def rolled_back(session: Session) -> None:
    for change in session.info.pop(PENDING, []):
        change.failed()


def save_cv(student: Student, stream: IO[bytes]) -> FileChange:
    """Write the new CV as a part file and point the student at it; the commit publishes it.

    The file is written before the row changes so the transaction stays short."""
    limit = current_app.config["CV_MAX_BYTES"]
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise UploadRejected.single("cv", "file_too_large", limit_mb=limit // (1024 * 1024))
    if not data.startswith(PDF_MAGIC):
        raise UploadRejected.single("cv", "not_pdf")
    stored_name = secrets.token_hex(16)
    write_part(stored_name, data)
    change = on_commit(FileChange(new=stored_name, replaced=student.cv_stored_name))
    student.cv_stored_name = stored_name
    student.cv_uploaded_at = utcnow()
    audit.record("cv_uploaded", target=student)
    return change


def store_pdf(stream: IO[bytes], field: str) -> tuple[FileChange, int]:
    """Check and write an attachment (a message's or a work-log entry's PDF) by the CV's rules,
    under a random name, as a part file, published when the unit of work commits.
    Returns the change and the file's size."""
    limit = current_app.config["CV_MAX_BYTES"]
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise UploadRejected.single(field, "file_too_large", limit_mb=limit // (1024 * 1024))
    if not data.startswith(PDF_MAGIC):
        raise UploadRejected.single(field, "not_pdf")
    stored_name = secrets.token_hex(16)
    write_part(stored_name, data)
    return on_commit(FileChange(new=stored_name)), len(data)


def write_part(stored_name: str, data: bytes) -> None:
    """All the bytes on disk under the part name, or nothing at all."""
    path = part_of(stored_name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            _write(handle, data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        _unlink(path)  # a full disk leaves a partial file: never keep it
        raise storage_error(error) from error


def _write(handle: IO[bytes], data: bytes) -> None:
    handle.write(data)


def publish(stored_name: str) -> None:
    """Rename the committed part to its final name (atomic within the folder)."""
    try:
        os.replace(part_of(stored_name), path_of(stored_name))
        _fsync_dir(upload_dir())
    except OSError:
        # The row is committed; the nightly sweep finishes the rename. Never fail the request.
        log.exception("could not publish upload %s; the sweep will retry", stored_name)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_cv(student: Student) -> FileChange:
    change = on_commit(FileChange(replaced=student.cv_stored_name))
    student.cv_stored_name = None
    student.cv_uploaded_at = None
    audit.record("cv_removed", target=student)
    return change


def files_of(user: User) -> list[str]:
    """Every file that goes when this account goes: the CV, and the PDFs attached to messages
    and work-log entries of the person's matches (deleting the account deletes the matches)."""
    files = []
    if user.student and user.student.cv_stored_name:
        files.append(user.student.cv_stored_name)
    if user.student:
        of_person = Match.student_id == user.student.id
    elif user.sme:
        of_person = Match.sme_id == user.sme.id
    else:
        return files
    matches = select(Match.id).where(of_person)
    for column, match_id in (
        (Message.attachment, Message.match_id),
        (Activity.attachment, Activity.match_id),
    ):
        files += [
            name
            for name in db.session.scalars(
                select(column).where(match_id.in_(matches), column.is_not(None))
            )
            if name  # never None: the query leaves those out
        ]
    return files


def delete_files(stored_names: Sequence[str | None]) -> None:
    """Delete files after the commit that dropped them; a failure is logged, the sweep retries."""
    for name in stored_names:
        if name:
            _unlink(path_of(name))
            _unlink(part_of(name))


def _unlink(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        log.exception("could not delete %s; the sweep will retry", path.name)


def sweep(grace: timedelta = timedelta(hours=1)) -> dict[str, int]:
    """Finish interrupted renames and delete files no row references (older than `grace`, so
    an upload between its write and its commit is never touched)."""
    folder = upload_dir()
    referenced = set(
        db.session.scalars(
            select(Student.cv_stored_name).where(Student.cv_stored_name.is_not(None))
        )
    )
    # Attachments of messages and work-log entries are files of the same folder.
    for column in (Message.attachment, Activity.attachment):
        referenced.update(db.session.scalars(select(column).where(column.is_not(None))))
    cutoff = (utcnow() - grace).timestamp()
    report = {"published": 0, "deleted": 0}
    for path in folder.iterdir():
        name = path.name.split(".", 1)[0]
        if not path.is_file() or not name.isalnum():
            continue
        if path.name.endswith(PART) and name in referenced and not path_of(name).exists():
            publish(name)
            report["published"] += 1
        elif name not in referenced and path.stat().st_mtime < cutoff:
            _unlink(path)
            report["deleted"] += 1
    return report


# --- downloads -----------------------------------------------------------------------------------

_UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|;]+')


def cv_filename(student_name: str) -> str:
    """The file name a downloaded CV gets: the student's name, so a folder of downloaded CVs
    says whose each one is ("Nguyen Thi Linh - CV.pdf", "김민지 - CV.pdf"). Characters that
    are not allowed in file names on common systems are left out."""
    name = " ".join(_UNSAFE_IN_NAME.sub(" ", unicodedata.normalize("NFC", student_name)).split())
    return f"{name[:80].strip() or 'student'} - CV.pdf"


def attachment_disposition(filename: str, fallback: str) -> str:
    """`Content-Disposition: attachment` naming `filename` (RFC 6266): an ASCII `filename` for
    old clients (the name's ASCII letters, or `fallback` when it has none, as a Korean name)
    and `filename*` (RFC 5987, UTF-8, percent-encoded) for everyone else."""
    # Accents come off ("Nguyễn" → "Nguyen"); a letter with no ASCII form (Hangul, "Đ") means
    # the fallback, rather than a name with letters missing.
    bare = "".join(
        c for c in unicodedata.normalize("NFKD", filename) if not unicodedata.combining(c)
    )
    ascii_name = " ".join(re.sub(r"[^A-Za-z0-9._() -]+", " ", bare).split())
    if not bare.isascii() or not re.search(r"[A-Za-z0-9]", ascii_name.removesuffix("CV.pdf")):
        ascii_name = fallback
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
