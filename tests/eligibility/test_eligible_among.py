"""`eligible_students(among=...)`/`eligible_smes(among=...)` (issue 14, pages): a page that asks
whether a few people may be proposed (`decisions.changeable`, for each declined match it shows)
reads only their consents instead of grouping every user's. The answer must be the cycle's own
rule (`eligible_*()` over everyone) restricted to them, for any answer histories of the people
asked about and of people not asked about."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from app.extensions import db
from app.models import Consent
from app.services import eligibility
from tests.web.test_queries_per_page import business_number

VERSION = "2026-11"
ANSWER = st.tuples(st.booleans(), st.booleans(), st.sampled_from(["2024-01", VERSION]))
HISTORIES = st.lists(st.lists(ANSWER, min_size=0, max_size=3), min_size=8, max_size=8)
PAUSED = st.lists(st.booleans(), min_size=4, max_size=4)
ASKED = st.lists(st.sets(st.integers(0, 3), max_size=4), min_size=2, max_size=2)


@pytest.fixture
def people(make_student: Any, make_sme: Any) -> dict[str, list[Any]]:
    # A student, then the SMEs, then the others: no one's id equals their user id.
    make_student(email="among-first@example.org")
    smes = [
        make_sme(email=f"among-sme{n}@example.org", business_number=business_number(90 + n)).sme
        for n in range(4)
    ]
    students = [make_student(email=f"among{n}@example.org").student for n in range(4)]
    assert all(s.id != s.user_id for s in students + smes)
    return {"students": students, "smes": smes}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(histories=HISTORIES, paused=PAUSED, asked=ASKED)
def test_among_is_the_whole_rule_restricted(
    app: Any,
    monkeypatch: pytest.MonkeyPatch,
    people: dict[str, list[Any]],
    histories,
    paused,
    asked,
) -> None:
    monkeypatch.setitem(app.config, "CONSENT_POLICY_VERSION", VERSION)
    students, smes = people["students"], people["smes"]
    everyone = [s.user_id for s in students + smes]
    db.session.execute(delete(Consent).where(Consent.user_id.in_(everyone)))
    for user_id, history in zip(everyone, histories, strict=True):
        for collection, provision, version in history:  # in order: ids increase
            db.session.add(
                Consent(
                    user_id=user_id,
                    policy_version=version,
                    collection=collection,
                    provision_to_smes=provision,
                )
            )
            db.session.flush()
    for student, is_paused in zip(students, paused, strict=True):
        student.paused = is_paused
    db.session.flush()

    all_students = set(db.session.scalars(eligibility.eligible_students()))
    all_smes = {r[0]: r[1] for r in db.session.execute(eligibility.eligible_smes())}
    student_ids = {students[i].id for i in asked[0]}
    sme_ids = {smes[i].id for i in asked[1]}
    among_students = list(db.session.scalars(eligibility.eligible_students(among=student_ids)))
    among_smes = {r[0]: r[1] for r in db.session.execute(eligibility.eligible_smes(among=sme_ids))}
    assert set(among_students) == all_students & student_ids
    assert among_students == sorted(among_students)
    assert among_smes == {k: v for k, v in all_smes.items() if k in sme_ids}
    db.session.rollback()
