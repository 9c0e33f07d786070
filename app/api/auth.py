"""Who is calling the API: a bearer token, and nothing else.

The session cookie is never consulted under /api/ (so no CSRF token is needed there either):
Flask-Login's `current_user`, which the services' audit trail reads, is set to the token's user
for the request, or to an anonymous user. The reader's language comes from Accept-Language.
"""

from __future__ import annotations

from flask import current_app, g, request
from flask_babel import force_locale

from app.extensions import db, login_manager
from app.models import Role, User
from app.services import tokens, validation
from app.services.accounts import consent_is_current
from app.services.errors import ConsentRenewalRequired, DomainError, NotAllowed
from app.transaction import commit_now

# Open while consent is out of date: answering it again, leaving, and managing one's tokens.
CONSENT_FREE_ENDPOINTS = {
    "api.renew_consent",
    "api.delete_me",
    "api.list_tokens",
    "api.revoke_token",
}


class Unauthenticated(DomainError):
    status = 401
    code = "unauthorized"


def load_api_user() -> None:
    """Before each API request: resolve the bearer token, set the user and the language."""
    user = None
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and secret.strip():
        user = tokens.resolve(secret.strip())
        commit_now()  # its own small unit: when the token was last used, whatever follows
    g.api_user = user
    g._login_user = user or login_manager.anonymous_user()  # Flask-Login's per-request user
    config = current_app.config
    language = request.accept_languages.best_match(config["LANGUAGES"])
    # Entered here, left in end_api_request: error handlers speak the same language.
    g.api_locale = force_locale(language or config["BABEL_DEFAULT_LOCALE"])
    g.api_locale.__enter__()
    # JSON bodies are checked strictly, exactly as the OpenAPI document describes them.
    g.api_strict_json = validation.begin_strict_json()


def end_api_request(_error: BaseException | None = None) -> None:
    # The boundary committed or rolled back what the view changed; whatever a read left open
    # ends here, not at the context's end (on SQLite every transaction holds the write lock).
    db.session.rollback()
    strict = g.pop("api_strict_json", None)
    if strict is not None:
        validation.end_strict_json(strict)
    locale = g.pop("api_locale", None)
    if locale is not None:
        locale.__exit__(None, None, None)


def api_user(*roles: Role) -> User:
    """The caller; 401 without a live token, 403 when its role is not one of `roles`, and 403
    `consent_renewal_required` when the privacy policy changed since the caller answered it."""
    user: User | None = g.get("api_user")
    if user is None:
        raise Unauthenticated("a bearer token is required")
    if roles and user.role not in roles:
        raise NotAllowed("not for this role")
    if request.endpoint not in CONSENT_FREE_ENDPOINTS:
        if not consent_is_current(user):
            version = current_app.config["CONSENT_POLICY_VERSION"]
            raise ConsentRenewalRequired.single(
                "consent.collection", "consent_renewal", policy_version=version
            )
    return user
