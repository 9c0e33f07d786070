"""What every card of a page repeats is made once per page, not once per card (issue 14).

A candidates page of 20 cards translated ~16 labels, built 2-3 URLs and fetched the CSRF token
3-5 times per card; each of these goes through Jinja's call machinery and a library's lookups.
Now the page makes its words, URL patterns and token once: the counts below are the same with 5
and with 9 rows. Wording that depends on the row (reasons, code names) is cached per locale
instead, and must still follow the reader's language.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale
from flask_wtf import csrf as flask_wtf_csrf
from werkzeug.routing import MapAdapter

from app import i18n
from app.extensions import db
from app.i18n import code_name, code_names, level_phrase
from app.models import User
from app.services.explanations import reason_text
from tests.web.test_queries_per_page import _programme


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch, app: Flask) -> Counter[str]:
    """How many template translations, URL builds and CSRF token fetches a request makes."""
    seen: Counter[str] = Counter()
    translations, build = i18n._translations, MapAdapter.build
    token = flask_wtf_csrf.generate_csrf

    def translated() -> Any:
        seen["translations"] += 1
        return translations()

    def built(self: MapAdapter, *args: Any, **kwargs: Any) -> str:
        seen["urls"] += 1
        return build(self, *args, **kwargs)

    def csrf(*args: Any, **kwargs: Any) -> str:
        seen["csrf"] += 1
        return token(*args, **kwargs)

    monkeypatch.setattr(i18n, "_translations", translated)
    monkeypatch.setattr(MapAdapter, "build", built)
    # the templates get it from Flask-WTF's context processor, which looks it up by this name
    monkeypatch.setattr(flask_wtf_csrf, "generate_csrf", csrf)
    return seen


@pytest.mark.parametrize(
    ("role", "url"),
    [
        ("sme", "/sme/candidates"),
        ("sme", "/sme/candidates?sort=name&topik=1"),
        ("student", "/student/proposals"),
        ("coordinator", "/coordinator/matches"),
    ],
)
def test_a_pages_words_urls_and_token_do_not_grow_with_rows(
    app: Flask,
    login_as: Any,
    make_student: Any,
    make_sme: Any,
    calls: Counter[str],
    coordinator: User,
    role: str,
    url: str,
) -> None:
    counts = []
    # the same sections of the page either way, only more cards (the coordinator's list sees
    # both programmes' matches: it stays on one page of 25)
    for rows in (2, 5) if role == "coordinator" else (5, 9):
        sme, student = _programme(make_student, make_sme, rows)
        who: User = {"sme": sme, "student": student, "coordinator": coordinator}[role]
        client = app.test_client()
        login_as(who, target=client)
        client.get(url)
        db.session.expire_all()
        calls.clear()
        response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert html.count('id="match-') + html.count('name="match_ids"') >= rows - 1
        counts.append(dict(calls))
    if role == "coordinator":  # each proposed row's tick box is labelled with its number
        counts = [{k: v for k, v in c.items() if k != "translations"} for c in counts]
    assert counts[0] == counts[1], f"{url}: {counts[0]} with fewer rows, {counts[1]} with more"


def test_cached_wording_follows_the_readers_language(app: Flask) -> None:
    reason = {"key": "market.home", "params": {"market": "VN"}, "weight": 0.2}
    with app.test_request_context():
        for _ in range(2):  # the second time from the caches
            with force_locale("en"):
                assert code_name("countries", "VN") == "Vietnam"
                assert code_names("countries", ["VN", "XX", ""]) == "Vietnam, XX, "
                assert level_phrase("vi", "native") == "Vietnamese (Native)"
                english = reason_text(reason, "sme")
            with force_locale("ko"):
                assert code_name("countries", "VN") == "베트남"
                assert level_phrase("vi", "native") == "베트남어 (원어민)"
                korean = reason_text(reason, "sme")
            assert "Vietnam" in english and "베트남" in korean
