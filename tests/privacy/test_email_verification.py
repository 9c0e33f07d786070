"""Email verification: single-use, hashed, expiring links; unverified people log in and edit but
are not put in a cycle (nor paired by hand) until verified; coordinators see them and resend."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from kexport_support import profile_form, student_form
from sqlalchemy import select, update

from app.extensions import db
from app.models import EmailVerification, Match, User, utcnow
from app.services import cycles, decisions, demo, engine_gateway, match_settings
from app.services.errors import Conflict

LINK = r"(/account/verify/\S+)"


def _pool():
    return engine_gateway.load_pool(match_settings.DEFAULT_EXPIRY_DAYS).student_ids


def test_sign_up_sends_a_link_that_verifies_once(app, client, inbox, sme):
    response = client.post("/student/signup", data=student_form())
    assert response.status_code == 302
    (message,) = inbox.wait_for(1)
    assert message["To"] == "linh@example.org"
    link = inbox.link(LINK)
    user = db.session.scalar(select(User).where(User.email == "linh@example.org"))
    assert user.email_verified_at is None
    stored = db.session.scalar(select(EmailVerification.token_hash))
    assert link.rsplit("/", 1)[1] not in stored and len(stored) == 64  # only a hash is kept

    # Unverified: logged in, can edit, told why nothing happens, left out of cycles.
    page = client.get("/student/").get_data(as_text=True)
    assert "Please confirm your email address" in page
    assert "you will not be proposed" in page
    edited = client.post("/student/profile/edit", data=profile_form(student_form(major="Trade")))
    assert edited.status_code == 302
    assert _pool() == []

    assert client.get(link).status_code == 200  # opening the link (a mail scanner) changes nothing
    db.session.expire_all()
    assert db.session.get(User, user.id).email_verified_at is None
    assert client.post(link).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).email_verified_at is not None
    assert "Please confirm your email address" not in client.get("/student/").get_data(as_text=True)
    assert _pool() == [user.student.id]
    assert client.post(link).status_code == 422  # single use


def test_the_banner_speaks_korean(client, make_student, login_as):
    user = make_student(verified=False)
    login_as(user)
    client.post("/language", data={"locale": "ko"})
    page = client.get("/student/").get_data(as_text=True)
    assert "이메일 주소" in page and "매칭 회차에서 추천되지 않습니다" in page


def test_an_expired_link_is_refused(client, inbox):
    client.post("/student/signup", data=student_form())
    inbox.wait_for(1)
    db.session.execute(update(EmailVerification).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    response = client.post(inbox.link(LINK))
    assert response.status_code == 422 and "no longer valid" in response.get_data(as_text=True)


def test_unverified_people_are_not_paired_by_hand(make_student, make_sme, coordinator):
    student = make_student(verified=False)
    sme = make_sme()
    with pytest.raises(Conflict) as caught:
        decisions.pair(student.student.id, sme.sme.id, coordinator, override=True, reason="x")
    assert caught.value.fields == {"student_id": [{"type": "email_unverified", "ctx": {}}]}
    verified_student = make_student(email="v@example.org")
    unverified_sme = make_sme(verified=False, email="u@example.org", business_number="124-81-00998")
    with pytest.raises(Conflict):
        decisions.pair(verified_student.student.id, unverified_sme.sme.id, coordinator)
    assert engine_gateway.load_pool(match_settings.DEFAULT_EXPIRY_DAYS).free_seats == {
        sme.sme.id: 2
    }


def test_the_rule_can_be_turned_off(app, monkeypatch, make_student, make_sme):
    student = make_student(verified=False)
    make_sme(verified=False)
    assert _pool() == []
    monkeypatch.setitem(app.config, "REQUIRE_EMAIL_VERIFICATION", False)
    assert _pool() == [student.student.id]
    cycles.run_cycle()
    assert db.session.scalar(select(Match)) is not None


def test_the_setting_comes_from_the_environment():
    code = "from app import create_app; print(create_app().config['REQUIRE_EMAIL_VERIFICATION'])"
    env = {**os.environ, "APP_ENV": "development"}
    root = Path(__file__).resolve().parents[2]
    run = lambda extra: subprocess.run(  # noqa: E731, S603 - our own interpreter
        [sys.executable, "-c", code], env={**env, **extra}, cwd=root, capture_output=True, text=True
    ).stdout.strip()
    assert run({}) == "True"  # on by default
    assert run({"REQUIRE_EMAIL_VERIFICATION": "0"}) == "False"


def test_coordinators_see_who_is_unverified_and_resend(
    client, login_as, make_student, coordinator, inbox
):
    student = make_student(verified=False, name="Unverified Person")
    make_student(email="ok@example.org", name="Verified Person")
    login_as(coordinator)
    listing = client.get("/coordinator/students").get_data(as_text=True)
    row = next(line for line in listing.splitlines() if "Unverified Person" in line)
    assert "Email not confirmed" in row
    row = next(
        line for line in listing.splitlines() if "Verified Person" in line and "Un" not in line
    )
    assert "Email not confirmed" not in row
    page = client.get(f"/coordinator/students/{student.student.id}").get_data(as_text=True)
    assert "not confirmed yet" in page
    before = len(inbox.messages)
    response = client.post(f"/coordinator/users/{student.id}/verification")
    assert response.status_code == 302
    inbox.wait_for(before + 1)
    assert inbox.messages[-1]["To"] == student.email
    client.post(inbox.link(LINK))  # the coordinator's client: the link works for whoever opens it
    db.session.expire_all()
    assert db.session.get(User, student.id).email_verified


def test_resending_is_capped(client, login_as, make_student):
    user = make_student(verified=False)  # its sign-up sent one link
    login_as(user)
    assert client.post("/account/verification/resend").status_code == 302
    assert client.post("/account/verification/resend").status_code == 302
    assert client.post("/account/verification/resend").status_code == 429
    assert len(db.session.scalars(select(EmailVerification)).all()) == 3


def test_a_password_reset_proves_the_address_too(client, make_student):
    user = make_student(verified=False)
    client.post("/password/forgot", data={"email": user.email})
    from app.models import OutboxMessage

    body = db.session.scalars(
        select(OutboxMessage.body_text).where(OutboxMessage.kind == "password_reset")
    ).one()
    token = body.split("/password/reset/")[1].split()[0]
    client.post(f"/password/reset/{token}", data={"password": "a brand new passphrase"})
    db.session.expire_all()
    assert db.session.get(User, user.id).email_verified


def test_demo_accounts_are_verified(app):
    demo.seed(students=3, smes=2)
    db.session.commit()
    assert all(u.email_verified for u in db.session.scalars(select(User)))


def test_the_mail_thread_sends_after_the_commit(app, client, inbox, monkeypatch):
    """The production mode: the request returns, the process's mail thread sends the link."""
    monkeypatch.setitem(app.config, "MAIL_AFTER_COMMIT", "thread")
    assert client.post("/student/signup", data=student_form()).status_code == 302
    # The suite shares one session with the views; in production it ends with the request.
    db.session.rollback()
    (message,) = inbox.wait_for(1)
    assert "/account/verify/" in message.get_body(("plain",)).get_content()
