"""A logged-in request reads its user and their latest answer to the privacy notice in one
statement (app.sessions.load_user), and the consent check before the view (app.security) uses
that answer instead of reading it again (issue 14: the request's fixed cost).

The answer read with the user must be the one `consents.current_consent` finds (the last
recorded: the highest id), whatever the times the answers carry; it is used once, so a check
later in the request reads the database again. The cycles' eligibility and what SMEs may see
(app.services.eligibility) take the same answer, so a person's account and the matching never
disagree about what they last answered (a server clock stepped back once made them differ)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, literal, select

from app.extensions import db
from app.models import Consent
from app.services import accounts, consents, eligibility
from app.sessions import consent_read_with, load_user
from tests.web.test_queries_per_page import counted

CURRENT = "2026-11"
# (collection, policy version, minutes after a fixed time): times repeat and go backwards, as
# after a server clock stepped back, so the latest answer by time is often not the last one
# recorded (highest id), which is the one that counts.
ANSWER = st.tuples(st.booleans(), st.sampled_from(["2024-01", CURRENT]), st.integers(0, 3))
HISTORY = st.lists(ANSWER, min_size=0, max_size=5)
START = datetime(2026, 1, 1, tzinfo=UTC)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=HISTORY)
def test_the_answer_read_with_the_user_is_the_latest(
    app: Any, student: Any, monkeypatch: pytest.MonkeyPatch, history: list[Any]
) -> None:
    monkeypatch.setitem(app.config, "CONSENT_POLICY_VERSION", CURRENT)
    db.session.execute(delete(Consent).where(Consent.user_id == student.id))
    for collection, version, minutes in history:  # written in this order: ids increase
        db.session.add(
            Consent(
                user_id=student.id,
                policy_version=version,
                collection=collection,
                provision_to_smes=True,
                given_at=START + timedelta(minutes=minutes),
            )
        )
        db.session.flush()
    db.session.commit()
    db.session.expire_all()
    latest = consents.current_consent(student)
    last_recorded = max(
        db.session.scalars(select(Consent).where(Consent.user_id == student.id)),
        key=lambda c: c.id,
        default=None,
    )
    assert latest is last_recorded
    expected = (latest.collection, latest.policy_version) if latest else (None, None)
    profile_id = student.student.id  # `student` is the User; eligibility takes profile ids
    shown = db.session.scalar(select(eligibility.shown_to_smes(literal(profile_id))))
    assert bool(shown) == bool(latest and latest.collection and latest.provision_to_smes)
    in_pool = db.session.scalars(eligibility.eligible_students(among=[profile_id])).all()
    assert (in_pool == [profile_id]) == (expected == (True, CURRENT))
    with app.test_request_context("/"):
        user = load_user(f"{student.id}:{student.session_token}")
        assert user is not None and user.id == student.id
        answer = consent_read_with(user)
        assert answer == expected
        assert accounts.consent_is_current(user, answer) == accounts.consent_is_current(user)
        assert consent_read_with(user) is None  # used once: a later check reads it again


def test_a_wrong_token_loads_nobody_and_keeps_no_answer(app: Any, student: Any) -> None:
    with app.test_request_context("/"):
        assert load_user(f"{student.id}:not-the-token") is None
        assert load_user(f"{student.id + 1000}:{student.session_token}") is None
        assert consent_read_with(student) is None


def test_a_logged_in_page_reads_user_and_consent_in_one_statement(
    client: Any, login_as: Any, student: Any
) -> None:
    login_as(student)
    assert client.get("/student/proposals").status_code == 200
    with counted() as statements:
        assert client.get("/student/proposals").status_code == 200
    reads = [s for s in statements if "FROM users" in s or "FROM consents" in s]
    assert len(reads) == 1, reads
    assert "consents" in reads[0] and "session_token" in reads[0]


def test_an_outdated_answer_read_with_the_user_still_asks_again(
    app: Any, client: Any, login_as: Any, student: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    login_as(student)
    assert client.get("/student/proposals").status_code == 200
    monkeypatch.setitem(app.config, "CONSENT_POLICY_VERSION", "2099-01-01")
    response = client.get("/student/proposals")
    assert response.status_code == 302 and response.location.endswith("/account/consent/renew")


@pytest.mark.parametrize("role", ["student", "sme", "coordinator"])
def test_the_profile_comes_with_the_user(
    app: Any, request: pytest.FixtureRequest, role: str
) -> None:
    """The student's or SME's profile is read in the user's statement: reading it afterwards
    (as nearly every student and SME page does) costs no statement, and a coordinator has none."""
    user = request.getfixturevalue(role)
    user_id, token = user.id, user.session_token
    db.session.expire_all()
    with app.test_request_context("/"):
        with counted() as statements:
            loaded = load_user(f"{user_id}:{token}")
            assert loaded is not None
            student, sme = loaded.student, loaded.sme
            profile = student or sme
            if profile is not None:  # and back to its user, from the session's identity map
                assert profile.user is loaded
        assert len(statements) == 1, statements
        assert (student is not None, sme is not None) == (role == "student", role == "sme")
        assert (student or sme or loaded).id is not None
        if student is not None:
            assert student.user_id == user_id
        if sme is not None:
            assert sme.user_id == user_id
