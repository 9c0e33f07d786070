"""The logged-in user read on the driver and made into the session's objects by hand
(app.sessions: `_user_columns_query`, `_loaded`; issue 14).

Every logged-in request loads its user (with their profile and latest answer to the privacy
notice) before anything else. The objects that load makes must be the ones the ORM's own load
of `_user_query()` makes: persistent in the request's session, the same values of the same
types, nothing recorded as changed, lazy relationships still lazy; an object the session holds
already is the one returned, its expired columns refreshed from the row (a rotated session
token is read, not the stale one). A change to them is written as to any loaded object. Loads
that something listens to go through the ORM, which fires the events."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, inspect, update
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import SME, Student, User
from app.services import plain_reads
from app.sessions import _user_columns_query, _user_query, load_user
from tests.web.test_queries_per_page import counted


def _state(instance: Any) -> dict[str, Any] | None:
    """What the session knows of an object: its identity, how it was loaded, its values (with
    their types and zones), and whether anything is recorded as changed or expired."""
    if instance is None:
        return None
    state = inspect(instance)
    columns = {prop.key for prop in state.mapper.column_attrs}
    return {
        "key": state.key,
        "identity_token": state.identity_token,
        "persistent": state.persistent,
        "in_session": state.session is db.session(),
        "load_options": state.load_options,
        "load_path": state.load_path,
        "values": {
            key: (value, type(value), getattr(value, "tzinfo", None))
            for key, value in state.dict.items()
            if key in columns
        },
        "unloaded_columns": columns & state.unloaded,
        "committed_state": dict(state.committed_state),
        "expired": sorted(state.expired_attributes),
        "modified": state.modified,
        "callables": dict(state.callables),
    }


def _selects(statements: list[str]) -> list[str]:
    return [statement for statement in statements if statement.startswith("SELECT")]


def _by_the_orm(user_id: int) -> tuple[Any, ...]:
    row = db.session.execute(_user_query(), {"user_id": user_id}).one()
    return row[0], row[3], row[4]


@pytest.mark.parametrize("role", ["student", "sme", "coordinator"])
def test_the_driver_makes_the_objects_the_orm_makes(
    app: Any, request: pytest.FixtureRequest, role: str
) -> None:
    person = request.getfixturevalue(role)
    user_id, token = person.id, person.session_token
    db.session.remove()  # the request's session, empty: the objects are made here
    orm_loads: list[Any] = []
    listen = (Session, "do_orm_execute", orm_loads.append)
    event.listen(*listen)
    try:
        with app.test_request_context("/"):
            user = load_user(f"{user_id}:{token}")
            assert user is not None
            student, sme = user.__dict__["student"], user.__dict__["sme"]
            got = [_state(user), _state(student), _state(sme)]
            assert not db.session.dirty and not db.session.new
    finally:
        event.remove(*listen)
    assert orm_loads == []  # read on the driver, not through the ORM's execution
    statement, _places = _user_columns_query() or (None, None)
    dialect = db.session.connection().dialect
    assert plain_reads._PLANS[(id(statement), id(dialect))] is not None
    assert (student is not None, sme is not None) == (role == "student", role == "sme")
    db.session.remove()
    expected = [_state(instance) for instance in _by_the_orm(user_id)]
    assert got == expected
    assert got[0]["persistent"] and got[0]["in_session"] and not got[0]["unloaded_columns"]


def test_a_change_to_the_loaded_objects_is_written(app: Any, student: Any) -> None:
    user_id, token = student.id, student.session_token
    db.session.remove()
    with app.test_request_context("/"):
        user = load_user(f"{user_id}:{token}")
        assert user is not None and user.student is not None
        user.locale = "ko"
        user.student.university = "Busan National University"
        assert set(db.session.dirty) == {user, user.student}
        db.session.commit()
        assert "locale" not in user.__dict__  # expired by the commit, read again when used
        assert user.locale == "ko"
    db.session.remove()
    user, profile, _sme = _by_the_orm(user_id)
    assert user.locale == "ko" and profile.university == "Busan National University"


def test_lazy_relationships_stay_lazy(app: Any, student: Any) -> None:
    user_id, token = student.id, student.session_token
    db.session.remove()
    with app.test_request_context("/"):
        user = load_user(f"{user_id}:{token}")
        assert user is not None
        profile = user.student
        with counted() as statements:
            assert profile.user is user  # many-to-one: from the identity map
        assert statements == []
        with counted() as statements:
            assert len(profile.language_rows) >= 1  # one-to-many: loaded when read
        assert len(statements) == 1


def test_an_object_the_session_holds_is_the_one_loaded_and_refreshed(
    app: Any, student: Any
) -> None:
    """The fixture's user is in the session, expired by its commit; meanwhile the token is
    rotated elsewhere: the row refreshes the object in the one statement, so the old token is
    refused and the new one accepted."""
    held, profile = student, student.student
    user_id, old_token = held.id, held.session_token
    db.session.commit()  # everything expired
    with db.engine.begin() as connection:
        connection.execute(update(User).where(User.id == user_id).values(session_token="new-one"))
    with app.test_request_context("/"):
        with counted() as statements:
            assert load_user(f"{user_id}:{old_token}") is None
        assert len(_selects(statements)) == 1
        assert held.__dict__["session_token"] == "new-one" and not inspect(held).modified
        with counted() as statements:
            assert load_user(f"{user_id}:new-one") is held
            assert held.student is profile
            assert held.email and profile.name  # loaded by the row: no statement more
        assert len(_selects(statements)) == 1


def test_a_change_not_yet_written_is_kept(app: Any, student: Any) -> None:
    held = student
    held.locale = "ko"  # pending: flushed before the read (autoflush), kept on the object
    with app.test_request_context("/"):
        assert load_user(f"{held.id}:{held.session_token}") is held
        assert held.locale == "ko"
    db.session.rollback()
    assert held.locale != "ko"


def test_a_listened_load_goes_through_the_orm(app: Any, student: Any) -> None:
    user_id, token = student.id, student.session_token
    db.session.remove()
    loaded: list[Any] = []
    listen = (Student, "load", lambda target, context: loaded.append(target))
    event.listen(*listen)
    try:
        with app.test_request_context("/"):
            user = load_user(f"{user_id}:{token}")
            assert user is not None and loaded == [user.student]
    finally:
        event.remove(*listen)


def test_nobody_for_an_unknown_id_or_a_wrong_token(app: Any, sme: Any) -> None:
    user_id, token = sme.id, sme.session_token
    db.session.remove()
    with app.test_request_context("/"):
        assert load_user(f"{user_id + 1000}:{token}") is None
        assert load_user(f"{user_id}:wrong") is None
        user = load_user(f"{user_id}:{token}")
        assert user is not None and isinstance(user.sme, SME) and user.student is None
