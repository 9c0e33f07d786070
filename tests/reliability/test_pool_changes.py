"""What changes while a cycle computes is honoured by its save: the rest is still committed.

Hooks run between the engine's computation and the save (inside `engine_gateway.run`, after the
real computation): a coordinator pairs by hand, a student deletes their account, another
withdraws consent. The save leaves out what became impossible and commits the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from test_fencing import doubles

from app.extensions import db
from app.models import CycleStatus, Match, MatchStatus, Student, User
from app.services import accounts, cycles, decisions, engine_gateway


@pytest.fixture
def people(make_student: Any, make_sme: Any, coordinator: User) -> dict[str, Any]:
    smes = [
        make_sme(capacity=1),
        make_sme(email="b@example.org", business_number="124-81-00998", company_name="B"),
    ]
    students = [make_student(email=f"s{i}@example.org", name=f"Student {i}") for i in range(3)]
    return {"smes": smes, "students": students, "coordinator": coordinator}


def between_compute_and_save(monkeypatch: pytest.MonkeyPatch, hook: Callable[[Any], None]) -> None:
    real_run = engine_gateway.run

    def run(*args: Any, **kwargs: Any) -> Any:
        result = real_run(*args, **kwargs)
        hook(result)
        db.session.commit()  # the change is committed before the cycle saves
        return result

    monkeypatch.setattr(engine_gateway, "run", run)


def test_a_pair_by_hand_made_meanwhile_wins(
    app: Flask, people: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def pair_by_hand(result: Any) -> None:
        # Pair the student the engine placed with an SME it did not give them: both the
        # student and (SME capacity 1) maybe the SME are now taken.
        first = result.pairs[0]
        other = next(s.sme.id for s in people["smes"] if s.sme.id != first.sme_id)
        decisions.pair(first.student_id, other, people["coordinator"])

    between_compute_and_save(monkeypatch, pair_by_hand)
    cycle = cycles.run_cycle()
    assert cycle.status == CycleStatus.FINISHED
    assert cycle.n_skipped >= 1 and cycle.n_proposed >= 1  # the rest was committed
    assert doubles() == (0, 0)
    by_hand = db.session.scalar(select(Match).where(Match.proposed_by == "coordinator"))
    assert by_hand.status == MatchStatus.PROPOSED


def test_an_account_deleted_meanwhile_is_skipped_not_a_failure(
    app: Flask, people: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    gone: list[int] = []

    def delete_one(result: Any) -> None:
        student = db.session.get(Student, result.pairs[0].student_id)
        gone.append(student.id)
        accounts.delete_account(student.user)

    between_compute_and_save(monkeypatch, delete_one)
    cycle = cycles.run_cycle()
    assert cycle.status == CycleStatus.FINISHED, cycle.error
    assert cycle.n_skipped == 1 and cycle.n_proposed >= 1
    assert db.session.scalar(select(func.count(Match.id)).where(Match.student_id == gone[0])) == 0
    assert doubles() == (0, 0)


def test_consent_withdrawn_meanwhile_is_honoured(
    app: Flask, people: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    withdrew: list[int] = []

    def withdraw(result: Any) -> None:
        student = db.session.get(Student, result.pairs[-1].student_id)
        withdrew.append(student.id)
        accounts.update_consent(student.user, {"collection": True, "provision_to_smes": False})

    between_compute_and_save(monkeypatch, withdraw)
    cycle = cycles.run_cycle()
    assert cycle.status == CycleStatus.FINISHED and cycle.n_skipped == 1
    assert (
        db.session.scalar(select(func.count(Match.id)).where(Match.student_id == withdrew[0])) == 0
    )


def test_a_proposal_answered_meanwhile_no_longer_fails_the_cycle(
    app: Flask, people: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from app.models import utcnow

    cycles.run_cycle()
    first = db.session.scalars(select(Match)).all()
    db.session.execute(update(Match).values(created_at=utcnow() - timedelta(days=30)))
    db.session.commit()
    answered = first[0]

    def both_accept(result: Any) -> None:
        db.session.execute(
            update(Match)
            .where(Match.id == answered.id)
            .values(student_decision="accept", sme_decision="accept")
        )

    between_compute_and_save(monkeypatch, both_accept)
    cycle = cycles.run_cycle()
    assert cycle.status == CycleStatus.FINISHED, cycle.error  # was: ConcurrentChange, 0 saved
    db.session.refresh(answered)
    assert answered.status == MatchStatus.PROPOSED  # answered by both: it does not expire
    assert doubles() == (0, 0)
