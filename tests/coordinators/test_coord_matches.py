"""The matches table, bulk decisions, a match's page and its buttons, and pairing by hand."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Match, MatchStatus
from app.services import decisions


def _count(model=Match, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_matches_table_lists_every_proposal_with_reasons(coord_client, programme):
    page = coord_client.get("/coordinator/matches")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert len(programme["matches"]) == 3
    for m in programme["matches"]:
        assert f'name="match_ids" value="{m.id}"' in html
    assert "Nguyen Van An" in html and "가나화장품" in html
    assert "a market the SME targets" in html  # top reasons, in words


def test_matches_filters(coord_client, programme):
    thai = next(m for m in programme["matches"] if m.student.nationality == "TH")
    html = coord_client.get("/coordinator/matches?market=TH&region=busan").get_data(as_text=True)
    assert "Somchai Thai" in html
    html = coord_client.get("/coordinator/matches?status=approved").get_data(as_text=True)
    assert 'name="match_ids"' not in html
    html = coord_client.get("/coordinator/matches?score_min=1.1&cycle=x").get_data(as_text=True)
    assert f'value="{thai.id}"' in html  # nonsense filters filter nothing
    assert coord_client.get("/coordinator/matches?page=-5&score_min=%00").status_code == 200


def test_bulk_approve_reports_done_and_refused(coord_client, programme, coordinator):
    first, second, third = programme["matches"]
    for user in (first.student.user, first.sme.user):
        decisions.decide(first.id, user, "accept")
    db.session.commit()
    response = coord_client.post(
        "/coordinator/matches/bulk",
        data={"action": "approve", "match_ids": [str(first.id), str(second.id), "987654"]},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "1 match approved." in html
    assert f"Match #{second.id}: Both the student and the SME must accept first" in html
    assert "Match #987654: This match does not exist." in html
    assert db.session.get(Match, first.id).status == MatchStatus.APPROVED
    assert db.session.get(Match, second.id).status == MatchStatus.PROPOSED


def test_bulk_reject_with_reason(coord_client, programme):
    ids = [str(m.id) for m in programme["matches"]]
    response = coord_client.post(
        "/coordinator/matches/bulk",
        data={"action": "reject", "match_ids": ids, "reason": "budget cut"},
        follow_redirects=True,
    )
    assert "3 matches rejected." in response.get_data(as_text=True)
    assert _count(Match, Match.status == MatchStatus.REJECTED) == 3
    assert _count(AuditEvent, AuditEvent.action == "match_rejected") == 3


def test_bulk_bad_input_is_a_message_not_an_error(coord_client, programme):
    r = coord_client.post("/coordinator/matches/bulk", data={"action": "approve"})
    assert r.status_code == 302
    r = coord_client.post(
        "/coordinator/matches/bulk",
        data={"action": "delete", "match_ids": [str(programme["matches"][0].id)]},
        follow_redirects=True,
    )
    assert r.status_code == 200 and "Choose a value from the list." in r.get_data(as_text=True)
    assert _count(Match, Match.status == MatchStatus.PROPOSED) == 3


def test_match_page_and_its_life(coord_client, programme):
    match = programme["matches"][0]
    url = f"/coordinator/matches/{match.id}"
    html = coord_client.get(url).get_data(as_text=True)
    assert "Why this pair" in html and "History" in html and "Override and approve" in html
    # Override needs a reason: the page again, with the message, and a 4xx.
    r = coord_client.post(url, data={"action": "override", "reason": " "})
    assert r.status_code == 422 and "This field is required." in r.get_data(as_text=True)
    r = coord_client.post(url, data={"action": "approve"})
    assert r.status_code == 409
    assert "Both the student and the SME must accept first" in r.get_data(as_text=True)
    r = coord_client.post(url, data={"action": "override", "reason": "agreed by phone"})
    assert r.status_code == 302
    assert coord_client.post(url, data={"action": "activate"}).status_code == 302
    r = coord_client.post(url, data={"action": "complete", "outcome": "contract_signed"})
    assert r.status_code == 302
    db.session.expire_all()
    match = db.session.get(Match, match.id)
    assert match.status == MatchStatus.COMPLETED and match.outcome == "contract_signed"
    html = coord_client.get(url).get_data(as_text=True)
    for words in ("Approved by a coordinator", "Work started", "Completed"):
        assert words in html  # the history, from the audit log, in words
    assert "agreed by phone" in html
    assert coord_client.post(url, data={"action": "explode"}).status_code == 400
    assert coord_client.get("/coordinator/matches/987654").status_code == 404


def test_reject_from_the_match_page(coord_client, programme):
    match = programme["matches"][1]
    r = coord_client.post(
        f"/coordinator/matches/{match.id}", data={"action": "reject", "reason": "duplicate"}
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Match, match.id).coordinator_note == "duplicate"


def test_pair_by_hand_preview_writes_nothing(coord_client, make_student, make_sme, bn):
    student = make_student(email="free@example.org", name="Free Student").student
    sme = make_sme(email="free@sme.example", company_name="자유상사", business_number=bn(7)).sme
    before = (_count(Match), _count(AuditEvent))
    html = coord_client.get("/coordinator/pair").get_data(as_text=True)
    assert "Free Student" in html and "자유상사" in html
    r = coord_client.get(f"/coordinator/pair?student_id={student.id}&sme_id={sme.id}&preview=1")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Preview:" in html and "Propose this pair" in html
    assert "a market the SME targets" in html
    db.session.rollback()
    # No match is written; the views of personal data are audited (issue 12.8).
    assert (_count(Match), _count(AuditEvent)) == (before[0], before[1] + 2)
    r = coord_client.post("/coordinator/pair", data={"student_id": student.id, "sme_id": sme.id})
    assert r.status_code == 302
    match = db.session.scalar(select(Match))
    assert r.headers["Location"].endswith(f"/coordinator/matches/{match.id}")
    assert match.proposed_by == "coordinator" and match.status == MatchStatus.PROPOSED
    assert match.reasons


def test_pair_rules_and_override(coord_client, programme):
    busy = programme["matches"][0]
    data = {"student_id": busy.student_id, "sme_id": programme["smes"][1].sme.id}
    r = coord_client.post("/coordinator/pair", data=data)
    assert r.status_code == 409
    assert "already has a pending or approved match" in r.get_data(as_text=True)
    r = coord_client.post("/coordinator/pair", data={**data, "override": "y"})
    assert r.status_code == 422 and "This field is required." in r.get_data(as_text=True)
    r = coord_client.post(
        "/coordinator/pair", data={**data, "override": "y", "reason": "SME asked"}
    )
    assert r.status_code == 302
    assert _count(Match) == 4


def test_pair_bad_ids(coord_client, programme):
    r = coord_client.get("/coordinator/pair?student_id=abc&sme_id=1&preview=1")
    assert r.status_code == 422 and "This field is required." in r.get_data(as_text=True)
    r = coord_client.get("/coordinator/pair?student_id=987654&sme_id=987654&preview=1")
    assert r.status_code == 422 and "Choose a value from the list." in r.get_data(as_text=True)
    r = coord_client.post("/coordinator/pair", data={"student_id": "987654", "sme_id": "1"})
    assert r.status_code == 422
    assert _count(Match) == 3


def test_hostile_input_is_never_a_500(coord_client, programme):
    huge = "9" * 30
    r = coord_client.post(
        "/coordinator/matches/bulk", data={"action": "approve", "match_ids": [huge, "-1", "\x00"]}
    )
    assert r.status_code == 302
    for url in (
        f"/coordinator/matches?cycle={huge}&score_min=1e400",
        f"/coordinator/pair?student_id={huge}&sme_id={huge}&preview=1",
        f"/coordinator/audit?actor_id={huge}&target_id=1&date_to=9999-12-31",
        "/coordinator/pair?student_q=%00&sme_q=%25_",
    ):
        assert coord_client.get(url).status_code < 500, url
    r = coord_client.post("/coordinator/cycles/schedule", data={"schedule": "0 6 * * mon\x00"})
    assert r.status_code == 422
    r = coord_client.post(
        "/coordinator/settings",
        data={
            "action": "preview",
            "mode": "greedy",
            "candidates_k": huge,
            "expiry_days": "1e3",
            "weight_language": "1e400",
        },
    )
    assert r.status_code == 422
