"""Issue 13 item 6: a person changes their answer until a coordinator acts on it; a decline
undone restores the pair; each change is compare-and-set, audited and notified to the other side.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Match, MatchStatus, OutboxMessage
from app.services import cycles, decisions
from app.services.errors import Conflict, InvalidInput


@pytest.fixture
def proposal(student, sme):
    cycles.run_cycle()
    match = db.session.scalar(select(Match))
    assert match is not None
    return match


def _changes():
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "match_answer_changed")
    ).all()


def test_an_acceptance_becomes_a_decline_until_the_coordinator_acts(proposal, student, sme):
    decisions.decide(proposal.id, student, "accept")
    assert decisions.changeable([db.session.get(Match, proposal.id)], "student") == {proposal.id}
    match = decisions.change_answer(proposal.id, student, "decline", reason="schedule")
    db.session.commit()
    assert match.status == MatchStatus.DECLINED
    assert match.student_decision == "decline" and match.student_reason == "schedule"
    [event] = _changes()
    assert event.detail == {"side": "student", "answer": "decline"}
    # Told as a decline, as a first decline would have been.
    assert db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "match_student_decline")
    ).all()


def test_a_decline_undone_restores_the_pair(proposal, student, sme, coordinator):
    decisions.decide(proposal.id, sme, "decline", reason="language")
    match = decisions.change_answer(proposal.id, sme, "accept")
    db.session.commit()
    assert match.status == MatchStatus.PROPOSED
    assert match.sme_decision == "accept" and match.sme_reason is None
    assert db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "match_sme_reaccept")
    ).all()
    # The restored pair goes on to approval as any other.
    decisions.decide(proposal.id, student, "accept")
    assert decisions.approve(proposal.id, coordinator).status == MatchStatus.APPROVED


def test_no_change_once_the_coordinator_has_acted(proposal, student, sme, coordinator):
    decisions.decide(proposal.id, student, "accept")
    decisions.decide(proposal.id, sme, "accept")
    decisions.approve(proposal.id, coordinator)
    db.session.commit()
    assert decisions.changeable([db.session.get(Match, proposal.id)], "student") == set()
    with pytest.raises(Conflict) as caught:
        decisions.change_answer(proposal.id, student, "decline", reason="other")
    assert caught.value.fields["status"][0]["type"] == "answer_final"
    assert db.session.get(Match, proposal.id).status == MatchStatus.APPROVED
    assert _changes() == []


def test_a_decline_cannot_be_undone_once_both_declined(proposal, student, sme):
    decisions.decide(proposal.id, student, "decline", reason="schedule")
    # The SME answered too before the page reloaded: both now said no.
    db.session.get(Match, proposal.id).sme_decision = "decline"
    db.session.commit()
    assert decisions.changeable([db.session.get(Match, proposal.id)], "student") == set()
    with pytest.raises(Conflict):
        decisions.change_answer(proposal.id, student, "accept")


def test_a_decline_cannot_be_undone_when_the_student_moved_on(proposal, student, sme, make_sme):
    decisions.decide(proposal.id, student, "decline", reason="market")
    make_sme(email="second@example.org", business_number="124-81-00998")
    db.session.commit()
    cycles.run_cycle()  # the next cycle proposes the student elsewhere
    assert db.session.scalar(
        select(Match).where(Match.status == MatchStatus.PROPOSED, Match.id != proposal.id)
    )
    assert decisions.changeable([db.session.get(Match, proposal.id)], "student") == set()
    with pytest.raises(Conflict) as caught:
        decisions.change_answer(proposal.id, student, "accept")
    assert caught.value.fields["status"][0]["type"] == "pair_moved_on"


def test_same_answer_or_no_answer_is_not_a_change(proposal, student):
    with pytest.raises(Conflict):
        decisions.change_answer(proposal.id, student, "accept")  # never answered
    decisions.decide(proposal.id, student, "accept")
    with pytest.raises(Conflict):
        decisions.change_answer(proposal.id, student, "accept")
    with pytest.raises(InvalidInput):
        decisions.change_answer(proposal.id, student, "decline", reason="")


def test_nobody_else_changes_an_answer(proposal, student, make_student, coordinator):
    decisions.decide(proposal.id, student, "accept")
    other = make_student(email="other@example.org")
    for user in (other, coordinator):
        with pytest.raises(decisions.NotFound):
            decisions.change_answer(proposal.id, user, "decline", reason="other")


@pytest.mark.usefixtures("proposal")
def test_concurrent_changes_and_approval_record_exactly_one(
    app, proposal, student, sme, coordinator
):
    """An approval racing a change of mind: one wins, the other gets a Conflict."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL")
    decisions.decide(proposal.id, student, "accept")
    decisions.decide(proposal.id, sme, "accept")
    db.session.commit()
    student_id, coordinator_id = student.id, coordinator.id
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def run(kind: str) -> None:
        with app.app_context():
            from app.models import User

            barrier.wait()
            try:
                if kind == "change":
                    user = db.session.get(User, student_id)
                    decisions.change_answer(proposal.id, user, "decline", reason="other")
                else:
                    decisions.approve(proposal.id, db.session.get(User, coordinator_id))
                db.session.commit()
                outcomes.append(kind)
            except Conflict:
                db.session.rollback()
                outcomes.append("conflict")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(k,)) for k in ("change", "approve")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) in (["approve", "conflict"], ["change", "conflict"])
    db.session.expire_all()
    status = db.session.get(Match, proposal.id).status
    assert status == (MatchStatus.APPROVED if "approve" in outcomes else MatchStatus.DECLINED)
