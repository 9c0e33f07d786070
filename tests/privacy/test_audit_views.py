"""Views of personal data are audited; a failed login keeps nothing of what was typed
(issue 12.8, SECURITY.md item 16)."""

from __future__ import annotations

import pytest
from kexport_support import PASSWORD
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.services import cycles, tokens


def _actions(actor_id=None):
    query = select(AuditEvent.action)
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    return list(db.session.scalars(query))


@pytest.mark.parametrize(
    ("path", "action"),
    [
        ("/coordinator/matches", "matches_listed"),
        ("/coordinator/pair?student_q=Linh", "pair_searched"),
        ("/coordinator/pair?student_id={student}&sme_id={sme}&preview=1", "pair_previewed"),
        ("/coordinator/smes", "smes_listed"),
    ],
)
def test_coordinator_views_of_personal_data_are_audited(
    client, login_as, coordinator, student, sme, path, action
):
    cycles.run_cycle()
    login_as(coordinator)
    response = client.get(path.format(student=student.student.id, sme=sme.sme.id))
    assert response.status_code == 200
    assert action in _actions(coordinator.id)


def test_an_smes_candidates_page_is_audited(client, login_as, student, sme):
    cycles.run_cycle()
    login_as(sme)
    assert client.get("/sme/candidates").status_code == 200
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "candidates_viewed"))
    assert event.actor_id == sme.id and event.detail == {"students": 1}


def test_the_apis_match_list_is_audited(app, coordinator, student, sme):
    cycles.run_cycle()
    _, secret = tokens.issue(coordinator)
    db.session.commit()
    response = app.test_client().get(
        "/api/v1/matches", headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 200
    assert "matches_listed" in _actions(coordinator.id)


@pytest.mark.parametrize("known", [True, False])
def test_a_failed_login_keeps_nothing_typed(client, student, known):
    typed = student.email if known else "my-secret-password@wrong.field"
    response = client.post("/login", data={"email": typed, "password": "not " + PASSWORD})
    assert response.status_code == 401
    (event,) = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "login_failed")
    ).all()
    assert "my-secret-password" not in repr(event.detail)
    assert student.email not in repr(event.detail)
