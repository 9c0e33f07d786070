"""SMEs review candidates; students answer proposals, follow their application, pause."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Match, MatchStatus
from app.services import cycles, decisions


@pytest.fixture
def proposal(student, sme):
    cycles.run_cycle()
    return db.session.scalar(select(Match))


def test_sme_sees_its_candidate_with_reasons_in_its_words(client, login_as, sme, student, proposal):
    login_as(sme)
    page = client.get("/sme/candidates").get_data(as_text=True)
    assert student.student.name in page
    assert "Comes from Vietnam — you target it" in page  # addressed to the SME
    assert "Accept" in page and "Decline" in page


def test_sme_reasons_are_korean_for_a_korean_reader(client, login_as, sme, proposal):
    login_as(sme)
    client.post("/language", data={"locale": "ko"})
    page = client.get("/sme/candidates").get_data(as_text=True)
    assert "베트남" in page  # the market's name from CLDR, in Korean


def test_sme_accepts_and_declines_with_a_reason(client, login_as, sme, proposal):
    login_as(sme)
    response = client.post(f"/sme/candidates/{proposal.id}/decision", data={"decision": "accept"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Match, proposal.id).sme_decision == "accept"
    # A second answer is refused, and says so.
    again = client.post(
        f"/sme/candidates/{proposal.id}/decision",
        data={"decision": "decline", "reason": "other"},
        follow_redirects=True,
    )
    assert "already been decided" in again.get_data(as_text=True)


def test_decline_without_a_reason_is_refused_with_a_message(client, login_as, sme, proposal):
    login_as(sme)
    page = client.post(
        f"/sme/candidates/{proposal.id}/decision",
        data={"decision": "decline"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "This field is required." in page
    db.session.expire_all()
    assert db.session.get(Match, proposal.id).status == MatchStatus.PROPOSED


def test_shortlist_moves_a_candidate_first(client, login_as, make_student, sme):
    make_student(email="a@example.org", name="First Student")
    cycles.run_cycle()
    login_as(sme)
    match_id = db.session.scalar(select(Match.id))
    client.post(f"/sme/candidates/{match_id}/shortlist")
    db.session.expire_all()
    assert db.session.get(Match, match_id).sme_shortlisted is True
    assert "Shortlisted" in client.get("/sme/candidates").get_data(as_text=True)


def test_an_sme_cannot_touch_another_smes_candidate(client, login_as, make_sme, proposal):
    other = make_sme(email="other@example.org", business_number="124-81-00998")
    login_as(other)
    assert (
        client.post(
            f"/sme/candidates/{proposal.id}/decision", data={"decision": "accept"}
        ).status_code
        == 404
    )
    assert client.post(f"/sme/candidates/{proposal.id}/shortlist").status_code == 404
    assert client.get(f"/sme/candidates/{proposal.id}/cv").status_code == 404


def test_sme_reads_the_cv_only_once_proposed(client, login_as, student, sme, app):
    from io import BytesIO

    login_as(student)
    client.post(
        "/student/cv",
        data={"cv": (BytesIO(b"%PDF-1.4 cv"), "cv.pdf")},
        content_type="multipart/form-data",
    )
    client.post("/logout")
    login_as(sme)
    assert (
        "cv"
        not in client.get("/sme/candidates")
        .get_data(as_text=True)
        .lower()
        .split("download cv")[0][-1:]
    )  # no candidate yet, no link
    cycles.run_cycle()
    match_id = db.session.scalar(select(Match.id))
    response = client.get(f"/sme/candidates/{match_id}/cv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "cv_downloaded"))


def test_sme_never_sees_a_withdrawn_proposal(client, login_as, student, sme, proposal):
    from app.services import accounts

    accounts.update_consent(student, {"collection": True, "provision_to_smes": False})
    db.session.commit()
    login_as(sme)
    assert student.student.name not in client.get("/sme/candidates").get_data(as_text=True)
    assert client.get(f"/sme/candidates/{proposal.id}/cv").status_code == 404


def test_student_sees_the_proposal_and_why(client, login_as, student, sme, proposal):
    login_as(student)
    page = client.get("/student/proposals").get_data(as_text=True)
    assert "한빛코스메틱" in page
    assert "The company targets Vietnam, where you come from" in page


def test_student_accepts_and_the_timeline_moves(
    client, login_as, student, sme, coordinator, proposal
):
    login_as(student)
    client.post(f"/student/proposals/{proposal.id}/decision", data={"decision": "accept"})
    decisions.decide(proposal.id, sme, "accept")
    decisions.approve(proposal.id, coordinator)
    db.session.commit()
    page = client.get("/student/").get_data(as_text=True)
    assert page.count("timeline-step done") == 4  # signed up, proposed, accepted, approved


def test_student_cannot_answer_someone_elses_proposal(client, login_as, make_student, proposal):
    other = make_student(email="other@example.org")
    login_as(other)
    response = client.post(
        f"/student/proposals/{proposal.id}/decision", data={"decision": "accept"}
    )
    assert response.status_code == 404


def test_pausing_withdraws_unanswered_proposals_and_leaves_the_student_out(
    client, login_as, student, sme, proposal
):
    login_as(student)
    client.post("/student/participation", data={"paused": "1"})
    db.session.expire_all()
    assert db.session.get(Match, proposal.id).status == MatchStatus.WITHDRAWN
    assert cycles.run_cycle().n_students == 0
    client.post("/student/participation", data={"paused": "0"})
    assert cycles.run_cycle().n_students == 1


def test_pausing_keeps_a_proposal_the_student_accepted(client, login_as, student, sme, proposal):
    login_as(student)
    client.post(f"/student/proposals/{proposal.id}/decision", data={"decision": "accept"})
    client.post("/student/participation", data={"paused": "1"})
    db.session.expire_all()
    assert db.session.get(Match, proposal.id).status == MatchStatus.PROPOSED


@pytest.mark.parametrize("path", ["/sme/candidates", "/sme/"])
def test_students_cannot_open_sme_pages(client, login_as, student, path):
    login_as(student)
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", ["/student/proposals", "/student/"])
def test_smes_cannot_open_student_pages(client, login_as, sme, path):
    login_as(sme)
    assert client.get(path).status_code == 403
