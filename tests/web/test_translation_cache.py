"""Translations are looked up once per request, and switching language mid-request still works.

Flask-Babel finds the reader's catalogue again for every string; a candidates page translates
hundreds, and that lookup was most of its CPU (issue 14). `app.i18n.RequestCachedBabel` keeps
the catalogue for the request in the slot that `force_locale` and `refresh` clear and restore.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, render_template_string
from flask_babel import Domain, force_locale, gettext, refresh
from kexport_support import REASONS

from app.extensions import db
from app.i18n import code_name, current_locale
from app.models import Match, MatchStatus, User


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every time Flask-Babel itself resolves a catalogue (the costly path)."""
    seen: list[str] = []
    original = Domain.get_translations

    def counted(self: Domain) -> Any:
        seen.append("lookup")
        return original(self)

    monkeypatch.setattr(Domain, "get_translations", counted)
    return seen


def test_a_page_resolves_its_catalogue_once(
    app: Flask, login_as: Any, make_student: Any, make_sme: Any, lookups: list[str]
) -> None:
    sme = make_sme(capacity=20)
    for i in range(6):
        student = make_student(email=f"s{i}@example.org", name=f"Student {i}")
        db.session.add(
            Match(
                student_id=student.student.id,
                sme_id=sme.sme.id,
                status=MatchStatus.PROPOSED,
                score=0.5,
                student_view=0.5,
                sme_view=0.5,
                reasons=REASONS,
            )
        )
    db.session.commit()
    client = app.test_client()
    login_as(sme, target=client)
    lookups.clear()
    response = client.get("/sme/candidates", headers={"Accept-Language": "ko"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "베트남" in page  # Vietnam, named in Korean in the reasons
    # hundreds of strings on the page; one catalogue lookup (two if the user's locale differs)
    assert 1 <= len(lookups) <= 2, f"{len(lookups)} catalogue lookups for one page"


def test_force_locale_inside_a_request_switches_and_restores(app: Flask) -> None:
    with app.test_request_context(headers={"Accept-Language": "ko"}):
        refresh()  # the fixture's application context may hold a locale from before
        assert gettext("Proposed") == "제안됨"
        assert render_template_string("{{ _('Proposed') }}") == "제안됨"
        assert current_locale() == "ko"
        assert code_name("countries", "VN") == "베트남"
        with force_locale("en"):
            assert gettext("Proposed") == "Proposed"
            assert render_template_string("{{ _('Proposed') }}") == "Proposed"
            assert current_locale() == "en"
            assert code_name("countries", "VN") == "Vietnam"
        assert gettext("Proposed") == "제안됨"
        assert render_template_string("{{ _('Declined') }}") == "거절됨"
        assert current_locale() == "ko"
        assert code_name("countries", "VN") == "베트남"
        refresh()  # refresh() drops the cached catalogue with the locale
        with force_locale("en"):
            assert gettext("Declined") == "Declined"
        assert gettext("Declined") == "거절됨"


def test_each_request_gets_its_own_readers_language(
    app: Flask, login_as: Any, coordinator: User
) -> None:
    client = app.test_client()
    login_as(coordinator, target=client)
    korean = client.get("/coordinator/matches", headers={"Accept-Language": "ko"})
    english = client.get("/coordinator/matches", headers={"Accept-Language": "en"})
    assert korean.status_code == english.status_code == 200
    assert 'lang="ko"' in korean.get_data(as_text=True)
    assert 'lang="en"' in english.get_data(as_text=True)
