"""Matches through the API: who sees and decides what; the same transitions as the pages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Match, MatchStatus
from app.services import cycles, decisions


@pytest.fixture
def other_sme(make_sme):
    return make_sme(email="other@company.example", business_number="124-81-00998")


def test_each_role_sees_its_own_matches(
    as_user, proposal, student, sme, coordinator, make_student, other_sme
):
    stranger = make_student(email="stranger@example.org")
    for user, expected in (
        (student, [proposal.id]),
        (sme, [proposal.id]),
        (coordinator, [proposal.id]),
        (stranger, []),
        (other_sme, []),
    ):
        response = as_user(user).get("/matches")
        assert response.status_code == 200
        assert [m["id"] for m in response.json["items"]] == expected
        assert response.json["total"] == len(expected)


def test_a_match_has_the_documented_shape_and_readable_reasons(as_user, proposal, student):
    item = as_user(student).get("/matches", headers={"Accept-Language": "ko"}).json["items"][0]
    assert set(item) == {
        "id",
        "cycle",
        "student_id",
        "sme_id",
        "score",
        "reasons",
        "status",
        "student_decision",
        "sme_decision",
        "created_at",
        "updated_at",
    }
    assert item["cycle"] == proposal.cycle_id and item["status"] == "proposed"
    assert 0 <= item["score"] <= 1
    assert item["reasons"], "a proposal explains itself"
    for reason in item["reasons"]:
        assert set(reason) == {"factor", "key", "params", "weight", "detail"}
        assert reason["detail"]
    english = as_user(student).get("/matches").json["items"][0]["reasons"]
    assert [r["key"] for r in english] == [r["key"] for r in item["reasons"]]


def test_filters_and_pages(as_user, proposal, coordinator):
    api = as_user(coordinator)
    assert api.get("/matches?status=proposed").json["total"] == 1
    assert api.get("/matches?status=approved").json["total"] == 0
    assert api.get(f"/matches?cycle={proposal.cycle_id}").json["total"] == 1
    assert api.get(f"/matches?cycle={proposal.cycle_id + 1}").json["total"] == 0
    page = api.get("/matches?page=2&per_page=1").json
    assert page == {"items": [], "total": 1, "page": 2, "per_page": 1}
    for query, field in (
        ("status=maybe", "status"),
        ("cycle=x", "cycle"),
        ("page=0", "page"),
        ("per_page=101", "per_page"),
        ("per_page=abc", "per_page"),
        ("page=-1", "page"),
    ):
        response = api.get(f"/matches?{query}")
        assert response.status_code == 422, query
        assert list(response.json["error"]["fields"]) == [field]


def test_the_student_and_the_sme_accept_and_the_coordinator_approves(
    as_user, proposal, student, sme, coordinator
):
    path = f"/matches/{proposal.id}"
    answer = as_user(student).post(f"{path}/decision", {"decision": "accept", "note": "Keen!"})
    assert answer.status_code == 200 and answer.json["student_decision"] == "accept"
    assert (
        as_user(sme).post(f"{path}/decision", {"decision": "accept"}).json["sme_decision"]
        == "accept"
    )
    approved = as_user(coordinator).post(f"{path}/approve")
    assert approved.status_code == 200 and approved.json["status"] == "approved"
    again = as_user(coordinator).post(f"{path}/reject", {"reason": "changed my mind"})
    assert again.status_code == 409
    assert list(again.json["error"]["fields"]) == ["status"]


def test_declining_needs_a_reason_from_the_list(as_user, proposal, student):
    api = as_user(student)
    path = f"/matches/{proposal.id}/decision"
    missing = api.post(path, {"decision": "decline"})
    assert missing.status_code == 422 and list(missing.json["error"]["fields"]) == ["reason"]
    unknown = api.post(path, {"decision": "decline", "reason": "because"})
    assert unknown.status_code == 422 and list(unknown.json["error"]["fields"]) == ["reason"]
    assert api.post(path, {"decision": "maybe"}).status_code == 422
    assert api.post(path, {"decision": "accept", "note": "x" * 501}).status_code == 422
    declined = api.post(path, {"decision": "decline", "reason": "schedule", "note": "exams"})
    assert declined.status_code == 200 and declined.json["status"] == "declined"
    assert db.session.get(Match, proposal.id).student_reason == "schedule: exams"
    assert api.post(path, {"decision": "accept"}).status_code == 409


def test_mass_assignment_in_a_decision_changes_nothing(as_user, proposal, student):
    body = {
        "decision": "accept",
        "status": "approved",
        "approved": True,
        "sme_decision": "accept",
        "id": 7,
        "student_id": 99,
    }
    response = as_user(student).post(f"/matches/{proposal.id}/decision", body)
    assert response.status_code == 200
    match = db.session.get(Match, proposal.id)
    assert match.status == MatchStatus.PROPOSED and match.sme_decision is None
    assert match.id == proposal.id and match.student_id == proposal.student_id


def test_nobody_else_decides_and_nobody_learns_the_match_exists(
    as_user, anon, proposal, make_student, other_sme, coordinator
):
    stranger = make_student(email="stranger@example.org")
    path = f"/matches/{proposal.id}/decision"
    for user in (stranger, other_sme, coordinator):
        response = as_user(user).post(path, {"decision": "accept"})
        assert response.status_code == 404, user
    assert (
        as_user(other_sme).post("/matches/999999/decision", {"decision": "accept"}).status_code
        == 404
    )
    assert anon.post(path, {"decision": "accept"}).status_code == 401
    assert db.session.get(Match, proposal.id).student_decision is None


def test_students_and_smes_cannot_approve_reject_pair_or_run_cycles(
    as_user, anon, proposal, student, sme
):
    for user in (student, sme):
        api = as_user(user)
        assert (
            api.post(f"/matches/{proposal.id}/approve", {"override_reason": "me"}).status_code
            == 403
        )
        assert api.post(f"/matches/{proposal.id}/reject").status_code == 403
        assert api.post("/matches/999999/approve").status_code == 403  # no hint either way
        assert api.post("/matches", {"student_id": 1, "sme_id": 1}).status_code == 403
        assert api.post("/cycles").status_code == 403
        assert api.get("/cycles").status_code == 403
    assert anon.post(f"/matches/{proposal.id}/approve").status_code == 401
    assert db.session.get(Match, proposal.id).status == MatchStatus.PROPOSED


def test_approval_without_both_acceptances_needs_an_override(as_user, proposal, coordinator):
    api = as_user(coordinator)
    refused = api.post(f"/matches/{proposal.id}/approve", {})
    assert refused.status_code == 409
    done = api.post(f"/matches/{proposal.id}/approve", {"override_reason": "Agreed by phone"})
    assert done.status_code == 200 and done.json["status"] == "approved"
    assert api.post("/matches/999999/approve", {"override_reason": "x"}).status_code == 404


def test_reject_then_nothing_more(as_user, proposal, coordinator, student):
    api = as_user(coordinator)
    assert (
        api.post(f"/matches/{proposal.id}/reject", {"reason": "Not now"}).json["status"]
        == "rejected"
    )
    assert (
        as_user(student)
        .post(f"/matches/{proposal.id}/decision", {"decision": "accept"})
        .status_code
        == 409
    )


def test_a_coordinator_pairs_by_hand(as_user, student, sme, coordinator):
    api = as_user(coordinator)
    body = {"student_id": student.student.id, "sme_id": sme.sme.id, "reason": "Met at the fair"}
    created = api.post("/matches", body)
    assert created.status_code == 201
    assert created.json["cycle"] is None and created.json["status"] == "proposed"
    assert created.json["reasons"]
    busy = api.post("/matches", body)
    assert busy.status_code == 409
    forced = api.post("/matches", {**body, "override": True, "reason": ""})
    assert forced.status_code == 422 and list(forced.json["error"]["fields"]) == ["reason"]
    unknown = api.post("/matches", {"student_id": 999999, "sme_id": sme.sme.id})
    # Well formed but no one's: 404 (422 is for what the description refuses), the field named.
    assert unknown.status_code == 404 and list(unknown.json["error"]["fields"]) == ["student_id"]
    typed = api.post("/matches", {"student_id": "x", "sme_id": 2**40})
    assert typed.status_code == 422 and set(typed.json["error"]["fields"]) == {
        "student_id",
        "sme_id",
    }


def test_smes_do_not_see_withdrawn_proposals(as_user, proposal, student, sme, coordinator):
    decisions.withdraw_pending_for_student(student.student, student)
    db.session.commit()
    assert as_user(sme).get("/matches").json["total"] == 0
    gone = as_user(sme).post(f"/matches/{proposal.id}/decision", {"decision": "accept"})
    assert gone.status_code == 404
    assert [m["status"] for m in as_user(student).get("/matches").json["items"]] == ["withdrawn"]
    assert as_user(coordinator).get("/matches?status=withdrawn").json["total"] == 1


def test_huge_ids_are_not_found_not_errors(as_user, coordinator, student):
    api = as_user(coordinator)
    assert api.post(f"/matches/{2**63}/approve", {"override_reason": "x"}).status_code == 404
    assert api.get(f"/cycles/{2**40}").status_code == 404
    assert api.delete(f"/tokens/{2**40}").status_code == 404
    assert (
        as_user(student).post(f"/matches/{2**31}/decision", {"decision": "accept"}).status_code
        == 404
    )


def test_a_second_cycle_respects_decisions_made_through_the_api(as_user, proposal, student):
    as_user(student).post(
        f"/matches/{proposal.id}/decision", {"decision": "decline", "reason": "location"}
    )
    cycles.run_cycle()
    assert db.session.scalars(select(Match.status)).all() == [MatchStatus.DECLINED]
