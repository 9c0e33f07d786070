"""Sessions: a per-user token in the cookie, rotated to end every session of that user."""

from __future__ import annotations

import functools
import hmac
import time

from flask import current_app, g, session
from flask_login import login_user, logout_user
from sqlalchemy import Integer, Select, bindparam, select
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models import SME, Consent, Student, User
from app.services.consents import LATEST_FIRST

# The user's latest answer to the privacy notice, as read with the user: (user id, collection,
# policy version), for the consent check before the view (app.security), used once.
_CONSENT_READ = "kx_consent_read_with_user"


@functools.cache
def _user_query() -> Select[User, bool, str, Student, SME]:
    """The user and their latest answer to the privacy notice (the one `consents.current_consent`
    finds, by the same `LATEST_FIRST`), in one statement built once per process: every logged-in
    request loads the user and then checks that answer (app.security), and the two statements,
    each built again per request, were about a third of a bare logged-in request's CPU (issue
    14).

    The user's student or SME profile comes in the same statement (two outer joins on the
    profiles' unique `user_id`): nearly every student and SME page reads `current_user.student`
    or `.sme`, and its lazy load was one more statement per request (~0.3 ms, issue 14); a
    coordinator's row only carries the joins' empty columns. The profiles are selected as
    entities of their own and set on the user (`_profiles_loaded`), not joined-eager-loaded:
    the same objects, without the eager loaders' set-up on every execution (~0.04 ms a
    request, issue 14)."""
    latest = (
        select(Consent.id)
        .where(Consent.user_id == User.id)
        .order_by(*LATEST_FIRST)
        .limit(1)
        .correlate(User)
        .scalar_subquery()
    )
    return (
        select(User, Consent.collection, Consent.policy_version, Student, SME)
        .outerjoin(Consent, Consent.id == latest)
        .outerjoin(Student, Student.user_id == User.id)
        .outerjoin(SME, SME.user_id == User.id)
        .where(User.id == bindparam("user_id", type_=Integer))
    )


def _profiles_loaded(user: User, student: Student | None, sme: SME | None) -> None:
    """`user.student` and `user.sme` as the statement read them, as a load sets them (no change
    recorded), each only when the user's session does not hold it already (loaded, or changed
    and not yet flushed: that stays)."""
    loaded = user.__dict__
    if "student" not in loaded:
        set_committed_value(user, "student", student)
    if "sme" not in loaded:
        set_committed_value(user, "sme", sme)


def load_user(alternative_id: str) -> User | None:
    user_id, _, token = alternative_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    row = db.session.execute(_user_query(), {"user_id": int(user_id)}).first()
    if row is None:
        return None
    user, collection, policy_version, student, sme = row
    if not hmac.compare_digest(user.session_token, token):
        return None
    _profiles_loaded(user, student, sme)
    setattr(g, _CONSENT_READ, (user.id, collection, policy_version))
    return user


def consent_read_with(user: User) -> tuple[bool | None, str | None] | None:
    """The latest answer (collection, policy version; both None when there is none) read with
    `user` when this request loaded them, once: None when it was not read, or was used already
    (a later check in the request, after an answer may have been added, reads it again)."""
    read = g.pop(_CONSENT_READ, None)
    if read is None or read[0] != user.id:
        return None
    return read[1], read[2]


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
