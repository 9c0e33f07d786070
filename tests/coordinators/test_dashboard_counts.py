"""The dashboard's counts, now from statements built once per process and both funnels from one
statement (issue 14, pages): checked against the rules written in Python over the rows, for
matches in every status, in two cycles and by hand, of students of three cohorts and SMEs at
three export stages."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import CycleStatus, ExportStatus, Match, MatchCycle, MatchStatus, Student
from app.services import stats
from tests.web.test_queries_per_page import business_number

STATUSES = list(MatchStatus)
DECISIONS = [None, "accept", "decline"]


@pytest.fixture
def programme(make_student: Any, make_sme: Any) -> None:
    students = [make_student(email=f"f{i}@example.org") for i in range(3)]
    for i, user in enumerate(students):  # three cohorts
        user.student.created_at = datetime(2024 + i, 5, 1, tzinfo=UTC)
    smes = [
        make_sme(email=f"e{i}@sme.example", business_number=business_number(40 + i))
        for i in range(3)
    ]
    for user, status in zip(smes, ("first_export", "usd_1m", "none"), strict=True):
        db.session.add(ExportStatus(sme_id=user.sme.id, status=status))
    cycles = [
        MatchCycle(
            status=CycleStatus.FINISHED, trigger="cli", mode="stable", weights={}, candidates_k=5
        )
        for _ in range(2)
    ]
    db.session.add_all(cycles)
    db.session.flush()
    for i in range(72):
        db.session.add(
            Match(
                student_id=students[i % 3].student.id,
                sme_id=smes[(i // 3) % 3].sme.id,
                cycle_id=[None, cycles[0].id, cycles[1].id][(i // 9) % 3],
                status=STATUSES[i % len(STATUSES)],
                score=0.5,
                student_view=0.5,
                sme_view=0.5,
                reasons=[],
                student_decision=DECISIONS[i % 3],
                sme_decision=DECISIONS[(i // 2) % 3],
            )
        )
    db.session.commit()


def _reference() -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    exporting = {
        e.sme_id for e in db.session.scalars(select(ExportStatus)) if e.status in stats.EXPORTING
    }
    years = {s.id: s.created_at.year for s in db.session.scalars(select(Student))}
    by_cycle: dict[int, list[int]] = defaultdict(lambda: [0] * 5)
    by_cohort: dict[int, list[int]] = defaultdict(lambda: [0] * 5)
    for m in db.session.scalars(select(Match)):
        stages = [
            True,
            m.status in stats.PLACED_STATUSES,
            m.status in (MatchStatus.ACTIVE, MatchStatus.COMPLETED),
            m.status == MatchStatus.COMPLETED,
            m.status == MatchStatus.COMPLETED and m.sme_id in exporting,
        ]
        for totals, key in ((by_cycle, m.cycle_id or 0), (by_cohort, years[m.student_id])):
            totals[key] = [n + reached for n, reached in zip(totals[key], stages, strict=True)]
    return dict(by_cycle), dict(by_cohort)


def _rows(rows: list[stats.FunnelRow]) -> dict[int, list[int]]:
    return {
        int(r.key): [r.proposed, r.approved, r.active, r.completed, r.first_export] for r in rows
    }


def test_both_funnels_are_the_rows_counted(app: Any, programme: None) -> None:
    by_cycle, by_cohort = stats.funnels()
    want_cycle, want_cohort = _reference()
    assert _rows(by_cycle) == want_cycle and _rows(by_cohort) == want_cohort
    assert [r.key for r in by_cycle] == [str(k) for k in sorted(want_cycle)]  # in key order
    assert [r.key for r in by_cohort] == ["2024", "2025", "2026"]
    assert sum(want_cycle[k][4] for k in want_cycle) > 0  # first exports are counted
    assert stats.funnel_by_cycle() == by_cycle and stats.funnel_by_cohort() == by_cohort
    targets = stats.targets_json()
    assert targets["funnel_by_cohort"][0]["key"] == "2024"


def test_the_cycles_and_rates_are_the_rows_counted(app: Any, programme: None) -> None:
    matches = list(db.session.scalars(select(Match)))
    for row in stats.per_cycle():
        mine = [m for m in matches if m.cycle_id == row.id]
        assert row.matched == sum(m.status in stats.PLACED_STATUSES for m in mine)
        assert row.pending == sum(m.status == MatchStatus.PROPOSED for m in mine)
        assert row.expired == sum(
            m.status in (MatchStatus.EXPIRED, MatchStatus.WITHDRAWN) for m in mine
        )
    assert len(stats.per_cycle(limit=1)) == 1  # the limit is bound, not built in
    assert len(stats.per_cycle()) == 2
    rates = stats.rates()
    assert rates.student_accepts == sum(m.student_decision == "accept" for m in matches)
    assert rates.sme_answers == sum(m.sme_decision is not None for m in matches)
    assert stats.by_status()[str(MatchStatus.ACTIVE)] == sum(
        m.status == MatchStatus.ACTIVE for m in matches
    )


def _dashboard_matches_the_figures(app: Any) -> stats.DashboardCounts:
    """The dashboard's counts (one statement for the single figures, `dashboard_counts`) give
    the figures `programme()`, `targets_json()` and `kpis()` count statement by statement."""
    from app.services import directory

    with app.test_request_context():  # the codes' names are in the reader's language
        counts = stats.dashboard_counts()
        assert stats.programme_of(counts) == stats.programme()
        assert stats.targets_of(counts) == stats.targets_json()
        assert stats.kpis_of(counts) == stats.kpis()
        assert counts.seats == directory.seats()
    return counts


def test_the_dashboards_counts_are_the_figures(app: Any, programme: None) -> None:
    from app.models import MatchOutcome

    completed = db.session.scalars(
        select(Match).where(Match.status == MatchStatus.COMPLETED).order_by(Match.id)
    ).all()
    for match in completed[:3]:  # E-7 conversions: students counted once each
        db.session.add(MatchOutcome(match_id=match.id, student_outcome="e7_visa"))
    e7_students = len({m.student_id for m in completed[:3]})
    db.session.commit()
    counts = _dashboard_matches_the_figures(app)
    with app.test_request_context():
        figures = stats.programme_of(counts)
    assert all(n > 0 for n in figures.by_status.values())  # every status counted apart
    assert len(figures.cycles) == 2 and figures.markets and figures.nationalities
    kpis = stats.kpis_of(counts)
    assert kpis["smes_first_export"] == 2 and kpis["smes_usd_1m"] == 1
    assert kpis["e7_conversions"] == e7_students and kpis["students_placed"] > 0
    # a change to any one figure is a change to the counts (the kept figures' key)
    match = db.session.scalar(select(Match).where(Match.status == MatchStatus.PROPOSED))
    assert match is not None
    match.sme_decision = "accept" if match.sme_decision != "accept" else "decline"
    db.session.commit()
    assert _dashboard_matches_the_figures(app) != counts


def test_the_dashboards_counts_of_an_empty_programme(app: Any) -> None:
    counts = _dashboard_matches_the_figures(app)
    assert counts.cycles == () and counts.funnels == ()
