"""The candidates page's filter form is rendered once per process and kept in `PAGE_PARTS`,
keyed on all it shows (`app.smes.routes._filter_form_key`; issue 14): a kept form must be the
form the request would have rendered, whatever the language, the filters chosen, the codes
offered, the errors and the counts."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import Match, MatchStatus, StudentCode
from app.services.profiles import _sync_codes
from app.services.reviews import FILTER_FROM
from app.templating import PAGE_PARTS

PATHS = (
    "/sme/candidates",
    "/sme/candidates?sort=name",
    "/sme/candidates?sort=name&topik=5",
    "/sme/candidates?language=th",
    "/sme/candidates?language=vi&region=busan",
    "/sme/candidates?market=TH&shortlisted=1",
    "/sme/candidates?shortlisted=1",
    "/sme/candidates?language=zz",  # refused (400), the form shows the error
    "/sme/candidates?language=zz&topik=9",
)


@pytest.fixture
def filterable(app: Flask, login_as: Any, make_student: Any, sme: Any) -> Any:
    """An SME with more candidates than `FILTER_FROM` (so the page shows its filters), of two
    kinds, logged in; the kept parts emptied before and after."""
    for n in range(FILTER_FROM + 2):
        thai = {"nationality": "TH", "languages": [{"code": "th", "level": "native"}]}
        student = make_student(
            email=f"filters{n}@example.org",
            name=f"Filter Student {n}",
            topik_level=2 + n % 5,
            **(thai if n % 2 else {}),
        )
        db.session.add(
            Match(
                student_id=student.student.id,
                sme_id=sme.sme.id,
                status=MatchStatus.PROPOSED,
                score=0.9 - n / 100,
                student_view=0.5,
                sme_view=0.5,
                reasons=[],
                proposed_by="coordinator",
            )
        )
    db.session.commit()
    PAGE_PARTS.clear()
    login_as(sme)
    yield sme
    PAGE_PARTS.clear()


def _form(client: Any, path: str) -> str:
    response = client.get(path)
    assert response.status_code in (200, 400), (path, response.status_code)
    html = str(response.get_data(as_text=True))
    assert '<form method="get"' in html, (path, html.count('id="match-'), html[-3000:])
    start = html.index('<form method="get"')
    return html[start : html.index("</form>", start)]


def _kept_then_fresh(client: Any) -> tuple[list[str], list[str]]:
    """Every path's form with every other path's form kept (a key that misses what tells two
    paths apart gives one the other's form), then each rendered afresh."""
    kept = [_form(client, path) for path in PATHS]
    fresh = []
    for path in PATHS:
        PAGE_PARTS.clear()
        fresh.append(_form(client, path))
    return kept, fresh


def test_a_kept_form_is_the_form_rendered_afresh(client: Any, filterable: Any) -> None:
    for locale in ("en", "ko", "en"):
        client.post("/language", data={"locale": locale})
        kept, fresh = _kept_then_fresh(client)
        assert kept == fresh
        assert len(set(fresh)) == len(PATHS)  # every path's form differs from the others


def test_a_kept_form_follows_the_language(client: Any, filterable: Any) -> None:
    english = _form(client, "/sme/candidates")
    client.post("/language", data={"locale": "ko"})
    korean = _form(client, "/sme/candidates")
    assert "Show candidates" in english and "Show candidates" not in korean


def test_a_kept_form_counts_as_the_page_does_now(client: Any, filterable: Any) -> None:
    before = _form(client, "/sme/candidates?shortlisted=1")
    match = db.session.scalar(select(Match).order_by(Match.id))
    match.sme_shortlisted = True
    db.session.commit()
    after = _form(client, "/sme/candidates?shortlisted=1")
    assert "Showing 0 of" in before and "Showing 1 of" in after


def test_a_kept_form_offers_the_codes_the_candidates_have_now(client: Any, filterable: Any) -> None:
    before = _form(client, "/sme/candidates")
    match = db.session.scalar(select(Match).order_by(Match.id))
    _sync_codes(match.student.code_rows, "region", ["jeju"], StudentCode)
    db.session.commit()
    after = _form(client, "/sme/candidates")
    assert 'value="jeju"' not in before and 'value="jeju"' in after


def test_a_kept_form_follows_where_the_app_is_mounted(client: Any, filterable: Any) -> None:
    at_root = _form(client, "/sme/candidates")
    mounted = client.get("/sme/candidates", base_url="http://localhost/kexport")
    html = mounted.get_data(as_text=True)
    assert 'action="/sme/candidates"' in at_root
    assert 'action="/kexport/sme/candidates"' in html
