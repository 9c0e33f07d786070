"""The coordinators' matches list is kept as rendered (issue 14, pages:
`app.coordinators.matches.LISTS`, keyed on everything it shows): a kept list must be the list
the request would have drawn afresh — the rows, the total, the cycles offered, the filters, the
page, the language and the mount point — with the reader's own CSRF token, never a stale one.

Each test renders one state (so it is kept), changes one thing the list shows, and compares the
next render with a render from empty caches: a key that leaves that thing out fails here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from app.coordinators.matches import LISTS
from app.extensions import db
from app.models import CycleStatus, Match, MatchCycle, MatchStatus
from app.templating import PAGE_PARTS
from tests.web.test_queries_per_page import business_number

TOKEN = re.compile(r'(name="csrf_token" (?:type="hidden" )?value=")([^"]*)"')


def _clear() -> None:
    LISTS.clear()
    PAGE_PARTS.clear()


@pytest.fixture
def listed(coord_client: FlaskClient, make_student: Any, make_sme: Any) -> Iterator[FlaskClient]:
    """30 proposals (two pages of 25) of six students and five SMEs; the caches emptied."""
    students = [make_student(email=f"kept{i}@example.org", name=f"Kept {i}") for i in range(6)]
    smes = [
        make_sme(email=f"kept{i}@sme.example", business_number=business_number(60 + i))
        for i in range(5)
    ]
    for i, student in enumerate(students):
        for j, sme in enumerate(smes):
            db.session.add(
                Match(
                    student_id=student.student.id,
                    sme_id=sme.sme.id,
                    status=MatchStatus.PROPOSED,
                    score=round(0.3 + (i * 5 + j) / 100, 2),
                    student_view=0.5,
                    sme_view=0.5,
                    reasons=[],
                )
            )
    db.session.commit()
    _clear()
    yield coord_client
    _clear()


def _html(client: FlaskClient, path: str, **kwargs: Any) -> str:
    response = client.get(path, **kwargs)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _blanked(html: str) -> str:
    """The page with its CSRF tokens blanked, once every form on it carries the same one (a
    token is signed with the time in seconds: two renders a second apart differ in it)."""
    assert len({token for _, token in TOKEN.findall(html)}) <= 1
    return TOKEN.sub(r'\1TOKEN"', html)


def _kept_is_fresh(client: FlaskClient, path: str = "/coordinator/matches", **kwargs: Any) -> str:
    """The page as the caches give it equals the page drawn from empty caches."""
    kept = _html(client, path, **kwargs)
    _clear()
    fresh = _html(client, path, **kwargs)
    assert _blanked(kept) == _blanked(fresh)
    return fresh


def test_a_kept_list_is_the_list_drawn_afresh(listed: FlaskClient) -> None:
    fresh = _html(listed, "/coordinator/matches")
    assert len(LISTS) == 1
    assert _blanked(_html(listed, "/coordinator/matches")) == _blanked(fresh)
    assert len(LISTS) == 1  # from the cache
    assert fresh.count('name="match_ids"') == 25


def test_a_changed_match_shows_at_once(listed: FlaskClient) -> None:
    _html(listed, "/coordinator/matches")
    match = db.session.query(Match).order_by(Match.id.desc()).first()
    assert match is not None
    match.student_decision = "accept"
    match.student.name = "Renamed Student"
    db.session.commit()
    html = _kept_is_fresh(listed)
    assert "Renamed Student" in html


def test_a_new_match_and_the_total_show_at_once(listed: FlaskClient, make_student: Any) -> None:
    _html(listed, "/coordinator/matches?page=2")  # the last five: a new match adds a sixth
    match = db.session.query(Match).first()
    assert match is not None
    student = make_student(email="kept-new@example.org")
    db.session.add(
        Match(
            student_id=student.student.id,
            sme_id=match.sme_id,
            status=MatchStatus.PROPOSED,
            score=0.1,
            student_view=0.5,
            sme_view=0.5,
            reasons=[],
        )
    )
    db.session.commit()
    html = _kept_is_fresh(listed, "/coordinator/matches?page=2")
    assert "(31)" in html


@pytest.mark.parametrize("withdrawn", [1, 5])
def test_fewer_matches_change_the_total_and_the_pages(listed: FlaskClient, withdrawn: int) -> None:
    """The oldest proposals withdrawn: page 1 shows the same 25 rows, but the total (and with
    five, the pages' links) change."""
    path = "/coordinator/matches?status=proposed"
    first = _html(listed, path)
    for match in db.session.query(Match).order_by(Match.id).limit(withdrawn):
        match.status = MatchStatus.WITHDRAWN
    db.session.commit()
    html = _kept_is_fresh(listed, path)
    assert f"({30 - withdrawn})" in html
    assert ('class="pagination' in html) == (withdrawn == 1) and 'class="pagination' in first


def test_a_new_cycle_shows_in_the_menu(listed: FlaskClient) -> None:
    _html(listed, "/coordinator/matches")
    db.session.add(
        MatchCycle(
            status=CycleStatus.FINISHED, trigger="cli", mode="stable", weights={}, candidates_k=5
        )
    )
    db.session.commit()
    html = _kept_is_fresh(listed)
    assert re.search(r'<option value="\d+" >#\d+ · ', html)


def test_the_filters_and_the_page_are_in_the_key(listed: FlaskClient) -> None:
    paths = [
        "/coordinator/matches",
        "/coordinator/matches?page=2",
        "/coordinator/matches?status=proposed",
        "/coordinator/matches?score_min=0.5",
        "/coordinator/matches?status=proposed&score_min=0.5",
        "/coordinator/matches?score_min=0.55",
        "/coordinator/matches?page=5",  # past the end: no rows, only the page's number differs
        "/coordinator/matches?page=6",
    ]
    kept = [_blanked(_html(listed, path)) for path in paths]
    assert len(LISTS) == len(paths)
    assert len(set(kept)) == len(paths)  # each of them differs from the others
    _clear()
    assert [_blanked(_html(listed, path)) for path in paths] == kept


def test_a_kept_list_follows_the_readers_language(listed: FlaskClient) -> None:
    english = _html(listed, "/coordinator/matches")
    listed.post("/language", data={"locale": "ko"})
    korean = _kept_is_fresh(listed)
    assert "Approve ticked" in english and "Approve ticked" not in korean


def test_a_kept_list_follows_where_the_app_is_mounted(listed: FlaskClient) -> None:
    _html(listed, "/coordinator/matches")
    html = _kept_is_fresh(listed, base_url="http://localhost/kexport")
    assert 'action="/kexport/coordinator/matches/bulk"' in html


def test_each_reader_gets_their_own_token(
    app: Any, listed: FlaskClient, coordinator: Any, login_as: Any
) -> None:
    other = app.test_client()
    login_as(coordinator, target=other)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        first = _html(listed, "/coordinator/matches")
        second = _html(other, "/coordinator/matches")
        assert len(LISTS) == 1  # the second reader was served the kept list
        tokens = [{t for _, t in TOKEN.findall(html)} for html in (first, second)]
        assert all(len(t) == 1 for t in tokens) and tokens[0] != tokens[1]
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_the_bulk_form_is_built_only_when_the_list_is_drawn(
    listed: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kept list carries its form already (the reader's token put back): building one for
    it was work thrown away on every request."""
    from app.coordinators import forms

    built: list[object] = []
    real = forms.BulkForm.__init__

    def counted(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        real(self, *args, **kwargs)

    monkeypatch.setattr(forms.BulkForm, "__init__", counted)
    fresh = _html(listed, "/coordinator/matches")
    assert len(built) == 1 and 'name="reason"' in fresh
    kept = _html(listed, "/coordinator/matches")
    assert len(built) == 1  # the kept list: no form built
    assert _blanked(kept) == _blanked(fresh)
