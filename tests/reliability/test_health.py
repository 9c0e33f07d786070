"""The health check writes: a read-only database or upload folder is reported, not "ok"."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.extensions import db
from app.services import health


def test_healthy_means_a_row_and_a_file_were_written(app: Flask, client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "database": "ok",
        "database_write": "ok",
        "uploads": "ok",
    }
    assert client.get("/healthz").status_code == 200  # the probe row is updated, not re-inserted
    assert list(Path(app.config["UPLOAD_DIR"]).iterdir()) == []  # the probe file is gone


def test_a_read_only_sqlite_database_is_not_healthy(tmp_path: Path) -> None:
    writable = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    )
    with writable.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    # SQLite opens the same file read-only: every write is refused by SQLite itself.
    read_only = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///file:{tmp_path / 'db.sqlite3'}?mode=ro&uri=true",
            "UPLOAD_DIR": str(tmp_path / "uploads"),
        }
    )
    response = read_only.test_client().get("/healthz")
    assert response.status_code == 503, response.json
    assert response.json["database"] == "ok" and response.json["database_write"] == "failed"
    with read_only.app_context():
        db.engine.dispose()


def test_an_upload_folder_that_refuses_writes_is_not_healthy(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: Any) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(health, "_write_file", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json["uploads"] == "not writable"
