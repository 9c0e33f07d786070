"""A student's proposals page loads its matches and their SMEs as plain rows, not ORM objects
(issue 14, pages: `app.services.reviews.proposal_rows`).

The rows must list what `proposals_for_student` (the ORM query the student's dashboard keeps)
lists, in its order, and every attribute the page reads of a row and of its SME must be what
the models say, in both languages: a column read into the wrong place, a code of the wrong kind
or the order of two proposals made at the same time fails here. The page itself must build no
Match, SME or SMECode object. (The HTML stays byte for byte that of the models: the session's
comparison in docs/performance-log.md.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import event

from app.extensions import db
from app.models import SME, Match, MatchStatus, SMECode, User
from app.services import reviews
from tests.web.test_queries_per_page import business_number

# (Korean name, English name, Korean products, English products, Korean description, English
# description, exporting): one text in either language, both, or none where it may be missing.
TEXTS = [
    ("한빛코스메틱", None, "선크림", None, "베트남 진출 준비", None, False),
    (None, "Blue Ocean Foods", None, "Seaweed snacks", None, None, True),
    ("대한기계", "Daehan Machinery", "펌프", "Pumps", None, "Pumps for export.", True),
    ("서울소프트", "Seoul Soft", None, "An ERP for exporters", "수출 기업용 ERP", "An ERP.", False),
]
CODES = [
    [("industry", "cosmetics"), ("market", "VN"), ("market", "TH")],
    [("industry", "processed_food"), ("market", "JP"), ("language", "ja")],
    [("industry", "machinery"), ("industry", "cosmetics"), ("market", "US"), ("market", "DE")],
    [],
]
# Every status a student's match can be in, with the answers each side can have given.
STATES = [
    (MatchStatus.PROPOSED, None, None),
    (MatchStatus.PROPOSED, "accept", None),
    (MatchStatus.PROPOSED, "accept", "accept"),
    (MatchStatus.DECLINED, "decline", None),
    (MatchStatus.APPROVED, "accept", "accept"),
    (MatchStatus.EXPIRED, None, None),
    (MatchStatus.WITHDRAWN, None, None),
    (MatchStatus.COMPLETED, "accept", "accept"),
]
AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def proposed(make_student: Any, make_sme: Any) -> User:
    """A student with a match in every state from four SMEs of different texts and codes (an
    SME in two matches, as after a later cycle; two matches made at the same time), and another
    student's match, which must not be listed."""
    student = make_student(email="rows-student@example.org")
    other = make_student(email="other-student@example.org", name="Someone Else")
    smes = []
    for i, (name_ko, name_en, prod_ko, prod_en, desc_ko, desc_en, exporting) in enumerate(TEXTS):
        sme = make_sme(email=f"p{i}@example.org", business_number=business_number(40 + i)).sme
        sme.company_name_ko, sme.company_name_en = name_ko, name_en
        sme.products_ko, sme.products_en = prod_ko, prod_en
        sme.description_ko, sme.description_en = desc_ko, desc_en
        sme.exporting = exporting
        sme.code_rows = [SMECode(kind=kind, code=code) for kind, code in CODES[i]]
        smes.append(sme)
    for i, (status, student_decision, sme_decision) in enumerate(STATES):
        db.session.add(
            Match(
                student_id=student.student.id,
                sme_id=smes[i % len(smes)].id,
                status=status,
                score=0.3 + i / 11,
                student_view=0.5,
                sme_view=0.5,
                reasons=[{"factor": "market", "key": "market.home", "params": {"n": i}}],
                student_decision=student_decision,
                sme_decision=sme_decision,
                created_at=AT if i in (2, 5) else datetime(2026, 11, 1 + i, tzinfo=UTC),
            )
        )
    db.session.add(
        Match(
            student_id=other.student.id,
            sme_id=smes[0].id,
            status=MatchStatus.PROPOSED,
            score=0.9,
            student_view=0.5,
            sme_view=0.5,
            reasons=[],
        )
    )
    db.session.commit()
    return student


