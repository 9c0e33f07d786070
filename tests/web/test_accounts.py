"""Accounts through the HTML forms: sign-up and consent, login and its throttle, sessions,
passwords, deleting an account, a copy of one's data, withdrawing consent (SECURITY.md 1-6, 17-20).
"""

from __future__ import annotations

import io
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import itsdangerous.timed
import pytest
from flask import Flask
from flask.testing import FlaskClient
from kexport_support import PASSWORD, profile_form, sme_form, student_form
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from app import create_app
from app.extensions import db
from app.models import (
    SME,
    AuditEvent,
    Consent,
    LoginFailure,
    Match,
    MatchStatus,
    Role,
    SMECode,
    Student,
    StudentCode,
    StudentLanguage,
    User,
)

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def count(model: Any, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def user_by_email(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def audit_actions(**where: Any) -> list[str]:
    query = select(AuditEvent.action).order_by(AuditEvent.id)
    for key, value in where.items():
        query = query.where(getattr(AuditEvent, key) == value)
    return list(db.session.scalars(query))


def is_logged_in(client: FlaskClient, home: str = "/student/") -> bool:
    response = client.get(home)
    if response.status_code == 200:
        return True
    assert response.status_code == 302, response.status_code
    assert response.headers["Location"].startswith("/login")
    return False


def session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None, "no session cookie"
    return cookie.value


def clone(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of this one's session cookie."""
    other = app.test_client()
    other.set_cookie("session", session_cookie(client))
    return other


def upload_cv(client: FlaskClient, data: bytes = PDF) -> Any:
    return client.post(
        "/student/cv",
        data={"cv": (io.BytesIO(data), "my cv.pdf")},
        content_type="multipart/form-data",
    )


# --- sign-up --------------------------------------------------------------------------------------


def test_student_signs_up_through_the_form(app: Flask, client: FlaskClient) -> None:
    before = datetime.now(UTC)
    response = client.post(
        "/student/signup",
        data=student_form(
            markets=["VN", "TH", "la"],
            **{"languages-2-code": "ko", "languages-2-level": "conversational"},
            available_from="2026-03-01",
        ),
    )
    assert response.status_code == 302, response.data[:2000]
    assert response.headers["Location"] == "/student/signup/cv"  # step 5: the CV, optional

    user = user_by_email("linh@example.org")
    assert user is not None and user.role == Role.STUDENT
    student = user.student
    assert student is not None
    assert (student.name, student.nationality, student.topik_level) == ("Nguyen Thi Linh", "VN", 4)
    assert student.languages == [
        {"code": "vi", "level": "native"},
        {"code": "en", "level": "business"},
        {"code": "ko", "level": "conversational"},
    ]
    assert student.markets == ["LA", "TH", "VN"]  # repeated keys, each one kept, normalised
    assert student.industries == ["cosmetics"]
    assert student.regions == ["gyeonggi", "seoul"]
    assert (student.hours_per_week, student.visa) == (12, "d2")
    assert student.available_from.isoformat() == "2026-03-01"
    assert student.available_until is None

    consents = db.session.scalars(select(Consent).where(Consent.user_id == user.id)).all()
    assert len(consents) == 1
    consent = consents[0]
    assert consent.policy_version == app.config["CONSENT_POLICY_VERSION"]
    assert consent.collection is True and consent.provision_to_smes is True
    assert before - timedelta(seconds=1) <= consent.given_at <= datetime.now(UTC)
    assert "signup" in audit_actions(actor_id=user.id)

    # Signed up means logged in.
    assert client.get("/student/").status_code == 200


def test_sme_signs_up_through_the_form(app: Flask, client: FlaskClient) -> None:
    response = client.post(
        "/sme/signup",
        data=sme_form(languages_needed=["vi", "th"], exporting="y", consent_provision=None),
    )
    assert response.status_code == 302, response.data[:2000]
    assert response.headers["Location"] == "/sme/"
    user = user_by_email("export@hanbit.example")
    assert user is not None and user.role == Role.SME
    sme = user.sme
    assert sme is not None
    assert (sme.company_name, sme.contact_name) == ("한빛코스메틱", "김민준")
    assert sme.business_number == "2208162517"
    assert sme.markets == ["TH", "VN"]
    assert sme.languages_needed == ["th", "vi"]
    assert (sme.region, sme.capacity, sme.exporting) == ("gyeonggi", 2, True)
    consent = db.session.scalar(select(Consent).where(Consent.user_id == user.id))
    assert consent is not None
    assert consent.policy_version == app.config["CONSENT_POLICY_VERSION"]
    assert (consent.collection, consent.provision_to_smes) == (True, False)
    assert client.get("/sme/").status_code == 200


def assert_nothing_written() -> None:
    db.session.rollback()
    for model in (User, Student, StudentLanguage, StudentCode, SME, SMECode, Consent):
        assert count(model) == 0, model.__tablename__
    assert "signup" not in audit_actions()


@pytest.mark.parametrize(
    ("path", "form"),
    [("/student/signup", student_form), ("/sme/signup", sme_form)],
)
def test_without_consent_to_collection_no_account_is_created(
    client: FlaskClient, path: str, form: Any
) -> None:
    response = client.post(path, data=form(consent_collection=None))
    assert 400 <= response.status_code < 500
    assert b"consent" in response.data.lower()
    assert_nothing_written()
    # And the person is not logged in as anyone.
    assert client.get("/dashboard").status_code == 302


def test_consent_boxes_are_unticked_on_the_form(client: FlaskClient) -> None:
    # Students: collection, and provision to SMEs (a third party). SMEs: collection.
    boxes = {
        "/student/signup": ("consent_collection", "consent_provision"),
        "/sme/signup": ("consent_collection",),
    }
    for path, names in boxes.items():
        html = client.get(path).get_data(as_text=True)
        for name in names:
            tags = re.findall(rf'<input[^>]*name="{name}"[^>]*>', html)
            assert len(tags) == 1, (path, name)
            assert 'type="checkbox"' in tags[0]
            assert "checked" not in tags[0], (path, name)
        # The notice comes before the boxes: purpose, items, retention, the right to refuse.
        assert html.index("Right to refuse") < html.index('name="consent_collection"')


@pytest.mark.parametrize(
    "broken",
    [
        {"bio": "fine\x00until here"},  # the last rule checked on the last field
        {"hours_per_week": "41"},
        {"languages-1-code": "vi"},  # the same language twice
        {"available_from": "2026-05-02", "available_until": "2026-05-01"},
        {"password": "password"},
        {"email": "not-an-email"},
    ],
)
def test_a_refused_sign_up_writes_nothing(client: FlaskClient, broken: dict[str, str]) -> None:
    response = client.post("/student/signup", data=student_form(**broken))
    assert response.status_code == 422
    assert_nothing_written()


def test_a_refused_sme_sign_up_writes_nothing(client: FlaskClient) -> None:
    response = client.post("/sme/signup", data=sme_form(business_number="220-81-62518"))
    assert response.status_code == 422
    assert "사업자등록번호".encode() in response.data or b"business" in response.data.lower()
    assert_nothing_written()


def test_duplicate_email_is_refused_whatever_its_case(
    client: FlaskClient, make_student: Any
) -> None:
    make_student()
    response = client.post("/student/signup", data=student_form(email=" LINH@Example.ORG "))
    assert response.status_code == 409
    assert count(User) == 1
    assert count(Student) == 1
    # An SME cannot take a student's email either.
    response = client.post("/sme/signup", data=sme_form(email="Linh@example.org"))
    assert response.status_code == 409
    assert count(User) == 1 and count(SME) == 0


def test_duplicate_business_number_is_refused(client: FlaskClient, make_sme: Any) -> None:
    make_sme()
    response = client.post(
        "/sme/signup", data=sme_form(email="other@hanbit.example", business_number="2208162517")
    )
    assert response.status_code == 409
    assert count(User) == 1 and count(SME) == 1


def test_mass_assignment_through_the_sign_up_form_changes_nothing(client: FlaskClient) -> None:
    extra = {
        "role": "coordinator",
        "status": "approved",
        "approved": "y",
        "id": "1",
        "user_id": "1",
        "session_token": "attacker-chosen",
        "password_hash": "scrypt:1:1:1$x$y",
        "paused": "y",
        "cv_stored_name": "0" * 32,
    }
    response = client.post("/student/signup", data=student_form(**extra))
    assert response.status_code == 302
    user = user_by_email("linh@example.org")
    assert user is not None
    assert user.role == Role.STUDENT
    assert user.session_token != "attacker-chosen"
    assert check_password_hash(user.password_hash, PASSWORD)
    assert user.student is not None
    assert user.student.paused is False and user.student.cv_stored_name is None
    assert client.get("/coordinator/").status_code == 403


def test_mass_assignment_through_the_profile_forms_changes_nothing(
    client: FlaskClient, student: User, make_student: Any, sme: User, login_as: Any
) -> None:
    other = make_student(email="other@example.org", name="Other Person")
    login_as(student)
    form = profile_form(student_form(name="Linh N."))
    form.update(email="evil@example.org", role="coordinator", user_id=str(other.id), id="1")
    response = client.post("/student/profile/edit", data=form)
    assert response.status_code == 302
    db.session.expire_all()
    assert (student.email, student.role, student.student.name) == (
        "linh@example.org",
        Role.STUDENT,
        "Linh N.",
    )
    assert other.student.name == "Other Person"

    client.post("/logout")
    login_as(sme)
    form = profile_form(sme_form(company_name="새 이름"))
    form.update(business_number="1248100998", email="evil@example.org", role="coordinator")
    assert client.post("/sme/profile/edit", data=form).status_code == 302
    db.session.expire_all()
    assert (sme.sme.company_name, sme.sme.business_number, sme.email, sme.role) == (
        "새 이름",
        "2208162517",
        "export@hanbit.example",
        Role.SME,
    )


# --- login and logout -----------------------------------------------------------------------------


def test_login_and_logout(client: FlaskClient, student: User) -> None:
    response = client.post("/login", data={"email": " LINH@example.ORG", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"
    assert client.get("/dashboard").headers["Location"] == "/student/"
    assert is_logged_in(client)
    assert "login" in audit_actions(actor_id=student.id)

    response = client.post("/logout")
    assert response.status_code == 302
    assert not is_logged_in(client)
    assert "logout" in audit_actions(actor_id=student.id)


def test_wrong_password_and_unknown_email_get_the_same_401(
    client: FlaskClient, student: User
) -> None:
    wrong = client.post("/login", data={"email": student.email, "password": PASSWORD + "x"})
    unknown = client.post("/login", data={"email": "nobody@example.org", "password": PASSWORD})
    empty = client.post("/login", data={})
    for response in (wrong, unknown, empty):
        assert response.status_code == 401
        assert b"Wrong email or password." in response.data
    assert not is_logged_in(client)
    assert audit_actions().count("login_failed") == 3


def test_ten_failures_for_an_account_lock_it_from_every_address(
    app: Flask, client: FlaskClient, student: User
) -> None:
    for n in range(10):
        response = client.post(
            "/login",
            data={"email": student.email, "password": f"wrong guess {n}"},
            environ_base={"REMOTE_ADDR": f"203.0.113.{n}"},
        )
        assert response.status_code == 401, n
    # The counter lives in the database, where every worker sees it.
    assert count(LoginFailure, LoginFailure.email == student.email) == 10

    fresh_address = {"REMOTE_ADDR": "198.51.100.7"}
    response = client.post(
        "/login", data={"email": student.email, "password": PASSWORD}, environ_base=fresh_address
    )
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert not is_logged_in(client)

    # Another worker (another application on the same database) refuses too.
    email = student.email
    db.session.commit()  # end our transaction (SQLite: its lock) before the other worker asks
    other_worker = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "UPLOAD_DIR": app.config["UPLOAD_DIR"],
        }
    )
    try:
        response = other_worker.test_client().post(
            "/login",
            data={"email": email, "password": PASSWORD},
            environ_base=fresh_address,
        )
        assert response.status_code == 429
    finally:
        with other_worker.app_context():
            db.session.remove()
            db.engine.dispose()


def test_many_failures_from_an_address_lock_it_for_every_account(
    app: Flask,
    client: FlaskClient,
    student: User,
    make_student: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The address limit is far higher than an account's (issue 12.10); lowered here for speed.
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES_PER_ADDRESS", 20)
    other = make_student(email="other@example.org")
    attacker = {"REMOTE_ADDR": "192.0.2.66"}
    for n in range(20):
        response = client.post(
            "/login",
            data={"email": f"guess{n}@example.org", "password": PASSWORD},
            environ_base=attacker,
        )
        assert response.status_code == 401
    assert count(LoginFailure, LoginFailure.ip == "192.0.2.66") == 20
    response = client.post(
        "/login", data={"email": other.email, "password": PASSWORD}, environ_base=attacker
    )
    assert response.status_code == 429
    # Someone else, from elsewhere, is not locked out.
    response = client.post(
        "/login",
        data={"email": student.email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "192.0.2.67"},
    )
    assert response.status_code == 302


def test_nine_failures_do_not_lock_and_a_success_resets_the_count(
    client: FlaskClient, student: User
) -> None:
    def fail(times: int) -> None:
        for _ in range(times):
            assert (
                client.post("/login", data={"email": student.email, "password": "nope"}).status_code
                == 401
            )

    fail(9)
    assert (
        client.post("/login", data={"email": student.email, "password": PASSWORD}).status_code
        == 302
    )
    client.post("/logout")
    fail(9)
    assert (
        client.post("/login", data={"email": student.email, "password": PASSWORD}).status_code
        == 302
    )


def test_the_lock_ends_with_its_window(
    app: Flask, client: FlaskClient, student: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(10):
        client.post("/login", data={"email": student.email, "password": "nope"})
    assert (
        client.post("/login", data={"email": student.email, "password": PASSWORD}).status_code
        == 429
    )
    monkeypatch.setitem(app.config, "LOGIN_FAILURE_WINDOW", timedelta(seconds=0))
    assert (
        client.post("/login", data={"email": student.email, "password": PASSWORD}).status_code
        == 302
    )


# --- sessions -------------------------------------------------------------------------------------


def test_a_cookie_captured_before_logout_no_longer_works(
    app: Flask, client: FlaskClient, student: User, login_as: Any
) -> None:
    login_as(student)
    thief = clone(app, client)
    assert is_logged_in(thief)  # the copy works while the session lives
    client.post("/logout")
    assert not is_logged_in(client)
    assert not is_logged_in(thief)


def test_logout_ends_the_sessions_on_other_devices(
    app: Flask, client: FlaskClient, student: User, login_as: Any
) -> None:
    phone = app.test_client()
    login_as(student)
    login_as(student, target=phone)
    client.post("/logout")
    assert not is_logged_in(phone)


def test_password_change_ends_other_sessions_but_keeps_this_one(
    app: Flask, client: FlaskClient, student: User, login_as: Any
) -> None:
    phone = app.test_client()
    login_as(student, target=phone)
    login_as(student)
    stolen = clone(app, client)
    new_password = "a brand new passphrase 2026"
    response = client.post(
        "/account/password", data={"current_password": PASSWORD, "new_password": new_password}
    )
    assert response.status_code == 302
    assert is_logged_in(client)
    assert not is_logged_in(phone)
    assert not is_logged_in(stolen)  # the old cookie of this very browser is dead too
    assert "password_changed" in audit_actions(actor_id=student.id)

    client.post("/logout")
    assert (
        client.post("/login", data={"email": student.email, "password": PASSWORD}).status_code
        == 401
    )
    assert (
        client.post("/login", data={"email": student.email, "password": new_password}).status_code
        == 302
    )


@pytest.mark.parametrize(
    ("form", "field_message"),
    [
        (
            {"current_password": "not my password", "new_password": "another good passphrase"},
            b"current password",
        ),
        ({"current_password": PASSWORD, "new_password": "iloveyou"}, b"common"),
        ({"current_password": PASSWORD, "new_password": "short"}, b"8"),
    ],
)
def test_a_refused_password_change_changes_nothing(
    app: Flask,
    client: FlaskClient,
    student: User,
    login_as: Any,
    form: dict[str, str],
    field_message: bytes,
) -> None:
    login_as(student)
    phone = app.test_client()
    login_as(student, target=phone)
    old_hash = student.password_hash
    response = client.post("/account/password", data=form)
    assert response.status_code == 422
    assert field_message in response.data
    db.session.expire_all()
    assert student.password_hash == old_hash
    assert is_logged_in(phone)


def test_session_id_changes_at_login_and_nothing_carries_over_but_the_locale(
    client: FlaskClient, student: User, login_as: Any
) -> None:
    with client.session_transaction() as session:
        session["locale"] = "ko"
        session["planted_by_attacker"] = "fixation"
        session["_user_id"] = "999:forged"
    before = session_cookie(client)
    login_as(student)
    after = session_cookie(client)
    assert after != before
    with client.session_transaction() as session:
        assert "planted_by_attacker" not in session
        assert session["locale"] == "ko"
        assert session["_user_id"] == f"{student.id}:{student.session_token}"
    assert "한국어" in client.get("/student/").get_data(as_text=True)


def test_session_cookie_flags(client: FlaskClient, student: User) -> None:
    response = client.post("/login", data={"email": student.email, "password": PASSWORD})
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert len(cookies) == 1
    flags = [part.strip().lower() for part in cookies[0].split(";")]
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert any(flag.startswith("expires=") for flag in flags)  # permanent: the idle timeout applies


def test_secure_cookie_in_production_defaults() -> None:
    from app.config import Config, TestConfig

    assert Config.SESSION_COOKIE_HTTPONLY is True
    assert Config.SESSION_COOKIE_SAMESITE == "Lax"
    assert Config.DEBUG is False
    assert TestConfig.SESSION_COOKIE_SECURE is False  # plain http in tests only
    import os

    if os.environ.get("SESSION_COOKIE_SECURE", "1") == "1":
        assert Config.SESSION_COOKIE_SECURE is True


def test_idle_timeout(
    app: Flask, client: FlaskClient, student: User, login_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    idle = app.config["PERMANENT_SESSION_LIFETIME"]
    assert timedelta(minutes=5) <= idle <= timedelta(hours=4)
    clock = SimpleNamespace(offset=0)
    real = time.time
    monkeypatch.setattr(
        itsdangerous.timed.TimestampSigner,
        "get_timestamp",
        lambda self: int(real() + clock.offset),
    )
    login_as(student)
    seconds = int(idle.total_seconds())
    clock.offset = seconds - 60
    assert is_logged_in(client)  # active just before the limit: the cookie is renewed
    clock.offset = 2 * seconds - 120
    assert is_logged_in(client)  # measured from the last request, not from login
    clock.offset = 3 * seconds
    assert not is_logged_in(client)


def test_absolute_timeout(
    app: Flask, client: FlaskClient, student: User, login_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import sessions

    limit = app.config["SESSION_ABSOLUTE_HOURS"] * 3600
    assert 0 < limit <= 24 * 3600
    clock = SimpleNamespace(offset=0)
    real = time.time
    monkeypatch.setattr(sessions, "time", SimpleNamespace(time=lambda: real() + clock.offset))
    login_as(student)
    clock.offset = limit - 120
    assert is_logged_in(client)
    clock.offset = limit + 60
    assert not is_logged_in(client)
    clock.offset = 0
    assert not is_logged_in(client)  # the session was ended, not just refused once


def test_absolute_timeout_of_zero_hours(
    app: Flask, client: FlaskClient, student: User, login_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    login_as(student)
    monkeypatch.setitem(app.config, "SESSION_ABSOLUTE_HOURS", 0)
    from app import sessions

    real = time.time
    monkeypatch.setattr(sessions, "time", SimpleNamespace(time=lambda: real() + 1))
    assert not is_logged_in(client)


def test_a_session_without_its_login_time_is_refused(
    client: FlaskClient, student: User, login_as: Any
) -> None:
    login_as(student)
    with client.session_transaction() as session:
        del session["auth_at"]
    assert not is_logged_in(client)


# --- passwords at rest ----------------------------------------------------------------------------


def test_passwords_are_hashed_with_scrypt_and_salted(make_student: Any) -> None:
    first = make_student(email="one@example.org")
    second = make_student(email="two@example.org")
    for user in (first, second):
        assert user.password_hash.startswith("scrypt:")
        assert PASSWORD not in user.password_hash
        assert check_password_hash(user.password_hash, PASSWORD)
    assert first.password_hash != second.password_hash


def test_production_uses_werkzeug_full_strength_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    app = create_app({"SECRET_KEY": "k" * 32, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["PASSWORD_HASH_METHOD"] == "scrypt"
    assert app.debug is False and app.testing is False
    with app.app_context():
        from app.services.accounts import hash_password

        hashed = hash_password("correct horse battery staple")
        assert hashed.startswith("scrypt:32768:8:1$")
        db.engine.dispose()


def test_production_refuses_to_start_without_a_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.config import ConfigError

    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(ConfigError):
        create_app({"SECRET_KEY": None, "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_long_unicode_passphrase_works_end_to_end(client: FlaskClient) -> None:
    passphrase = "비밀번호는정말길고안전해야합니다🙂" * 5
    response = client.post("/student/signup", data=student_form(password=passphrase))
    assert response.status_code == 302
    client.post("/logout")
    for almost in (passphrase[:-1], passphrase.encode()[:72].decode(errors="ignore")):
        assert (
            client.post(
                "/login", data={"email": "linh@example.org", "password": almost}
            ).status_code
            == 401
        )
    assert (
        client.post(
            "/login", data={"email": "linh@example.org", "password": passphrase}
        ).status_code
        == 302
    )


# --- deleting an account, a copy of my data, consent ----------------------------------------------


def every_value_in_the_database() -> str:
    db.session.expire_all()
    texts = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)):
            texts.append(repr(tuple(row)))
    return "\n".join(texts)


def test_deleting_my_account(app: Flask, client: FlaskClient, student: User, login_as: Any) -> None:
    login_as(student)
    phone = app.test_client()
    login_as(student, target=phone)
    assert upload_cv(client).status_code == 302
    db.session.expire_all()
    stored = student.student.cv_stored_name
    assert stored
    cv_path = Path(app.config["UPLOAD_DIR"]) / f"{stored}.pdf"
    assert cv_path.exists()
    user_id = student.id

    refused = client.post("/account/delete", data={})  # the box is not ticked
    assert refused.status_code == 400
    assert count(User, User.id == user_id) == 1 and cv_path.exists()

    response = client.post("/account/delete", data={"confirm": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert count(User, User.id == user_id) == 0
    for model in (Student, StudentLanguage, StudentCode, Consent):
        assert count(model) == 0, model.__tablename__
    assert not cv_path.exists()
    assert list(Path(app.config["UPLOAD_DIR"]).iterdir()) == []

    deleted = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "account_deleted")
    ).all()
    assert len(deleted) == 1
    assert deleted[0].actor_id is None and deleted[0].detail == {
        "role": "student",
        "reason": "self",
    }
    dump = every_value_in_the_database()
    for personal in ("linh@example.org", "Nguyen Thi Linh", "Seoul National University", stored):
        assert personal not in dump, personal

    assert not is_logged_in(client)
    assert not is_logged_in(phone)
    response = client.post("/login", data={"email": "linh@example.org", "password": PASSWORD})
    assert response.status_code == 401


def test_an_sme_can_delete_its_account(client: FlaskClient, sme: User, login_as: Any) -> None:
    login_as(sme)
    assert client.post("/account/delete", data={"confirm": "y"}).status_code == 302
    assert count(User) == 0 and count(SME) == 0 and count(SMECode) == 0
    assert audit_actions().count("account_deleted") == 1
    assert client.post("/login", data={"email": sme.email, "password": PASSWORD}).status_code == 401


def test_the_email_of_a_deleted_account_can_sign_up_again(
    client: FlaskClient, student: User, login_as: Any
) -> None:
    login_as(student)
    client.post("/account/delete", data={"confirm": "y"})
    assert client.post("/student/signup", data=student_form()).status_code == 302


def test_downloading_my_data(app: Flask, client: FlaskClient, student: User, login_as: Any) -> None:
    login_as(student)
    response = client.get("/account/data.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "no-store" in response.headers["Cache-Control"]
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["email"] == "linh@example.org"
    assert data["account"]["role"] == "student"
    profile = data["student"]
    assert profile["name"] == "Nguyen Thi Linh"
    assert profile["nationality"] == "VN"
    assert profile["languages"][0] == {"code": "vi", "level": "native"}
    assert profile["markets"] == ["VN"] and profile["hours_per_week"] == 12
    assert [c["policy_version"] for c in data["consents"]] == [app.config["CONSENT_POLICY_VERSION"]]
    assert "password" not in response.get_data(as_text=True).lower().replace("password_", "")
    assert student.password_hash not in response.get_data(as_text=True)
    assert student.session_token not in response.get_data(as_text=True)
    assert "data_exported" in audit_actions(actor_id=student.id)


def test_an_sme_downloads_its_data(client: FlaskClient, sme: User, login_as: Any) -> None:
    login_as(sme)
    data = client.get("/account/data.json").json
    assert data["sme"]["business_number"] == "2208162517"
    assert data["sme"]["company_name"] == "한빛코스메틱"
    assert "student" not in data


def test_my_data_is_only_mine(
    client: FlaskClient, student: User, make_student: Any, login_as: Any
) -> None:
    make_student(email="other@example.org", name="Someone Else")
    login_as(student)
    text = client.get("/account/data.json").get_data(as_text=True)
    assert "Someone Else" not in text and "other@example.org" not in text
    client.post("/logout")
    assert client.get("/account/data.json").status_code == 302


def test_withdrawing_and_giving_consent_to_provision(
    app: Flask, client: FlaskClient, student: User, login_as: Any
) -> None:
    from app.services.consents import current_consent

    login_as(student)
    assert current_consent(student).provision_to_smes is True
    response = client.post("/account/consent", data={})  # the box unticked
    assert response.status_code == 302
    db.session.expire_all()
    latest = current_consent(student)
    assert latest.provision_to_smes is False
    assert latest.collection is True
    assert latest.policy_version == app.config["CONSENT_POLICY_VERSION"]
    history = db.session.scalars(select(Consent).where(Consent.user_id == student.id)).all()
    assert len(history) == 2  # rows are added: the history is the record
    event = db.session.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == "consent_changed")
        .order_by(AuditEvent.id.desc())
    )
    assert event.detail == {"provision_to_smes": False}
    assert event.actor_id == student.id

    client.post("/account/consent", data={"consent_provision": "y"})
    db.session.expire_all()
    assert current_consent(student).provision_to_smes is True
    assert count(Consent, Consent.user_id == student.id) == 3


def propose(student: User, sme: User) -> Match:
    match = Match(
        student_id=student.student.id,
        sme_id=sme.sme.id,
        status=MatchStatus.PROPOSED,
        score=0.9,
        student_view=0.9,
        sme_view=0.9,
        reasons=[],
    )
    db.session.add(match)
    db.session.commit()
    return match


def test_withdrawing_consent_hides_pending_proposals_from_the_sme(
    app: Flask, client: FlaskClient, student: User, sme: User, login_as: Any
) -> None:
    login_as(student)
    upload_cv(client)
    match = propose(student, sme)
    sme_browser = app.test_client()
    login_as(sme, target=sme_browser)
    assert "Nguyen Thi Linh" in sme_browser.get("/sme/candidates").get_data(as_text=True)
    assert sme_browser.get(f"/sme/candidates/{match.id}/cv").status_code == 200

    client.post("/account/consent", data={})  # provision to SMEs withdrawn
    db.session.expire_all()
    assert match.status == MatchStatus.WITHDRAWN
    assert "Nguyen Thi Linh" not in sme_browser.get("/sme/candidates").get_data(as_text=True)
    assert sme_browser.get(f"/sme/candidates/{match.id}/cv").status_code == 404


def test_after_deletion_smes_see_nothing_of_the_student(
    app: Flask, client: FlaskClient, student: User, sme: User, login_as: Any
) -> None:
    login_as(student)
    upload_cv(client)
    match_id = propose(student, sme).id
    sme_browser = app.test_client()
    login_as(sme, target=sme_browser)
    assert client.post("/account/delete", data={"confirm": "y"}).status_code == 302
    for path in ("/sme/", "/sme/candidates"):
        page = sme_browser.get(path).get_data(as_text=True)
        assert "Nguyen Thi Linh" not in page and "linh@example.org" not in page, path
    assert sme_browser.get(f"/sme/candidates/{match_id}/cv").status_code == 404
    assert count(Match) == 0
