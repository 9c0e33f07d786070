"""Tokens: issued for a password, kept as hashes, expiring, revocable, ended with every session."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from api_support import Api, token_for
from kexport_support import PASSWORD
from sqlalchemy import func, select

from app.extensions import db
from app.models import ApiToken, LoginFailure, utcnow
from app.services import accounts


def _issue(anon, user, password=PASSWORD):
    return anon.post("/tokens", {"email": user.email, "password": password})


def test_a_password_buys_a_token_and_only_its_hash_is_stored(anon, student):
    response = _issue(anon, student)
    assert response.status_code == 201
    secret = response.json["token"]
    row = db.session.scalar(select(ApiToken))
    assert row.id == response.json["id"] and row.user_id == student.id
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = [str(v) for v in db.session.execute(select(ApiToken.__table__)).one()]
    assert all(secret not in value for value in stored)
    days = (row.expires_at - row.created_at).days
    assert days == 30
    me = Api(anon.client, secret).get("/me")
    assert me.status_code == 200 and me.json["email"] == student.email


def test_the_lifetime_comes_from_the_config(app, anon, student, monkeypatch):
    monkeypatch.setitem(app.config, "API_TOKEN_DAYS", 2)
    response = _issue(anon, student)
    row = db.session.get(ApiToken, response.json["id"])
    assert row.expires_at - row.created_at == timedelta(days=2)


def test_a_wrong_password_is_a_401_and_counts_as_a_failed_login(anon, student):
    response = _issue(anon, student, "not the password")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert db.session.scalar(select(func.count(LoginFailure.id))) == 1
    unknown = anon.post("/tokens", {"email": "nobody@example.org", "password": PASSWORD})
    assert unknown.status_code == 401
    assert unknown.json["error"]["message"] == response.json["error"]["message"]
    assert db.session.scalar(select(ApiToken)) is None


def test_ten_failed_logins_lock_the_token_endpoint_too(app, anon, student):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert _issue(anon, student, "wrong password!").status_code == 401
    locked = _issue(anon, student)  # the right password, too late
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0


def test_web_login_failures_and_api_failures_are_one_counter(app, client, anon, student):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post("/login", data={"email": student.email, "password": "wrong password!"})
    assert _issue(anon, student).status_code == 429


def test_credentials_are_validated(anon):
    response = anon.post("/tokens", {"email": "not an email", "password": ""})
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"email", "password"}


def test_no_token_a_bad_token_an_expired_token_a_revoked_token_all_get_401(anon, student):
    assert anon.get("/me").status_code == 401
    assert Api(anon.client, "kxm_made-up").get("/me").status_code == 401
    assert anon.get("/me", headers={"Authorization": "Basic abc"}).status_code == 401
    secret = token_for(student)
    row = db.session.scalar(select(ApiToken))
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert Api(anon.client, secret).get("/me").status_code == 401
    secret = token_for(student)
    api = Api(anon.client, secret)
    assert api.get("/me").status_code == 200
    own = api.get("/tokens").json["items"]
    assert [t["id"] for t in own] == [max(r.id for r in db.session.scalars(select(ApiToken)))]
    assert "token" not in own[0] and "token_hash" not in own[0]
    assert api.delete(f"/tokens/{own[0]['id']}").status_code == 204
    assert api.get("/me").status_code == 401


def test_only_the_owner_or_a_coordinator_revokes(anon, student, sme, coordinator):
    secret = token_for(student)
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == student.id))
    sme_api = Api(anon.client, token_for(sme))
    assert sme_api.delete(f"/tokens/{token_id}").status_code == 404
    assert Api(anon.client, secret).get("/me").status_code == 200
    assert Api(anon.client, token_for(coordinator)).delete(f"/tokens/{token_id}").status_code == 204
    assert Api(anon.client, secret).get("/me").status_code == 401
    assert sme_api.delete("/tokens/999999").status_code == 404
    assert anon.delete(f"/tokens/{token_id}").status_code == 401


def test_logout_everywhere_and_a_password_change_revoke_tokens(anon, student):
    secret = token_for(student)
    accounts.logout(student)
    db.session.commit()
    assert Api(anon.client, secret).get("/me").status_code == 401
    secret = token_for(student)
    accounts.change_password(
        student, {"current_password": PASSWORD, "new_password": "another long passphrase"}
    )
    db.session.commit()
    assert Api(anon.client, secret).get("/me").status_code == 401


def test_logging_out_of_the_website_revokes_tokens(client, login_as, anon, student):
    secret = token_for(student)
    login_as(student)
    client.post("/logout")
    assert Api(anon.client, secret).get("/me").status_code == 401


def test_the_session_cookie_is_not_accepted_by_the_api(client, login_as, student, coordinator):
    login_as(coordinator)
    assert client.get("/coordinator/").status_code == 200  # the cookie works on the website...
    api = Api(client)  # ...and means nothing to the API, for reads and writes alike
    assert api.get("/me").status_code == 401
    assert api.post("/cycles").status_code == 401
    assert api.delete("/me").status_code == 401


def test_tokens_are_listed_on_the_account_page_and_revoked_there(
    app, client, login_as, anon, student
):
    secret = token_for(student)
    token_id = db.session.scalar(select(ApiToken.id))
    login_as(student)
    page = client.get("/account").get_data(as_text=True)
    assert f"/account/tokens/{token_id}/revoke" in page
    assert secret not in page
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        forged = client.post(f"/account/tokens/{token_id}/revoke")
        assert forged.status_code == 400  # no CSRF token
        assert Api(anon.client, secret).get("/me").status_code == 200
        from kexport_support import csrf_token_from

        token = csrf_token_from(client.get("/account").get_data(as_text=True))
        done = client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": token})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert done.status_code == 302
    assert Api(anon.client, secret).get("/me").status_code == 401


def test_nobody_revokes_anothers_token_on_the_account_page(client, login_as, student, sme):
    token_for(sme)
    token_id = db.session.scalar(select(ApiToken.id))
    login_as(student)
    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 404
    assert db.session.get(ApiToken, token_id).revoked_at is None
