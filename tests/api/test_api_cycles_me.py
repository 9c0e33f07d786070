"""Cycles (coordinators) and the caller's own account."""

from __future__ import annotations

import threading

from api_support import Api
from kexport_support import PASSWORD
from sqlalchemy import select

from app.extensions import db
from app.models import ApiToken, AuditEvent, MatchCycle, User
from app.services.cycle_lock import cycle_lock


def test_a_coordinator_runs_a_cycle_and_reads_the_history(as_user, student, sme, coordinator):
    api = as_user(coordinator)
    run = api.post("/cycles")
    assert run.status_code == 201
    assert run.json["status"] == "finished" and run.json["n_proposed"] == 1
    assert run.json["trigger"] == "api"
    assert db.session.get(MatchCycle, run.json["id"]).started_by_id == coordinator.id
    history = api.get("/cycles")
    assert history.json["total"] == 1 and history.json["items"][0]["id"] == run.json["id"]
    assert api.get(f"/cycles/{run.json['id']}").json == run.json
    assert api.get(f"/cycles/{run.json['id'] + 1}").status_code == 404
    assert api.get("/cycles?per_page=0").status_code == 422
    assert api.get(f"/matches?cycle={run.json['id']}").json["total"] == 1


def test_a_second_cycle_while_one_runs_is_a_409(as_user, coordinator):
    api = as_user(coordinator)
    holding, release = threading.Event(), threading.Event()
    app = api.client.application

    def hold() -> None:
        with app.app_context(), cycle_lock():
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(10)
        busy = api.post("/cycles")
    finally:
        release.set()
        thread.join()
    assert busy.status_code == 409 and busy.json["error"]["code"] == "conflict"
    assert api.post("/cycles").status_code == 201


def test_anonymous_gets_401_everywhere_but_the_public_endpoints(anon):
    for method, path in (
        ("GET", "/me"),
        ("DELETE", "/me"),
        ("GET", "/matches"),
        ("POST", "/matches"),
        ("POST", "/matches/1/decision"),
        ("POST", "/matches/1/approve"),
        ("POST", "/matches/1/reject"),
        ("POST", "/cycles"),
        ("GET", "/cycles"),
        ("GET", "/cycles/1"),
        ("GET", "/tokens"),
        ("DELETE", "/tokens/1"),
    ):
        response = anon.request(method, path)
        assert response.status_code == 401, (method, path)
        assert response.json["error"]["code"] == "unauthorized"


def test_me_shows_my_profile(as_user, student, sme, coordinator):
    mine = as_user(student).get("/me").json
    assert mine["role"] == "student" and mine["sme"] is None
    assert mine["student"]["name"] == "Nguyen Thi Linh" and mine["consent"]["collection"]
    theirs = as_user(sme).get("/me").json
    assert theirs["sme"]["business_number"] == "2208162517" and theirs["student"] is None
    coord = as_user(coordinator).get("/me").json
    assert coord["role"] == "coordinator" and coord["consent"] is None
    assert "password_hash" not in mine and "session_token" not in mine


def test_deleting_me_deletes_the_account_and_its_tokens(as_user, anon, student):
    api = as_user(student)
    assert api.delete("/me").status_code == 204
    assert db.session.scalar(select(User)) is None
    assert db.session.scalar(select(ApiToken)) is None
    assert api.get("/me").status_code == 401
    login = anon.post("/tokens", {"email": "linh@example.org", "password": PASSWORD})
    assert login.status_code == 401
    assert (
        db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account_deleted"))
        is not None
    )


def test_the_audit_trail_names_the_tokens_user(as_user, student, sme, coordinator):
    api = as_user(student)
    api.post("/cycles")  # refused: a student
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "forbidden"))
    assert event.actor_id == student.id
    Api(api.client, api.token).get("/me")
    issued = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_token_issued"))
    assert issued.actor_id == student.id
