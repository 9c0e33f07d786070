"""An SME's pages load their matches as plain rows, not ORM objects (issue 14, pages item 1).

`app.services.reviews` selects exactly the columns the candidates page and the SME's dashboard
show into `MatchRow`/`StudentRow`. These tests check that those pages build no Match or Student
object at all, and that every attribute a page reads of a row is what the model says — so a
column read into the wrong place, a lost language order or a code of the wrong kind fails here
(the HTML stays byte for byte that of the models; `scripts/load_pages.py` and the session's
comparison in docs/performance-log.md)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select

from app.extensions import db
from app.models import Match, MatchStatus, Student, StudentCode, StudentLanguage, User
from app.services import reviews
from tests.web.test_queries_per_page import business_number

PROFILES = [
    {
        "name": "Nguyen Thi Linh",
        "nationality": "VN",
        "languages": [{"code": "vi", "level": "native"}, {"code": "en", "level": "business"}],
        "topik_level": 4,
        "university": "Seoul National University",
        "major": "International Trade",
        "markets": ["VN", "CN"],
        "industries": ["cosmetics"],
        "regions": ["seoul", "gyeonggi"],
        "hours_per_week": 12,
        "bio": "I want to help Korean cosmetics reach Hanoi.",
    },
    {
        "name": "Batbold Ganzorig",
        "nationality": "MN",
        "languages": [
            {"code": "en", "level": "fluent"},
            {"code": "mn", "level": "native"},
            {"code": "ru", "level": "conversational"},
        ],
        "topik_level": 2,
        "university": "Pusan National University",
        "major": "Business Administration",
        "markets": ["MN"],
        "industries": ["processed_food", "machinery"],
        "regions": ["busan"],
        "hours_per_week": 20,
        "bio": "부산에서 수출 마케팅을 배우고 싶습니다.",
    },
    {
        "name": "Dilnoza Karimova",
        "nationality": "UZ",
        "languages": [{"code": "uz", "level": "native"}],
        "topik_level": 6,
        "university": "Korea University",
        "major": "Economics",
        "markets": ["KZ"],
        "industries": ["software_it"],
        "regions": ["seoul"],
        "hours_per_week": 8,
        "bio": "",
    },
]
# Every status an SME may see, with the answers each side can have given.
STATES = [
    (MatchStatus.PROPOSED, None, None, True),
    (MatchStatus.PROPOSED, "accept", None, False),
    (MatchStatus.APPROVED, "accept", "accept", False),
    (MatchStatus.DECLINED, "decline", None, True),
    (MatchStatus.EXPIRED, None, "accept", False),
    (MatchStatus.COMPLETED, "accept", "accept", False),
]


@pytest.fixture
def programme(make_student: Any, make_sme: Any) -> User:
    """One SME with a match in each state, of three students of different profiles (a student
    may be in two of its matches, as after a proposal in a later cycle)."""
    sme = make_sme(capacity=10, email="rows@example.org", business_number=business_number(7))
    students = [
        make_student(email=f"r{i}@example.org", **profile) for i, profile in enumerate(PROFILES)
    ]
    for i, (status, sme_decision, student_decision, shortlisted) in enumerate(STATES):
        db.session.add(
            Match(
                student_id=students[i % 3].student.id,
                sme_id=sme.sme.id,
                status=status,
                score=0.41 + i / 7,
                student_view=0.5,
                sme_view=0.5,
                reasons=[{"factor": "market", "key": "market.home", "params": {"n": i}}],
                sme_decision=sme_decision,
                student_decision=student_decision,
                sme_shortlisted=shortlisted,
            )
        )
    students[2].student.cv_stored_name = "a" * 32 + ".pdf"
    db.session.commit()
    return sme


@pytest.fixture
def loaded() -> Iterator[list[str]]:
    """The ORM objects the request loads, by class name."""
    seen: list[str] = []

    def on_load(target: Any, context: Any) -> None:
        seen.append(type(target).__name__)

    models = (Match, Student, StudentLanguage, StudentCode)
    for model in models:
        event.listen(model, "load", on_load)
    yield seen
    for model in models:
        event.remove(model, "load", on_load)


@pytest.mark.parametrize("url", ["/sme/candidates", "/sme/candidates?sort=topik", "/sme/"])
def test_the_sme_pages_build_no_match_or_student_object(
    app, client, login_as, programme, loaded, url
) -> None:
    login_as(programme)
    db.session.expunge_all()  # nothing left in the identity map from the fixture
    loaded.clear()
    response = client.get(url)
    assert response.status_code == 200
    assert "Dilnoza Karimova" in response.get_data(as_text=True)  # approved: on every page
    assert loaded == []


def _shown(student: Any) -> tuple[Any, ...]:
    return (
        student.id,
        student.name,
        student.nationality,
        student.university,
        student.major,
        student.topik_level,
        student.hours_per_week,
        student.bio,
        student.bio_as_written,
        student.cv_stored_name,
        [(row.code, row.level) for row in student.language_rows],
        student.languages,
        sorted((row.kind, row.code) for row in student.code_rows),
        student.markets,
        student.industries,
        student.regions,
    )


def _match(match: Any) -> tuple[Any, ...]:
    return (
        match.id,
        match.student_id,
        match.sme_id,
        match.status,
        match.score,
        match.reasons,
        match.sme_shortlisted,
        match.sme_decision,
        match.student_decision,
        match.created_at,
        match.updated_at,
        match.sme.id,
    )


def test_each_row_reads_as_its_model(app, programme) -> None:
    review = reviews.review_for_sme(programme.sme)
    rows = review.pending + review.waiting + review.current + review.history
    assert len(rows) == len(STATES)
    db.session.expunge_all()
    models = {m.id: m for m in db.session.scalars(select(Match))}
    for row in rows:
        model = models[row.id]
        assert _match(row) == _match(model)
        assert _shown(row.student) == _shown(model.student)
    # One student object per student, shared by their matches (as the identity map would).
    by_student: dict[int, set[int]] = {}
    for row in rows:
        by_student.setdefault(row.student_id, set()).add(id(row.student))
    assert all(len(objects) == 1 for objects in by_student.values())


def test_the_statement_built_once_binds_each_sme(app, programme, make_sme, make_student) -> None:
    """The rows' statement is built once per process (reviews._sme_rows_query) with the SME's
    id as a parameter: each SME still gets its own matches, never another's."""
    other = make_sme(email="other-rows@example.org", business_number=business_number(8))
    student = make_student(email="other-student@example.org", name="Only For Other")
    db.session.add(
        Match(
            student_id=student.student.id,
            sme_id=other.sme.id,
            status=MatchStatus.PROPOSED,
            score=0.9,
            student_view=0.5,
            sme_view=0.5,
            reasons=[],
        )
    )
    db.session.commit()
    assert reviews._sme_rows_query() is reviews._sme_rows_query()
    mine = reviews.review_for_sme(programme.sme)
    theirs = reviews.review_for_sme(other.sme)
    assert [m.student.name for m in theirs.pending] == ["Only For Other"]
    assert all(m.sme_id == programme.sme.id for m in mine.pending + mine.current + mine.history)
    assert "Only For Other" not in {m.student.name for m in mine.pending + mine.waiting}


