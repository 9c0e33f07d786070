"""Hypothesis fuzzing of every form: whatever is posted, never a 500, never a half-written record,
and nothing stored that the rules in app.schemas would refuse (SECURITY.md item 11).

Each post starts either from a valid form or from nothing, then sets some fields to anything
(Unicode, NUL and other control characters, huge strings, numbers as text, dates that do not
exist), repeats some keys and drops others.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from kexport_support import PASSWORD, profile_form, sme_form, student_form
from sqlalchemy import delete, func, select
from werkzeug.datastructures import MultiDict

from app import schemas
from app.extensions import db
from app.models import SME, Consent, LoginFailure, Role, Student, User
from app.security import is_safe_next
from app.services import profiles
from app.services.validation import validate


def fuzz(examples: int) -> Any:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


SPECIAL = [
    "\x00",
    "a\x00b",
    "%00",
    "\r\n",
    "\u202e",
    "\ufeff",
    "null",
    "None",
    "true",
    "on",
    "y",
    "-1",
    "0",
    "41",
    "1e9",
    "3.5",
    "99999999999999999999999999",
    "-99999999999999999999999999",
    "NaN",
    "2026-02-30",
    "9999-12-31",
    "0001-01-01",
    "1970-01-01T00:00:00",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "ｖｉ",
    "VN",
    "vn",
    "vi",
    "native",
    "d2",
    "seoul",
    "cosmetics",
    "220-81-62517",
    "124-81-00998",
    "linh@example.org",
    "LINH@EXAMPLE.ORG",
    PASSWORD,
    "//evil.com",
    "////evil.com",
]

values = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(max_codepoint=0x9F), max_size=12),  # control characters, NUL
    st.sampled_from(SPECIAL),
    st.integers().map(str),
    st.integers(min_value=0, max_value=40_000).map(lambda n: "가" * n),  # huge
)


def posts(base: dict[str, Any], extra_keys: list[str]) -> Any:
    """MultiDicts derived from `base` (a valid form) or from nothing."""
    keys = sorted(set(base) | set(extra_keys))

    def build(args: tuple[bool, set[str], dict[str, list[str]]]) -> MultiDict:
        from_valid, dropped, changed = args
        form = MultiDict()
        if from_valid:
            for key, value in base.items():
                if key in dropped:
                    continue
                for item in value if isinstance(value, list) else [value]:
                    form.add(key, item)
        for key, items in changed.items():
            form.setlist(key, items)  # one value, or the key repeated
        return form

    return st.tuples(
        st.booleans(),
        st.sets(st.sampled_from(keys), max_size=4),
        st.dictionaries(
            st.sampled_from(keys) | st.text(max_size=15),
            st.lists(values, min_size=1, max_size=3),
            max_size=5,
        ),
    ).map(build)


LANGUAGE_KEYS = [f"languages-{i}-{part}" for i in (0, 1, 3, 7, 8, 99) for part in ("code", "level")]
MASS_ASSIGNMENT = ["role", "status", "approved", "id", "user_id", "csrf_token", "paused"]


def count(model: Any, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def assert_consistent() -> None:
    """No half-written sign-up: every account has its profile and its consent, and only those."""
    db.session.rollback()
    assert count(Student) == count(User, User.role == Role.STUDENT)
    assert count(SME) == count(User, User.role == Role.SME)
    assert count(User, User.role == Role.COORDINATOR) == 0
    assert count(Consent) == count(User)


def stored_student_is_valid(student: Student) -> None:
    data = profiles.student_dict(student)
    validate(schemas.StudentProfileIn, data)


def stored_sme_is_valid(sme: SME) -> None:
    validate(schemas.SMEProfileIn, profiles.sme_dict(sme))


# --- sign-up --------------------------------------------------------------------------------------


@fuzz(60)
@given(form=posts(student_form(), LANGUAGE_KEYS + MASS_ASSIGNMENT))
def test_fuzz_student_signup(app: Flask, form: MultiDict) -> None:
    users_before = count(User)
    response = app.test_client().post("/student/signup", data=form)
    assert response.status_code < 500
    if response.status_code == 302:
        assert count(User) == users_before + 1
        user = db.session.scalar(select(User).order_by(User.id.desc()).limit(1))
        assert user.role == Role.STUDENT
        stored_student_is_valid(user.student)
    else:
        assert response.status_code in (400, 409, 413, 422), response.status_code
        assert count(User) == users_before
    assert_consistent()


@fuzz(60)
@given(form=posts(sme_form(), MASS_ASSIGNMENT))
def test_fuzz_sme_signup(app: Flask, form: MultiDict) -> None:
    users_before = count(User)
    response = app.test_client().post("/sme/signup", data=form)
    assert response.status_code < 500
    if response.status_code == 302:
        assert count(User) == users_before + 1
        user = db.session.scalar(select(User).order_by(User.id.desc()).limit(1))
        assert user.role == Role.SME
        assert schemas.business_number_is_valid(user.sme.business_number)
        stored_sme_is_valid(user.sme)
    else:
        assert response.status_code in (400, 409, 413, 422), response.status_code
        assert count(User) == users_before
    assert_consistent()


# --- login ----------------------------------------------------------------------------------------


@fuzz(80)
@example(form=MultiDict({"email": "linh\x00@example.org", "password": PASSWORD}))
@example(form=MultiDict({"email": "\x00", "password": "\x00"}))
@given(
    form=posts(
        {"email": "linh@example.org", "password": PASSWORD, "next": "/student/profile"},
        ["csrf_token", "remember"],
    )
)
def test_fuzz_login(app: Flask, student: User, form: MultiDict) -> None:
    db.session.execute(delete(LoginFailure))  # keep exploring the login, not the lock-out
    db.session.commit()
    response = app.test_client().post("/login", data=form)
    assert response.status_code in (302, 401), response.status_code
    if response.status_code == 302:
        location = response.headers["Location"]
        assert is_safe_next(location) or location == "/dashboard", location
        assert not location.startswith("//")


# --- profiles and password ------------------------------------------------------------------------


def logged_in(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


# One logged-in browser per test, reused by every example (a login per example would cost more
# than the post it precedes).


@pytest.fixture
def student_client(app: Flask, student: User) -> FlaskClient:
    return logged_in(app, student)


@pytest.fixture
def sme_client(app: Flask, sme: User) -> FlaskClient:
    return logged_in(app, sme)


@pytest.fixture
def coordinator_client(app: Flask, coordinator: User) -> FlaskClient:
    return logged_in(app, coordinator)


@fuzz(50)
@given(form=posts(profile_form(student_form()), LANGUAGE_KEYS + MASS_ASSIGNMENT + ["email"]))
def test_fuzz_student_profile_edit(
    student_client: FlaskClient, student: User, form: MultiDict
) -> None:
    client = student_client
    db.session.expire_all()
    before = profiles.student_dict(student.student)
    response = client.post("/student/profile/edit", data=form)
    assert response.status_code < 500
    db.session.rollback()
    after = profiles.student_dict(student.student)
    if response.status_code == 302:
        stored_student_is_valid(student.student)
    else:
        assert response.status_code in (400, 413, 422), response.status_code
        assert after == before
    assert (student.email, student.role) == ("linh@example.org", Role.STUDENT)
    assert_consistent()


@fuzz(50)
@given(form=posts(profile_form(sme_form()), MASS_ASSIGNMENT + ["email", "business_number"]))
def test_fuzz_sme_profile_edit(sme_client: FlaskClient, sme: User, form: MultiDict) -> None:
    client = sme_client
    db.session.expire_all()
    before = profiles.sme_dict(sme.sme)
    response = client.post("/sme/profile/edit", data=form)
    assert response.status_code < 500
    db.session.rollback()
    after = profiles.sme_dict(sme.sme)
    if response.status_code == 302:
        stored_sme_is_valid(sme.sme)
        assert after["business_number"] == before["business_number"]
    else:
        assert response.status_code in (400, 413, 422), response.status_code
        assert after == before
    assert_consistent()


@fuzz(45)
@given(
    form=posts(
        {"current_password": PASSWORD, "new_password": "another fine passphrase"}, ["csrf_token"]
    )
)
def test_fuzz_password_change(student_client: FlaskClient, student: User, form: MultiDict) -> None:
    from app.services.accounts import hash_password

    student.password_hash = hash_password(PASSWORD)  # each example starts from the same password
    db.session.commit()
    client = student_client  # still logged in: a successful change keeps this session
    old_hash = student.password_hash
    response = client.post("/account/password", data=form)
    assert response.status_code < 500
    db.session.rollback()
    if response.status_code == 302:
        assert student.password_hash != old_hash
        assert client.get("/student/").status_code == 200
    else:
        assert response.status_code in (400, 413, 422), response.status_code
        assert student.password_hash == old_hash


# --- the coordinators' filters (query strings) ----------------------------------------------------

FILTER_KEYS = ["nationality", "language", "market", "industry", "region", "q", "page"]


@fuzz(45)
@example(path="/coordinator/students", args={"page": ["99999999999999999999999999"]})
@example(path="/coordinator/smes", args={"page": ["-99999999999999999999999999"]})
@example(path="/coordinator/students", args={"q": ["\x00"], "nationality": ["\x00"]})
@example(path="/coordinator/smes", args={"q": ["a\x00b"], "language": ["vi\x00"]})
@given(
    path=st.sampled_from(["/coordinator/students", "/coordinator/smes"]),
    args=st.dictionaries(
        st.sampled_from(FILTER_KEYS) | st.text(max_size=8),
        st.lists(values, min_size=1, max_size=2),
        max_size=4,
    ),
)
def test_fuzz_coordinator_filters(
    coordinator_client: FlaskClient, student: User, sme: User, path: str, args: dict[str, list[str]]
) -> None:
    response = coordinator_client.get(
        path, query_string=MultiDict([(k, v) for k, vs in args.items() for v in vs])
    )
    assert response.status_code == 200
