"""A changed privacy policy is answered again before anything else (SECURITY.md item 17)."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Consent


def test_a_new_policy_version_asks_again(app, client, login_as, student, monkeypatch):
    monkeypatch.setitem(app.config, "CONSENT_POLICY_VERSION", "2099-01-01")
    login_as(student)
    response = client.get("/student/")
    assert response.status_code == 302 and response.location.endswith("/account/consent/renew")
    assert client.get("/privacy").status_code == 200  # the policy itself stays readable

    refused = client.post("/account/consent/renew", data={"consent_provision": "y"})
    assert refused.status_code == 422
    assert "consent to collection" in refused.get_data(as_text=True)

    client.post("/account/consent/renew", data={"consent_collection": "y"})
    assert client.get("/student/").status_code == 200
    latest = db.session.scalars(select(Consent).order_by(Consent.id.desc())).first()
    assert latest.policy_version == "2099-01-01"
    assert latest.collection is True and latest.provision_to_smes is False  # boxes start unticked


def test_the_current_policy_asks_nothing(client, login_as, student):
    login_as(student)
    assert client.get("/student/").status_code == 200


def test_coordinators_are_not_asked(app, client, login_as, coordinator, monkeypatch):
    monkeypatch.setitem(app.config, "CONSENT_POLICY_VERSION", "2099-01-01")
    login_as(coordinator)
    assert client.get("/coordinator/").status_code == 200
