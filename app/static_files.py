"""Static files: fingerprinted names, precompressed, served by WhiteNoise with the right caching.

`flask --app app static build` (a deploy step, like `db upgrade`) copies `app/static` into
`STATIC_BUILD_DIR` with a content hash in each name beside the plain one (`app.css` and
`app.3f2a9c1b7e4d.css`), writes `manifest.json` (plain name -> hashed name) and precompresses
every text file with Brotli and gzip (WhiteNoise's own compressor, best level: done once, not per
request).

When the process starts and a manifest is there, `url_for('static', filename='app.css')` answers
the hashed name (a `url_defaults` hook, so every template and any page added later gets it
without a special helper), and WhiteNoise serves the build: Brotli or gzip as the browser
accepts (`Vary: Accept-Encoding`), `Cache-Control: max-age=315360000, public, immutable` for a
hashed name (its content never changes: a new content is a new name), and `STATIC_MAX_AGE`
seconds for a plain name. Without a build (development, most tests) WhiteNoise serves
`app/static` as it is, uncompressed, with the short max-age.

Why not Flask-Static-Digest: it writes its hashed and compressed copies into the source folder
itself, and pages must call its own `static_url_for` (a plain `url_for('static', ...)` someone
adds later silently gets no fingerprint). WhiteNoise's `CompressedManifestStaticFilesStorage`
is Django-only; this module is the Flask half of it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

from app.security import STATIC_HEADERS

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
# name.<12 hex digits>.ext: what build() writes, and all that is cached for good.
FINGERPRINTED = re.compile(r"\.[0-9a-f]{12}\.[A-Za-z0-9]+$")
HASH_LENGTH = 12


def init_static_files(app: Flask) -> None:
    """Serve static files through WhiteNoise; fingerprinted URLs when a build is there."""
    build = app.config.get("STATIC_BUILD_DIR")
    manifest = _read_manifest(Path(str(build))) if build else None
    root = Path(str(build)) if manifest is not None else Path(app.static_folder or "")
    if manifest is None and app.config.get("ENV_NAME") == "production":
        log.warning(
            "No static build in %s: static files are served uncompressed under plain names "
            "(run `flask --app app static build`, then restart)",
            build,
        )
    app.wsgi_app = WhiteNoise(  # type: ignore[method-assign]
        app.wsgi_app,
        root=str(root),
        prefix=app.static_url_path,
        max_age=app.config.get("STATIC_MAX_AGE", 60),
        # Edits to app/static show at once in development; production reads the folder once.
        autorefresh=app.config.get("ENV_NAME") == "development" and manifest is None,
        allow_all_origins=False,  # served to our own pages only; no CDN in front
        immutable_file_test=lambda path, url: (
            manifest is not None and bool(FINGERPRINTED.search(url))
        ),
        add_headers_function=_security_headers,
    )
    app.extensions["static_manifest"] = manifest or {}
    if manifest:

        @app.url_defaults
        def _fingerprint(endpoint: str, values: dict[str, Any]) -> None:
            if endpoint == "static":
                name = values.get("filename")
                if isinstance(name, str):
                    values["filename"] = manifest.get(name, name)

    app.cli.add_command(static_cli)


def _security_headers(headers: Any, path: str, url: str) -> None:
    """The headers every response of the app carries (WhiteNoise answers before Flask does)."""

    for name, value in STATIC_HEADERS.items():
        headers[name] = value


def _read_manifest(build: Path) -> dict[str, str] | None:
    try:
        return json.loads((build / MANIFEST).read_text())
    except FileNotFoundError:
        return None


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:HASH_LENGTH]


def build(source: Path, target: Path) -> dict[str, str]:
    """Copy `source` into `target` with hashed copies, a manifest, and .br/.gz beside each file.

    Written to a fresh folder that then replaces `target`, so a running server never reads a
    half-built one. Returns the manifest."""
    staging = target.with_name(target.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    manifest: dict[str, str] = {}
    compressor = Compressor(quiet=True)
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        relative = path.relative_to(source).as_posix()
        stem, dot, suffix = relative.rpartition(".")
        hashed = f"{stem}.{_digest(path)}.{suffix}" if dot else f"{relative}.{_digest(path)}"
        for name in (relative, hashed):
            copy = staging / name
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy)
            if compressor.should_compress(name):
                compressor.compress(str(copy))
        manifest[relative] = hashed
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)
    return manifest


static_cli = AppGroup("static", help="Static files for production.")


@static_cli.command("build")
def build_command() -> None:
    """Fingerprint and precompress app/static into STATIC_BUILD_DIR (restart the app after)."""
    target = current_app.config.get("STATIC_BUILD_DIR")
    if not target:
        raise click.UsageError("STATIC_BUILD_DIR is not set.")
    manifest = build(Path(current_app.static_folder or ""), Path(target))
    click.echo(f"{len(manifest)} files fingerprinted and compressed into {target}.")
