"""The life of a pair: each transition once, in order, within capacity, audited and notified."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Match, MatchStatus, OutboxMessage
from app.services import cycles, decisions
from app.services.errors import Conflict, InvalidInput, NotAllowed


@pytest.fixture
def proposal(student, sme):
    cycles.run_cycle()
    return db.session.scalar(select(Match))


def _audit(action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_full_life_of_a_pair(proposal, student, sme, coordinator):
    decisions.decide(proposal.id, student, "accept")
    decisions.decide(proposal.id, sme, "accept")
    decisions.approve(proposal.id, coordinator)
    decisions.activate(proposal.id, coordinator)
    match = decisions.complete(proposal.id, coordinator, outcome="contract_signed")
    db.session.commit()
    assert match.status == MatchStatus.COMPLETED and match.outcome == "contract_signed"
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    for action in ("match_accept", "match_approved", "match_activated", "match_completed"):
        assert action in actions
    kinds = [m.kind for m in db.session.scalars(select(OutboxMessage))]
    assert kinds.count("match_approved") == 2  # the student and the SME


def test_decline_closes_the_pair_with_a_reason(proposal, student):
    match = decisions.decide(proposal.id, student, "decline", reason="schedule", note="exams")
    assert match.status == MatchStatus.DECLINED
    assert match.student_reason == "schedule: exams"


def test_decline_needs_a_reason_from_the_list(proposal, sme):
    with pytest.raises(InvalidInput):
        decisions.decide(proposal.id, sme, "decline", reason="")
    with pytest.raises(InvalidInput):
        decisions.decide(proposal.id, sme, "decline", reason="because")


def test_each_side_decides_once(proposal, student):
    decisions.decide(proposal.id, student, "accept")
    with pytest.raises(Conflict):
        decisions.decide(proposal.id, student, "decline", reason="other")


def test_nobody_else_can_decide(proposal, make_student, make_sme, coordinator):
    other = make_student(email="other@example.org")
    other_sme = make_sme(email="x@example.org", business_number="124-81-00998")
    for user in (other, other_sme, coordinator):
        with pytest.raises(decisions.NotFound):
            decisions.decide(proposal.id, user, "accept")


def test_approval_needs_both_acceptances_or_an_override(proposal, student, coordinator):
    decisions.decide(proposal.id, student, "accept")
    with pytest.raises(Conflict):
        decisions.approve(proposal.id, coordinator)
    match = decisions.approve(proposal.id, coordinator, override_reason="SME agreed by phone")
    assert match.status == MatchStatus.APPROVED
    assert match.coordinator_note == "SME agreed by phone"


def test_only_coordinators_approve(proposal, student, sme):
    with pytest.raises(NotAllowed):
        decisions.approve(proposal.id, sme, override_reason="me")


def test_transitions_out_of_order_conflict(proposal, coordinator):
    with pytest.raises(Conflict):
        decisions.activate(proposal.id, coordinator)
    decisions.reject(proposal.id, coordinator, reason="duplicate")
    with pytest.raises(Conflict):
        decisions.approve(proposal.id, coordinator, override_reason="x")


def test_capacity_is_never_exceeded_by_approvals(make_student, make_sme, coordinator):
    sme = make_sme(capacity=1)
    first = make_student()
    second = make_student(email="second@example.org")
    for student in (first, second):
        match = decisions.pair(
            student.student.id, sme.sme.id, coordinator, reason="fair", override=True
        )
        decisions.decide(match.id, student, "accept")
        decisions.decide(match.id, sme, "accept")
    ids = db.session.scalars(select(Match.id).order_by(Match.id)).all()
    decisions.approve(ids[0], coordinator)
    with pytest.raises(Conflict):
        decisions.approve(ids[1], coordinator)


def test_manual_pairing_is_scored_and_explained(student, sme, coordinator):
    match = decisions.pair(student.student.id, sme.sme.id, coordinator)
    assert match.proposed_by == "coordinator" and match.status == MatchStatus.PROPOSED
    assert match.score > 0.5 and {r["factor"] for r in match.reasons} >= {"market", "industry"}
    with pytest.raises(Conflict):  # the student now has a pending proposal
        decisions.pair(student.student.id, sme.sme.id, coordinator)


def test_bulk_approval_reports_each_refusal(make_student, make_sme, coordinator):
    sme = make_sme(capacity=3)
    ids = []
    for n in range(3):
        student = make_student(email=f"s{n}@example.org")
        match = decisions.pair(student.student.id, sme.sme.id, coordinator)
        ids.append(match.id)
        if n < 2:
            decisions.decide(match.id, student, "accept")
            decisions.decide(match.id, sme, "accept")
    result = decisions.bulk("approve", ids, coordinator)
    db.session.commit()
    assert result.done == ids[:2] and result.failed == {ids[2]: "not_accepted"}


def test_twenty_concurrent_approvals_record_exactly_one(app, proposal, student, sme, coordinator):
    decisions.decide(proposal.id, student, "accept")
    decisions.decide(proposal.id, sme, "accept")
    match_id, coordinator_id = proposal.id, coordinator.id
    db.session.commit()  # (and hold no transaction: on SQLite it would keep the write lock)
    outcomes: list[str] = []
    barrier = threading.Barrier(20)

    def click() -> None:
        from app.models import User

        with app.app_context():
            barrier.wait()
            try:
                decisions.approve(match_id, db.session.get(User, coordinator_id))
                db.session.commit()
                outcomes.append("approved")
            except Conflict:
                db.session.rollback()
                outcomes.append("conflict")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=click) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outcomes.count("approved") == 1 and outcomes.count("conflict") == 19
    assert len(_audit("match_approved")) == 1
    assert db.session.scalar(select(func.count(Match.id)).where(Match.status == "approved")) == 1


def test_concurrent_approvals_for_one_sme_respect_its_capacity(
    app, make_student, make_sme, coordinator
):
    sme = make_sme(capacity=2)
    ids = []
    for n in range(6):
        student = make_student(email=f"c{n}@example.org")
        match = decisions.pair(
            student.student.id, sme.sme.id, coordinator, override=True, reason="test"
        )
        decisions.decide(match.id, student, "accept")
        decisions.decide(match.id, sme, "accept")
        ids.append(match.id)
    coordinator_id = coordinator.id
    db.session.commit()
    barrier = threading.Barrier(len(ids))

    def click(match_id: int) -> None:
        from app.models import User

        with app.app_context():
            barrier.wait()
            try:
                decisions.approve(match_id, db.session.get(User, coordinator_id))
                db.session.commit()
            except Conflict:
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=click, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    approved = db.session.scalar(select(func.count(Match.id)).where(Match.status == "approved"))
    assert approved == 2
