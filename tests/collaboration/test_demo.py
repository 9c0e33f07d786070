"""`flask seed-demo` shows the whole journey: a match at every stage."""

from __future__ import annotations

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
