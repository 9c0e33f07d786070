from __future__ import annotations

from typing import Any

import pytest

from app.extensions import db
from app.models import Match, MatchCycle


@pytest.fixture
def pairs_of() -> Any:
    """The (student_id, sme_id, status) of every match, sorted: the state a cycle must respect."""

    def pairs(cycle: MatchCycle | None = None) -> list[tuple[int, int, str]]:
        query = db.select(Match.student_id, Match.sme_id, Match.status).order_by(
            Match.student_id, Match.sme_id, Match.id
        )
        if cycle is not None:
            query = query.where(Match.cycle_id == cycle.id)
        return [(a, b, str(c)) for a, b, c in db.session.execute(query)]

    return pairs
