"""The coordinators' dashboard keeps its figures as rendered (issue 14, pages:
`app.coordinators.data.FIGURES`, keyed on every figure they show, the language and where the
app is mounted): the figures are counted on every request, and a kept rendering must be the
one the request would have drawn — never a stale number."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from app.coordinators.data import FIGURES, HEADS
from app.extensions import db
from app.models import ExportStatus, Match, MatchStatus, User
from app.services import stats
from tests.web.test_queries_per_page import business_number


@pytest.fixture
def dashboard(coord_client: FlaskClient, make_student: Any, make_sme: Any) -> Iterator[FlaskClient]:
    """Two students, an SME, one proposal; the kept figures emptied before and after."""
    sme = make_sme(email="figures@example.org", business_number=business_number(77))
    students = [make_student(email=f"fig{i}@example.org") for i in range(2)]
    db.session.add(
        Match(
            student_id=students[0].student.id,
            sme_id=sme.sme.id,
            status=MatchStatus.PROPOSED,
            score=0.5,
            student_view=0.5,
            sme_view=0.5,
            reasons=[],
        )
    )
    db.session.commit()
    FIGURES.clear()
    HEADS.clear()
    yield coord_client
    FIGURES.clear()
    HEADS.clear()


TOKEN = re.compile(r'(name="csrf_token" (?:type="hidden" )?value=")[^"]*"')


def _page(client: FlaskClient) -> str:
    """The page with its CSRF tokens (the language switch's) blanked: one is signed with the
    time in seconds, so two renders a second apart differ in it."""
    response = client.get("/coordinator/")
    assert response.status_code == 200
    return TOKEN.sub(r'\1TOKEN"', response.get_data(as_text=True))


def _stat(html: str, label: str) -> str:
    """The big number shown above a card's label."""
    found = re.search(
        r'<div class="stat">([^<]*)</div>\s*<div class="text-muted">(?:<a [^>]*>)?' + label, html
    )
    assert found, label
    return found.group(1)


def test_kept_figures_are_the_figures_drawn_afresh(dashboard: FlaskClient) -> None:
    fresh = _page(dashboard)
    assert len(FIGURES) == 1
    assert _page(dashboard) == fresh  # from the cache: no form, no token in it
    assert len(FIGURES) == 1
    FIGURES.clear()
    assert _page(dashboard) == fresh


def test_a_new_figure_shows_at_once(dashboard: FlaskClient, make_student: Any) -> None:
    html = _page(dashboard)
    assert _stat(html, "Students signed up") == "2"
    assert _stat(html, "Proposals waiting for an answer") == "1"
    make_student(email="fig-new@example.org")
    assert _stat(_page(dashboard), "Students signed up") == "3"
    match = db.session.query(Match).one()
    match.status = MatchStatus.APPROVED
    db.session.commit()
    html = _page(dashboard)
    assert _stat(html, "Proposals waiting for an answer") == "0"
    assert len(FIGURES) == 3  # each set of figures drawn once


def test_kept_figures_follow_the_readers_language(dashboard: FlaskClient) -> None:
    english = _page(dashboard)
    dashboard.post("/language", data={"locale": "ko"})
    korean = _page(dashboard)
    assert "Funnel per cycle" in english and "Funnel per cycle" not in korean
    assert len(FIGURES) == 2


def test_the_key_names_every_figure(app: Any, dashboard: FlaskClient, coordinator: User) -> None:
    """The key holds the figures as counted (`stats.DashboardCounts`, from which the page's
    figures are built: tests/coordinators/test_dashboard_counts.py), so two states that differ
    in any figure never share a rendering."""
    _page(dashboard)
    (key,) = list(FIGURES._rows)
    locale, root, counts = key
    assert locale == "en" and root == ""
    with app.test_request_context():
        assert counts == stats.dashboard_counts()
    assert counts.totals[:2] == (2, 1)  # two students, one SME


def _kept_is_fresh(client: FlaskClient, **kwargs: Any) -> str:
    """The page from the kept parts equals the page drawn from an empty store."""
    response = client.get("/coordinator/", **kwargs)
    kept = TOKEN.sub(r'\1TOKEN"', response.get_data(as_text=True))
    FIGURES.clear()
    HEADS.clear()
    response = client.get("/coordinator/", **kwargs)
    assert kept == TOKEN.sub(r'\1TOKEN"', response.get_data(as_text=True))
    return kept


def test_the_kept_head_shows_the_waiting_count_and_the_targets_at_once(
    dashboard: FlaskClient,
) -> None:
    """The head (the ready card, the targets) is kept too: a proposal both sides accepted and
    an SME's first export show on the next request."""
    html = _page(dashboard)
    assert "0 proposals ready for you" in html
    match = db.session.query(Match).one()
    match.student_decision = match.sme_decision = "accept"
    db.session.commit()
    html = _kept_is_fresh(dashboard)
    assert "1 proposal ready for you" in html
    db.session.add(ExportStatus(sme_id=match.sme_id, status="first_export"))
    db.session.commit()
    html = _kept_is_fresh(dashboard)
    value = re.search(r'data-kpi="smes_first_export">.*?data-kpi-value>([^<]*)<', html, re.S)
    assert value and value.group(1) == "1"


def test_the_kept_page_follows_the_language_and_the_mount_point(dashboard: FlaskClient) -> None:
    _page(dashboard)
    html = _kept_is_fresh(dashboard, base_url="http://localhost/kexport")
    assert 'href="/kexport/coordinator/export/students.csv"' in html
    assert "Programme at a glance" in _page(dashboard)  # kept in English at the root
    dashboard.post("/language", data={"locale": "ko"})
    html = _kept_is_fresh(dashboard)
    assert "Programme at a glance" not in html
