"""GET /api/v1/pairs/{student_id}/{sme_id}: "why not?" for coordinators."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Match
from app.services import cycles, decisions


@pytest.fixture
def weak_d2(make_student):
    """A first-year D-2 undergraduate with TOPIK 2: 10 h a week, no manufacturing."""
    today = date.today()
    return make_student(
        email="weak@example.org",
        topik_level=2,
        degree_level="bachelor",
        year_of_study=1,
        in_korea_since=f"{today.year - 1:04d}-{today.month:02d}",
    ).student


# --- the API -----------------------------------------------------------------------------------


def test_the_api_answers_why_not(as_user, coordinator, make_sme, weak_d2):
    sme = make_sme(ksic_section="C", hours_needed=20).sme
    api = as_user(coordinator)
    body = api.get(f"/pairs/{weak_d2.id}/{sme.id}").json
    assert body["acceptable"] is False
    assert body["blocked"] == ["visa.hours", "visa.manufacturing_topik"]
    assert 0 <= body["score"] <= 1 and body["reasons"]
    assert all(r["detail"] for r in body["reasons"])
    assert body["blocks"][0]["params"] == {"hours_needed": 20, "max_hours": 10}
    assert "20" in body["blocks"][0]["message"] and body["rules_version"]
    korean = api.get(f"/pairs/{weak_d2.id}/{sme.id}", headers={"Accept-Language": "ko"}).json
    assert "시간" in korean["blocks"][0]["message"]


def test_a_pair_declined_before_says_so(as_user, coordinator, student, sme):
    cycles.run_cycle()
    match = db.session.scalar(select(Match))
    decisions.decide(match.id, sme, "decline", reason="not_a_fit")
    db.session.commit()
    body = as_user(coordinator).get(f"/pairs/{student.student.id}/{sme.sme.id}")
    assert body.json["blocked"] == ["declined_before"] and body.json["acceptable"] is False


def test_only_coordinators_may_ask_and_unknown_ids_are_404(
    anon, as_user, coordinator, student, sme
):
    path = f"/pairs/{student.student.id}/{sme.sme.id}"
    assert anon.get(path).status_code == 401
    for user in (student, sme):
        assert as_user(user).get(path).status_code == 403
    api = as_user(coordinator)
    assert api.get(path).status_code == 200
    assert api.get(f"/pairs/999999/{sme.sme.id}").status_code == 404
    assert api.get(f"/pairs/{student.student.id}/999999").status_code == 404
    assert api.get(f"/pairs/{student.student.id}/99999999999").status_code == 404


def test_the_description_documents_the_pair_check(anon):
    doc = anon.get("/openapi.json").json
    operation = doc["paths"]["/api/v1/pairs/{student_id}/{sme_id}"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"student_id", "sme_id"}
    assert set(operation["responses"]) >= {"200", "401", "403", "404"}
    props = doc["components"]["schemas"]["PairCheckOut"]["properties"]
    assert {"acceptable", "score", "reasons", "blocked"} <= set(props)
