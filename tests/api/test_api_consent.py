"""After the privacy policy changes, the API asks for renewed consent (issue 12.12): 403 with a
code that says which consent to renew, except on the endpoints that renew it (or leave)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Consent

NEW_POLICY = "2099-01-01"


@pytest.fixture
def new_policy(app, monkeypatch):
    monkeypatch.setitem(app.config, "CONSENT_POLICY_VERSION", NEW_POLICY)


def test_the_api_asks_for_renewed_consent(as_user, student, new_policy):
    api = as_user(student)
    response = api.get("/me")
    assert response.status_code == 403
    error = response.json["error"]
    assert error["code"] == "consent_renewal_required"
    assert error["fields"] == {"consent.collection": [error["fields"]["consent.collection"][0]]}
    assert NEW_POLICY in error["fields"]["consent.collection"][0]
    assert "PUT /api/v1/me/consent" in error["message"]
    assert api.get("/matches").status_code == 403


def test_renewing_consent_through_the_api_lets_it_go_on(as_user, student, new_policy):
    api = as_user(student)
    refused = api.put("/me/consent", {"collection": False, "provision_to_smes": True})
    assert refused.status_code == 422 and "collection" in refused.json["error"]["fields"]
    renewed = api.put("/me/consent", {"collection": True, "provision_to_smes": True})
    assert renewed.status_code == 200
    assert renewed.json["policy_version"] == NEW_POLICY and renewed.json["provision_to_smes"]
    assert api.get("/me").status_code == 200
    latest = db.session.scalars(select(Consent).order_by(Consent.id.desc())).first()
    assert latest.policy_version == NEW_POLICY


def test_leaving_and_token_care_need_no_renewal(as_user, student, new_policy):
    api = as_user(student)
    assert api.get("/tokens").status_code == 200
    assert api.delete("/me").status_code == 204


def test_coordinators_and_current_consent_are_not_asked(as_user, student, coordinator):
    assert as_user(student).get("/me").status_code == 200
    assert as_user(coordinator).get("/matches").status_code == 200


def test_the_renewal_endpoint_is_described(anon):
    doc = anon.get("/openapi.json").json
    put = doc["paths"]["/api/v1/me/consent"]["put"]
    assert put["requestBody"]["content"]["application/json"]["schema"]
    assert "403" in doc["paths"]["/api/v1/me"]["get"]["responses"]
