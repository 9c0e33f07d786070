"""`flask seed-demo` shows the whole journey: a match at every stage."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import Match, MatchStatus
from app.services import checkins, demo, stats


def test_demo_data_has_a_match_at_every_stage(app: Any) -> None:
    demo.seed(students=24, smes=14, seed=3, journey=True)
    db.session.commit()
    rows = db.session.execute(select(Match.status, func.count()).group_by(Match.status)).all()
    statuses = {status: n for status, n in rows}
    for status in ("proposed", "approved", "active", "completed", "declined", "rejected"):
        assert statuses.get(MatchStatus(status), 0) >= 1, status
    kpis = stats.kpis()
    assert kpis["smes_first_export"] == 3 and kpis["smes_usd_1m"] == 1
    assert kpis["e7_conversions"] == 1
    assert len(checkins.needs_attention()) == 2  # missed check-ins; low satisfaction
    # Seeding again adds people, never a second set of stages.
    demo.seed(students=2, smes=2, seed=4, journey=True)
    assert db.session.scalar(select(func.count(Match.id))) == sum(statuses.values())


def test_needs_attention_reads_every_active_match_with_this_requests_changes(app: Any) -> None:
    """`needs_attention` reads the active matches as plain columns and loads only the flagged
    ones: every active match is there, in id order, as the session's own objects, and a change
    not yet committed (here: when the work started) counts."""
    demo.seed(students=24, smes=14, seed=3, journey=True)
    db.session.commit()
    active = db.session.scalars(
        select(Match).where(Match.status == MatchStatus.ACTIVE).order_by(Match.id.desc())
    ).all()
    assert len(active) >= 2
    for match in active:
        match.activated_at = datetime(2020, 1, 10, tzinfo=UTC)  # years of missed check-ins
    flagged = checkins.needs_attention(datetime(2026, 6, 5, tzinfo=UTC))
    assert [item.match for item in flagged] == sorted(active, key=lambda match: match.id)
    assert all(item.missed["student"][0] == "2020-01" for item in flagged)
    db.session.rollback()
    assert len(checkins.needs_attention()) == 2
