"""Account policy (issue 12.10): no all-whitespace passwords; the HTML sign-up is rate-limited
like the API's; failed logins are limited per account and per address separately, the address
limit far higher (one university network must not lock its students out); every limit is a
setting read from the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kexport_support import PASSWORD, student_data, student_form
from pydantic import ValidationError
from sqlalchemy import func, select

from app import schemas
from app.extensions import db
from app.models import User

WHITESPACE = " \t\n\r\u00a0\u2003\u3000"


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=WHITESPACE, min_size=8, max_size=40))
def test_all_whitespace_passwords_are_refused(password):
    with pytest.raises(ValidationError) as caught:
        schemas.PasswordReset.model_validate({"password": password})
    assert caught.value.errors()[0]["type"] == "password_blank"


def test_eight_spaces_are_refused_by_the_form_and_the_api(app, client):
    response = client.post("/student/signup", data=student_form(password=" " * 8))
    assert response.status_code == 422
    assert "only spaces" in response.get_data(as_text=True)
    api = app.test_client().post("/api/v1/students", json=student_data(password=" " * 8))
    assert api.status_code == 422 and "password" in api.json["error"]["fields"]
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_passwords_with_spaces_inside_are_fine(client):
    form = student_form(password="  correct horse battery  ")
    assert client.post("/student/signup", data=form).status_code == 302


def test_the_html_sign_up_is_rate_limited_per_address(app, monkeypatch):
    monkeypatch.setitem(app.config, "API_SIGNUP_LIMIT_PER_ADDRESS", 3)
    here = app.test_client()
    for n in range(3):
        form = student_form(email=f"s{n}@example.org")
        response = here.post("/student/signup", data=form, environ_base={"REMOTE_ADDR": "10.0.0.1"})
        assert response.status_code == 302
        here.post("/logout")
    refused = here.post(
        "/sme/signup",
        data={"email": "late@example.org"},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    elsewhere = app.test_client().post(
        "/student/signup",
        data=student_form(email="other@example.org"),
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    assert elsewhere.status_code == 302
    assert db.session.scalar(select(func.count(User.id))) == 4


def _login(app, email, password, address="192.0.2.10"):
    return app.test_client().post(
        "/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def test_one_students_failures_do_not_lock_out_the_network(app, make_student):
    """Ten failures lock that account, not everyone behind the same address."""
    alice = make_student(email="alice@example.org")
    bob = make_student(email="bob@example.org")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert _login(app, alice.email, "wrong password!").status_code == 401
    assert _login(app, alice.email, PASSWORD).status_code == 429  # her account: locked
    assert _login(app, bob.email, PASSWORD).status_code == 302  # same address: not locked


def test_the_address_limit_is_far_higher_and_still_holds(app, make_student, monkeypatch):
    assert app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] >= 10 * app.config["LOGIN_MAX_FAILURES"]
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES_PER_ADDRESS", 25)
    carol = make_student(email="carol@example.org")
    for n in range(25):  # spraying many accounts from one address
        assert _login(app, f"guess{n}@example.org", "wrong password!").status_code == 401
    assert _login(app, carol.email, PASSWORD).status_code == 429
    assert _login(app, carol.email, PASSWORD, address="192.0.2.11").status_code == 302


def test_limits_are_read_from_the_environment():
    names = {
        "LOGIN_MAX_FAILURES": "7",
        "LOGIN_MAX_FAILURES_PER_ADDRESS": "700",
        "LOGIN_FAILURE_WINDOW_MINUTES": "5",
        "API_TOKEN_LIMIT_PER_ACCOUNT": "4",
        "API_TOKEN_LIMIT_PER_ADDRESS": "40",
        "API_TOKEN_LIMIT_WINDOW_MINUTES": "6",
        "API_SIGNUP_LIMIT_PER_ADDRESS": "9",
        "API_SIGNUP_LIMIT_WINDOW_MINUTES": "90",
    }
    code = (
        "from app import create_app; c = create_app().config; "
        "print(c['LOGIN_MAX_FAILURES'], c['LOGIN_MAX_FAILURES_PER_ADDRESS'], "
        "int(c['LOGIN_FAILURE_WINDOW'].total_seconds()), c['API_TOKEN_LIMIT_PER_ACCOUNT'], "
        "c['API_TOKEN_LIMIT_PER_ADDRESS'], int(c['API_TOKEN_LIMIT_WINDOW'].total_seconds()), "
        "c['API_SIGNUP_LIMIT_PER_ADDRESS'], int(c['API_SIGNUP_LIMIT_WINDOW'].total_seconds()))"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code],
        env={**os.environ, "APP_ENV": "development", **names},
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["7", "700", "300", "4", "40", "360", "9", "5400"]
