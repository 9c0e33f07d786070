"""The JSON API (/api/v1): bearer tokens, JSON errors, an OpenAPI description."""

from __future__ import annotations

from flask import Flask

from app.api.routes import bp
from app.extensions import csrf


def register_api(app: Flask) -> None:

    csrf.exempt(bp)  # a bearer token, not a cookie, authenticates here: nothing to forge
    app.register_blueprint(bp, url_prefix="/api/v1")
