"""Issue 13 item 6 on the pages and the API: when the next cycle runs (Korea time, the reader's
language), and changing an answer until a coordinator acts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Match, MatchStatus
from app.services import cycles, decisions, match_settings


@pytest.fixture
def proposal(student, sme):
    cycles.run_cycle()
    return db.session.scalar(select(Match))


def test_pages_tell_when_the_next_cycle_runs_in_korea_time(
    app, client, login_as, student, sme, coordinator
):
    match_settings.set_schedule("0 6 * * mon", coordinator)
    db.session.commit()
    when = match_settings.next_run()
    assert when is not None and when.weekday() == 0 and when.hour == 6
    login_as(student)
    for url in ("/student/", "/student/proposals"):
        page = client.get(url).get_data(as_text=True)
        assert "Next matching cycle: Monday," in page and "6:00" in page
        assert "(Korea time)" in page
    client.post("/language", data={"locale": "ko"})
    page = client.get("/student/").get_data(as_text=True)
    assert "다음 매칭 주기" in page and "월요일 오전 6:00 (한국 시간)" in page
    client.post("/logout")
    login_as(sme)
    client.post("/language", data={"locale": "en"})
    for url in ("/sme/", "/sme/candidates"):
        assert "(Korea time)" in client.get(url).get_data(as_text=True)


def test_student_undoes_a_decline_from_the_page(client, login_as, student, proposal):
    login_as(student)
    client.post(
        f"/student/proposals/{proposal.id}/decision",
        data={"decision": "decline", "reason": "schedule"},
    )
    page = client.get("/student/proposals").get_data(as_text=True)
    assert "Undo my decline and accept" in page
    response = client.post(f"/student/proposals/{proposal.id}/answer", data={"decision": "accept"})
    assert response.status_code == 302
    db.session.expire_all()
    match = db.session.get(Match, proposal.id)
    assert match.status == MatchStatus.PROPOSED and match.student_decision == "accept"
    page = client.get("/student/proposals").get_data(as_text=True)
    assert "Change my answer" in page


def test_sme_changes_an_acceptance_then_the_coordinator_closes_it(
    client, login_as, sme, student, coordinator, proposal
):
    login_as(sme)
    client.post(f"/sme/candidates/{proposal.id}/decision", data={"decision": "accept"})
    page = client.get("/sme/candidates").get_data(as_text=True)
    assert "Change my answer" in page
    decisions.decide(proposal.id, student, "accept")
    decisions.approve(proposal.id, coordinator)
    db.session.commit()
    assert "Change my answer" not in client.get("/sme/candidates").get_data(as_text=True)
    page = client.post(
        f"/sme/candidates/{proposal.id}/answer",
        data={"decision": "decline", "reason": "other"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "can no longer be changed" in page
    db.session.expire_all()
    assert db.session.get(Match, proposal.id).status == MatchStatus.APPROVED


def test_nobody_else_posts_a_change(client, login_as, make_student, proposal, student):
    decisions.decide(proposal.id, student, "accept")
    db.session.commit()
    login_as(make_student(email="other@example.org"))
    response = client.post(
        f"/student/proposals/{proposal.id}/answer", data={"decision": "decline", "reason": "other"}
    )
    assert response.status_code == 404


def _token(client, user):
    from kexport_support import PASSWORD

    answer = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


def test_api_changes_an_answer_with_put(client, student, sme, proposal):
    headers = _token(client, student)
    url = f"/api/v1/matches/{proposal.id}/decision"
    assert (
        client.post(
            url, json={"decision": "decline", "reason": "market"}, headers=headers
        ).status_code
        == 200
    )
    # POST answers once; PUT changes the answer.
    assert client.post(url, json={"decision": "accept"}, headers=headers).status_code == 409
    answer = client.put(url, json={"decision": "accept"}, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["status"] == "proposed"
    assert answer.get_json()["student_decision"] == "accept"
    again = client.put(url, json={"decision": "accept"}, headers=headers)
    assert again.status_code == 409
    assert again.get_json()["error"]["fields"]["decision"]
    other = _token(client, sme)
    assert client.put(url, json={"decision": "accept"}, headers=other).status_code == 409
    operation = client.get("/api/v1/openapi.json").get_json()["paths"][
        "/api/v1/matches/{match_id}/decision"
    ]
    assert operation["put"]["operationId"] == "changeDecision"