def _sme(sme: Any) -> tuple[Any, ...]:
    texts = []
    for field in ("company_name", "products", "description"):
        for locale in ("en", "ko"):
            text = sme.localized(field, locale)
            texts.append((str(text), text.lang))
    return (
        sme.id,
        *texts,
        sme.region,
        sme.exporting,
        sme.industries,
        sme.markets,
        sme.languages_needed,
    )


def _match(match: Any) -> tuple[Any, ...]:
    return (
        match.id,
        match.student_id,
        match.sme_id,
        match.status,
        match.reasons,
        match.student_decision,
        match.sme_decision,
        match.sme.id,
    )


def test_the_rows_read_as_the_models_in_their_order(app: Flask, proposed: User) -> None:
    rows = reviews.proposal_rows(proposed.student.id)
    db.session.expunge_all()
    student = db.session.get(User, proposed.id).student
    models = reviews.proposals_for_student(student)
    assert len(rows) == len(STATES)
    assert [_match(r) for r in rows] == [_match(m) for m in models]
    assert [_sme(r.sme) for r in rows] == [_sme(m.sme) for m in models]
    for locale in ("en", "ko"):  # the reader's language, as the page shows the texts
        with app.test_request_context("/"), force_locale(locale):
            for row, model in zip(rows, models, strict=True):
                for field in ("company_name", "products", "description"):
                    shown, expected = getattr(row.sme, field), getattr(model.sme, field)
                    assert (str(shown), shown.lang) == (str(expected), expected.lang)
    # One SME object per SME, shared by its matches (as the identity map would).
    by_sme: dict[int, set[int]] = {}
    for row in rows:
        by_sme.setdefault(row.sme_id, set()).add(id(row.sme))
    assert all(len(objects) == 1 for objects in by_sme.values())


@pytest.fixture
def loaded() -> Iterator[list[str]]:
    """The ORM objects the request loads, by class name."""
    seen: list[str] = []

    def on_load(target: Any, context: Any) -> None:
        seen.append(type(target).__name__)

    models = (Match, SME, SMECode)
    for model in models:
        event.listen(model, "load", on_load)
    yield seen
    for model in models:
        event.remove(model, "load", on_load)


def test_the_proposals_page_builds_no_match_or_sme_object(
    client: Any, login_as: Any, proposed: User, loaded: list[str]
) -> None:
    login_as(proposed)
    db.session.expunge_all()  # nothing left in the identity map from the fixture
    loaded.clear()
    response = client.get("/student/proposals")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Daehan Machinery" in html and "한빛코스메틱" in html
    assert html.count('id="match-') == len(STATES) - 1  # the withdrawn one is not shown
    assert loaded == []


def test_the_next_cycle_is_the_stored_schedules_read_with_the_rows(
    app: Flask, proposed: User, make_student: Any, coordinator: User
) -> None:
    """The stored schedule comes with the rows (a subquery of the rows' statement), and is read
    on its own for a student with no proposal: none stored, one stored, one changed, back to the
    default, each at once. Fails if it is taken from the wrong column or kept from an earlier
    read."""
    from app.services import match_settings

    alone = make_student(email="alone@example.org")
    for expression in (None, "0 6 * * mon", "30 9 * * fri", ""):
        if expression is not None:
            match_settings.set_schedule(expression, coordinator)
            db.session.commit()
        expected = match_settings.next_fire(
            expression or app.config["MATCH_SCHEDULE"], app.config["SCHEDULER_TIMEZONE"]
        )
        assert expected is not None
        proposals = reviews.student_proposals(proposed.student.id)
        assert proposals.schedule_read and proposals.rows
        assert proposals.next_run() == expected == match_settings.next_run()
        empty = reviews.student_proposals(alone.student.id)
        assert not empty.schedule_read and empty.next_run() == expected
