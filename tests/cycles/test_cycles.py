"""The matching cycle: who takes part, what it writes, and what it must never do."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

import matching
from app.extensions import db
from app.models import (
    CycleLease,
    CycleStatus,
    Match,
    MatchCycle,
    MatchStatus,
    OutboxMessage,
    utcnow,
)
from app.services import accounts, cycles, engine_gateway, match_settings
from app.services.cycle_lock import CycleBusy, cycle_lock


def test_cycle_proposes_a_pair_with_score_reasons_and_record(student, sme, pairs_of):
    cycle = cycles.run_cycle(trigger="manual")
    assert cycle.status == CycleStatus.FINISHED
    assert pairs_of(cycle) == [(student.student.id, sme.sme.id, "proposed")]
    match = db.session.scalar(select(Match))
    assert 0 < match.score <= 1 and 0 <= match.student_view <= 1 and 0 <= match.sme_view <= 1
    keys = {reason["key"] for reason in match.reasons}
    assert "market.home" in keys and "industry.same" in keys
    assert abs(sum(r["weight"] for r in match.reasons) - match.score) < 1e-4
    assert (cycle.n_students, cycle.n_smes, cycle.n_proposed) == (1, 1, 1)
    assert cycle.finished_at >= cycle.started_at
    assert None not in (cycle.load_seconds, cycle.engine_seconds, cycle.save_seconds)
    assert cycle.mode == "stable" and cycle.candidates_k == 50


def test_student_without_consent_to_provision_is_left_out(make_student, sme, pairs_of):
    make_student(email="no@example.org", consent={"collection": True, "provision_to_smes": False})
    cycle = cycles.run_cycle()
    assert cycle.n_students == 0 and pairs_of() == []


def test_withdrawing_consent_removes_student_from_next_cycle(student, sme, pairs_of):
    accounts.update_consent(student, {"collection": True, "provision_to_smes": False})
    db.session.commit()
    assert cycles.run_cycle().n_students == 0


def test_consent_to_an_old_policy_version_does_not_count(student, sme, app, monkeypatch):
    monkeypatch.setitem(app.config, "CONSENT_POLICY_VERSION", "2099-01-01")
    assert cycles.run_cycle().n_students == 0


def test_paused_student_is_left_out(student, sme):
    student.student.paused = True
    db.session.commit()
    assert cycles.run_cycle().n_students == 0


def test_student_with_a_pending_proposal_is_not_proposed_again(student, make_sme, pairs_of):
    make_sme()
    make_sme(email="b@example.org", business_number="124-81-00998", company_name="B")
    cycles.run_cycle()
    second = cycles.run_cycle()
    assert second.n_students == 0 and second.n_proposed == 0
    assert len(pairs_of()) == 1


def test_pending_proposals_use_capacity(make_student, make_sme, pairs_of):
    make_sme(capacity=1)
    make_student()
    make_student(email="second@example.org", name="Tran Minh")
    first = cycles.run_cycle()
    assert first.n_proposed == 1
    second = cycles.run_cycle()
    assert second.n_smes == 0 and second.n_proposed == 0


@pytest.mark.parametrize(
    "change",
    [
        {"status": MatchStatus.DECLINED},
        {"status": MatchStatus.REJECTED},
        {"status": MatchStatus.WITHDRAWN},
    ],
)
def test_closed_pair_is_never_proposed_again(student, sme, pairs_of, change):
    cycles.run_cycle()
    db.session.execute(update(Match).values(**change))
    db.session.commit()
    again = cycles.run_cycle()
    assert again.n_students == 1 and again.n_smes == 1
    assert again.n_proposed == 0  # the only acceptable pair is excluded


def test_approved_pair_is_kept_and_uses_capacity(make_student, make_sme, pairs_of):
    make_sme(capacity=1)
    make_student()
    cycles.run_cycle()
    db.session.execute(update(Match).values(status=MatchStatus.APPROVED))
    db.session.commit()
    make_student(email="late@example.org", name="Le Van")
    before = pairs_of()
    later = cycles.run_cycle()
    assert later.n_smes == 0 and later.n_proposed == 0
    assert pairs_of() == before


def test_unanswered_proposals_expire_and_people_return_to_the_pool(student, make_sme, pairs_of):
    first_sme = make_sme()
    make_sme(email="b@example.org", business_number="124-81-00998", company_name="B")
    cycles.run_cycle()
    old = utcnow() - timedelta(days=30)
    db.session.execute(update(Match).values(created_at=old))
    db.session.commit()
    proposed_to = db.session.scalar(select(Match.sme_id))
    cycle = cycles.run_cycle()
    assert cycle.n_expired == 1 and cycle.n_proposed == 1
    statuses = dict(db.session.execute(select(Match.sme_id, Match.status)).all())
    assert statuses[proposed_to] == MatchStatus.EXPIRED
    other = next(sme_id for sme_id in statuses if sme_id != proposed_to)
    assert statuses[other] == MatchStatus.PROPOSED
    assert first_sme.sme.id in statuses


def test_a_proposal_both_sides_accepted_does_not_expire(student, sme):
    cycles.run_cycle()
    db.session.execute(
        update(Match).values(
            created_at=utcnow() - timedelta(days=30),
            student_decision="accept",
            sme_decision="accept",
        )
    )
    db.session.commit()
    assert cycles.run_cycle().n_expired == 0
    assert db.session.scalar(select(Match.status)) == MatchStatus.PROPOSED


def test_unplaced_students_get_priority_next_cycle(make_student, make_sme):
    make_sme(capacity=1)
    first = make_student()
    second = make_student(email="second@example.org", name="Tran Minh")
    cycle = cycles.run_cycle()
    placed = db.session.scalar(select(Match.student_id))
    unplaced = ({first.student.id, second.student.id} - {placed}).pop()
    assert cycle.unplaced_student_ids == [unplaced]
    pool = engine_gateway.load_pool(match_settings.DEFAULT_EXPIRY_DAYS)
    assert pool.priority == [unplaced]
    # Once placed, a student is no longer waiting, so no longer a priority.
    db.session.execute(update(Match).values(student_id=unplaced))
    db.session.commit()
    assert engine_gateway.load_pool(match_settings.DEFAULT_EXPIRY_DAYS).priority == []


def test_same_state_and_settings_give_the_same_proposals(make_student, make_sme, pairs_of):
    for n, country in enumerate(["VN", "TH", "ID", "CN"]):
        make_student(email=f"s{n}@example.org", nationality=country, markets=[country])
    make_sme(capacity=2, markets=["VN", "CN"])
    make_sme(email="b@example.org", business_number="124-81-00998", markets=["TH", "ID"])
    cycles.run_cycle()
    first = pairs_of()
    db.session.execute(Match.__table__.delete())
    db.session.commit()
    cycles.run_cycle()
    assert pairs_of() == first


def test_a_failure_between_engine_and_save_changes_nothing(
    student, make_sme, monkeypatch, pairs_of
):
    make_sme()
    cycles.run_cycle()
    before = pairs_of()
    db.session.execute(update(Match).values(created_at=utcnow() - timedelta(days=30)))
    db.session.commit()
    make_sme(email="b@example.org", business_number="124-81-00998", company_name="B")
    real_save = cycles._save_results

    def save_then_crash(*args, **kwargs):
        real_save(*args, **kwargs)  # proposals and expiry written, not yet committed...
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(cycles, "_save_results", save_then_crash)
    failed = cycles.run_cycle()
    assert failed.status == CycleStatus.FAILED and "disk on fire" in failed.error
    assert pairs_of() == before  # the expiry and the new proposal were rolled back together
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 2  # only the first cycle's
    monkeypatch.setattr(cycles, "_save_results", real_save)
    rerun = cycles.run_cycle()
    assert rerun.status == CycleStatus.FINISHED and rerun.n_expired == 1 and rerun.n_proposed == 1


def test_a_cycle_left_running_by_a_dead_process_is_marked_failed(student, sme):
    ghost = MatchCycle(
        status=CycleStatus.RUNNING, trigger="schedule", mode="stable", weights={}, candidates_k=50
    )
    db.session.add(ghost)
    db.session.commit()
    cycles.run_cycle()
    db.session.refresh(ghost)
    assert ghost.status == CycleStatus.FAILED and ghost.error.startswith("interrupted")


def test_a_held_lock_makes_another_cycle_skip(student, sme):
    with cycle_lock():
        with pytest.raises(CycleBusy):
            cycles.run_cycle()
    assert db.session.scalar(select(func.count(Match.id))) == 0
    assert cycles.run_cycle().n_proposed == 1  # the lock was released


def test_an_expired_sqlite_lease_is_taken_over(app, student, sme):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the lease row is SQLite's lock")
    db.session.add(CycleLease(id=1, holder="dead-process", expires_at=utcnow() - timedelta(1)))
    db.session.commit()
    assert cycles.run_cycle().status == CycleStatus.FINISHED


def test_an_unexpired_sqlite_lease_blocks(app, student, sme):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the lease row is SQLite's lock")
    db.session.add(CycleLease(id=1, holder="alive", expires_at=utcnow() + timedelta(minutes=5)))
    db.session.commit()
    with pytest.raises(CycleBusy):
        cycles.run_cycle()


def test_two_cycles_at_once_run_exactly_one(app, student, sme, monkeypatch, pairs_of):
    real_run = matching.run

    def slow_run(*args, **kwargs):
        time.sleep(1.0)  # keep the first cycle inside its lock while the second one tries
        return real_run(*args, **kwargs)

    monkeypatch.setattr(matching, "run", slow_run)  # what engine_gateway calls
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def attempt() -> None:
        with app.app_context():
            start.wait()
            try:
                cycle = cycles.run_cycle(trigger="schedule")
                outcomes.append(str(cycle.status))
            except CycleBusy:
                outcomes.append("busy")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["busy", "finished"]
    assert db.session.scalar(select(func.count(MatchCycle.id))) == 1
    assert len(pairs_of()) == 1
