"""Cycles (coordinators) and the caller's own account."""

from __future__ import annotations

import threading

from api_support import Api
from kexport_support import PASSWORD
from sqlalchemy import func, select

from app import jobs
from app.extensions import db
from app.models import ApiToken, AuditEvent, MatchCycle, User


def test_a_coordinator_asks_for_a_cycle_the_scheduler_runs_it(as_user, student, sme, coordinator):
    api = as_user(coordinator)
    run = api.post("/cycles")
    assert run.status_code == 202  # never run inside the web request
    assert run.json["status"] == "queued" and run.json["n_proposed"] == 0
    assert run.json["trigger"] == "api"
    assert run.headers["Location"] == run.json["url"] == f"/api/v1/cycles/{run.json['id']}"
    assert db.session.get(MatchCycle, run.json["id"]).started_by_id == coordinator.id
    poll = run.json["url"].removeprefix("/api/v1")
    assert api.get(poll).json["status"] == "queued"
    db.session.commit()  # the test's reads end, as a request's would
    jobs.CycleRunner(api.client.application).poll()  # the scheduler process's poll
    done = api.get(poll).json
    assert done["status"] == "finished" and done["n_proposed"] == 1 and done["trigger"] == "api"
    history = api.get("/cycles")
    assert history.json["total"] == 1 and history.json["items"][0] == done
    assert api.get(f"/cycles/{run.json['id'] + 1}").status_code == 404
    assert api.get("/cycles?per_page=0").status_code == 422
    assert api.get(f"/matches?cycle={run.json['id']}").json["total"] == 1


def test_a_second_request_while_one_is_queued_or_running_is_a_409(as_user, coordinator):
    api = as_user(coordinator)
    first = api.post("/cycles")
    assert first.status_code == 202
    busy = api.post("/cycles")
    assert busy.status_code == 409 and busy.json["error"]["code"] == "conflict"
    assert db.session.scalar(select(func.count(MatchCycle.id))) == 1
    db.session.commit()  # the test's reads end, as a request's would
    jobs.CycleRunner(api.client.application).poll()
    assert api.post("/cycles").status_code == 202  # the first one finished


def test_concurrent_requests_queue_exactly_one(as_user, coordinator):
    api = as_user(coordinator)
    app = api.client.application
    start = threading.Barrier(8)
    codes: list[int] = []

    def ask() -> None:
        with app.app_context():
            client = app.test_client()
            start.wait()
            codes.append(client.post("/api/v1/cycles", headers=api._headers(None)).status_code)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(codes) == [202] + [409] * 7
    assert db.session.scalar(select(func.count(MatchCycle.id))) == 1


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
