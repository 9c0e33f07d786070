"""The coordinators' queue: proposals both sides accepted, waiting for approval (issue 13, item 1).

The same filter on the page (`/coordinator/matches/ready`, the menu's count, the dashboard's card)
and in the API (`GET /api/v1/matches?status=ready`), oldest first, one query for the rows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, update

from app.extensions import db
from app.models import Match, MatchStatus, utcnow
from app.services import decisions, directory, tokens


def _accept(match: Match, *, waited_days: int) -> None:
    """Both sides accept; the second acceptance happened `waited_days` ago."""
    for user in (match.student.user, match.sme.user):
        decisions.decide(match.id, user, "accept")
    db.session.execute(
        update(Match)
        .where(Match.id == match.id)
        .values(updated_at=utcnow() - timedelta(days=waited_days))
    )
    db.session.commit()


@pytest.fixture
def queue(programme: dict[str, Any]) -> list[Match]:
    """Of the three proposals, two accepted by both sides (the first waits longer), one by the
    student only (not ready: the SME has not answered)."""
    first, second, third = programme["matches"]
    _accept(second, waited_days=5)
    _accept(first, waited_days=1)
    decisions.decide(third.id, third.student.user, "accept")
    db.session.commit()
    return [second, first]  # oldest first


def test_the_queue_holds_only_proposals_both_sides_accepted_oldest_first(queue):
    ready = db.session.scalars(directory.match_query(directory.MatchFilters(status="ready")))
    assert [m.id for m in ready] == [m.id for m in queue]
    assert directory.ready_count() == 2
    # "proposed" still lists the three, newest first, as before.
    proposed = directory.match_query(directory.MatchFilters(status="proposed"))
    assert len(db.session.scalars(proposed).all()) == 3


def test_an_approved_or_declined_proposal_leaves_the_queue(queue, coordinator):
    decisions.approve(queue[0].id, coordinator)
    db.session.commit()
    assert directory.ready_count() == 1


def _statements(app: Any, action: Any) -> int:
    seen: list[str] = []

    def count(conn, cursor, statement, *args):  # noqa: ANN001, ANN202
        seen.append(statement)

    engine = db.engines[None]
    event.listen(engine, "before_cursor_execute", count)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_the_queue_page_costs_the_same_queries_for_one_row_or_many(
    app, coord_client, programme, make_student, bn
):
    first, second, _third = programme["matches"]
    _accept(first, waited_days=2)
    one = _statements(app, lambda: coord_client.get("/coordinator/matches/ready"))
    _accept(second, waited_days=3)
    two = _statements(app, lambda: coord_client.get("/coordinator/matches/ready"))
    assert one == two, "a query per row"


def test_the_page_menu_and_dashboard_show_the_queue_and_approve_it_in_bulk(coord_client, queue):
    html = coord_client.get("/coordinator/").get_data(as_text=True)
    assert "2 proposals ready for you" in html
    assert 'data-ready-count="2"' in html  # the menu, on every coordinator page
    page = coord_client.get("/coordinator/matches/ready").get_data(as_text=True)
    positions = [page.index(f'name="match_ids" value="{m.id}"') for m in queue]
    assert positions == sorted(positions), "oldest first"
    response = coord_client.post(
        "/coordinator/matches/bulk",
        data={"action": "approve", "queue": "ready", "match_ids": [str(m.id) for m in queue]},
    )
    assert response.status_code == 302 and response.location.endswith("/coordinator/matches/ready")
    done = coord_client.get(response.location).get_data(as_text=True)
    assert "2 matches approved." in done and 'data-ready-count="0"' in done
    assert "Nothing is waiting for you" in done
    assert all(db.session.get(Match, m.id).status == MatchStatus.APPROVED for m in queue)


def test_the_korean_page_says_it_in_korean(coord_client, queue):
    coord_client.post("/language", data={"locale": "ko"})
    html = coord_client.get("/coordinator/matches/ready").get_data(as_text=True)
    assert "승인 대기" in html and "Ready to approve" not in html


# --- the API -------------------------------------------------------------------------------------


@pytest.fixture
def api_get(app: Any) -> Any:
    def get(user: Any, path: str) -> Any:
        _token, secret = tokens.issue(user)
        db.session.commit()
        return app.test_client().get(
            f"/api/v1{path}", headers={"Authorization": f"Bearer {secret}"}
        )

    return get


def test_the_api_filters_ready_oldest_first(api_get, queue, coordinator, programme):
    response = api_get(coordinator, "/matches?status=ready")
    assert response.status_code == 200
    assert [m["id"] for m in response.json["items"]] == [m.id for m in queue]
    assert response.json["total"] == 2
    assert all(
        (m["student_decision"], m["sme_decision"]) == ("accept", "accept")
        for m in response.json["items"]
    )
    # A student sees only their own proposal in the queue.
    own = queue[0].student.user
    mine = api_get(own, "/matches?status=ready").json
    assert [m["id"] for m in mine["items"]] == [queue[0].id]


def test_the_openapi_document_names_ready(app):
    document = app.test_client().get("/api/v1/openapi.json").json
    [status] = [
        p
        for p in document["paths"]["/api/v1/matches"]["get"]["parameters"]
        if p["name"] == "status"
    ]
    text = str(status)
    assert "'ready'" in text and "'proposed'" in text
