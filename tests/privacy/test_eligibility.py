"""A pair by hand obeys the cycle's eligibility: consent to provision, not paused (issue 12.1).

An override may bypass the fit rules (a busy student, a full SME, a pair closed before), never
the student's consent: without it, no SME may receive the profile or the CV."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Match
from app.services import accounts, decisions, engine_gateway, match_settings, reviews, tokens
from app.services.errors import Conflict


def _withdraw_provision(user):
    accounts.update_consent(user, {"collection": True, "provision_to_smes": False})
    db.session.commit()


@pytest.mark.parametrize("override", [False, True])
def test_no_pair_by_hand_without_consent_to_provision(student, sme, coordinator, override):
    _withdraw_provision(student)
    with pytest.raises(Conflict) as caught:
        decisions.pair(student.student.id, sme.sme.id, coordinator, override=override, reason="x")
    assert caught.value.fields == {"student_id": [{"type": "no_provision_consent", "ctx": {}}]}
    assert db.session.scalar(select(Match)) is None


@pytest.mark.parametrize("override", [False, True])
def test_no_pair_by_hand_for_a_paused_student(student, sme, coordinator, override):
    reviews.set_paused(student, True)
    db.session.commit()
    with pytest.raises(Conflict) as caught:
        decisions.pair(student.student.id, sme.sme.id, coordinator, override=override, reason="x")
    assert caught.value.fields == {"student_id": [{"type": "student_paused", "ctx": {}}]}


def test_the_api_refuses_the_pair_and_the_sme_never_gets_the_cv(app, student, sme, coordinator):
    _withdraw_provision(student)
    _, secret = tokens.issue(coordinator)
    db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    body = {"student_id": student.student.id, "sme_id": sme.sme.id}
    response = client.post("/api/v1/matches", json=body, headers=headers)
    assert response.status_code == 409, response.json
    assert "student_id" in response.json["error"]["fields"]
    response = client.post(
        "/api/v1/matches", json={**body, "override": True, "reason": "urgent"}, headers=headers
    )
    assert response.status_code == 409
    assert db.session.scalar(select(Match)) is None


def test_the_pairing_page_says_why(client, login_as, student, sme, coordinator):
    _withdraw_provision(student)
    login_as(coordinator)
    response = client.post(
        "/coordinator/pair",
        data={"student_id": student.student.id, "sme_id": sme.sme.id},
    )
    assert response.status_code == 409
    assert b"has not consented" in response.data
    assert db.session.scalar(select(Match)) is None


def test_an_override_still_bypasses_the_fit_rules(make_student, sme, coordinator):
    first = make_student(email="a@example.org")
    second = make_student(email="b@example.org")
    decisions.pair(first.student.id, sme.sme.id, coordinator)
    decisions.pair(second.student.id, sme.sme.id, coordinator)
    db.session.commit()
    third = make_student(email="c@example.org")
    with pytest.raises(Conflict):
        decisions.pair(third.student.id, sme.sme.id, coordinator)  # the SME is full
    decisions.pair(third.student.id, sme.sme.id, coordinator, override=True, reason="priority")


def test_cycle_and_pair_use_one_rule(student, sme, coordinator):
    """Whoever the cycle leaves out, a pair by hand refuses, and the other way round."""
    _withdraw_provision(student)
    assert engine_gateway.load_pool(match_settings.DEFAULT_EXPIRY_DAYS).student_ids == []
    with pytest.raises(Conflict):
        decisions.pair(student.student.id, sme.sme.id, coordinator)
    accounts.update_consent(student, {"collection": True, "provision_to_smes": True})
    db.session.commit()
    assert engine_gateway.load_pool(match_settings.DEFAULT_EXPIRY_DAYS).student_ids == [
        student.student.id
    ]
    decisions.pair(student.student.id, sme.sme.id, coordinator)
