"""Security baseline: headers, session timeouts, role checks, safe redirects."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, abort, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.extensions import login_manager
from app.models import Role
from app.services.accounts import consent_is_current
from app.sessions import consent_read_with, end_session, session_too_old

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# On every response, static files included (app.static_files hands them to WhiteNoise).
STATIC_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

_STATIC_HEADERS_LOWERED = tuple(
    (name.lower(), name, value) for name, value in STATIC_HEADERS.items()
)


def init_security(app: Flask) -> None:
    @app.before_request
    def _expire_old_sessions() -> None:

        if current_user.is_authenticated and session_too_old():
            end_session()

    @app.before_request
    def _ask_consent_again() -> Response | None:
        """When the privacy policy changes, students and SMEs answer it again before going on."""

        user = current_user._get_current_object()  # one look-up through the proxy, not three
        if (
            user.is_authenticated
            and request.blueprint != "api"  # the API answers with its own errors
            and request.endpoint not in CONSENT_FREE_ENDPOINTS
            # the answer read with the user, at the start of this request (app.sessions)
            and not consent_is_current(user, consent_read_with(user))
        ):
            return redirect(url_for("auth.renew_consent"))
        return None

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        # `headers.setdefault` for each, without its cost: werkzeug finds a header that is not
        # there by raising (and catching) a `BadRequestKeyError`, five times a page (issue 14).
        present = {name.lower() for name, _value in headers}
        for lowered, name, value in _STATIC_HEADERS_LOWERED:
            if lowered not in present:
                headers.add(name, value)
        if request.endpoint != "static":
            # Pages can show personal data; no browser or proxy may keep a copy.
            headers["Cache-Control"] = "no-store"
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


# Pages that stay open while consent is outdated: answering it, reading the policy, leaving.
CONSENT_FREE_ENDPOINTS = {
    "auth.renew_consent",
    "auth.logout",
    "auth.download_data",
    "auth.delete_account",
    "auth.account",
    "auth.verify_email",
    "auth.resend_verification",
    "main.privacy",
    "main.set_language",
    "main.index",
    "static",
}


def check_role(*roles: Role) -> None:

    user = current_user._get_current_object()  # one look-up through the proxy, not two
    if not user.is_authenticated:
        abort(login_manager.unauthorized())
    if user.role not in roles:
        abort(403)


def is_safe_next(target: str | None) -> bool:
    """Only a path on this site: no scheme, no host, no protocol-relative `//evil`."""
    if not target:
        return False
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return False
    # Three or more slashes parse as a path here, but browsers read them as `//host` (and
    # werkzeug rewrites `////evil.com` into `//evil.com` on the way out): refuse them all.
    if target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and target.startswith("/")
