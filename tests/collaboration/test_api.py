"""The second half of the journey through the JSON API: the same services, the same rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from app.extensions import db
from app.models import User
from app.services import tokens


class Client:
    def __init__(self, app: Flask, user: User | None) -> None:
        self.client = app.test_client()
        self.headers = {}
        if user is not None:
            _token, secret = tokens.issue(user)
            db.session.commit()
            self.headers = {"Authorization": f"Bearer {secret}"}

    def __call__(self, method: str, path: str, body: Any = None) -> Any:
        response = self.client.open(
            "/api/v1" + path,
            method=method,
            headers=self.headers,
            **({"json": body} if body is not None else {}),
        )
        assert response.status_code < 500, response.data
        assert response.mimetype == "application/json"
        return response


@pytest.fixture
def api(app: Flask) -> Any:
    return lambda user=None: Client(app, user)


def _later(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def test_a_match_shows_contact_only_to_its_people_after_approval(
    proposed_pair: Any, api: Any
) -> None:
    pair = proposed_pair
    path = f"/matches/{pair.match_id}"
    assert api(pair.student)("GET", path).json["contact"] is None
    for outsider in (pair.outsider_student, pair.outsider_sme):
        assert api(outsider)("GET", path).status_code == 404
    assert api()("GET", path).status_code == 401
    # Before approval there is no thread, kickoff or contact: not found, for everyone.
    assert api(pair.student)("GET", path + "/messages").status_code == 404
    assert api(pair.student)("POST", path + "/messages", {"body": "hi"}).status_code == 404
    assert api(pair.coordinator)("GET", path + "/messages").status_code == 404


def test_the_whole_second_half_through_the_api(pair: Any, api: Any) -> None:
    student, sme, coordinator = api(pair.student), api(pair.sme), api(pair.coordinator)
    path = f"/matches/{pair.match_id}"
    detail = sme("GET", path).json
    assert detail["contact"]["student"]["email"] == "linh@example.org"
    assert detail["contact"]["sme"]["company_name"] == "한빛코스메틱"
    assert coordinator("GET", path).json["contact"] is not None
    for outsider in (pair.outsider_student, pair.outsider_sme):
        assert api(outsider)("GET", path).status_code == 404
        assert api(outsider)("GET", path + "/messages").status_code == 404

    # kickoff
    assert student("POST", path + "/kickoff", {"slots": []}).status_code == 404  # SMEs offer
    bad = sme("POST", path + "/kickoff", {"slots": [{"starts_at": "soon", "place": ""}]})
    assert bad.status_code == 422
    assert set(bad.json["error"]["fields"]) == {"slots.0.starts_at", "slots.0.place"}
    offered = sme(
        "POST",
        path + "/kickoff",
        {
            "slots": [
                {"starts_at": _later(2), "place": "Zoom"},
                {"starts_at": _later(3), "place": "판교"},
            ]
        },
    )
    assert offered.status_code == 201 and offered.json["chosen"] is None
    assert student("POST", path + "/kickoff/confirm", {"slot": 5}).status_code == 422
    confirmed = student("POST", path + "/kickoff/confirm", {"slot": 1})
    assert confirmed.status_code == 200
    assert confirmed.json["match_status"] == "active" and confirmed.json["place"] == "판교"
    assert student("POST", path + "/kickoff/confirm", {"slot": 0}).status_code == 409

    # messages
    sent = student("POST", path + "/messages", {"body": "<i>안녕하세요</i>"})
    assert sent.status_code == 201 and sent.json["mine"] is True
    assert sme("POST", path + "/messages", {"body": ""}).status_code == 422
    listed = sme("GET", path + "/messages").json
    assert listed["unread"] == 1 and listed["items"][0]["body"] == "<i>안녕하세요</i>"
    assert student("GET", path + "/messages").json["items"][0]["read_by_other"] is True

    # work log
    entry = {"kind": "buyer_contact", "date": date.today().isoformat(), "hours": 3, "note": "Hanoi"}
    assert sme("POST", path + "/activities", entry).status_code == 404
    logged = student("POST", path + "/activities", entry)
    assert logged.status_code == 201
    # D-2 with TOPIK 4: 30 hours a week by the visa rules (the student said 12).
    assert logged.json["weekly_limit"] == 30 and logged.json["week_hours"] == 3
    over = student("POST", path + "/activities", {**entry, "hours": 24})
    assert over.status_code == 201
    over = student("POST", path + "/activities", {**entry, "hours": 3.5})
    assert over.status_code == 422 and "hours" in over.json["error"]["fields"]

    # check-ins
    answer = {"satisfaction": 5, "hours": 12, "blockers": ""}
    assert student("POST", path + "/checkins", answer).status_code == 201
    assert student("POST", path + "/checkins", answer).status_code == 409
    assert sme("POST", path + "/checkins", {"satisfaction": 0, "hours": 1}).status_code == 422

    # export status and the targets
    assert coordinator("GET", "/stats/kpis").json["smes_first_export"] == 0
    assert student("PUT", "/smes/me/export-status", {"status": "none"}).status_code == 403
    missing = sme("PUT", "/smes/me/export-status", {"status": "first_export"})
    assert missing.status_code == 422 and "first_export_on" in missing.json["error"]["fields"]
    status = sme(
        "PUT",
        "/smes/me/export-status",
        {"status": "first_export", "first_export_on": "2026-09-01", "markets": ["vn"]},
    )
    assert status.status_code == 200 and status.json["markets"] == ["VN"]
    kpis = coordinator("GET", "/stats/kpis").json
    assert kpis["smes_first_export"] == 1 and kpis["students_placed"] == 1
    assert kpis["targets"] == {
        "students_placed": 1000,
        "smes_first_export": 1000,
        "smes_usd_1m": 3000,
        "e7_conversions": None,
    }
    assert student("GET", "/stats/kpis").status_code == 403
    assert sme("GET", "/stats/kpis").status_code == 403


def test_mass_assignment_changes_nothing(pair: Any, api: Any) -> None:
    path = f"/matches/{pair.match_id}/messages"
    sent = api(pair.student)("POST", path, {"body": "hi", "author_role": "coordinator", "id": 9})
    assert sent.json["author_role"] == "student"


def test_the_new_operations_are_described(api: Any, app: Flask) -> None:
    paths = api()("GET", "/openapi.json").json["paths"]
    for path in (
        "/api/v1/matches/{match_id}",
        "/api/v1/matches/{match_id}/messages",
        "/api/v1/matches/{match_id}/activities",
        "/api/v1/matches/{match_id}/checkins",
        "/api/v1/matches/{match_id}/kickoff",
        "/api/v1/matches/{match_id}/kickoff/confirm",
        "/api/v1/smes/me/export-status",
        "/api/v1/stats/kpis",
    ):
        assert path in paths
