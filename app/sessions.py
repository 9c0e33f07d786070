"""Sessions: a per-user token in the cookie, rotated to end every session of that user."""

from __future__ import annotations

import hmac
import time

from flask import current_app, session
from flask_login import login_user, logout_user

from app.extensions import db
from app.models import User


def load_user(alternative_id: str) -> User | None:
    user_id, _, token = alternative_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not hmac.compare_digest(user.session_token, token):
        return None
    return user


def start_session(user: User) -> None:
    """Log in with a fresh session: nothing from before login carries over (fixation)."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    session.permanent = True  # the idle timeout (PERMANENT_SESSION_LIFETIME) applies
    session["auth_at"] = int(time.time())
    login_user(user)


def end_session() -> None:
    locale = session.get("locale")
    logout_user()
    session.clear()
    if locale:
        session["locale"] = locale


def session_too_old() -> bool:
    started = session.get("auth_at")
    limit = current_app.config["SESSION_ABSOLUTE_HOURS"] * 3600
    return not isinstance(started, int) or time.time() - started > limit