def test_places_left_counts_every_holding_match_seen_or_not(app, programme) -> None:
    """The places taken come with the rows (a subquery of the rows' statement,
    `decisions.places_taken_query`), and count the approved and active matches whether or not
    their students are shown to SMEs: a student who withdraws consent to be shown still holds
    the place. Fails if the count is taken from the rows shown, or from another SME's."""
    from app.models import Consent
    from app.services import decisions

    sme = programme.sme
    holding = [
        m
        for m in db.session.scalars(select(Match).where(Match.sme_id == sme.id))
        if m.status in (MatchStatus.APPROVED, MatchStatus.ACTIVE)
    ]
    assert len(holding) == 1
    holding[0].status = MatchStatus.ACTIVE
    sme.capacity = 4
    db.session.commit()
    assert reviews.review_for_sme(sme).places_left == 3 == 4 - decisions.places_taken(sme.id)
    # Hidden from SMEs now: the row is not shown, the place is still held.
    student = db.session.get(Student, holding[0].student_id)
    db.session.add(
        Consent(
            user_id=student.user_id, policy_version="test", collection=True, provision_to_smes=False
        )
    )
    db.session.commit()
    review = reviews.review_for_sme(sme)
    shown = review.pending + review.waiting + review.current + review.history
    assert holding[0].id not in {m.id for m in shown}
    assert review.places_left == 3
    sme.capacity = 0
    db.session.commit()
    assert reviews.review_for_sme(sme).places_left == 0  # never below zero


def test_the_filter_choices_are_what_the_waiting_students_have(app, programme) -> None:
    """The filters offer the languages, markets (nationality or a market listed) and regions of
    the candidates waiting for an answer, as the models name them, plus what is chosen; read
    from the rows' code rows in one pass (a code of another kind in the wrong list fails)."""
    filters = reviews.CandidateFilters(market="JP", region="jeju")
    review = reviews.review_for_sme(programme.sme, filters)
    db.session.expunge_all()
    waiting = [
        m.student
        for m in db.session.scalars(select(Match).where(Match.sme_id == programme.sme.id))
        if m.status == MatchStatus.PROPOSED and not m.sme_decision
    ]
    assert waiting
    assert review.options.languages == sorted({r.code for s in waiting for r in s.language_rows})
    assert review.options.markets == sorted(
        {s.nationality for s in waiting} | {c for s in waiting for c in s.markets} | {"JP"}
    )
    assert review.options.regions == sorted({c for s in waiting for c in s.regions} | {"jeju"})


def test_the_next_cycle_is_the_stored_schedules_read_with_the_rows(
    app, client, login_as, programme, make_sme, coordinator
) -> None:
    """The stored schedule comes with the rows (a subquery of the rows' statement), so the
    candidates page and the SME's dashboard say when the next cycle runs without a statement of
    their own; with no row to carry it, it is read on its own. None stored, one stored, one
    changed, back to the default: each shows at once. Fails if the schedule is taken from the
    wrong column, or kept from an earlier read."""
    from app.services import match_settings

    lonely = make_sme(email="lonely@example.org", business_number=business_number(8))
    stored = [None, "0 6 * * mon", "30 9 * * fri", ""]
    for expression in stored:
        if expression is not None:
            match_settings.set_schedule(expression, coordinator)
            db.session.commit()
        expected = match_settings.next_fire(
            expression or app.config["MATCH_SCHEDULE"], app.config["SCHEDULER_TIMEZONE"]
        )
        assert expected is not None
        review = reviews.review_for_sme(programme.sme)
        assert review.schedule_read
        assert review.next_run() == expected == match_settings.next_run()
        empty = reviews.review_for_sme(lonely.sme)
        assert not empty.schedule_read and empty.next_run() == expected
    login_as(programme)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        page = client.get("/sme/candidates").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert "data-next-cycle" in page
    assert not [s for s in statements if "match_settings" in s and "matches" not in s]
