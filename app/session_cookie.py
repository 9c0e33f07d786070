"""The session cookie, re-signed for the idle timeout at most once a minute.

Flask's signed cookie carries the time it was signed; opening it refuses a signature older than
`PERMANENT_SESSION_LIFETIME`, and that is the idle timeout (SECURITY.md item 6). With
`SESSION_REFRESH_EACH_REQUEST` Flask signs the cookie again and sends it on every response, so
the timeout counts from the last request: ~0.15 ms of every page (the payload serialized and
signed, the `Set-Cookie` header built), the largest part of a logged-in request's fixed cost that
did nothing new (issue 14).

Here an unchanged session is signed again only when its signature is at least
`REFRESH_AFTER_SECONDS` old; a changed one is saved at once, as before. The timeout then counts
from the last re-signing, which is at most a minute before the last request: a session idles out
up to a minute *earlier* than it did, never later (the lead's decision, session 11). The cookie's
`Expires`, written with each signature, stays in step with it.
"""

from __future__ import annotations

from typing import cast

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SessionMixin
from itsdangerous import BadSignature, TimestampSigner

from app.signing import KeptSerializerSessionInterface

# An unchanged session's cookie is signed again once its signature is this old (seconds).
REFRESH_AFTER_SECONDS = 60


class SignedSession(SecureCookieSession):
    """A cookie session that knows whether its signature is old enough to be renewed."""

    # A new session, or one whose cookie was refused: nothing to spare.
    signature_due = True


class MinuteRefreshSessionInterface(KeptSerializerSessionInterface):
    """Flask's signed-cookie sessions, an unchanged one re-signed at most once a minute (its
    serializer kept per process: app.signing)."""

    session_class = SignedSession

    def open_session(self, app: Flask, request: Request) -> SignedSession | None:
        """Flask's own, which also notes the signature's age (itsdangerous reads its time
        anyway to check it against the idle limit)."""
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:  # a bad or expired signature: a new, empty session
            return self.session_class()
        session = self.session_class(data)
        # The signer's clock, the one the idle limit was just checked against.
        signer = cast(TimestampSigner, serializer.make_signer())  # a timed serializer's
        age = signer.get_timestamp() - int(signed_at.timestamp())
        session.signature_due = age >= REFRESH_AFTER_SECONDS
        return session

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        """A changed session always; an unchanged permanent one when its signature is due."""
        if session.modified:
            return True
        return bool(
            session.permanent
            and app.config["SESSION_REFRESH_EACH_REQUEST"]
            and getattr(session, "signature_due", True)
        )


def init_session_cookie(app: Flask) -> None:
    app.session_interface = MinuteRefreshSessionInterface()
