"""Withdrawing consent to provision hides the student from every SME, past matches included
(issue 12.2). The match rows stay for the programme's records; the SME sees none of them."""

from __future__ import annotations

from io import BytesIO

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Match, MatchStatus
from app.services import accounts, cycles, decisions, reviews, tokens, uploads, visibility

PDF = b"%PDF-1.4\n% a CV\n"


@pytest.fixture
def declined(student, sme):
    uploads.save_cv(student.student, BytesIO(PDF))  # published by the commit
    db.session.commit()
    cycles.run_cycle()
    match = db.session.scalar(select(Match))
    decisions.decide(match.id, sme, "decline", reason="capacity")
    db.session.commit()
    return match


def test_past_matches_vanish_for_the_sme_when_consent_is_withdrawn(
    app, client, login_as, declined, student, sme
):
    login_as(sme)
    assert client.get(f"/sme/candidates/{declined.id}/cv").status_code == 200
    assert student.student.name.encode() in client.get("/sme/candidates").data

    accounts.update_consent(student, {"collection": True, "provision_to_smes": False})
    db.session.commit()

    assert reviews.review_for_sme(sme.sme).history == []
    with pytest.raises(decisions.NotFound):
        visibility.get_visible_match(declined.id, sme)
    assert client.get(f"/sme/candidates/{declined.id}/cv").status_code == 404
    assert student.student.name.encode() not in client.get("/sme/candidates").data
    assert student.student.name.encode() not in client.get("/sme/").data

    _, secret = tokens.issue(sme)
    db.session.commit()
    listed = app.test_client().get("/api/v1/matches", headers={"Authorization": f"Bearer {secret}"})
    assert listed.status_code == 200 and listed.json["total"] == 0

    # The programme keeps its record of the match; coordinators still see it.
    assert db.session.get(Match, declined.id).status == MatchStatus.DECLINED


def test_giving_consent_again_shows_the_history_again(declined, student, sme):
    accounts.update_consent(student, {"collection": True, "provision_to_smes": False})
    accounts.update_consent(student, {"collection": True, "provision_to_smes": True})
    db.session.commit()
    assert [m.id for m in reviews.review_for_sme(sme.sme).history] == [declined.id]
