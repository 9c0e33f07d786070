"""Visa-aware eligibility, app side: the profiles reach the engine, coordinators ask "why not?"
(API and pairing page), overrides are reasoned and audited, and "no fit yet" lists who is stuck."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Match, MatchStatus
from app.services import cycles, decisions, engine_gateway, match_settings
from app.services.errors import Conflict, InvalidInput


def _month(months_ago: int) -> str:
    today = date.today()
    index = today.year * 12 + today.month - 1 - months_ago
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@pytest.fixture
def weak_d2(make_student):
    """A first-year D-2 undergraduate with TOPIK 2: 10 h a week, no manufacturing."""
    return make_student(
        email="weak@example.org",
        topik_level=2,
        degree_level="bachelor",
        year_of_study=1,
        in_korea_since=_month(14),
    ).student


def _check(student, sme):
    return engine_gateway.check_pair(student.id, sme.id, match_settings.engine_weights())


# --- the profiles reach the engine -------------------------------------------------------------


@pytest.mark.parametrize(
    ("sme_fields", "code", "params"),
    [
        ({"ksic_section": "C"}, "visa.manufacturing_topik", {"topik": 2, "required_topik": 4}),
        ({"ksic_section": "F"}, "visa.construction", {"visa": "d2"}),
        ({"hours_needed": 20}, "visa.hours", {"hours_needed": 20, "max_hours": 10}),
    ],
)
def test_visa_rules_block_pairs_through_the_gateway(make_sme, weak_d2, sme_fields, code, params):
    sme = make_sme(**sme_fields).sme
    check = _check(weak_d2, sme)
    assert not check.acceptable and check.blocked == [code]
    assert check.blocked_params[code] == params


def test_a_d4_student_before_six_months_is_blocked(make_student, make_sme):
    student = make_student(visa="d4", degree_level="language", in_korea_since=_month(3)).student
    check = _check(student, make_sme().sme)
    assert check.blocked == ["visa.d4_too_early"]
    assert check.blocked_params["visa.d4_too_early"]["months_in_korea"] == 3


def test_periods_that_do_not_overlap_block_the_pair(make_student, make_sme):
    student = make_student(available_until="2026-01-31").student
    sme = make_sme(period_start="2026-03-01", period_end="2026-08-31").sme
    assert _check(student, sme).blocked == ["period.no_overlap"]


def test_two_workplaces_held_block_a_third(app, make_student, make_sme, coordinator):
    student = make_student().student
    for n, number in enumerate(["124-81-00998", "105-87-01004"]):
        sme = make_sme(email=f"w{n}@example.kr", business_number=number).sme
        db.session.add(
            Match(
                student_id=student.id,
                sme_id=sme.id,
                status=MatchStatus.ACTIVE,
                score=0.5,
                student_view=0.5,
                sme_view=0.5,
                reasons=[],
            )
        )
    db.session.commit()
    third = make_sme().sme
    check = _check(student, third)
    assert "visa.workplaces" in check.blocked
    assert check.blocked_params["visa.workplaces"] == {"current_workplaces": 2, "max_workplaces": 2}


def test_a_cycle_never_proposes_a_blocked_pair(make_sme, weak_d2):
    make_sme(ksic_section="C")
    cycle = cycles.run_cycle()
    assert cycle.status == "finished" and cycle.n_proposed == 0
    assert db.session.scalar(select(Match)) is None


def test_an_acceptable_pair_scores_as_in_the_cycle(student, sme):
    cycles.run_cycle()
    match = db.session.scalar(select(Match))
    check = engine_gateway.check_pair(match.student_id, match.sme_id, None)
    assert check.acceptable and check.blocked == []
    assert check.score == pytest.approx(match.score, abs=1e-6)


# --- the pairing page and the override ---------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("en", ("Why a cycle would not propose this pair", "manufacturer (KSIC C)")),
        ("ko", ("제조업(KSIC C)", "TOPIK 4급 이상")),
    ],
)
def test_the_pairing_page_says_why_not(
    client, login_as, coordinator, make_sme, weak_d2, locale, words
):
    sme = make_sme(ksic_section="C").sme
    login_as(coordinator)
    client.post("/language", data={"locale": locale})
    page = client.get(
        "/coordinator/pair", query_string={"student_id": weak_d2.id, "sme_id": sme.id, "preview": 1}
    ).get_data(as_text=True)
    assert "data-why-not" in page and all(w in page for w in words)
    assert "data-rules-version" in page


def test_a_blocked_pair_needs_an_override_with_a_reason(coordinator, make_sme, weak_d2):
    sme = make_sme(ksic_section="F").sme
    with pytest.raises(Conflict) as refused:
        decisions.pair(weak_d2.id, sme.id, coordinator)
    assert refused.value.fields["sme_id"][0]["type"] == "pair_blocked"
    with pytest.raises(InvalidInput):
        decisions.pair(weak_d2.id, sme.id, coordinator, override=True)
    match = decisions.pair(weak_d2.id, sme.id, coordinator, override=True, reason="site visit only")
    db.session.commit()
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "match_paired"))
    assert event.detail["blocked"] == ["visa.construction"]
    assert event.detail["reason"] == "site visit only" and match.coordinator_note


def test_the_page_refuses_a_blocked_pair_without_override(
    client, login_as, coordinator, make_sme, weak_d2
):
    sme = make_sme(ksic_section="F").sme
    login_as(coordinator)
    response = client.post("/coordinator/pair", data={"student_id": weak_d2.id, "sme_id": sme.id})
    assert response.status_code == 409
    assert "A rule does not allow this pair" in response.get_data(as_text=True)
    assert db.session.scalar(select(Match)) is None


# --- no fit yet ----------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_no_fit_yet_lists_stuck_students_with_what_is_missing(
    client, login_as, coordinator, make_student, make_sme, locale
):
    stuck = make_student(visa="d4", degree_level="language", in_korea_since=_month(2)).student
    fine = make_student(email="fine@example.org", name="Tran Minh").student
    sme = make_sme().sme
    rows = engine_gateway.no_fit_yet(None, 14)
    assert [r.student_id for r in rows] == [stuck.id]
    assert rows[0].closest[0].sme_id == sme.id
    assert rows[0].closest[0].blocked == ["visa.d4_too_early"]
    login_as(coordinator)
    client.post("/language", data={"locale": locale})
    page = client.get("/coordinator/no-fit").get_data(as_text=True)
    assert f'data-no-fit="{stuck.id}"' in page and f'data-no-fit="{fine.id}"' not in page
    assert ("D-4" in page) and (("6개월" in page) if locale == "ko" else ("6 months" in page))


def test_no_fit_yet_is_for_coordinators_only(client, login_as, student):
    login_as(student)
    assert client.get("/coordinator/no-fit").status_code == 403


def test_the_settings_page_names_the_rule_table(client, login_as, coordinator):
    login_as(coordinator)
    page = client.get("/coordinator/settings").get_data(as_text=True)
    rules = engine_gateway.rules_in_force()
    assert rules.version in page and "Guidance the programme must confirm" in page
