"""Sessions: a per-user token in the cookie, rotated to end every session of that user."""

from __future__ import annotations

import functools
import hmac
import time
from typing import Any

from flask import current_app, g, session
from flask_login import login_user, logout_user
from sqlalchemy import Column, Integer, Select, bindparam, select
from sqlalchemy.orm import Mapper, Session, class_mapper
from sqlalchemy.orm.attributes import instance_state, set_committed_value

from app.extensions import db
from app.models import SME, Consent, Student, User
from app.services.consents import LATEST_FIRST
from app.services.plain_reads import rows

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


_ENTITIES = (User, Student, SME)


class _EntityColumns:
    """One entity's place in `_user_columns_query()`'s row: its mapper, its column attributes'
    keys (in the mapper's order, as the ORM reads them), where its columns start in the row and
    where its primary key's columns are among them."""

    def __init__(self, mapper: Mapper[Any], keys: tuple[str, ...], start: int, pk: tuple[int, ...]):
        self.mapper = mapper
        self.keys = keys
        self.start = start
        self.stop = start + len(keys)
        self.pk = pk


@functools.cache
def _user_columns_query() -> tuple[Select[*tuple[Any, ...]], tuple[_EntityColumns, ...]] | None:
    """`_user_query()` as plain columns (the user's, the answer's two, the student's, the
    SME's: the same joins, the same row), with each entity's place in it; None when an entity
    maps anything but plain columns of its own table that the ORM loads (a deferred or computed
    attribute), which only the ORM's own load handles.

    Read on the driver (`plain_reads.rows`) and made into the session's objects by `_loaded`:
    the ORM's execution of the same statement (its compile state, the row processors it builds
    for every execution, the result's wrapping) was ~0.23 ms of every logged-in page against
    ~0.02 ms on the driver, the largest part of a page's fixed cost (issue 14; session 13's
    "next")."""
    places: list[_EntityColumns] = []
    columns: list[Any] = []
    for entity in _ENTITIES:
        if entity is Student:  # the answer's two columns come between the user's and these
            columns += [Consent.__table__.c.collection, Consent.__table__.c.policy_version]
        mapper = class_mapper(entity)
        keys = []
        start = len(columns)
        for prop in mapper.column_attrs:
            column = prop.columns[0]
            if (
                prop.deferred
                or len(prop.columns) != 1
                or not isinstance(column, Column)
                or column.table is not mapper.local_table
            ):
                return None
            keys.append(prop.key)
            columns.append(column)
        pk = tuple(columns.index(column, start) - start for column in mapper.primary_key)
        places.append(_EntityColumns(mapper, tuple(keys), start, pk))
    # The same joins and condition, selecting the columns: the same SQL but for its columns.
    return _user_query().with_only_columns(*columns), tuple(places)


def _loaded(session: Session, place: _EntityColumns, row: tuple[Any, ...]) -> Any:
    """The entity at `place` in `row`, as the ORM's load of the row gives it
    (`loading._instance`): None for an outer join's empty columns (no primary key); the
    session's own object when it holds that identity already, its unloaded (expired) columns
    set from the row as loaded (nothing recorded as changed), what it has loaded or changed
    left as it is; else a new instance with the row's values, persistent in `session`."""
    values = row[place.start : place.stop]
    primary_key = tuple(values[i] for i in place.pk)
    if None in primary_key:
        return None
    mapper = place.mapper
    identity_key = mapper.identity_key_from_primary_key(primary_key)
    instance = session.identity_map.get(identity_key)
    if instance is not None:
        state = instance_state(instance)
        unloaded = state.unloaded
        if unloaded:
            loaded = state.dict
            for key, value in zip(place.keys, values, strict=True):
                if key in unloaded:
                    loaded[key] = value
            state._commit(loaded, unloaded)
        return instance
    instance = mapper.class_manager.new_instance()
    state = instance_state(instance)
    state.dict.update(zip(place.keys, values, strict=True))
    state.key = identity_key
    state.identity_token = None
    state.session_id = session.hash_key
    state.load_options = ()
    state.load_path = mapper._path_registry
    session.identity_map._add_unpresent(state, identity_key)
    return instance


def _user_row(user_id: int) -> tuple[Any, ...] | None:
    """`_user_query()`'s row for `user_id` (user, collection, policy version, student, SME),
    read on the driver; through the ORM's own execution while something listens to its loads
    (`load`, `refresh` or `loaded_as_persistent` events), which that path does not fire."""
    session = db.session()
    plain = _user_columns_query()
    if (
        plain is None
        or session.dispatch.loaded_as_persistent
        or any(
            place.mapper.class_manager.dispatch.load or place.mapper.class_manager.dispatch.refresh
            for place in plain[1]
        )
    ):
        return session.execute(_user_query(), {"user_id": user_id}).first()
    statement, places = plain
    found = rows(statement, {"user_id": user_id})
    if not found:
        return None
    row = found[0]
    user, student, sme = (_loaded(session, place, row) for place in places)
    answer = places[1].start - 2
    return user, row[answer], row[answer + 1], student, sme


def load_user(alternative_id: str) -> User | None:
    user_id, _, token = alternative_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    row = _user_row(int(user_id))
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
