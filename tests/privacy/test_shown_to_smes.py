"""Who an SME may see is decided on each student's LATEST answer to the privacy notice
(app.services.eligibility.shown_to_smes), asked as a correlated EXISTS on the listed students'
own consent rows instead of computing every user's latest answer on each page (issue 14).

Checked against the rule written out in Python over random answer histories: an earlier
consenting answer must never show a student whose latest answer withdrew (or refused
collection), whatever the order, the policy version or the match's status."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, text

from app.extensions import db
from app.models import Consent, Match, MatchStatus, Student
from app.services import eligibility, reviews, visibility

ANSWER = st.tuples(st.booleans(), st.booleans(), st.sampled_from(["2024-01", "2026-11"]))
HISTORIES = st.lists(st.lists(ANSWER, min_size=0, max_size=4), min_size=3, max_size=3)
STATUSES = st.lists(st.sampled_from(list(MatchStatus)), min_size=3, max_size=3)


@pytest.fixture
def three(make_student: Any, make_sme: Any) -> dict[str, Any]:
    students = [
        make_student(email=f"s{n}@example.org", name=f"Student Number {n}") for n in range(3)
    ]
    return {"students": [u.student for u in students], "sme": make_sme().sme}


def _shown(student_ids: list[int], answers: dict[int, list[tuple[bool, bool, str]]]) -> set[int]:
    """The rule in Python: the answer with the highest id consents to collection and provision.
    A student without any answer is shown to nobody."""
    return {
        sid for sid in student_ids if answers[sid] and answers[sid][-1][0] and answers[sid][-1][1]
    }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(histories=HISTORIES, statuses=STATUSES)
def test_only_the_latest_answer_counts(three: dict[str, Any], histories, statuses) -> None:
    sme, students = three["sme"], three["students"]
    db.session.execute(delete(Match))
    db.session.execute(delete(Consent).where(Consent.user_id.in_([s.user_id for s in students])))
    answers: dict[int, list[tuple[bool, bool, str]]] = {}
    for student, history, status in zip(students, histories, statuses, strict=True):
        answers[student.id] = history
        for collection, provision, version in history:  # in order: ids increase
            db.session.add(
                Consent(
                    user_id=student.user_id,
                    policy_version=version,
                    collection=collection,
                    provision_to_smes=provision,
                )
            )
            db.session.flush()
        db.session.add(
            Match(
                student_id=student.id,
                sme_id=sme.id,
                status=status,
                score=0.5,
                student_view=0.5,
                sme_view=0.5,
                reasons=[],
                proposed_by="coordinator",
            )
        )
    db.session.flush()
    ids = [s.id for s in students]
    expected = _shown(ids, answers)

    shown = set(db.session.scalars(select(Student.id).where(eligibility.shown_to_smes(Student.id))))
    assert shown == expected

    visible = {
        m.student_id
        for m in db.session.scalars(select(Match).where(*visibility.sme_can_see(sme.id)))
    }
    status_of = dict(zip(ids, statuses, strict=True))
    assert visible == {sid for sid in expected if status_of[sid] != MatchStatus.WITHDRAWN}

    review = reviews.review_for_sme(sme)
    listed = review.pending + review.waiting + review.current + review.history
    assert {m.student_id for m in listed} == visible
    db.session.rollback()


def test_the_condition_reads_only_the_listed_students_consents(app, three) -> None:
    """The SME's matches query looks up each listed student's answers by index: no GROUP BY,
    no pass over every user's consents (the cost this condition was written to remove)."""
    sme = three["sme"]
    query = select(Match.id).where(*visibility.sme_can_see(sme.id))
    sql = str(query.compile(db.engine))
    assert "GROUP BY" not in sql.upper() and "max(" not in sql.lower()
    if db.engine.dialect.name != "sqlite":
        return
    literal = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    plan = [row[3] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {literal}"))]
    on_consents = [step for step in plan if "consents" in step]
    assert on_consents, plan
    assert all("ix_consents_user_id_id (user_id=?" in step for step in on_consents), plan
