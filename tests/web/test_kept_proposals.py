"""A student's proposal cards are rendered once per process and kept (issue 14, pages:
`app.templating.PAGE_PARTS`, keyed on `ProposalRow.key`, the language, where the app is mounted
and whether the answer can be changed): a kept card must be the card the request would have
rendered, in the reader's language, with the reader's own CSRF token, and never a stale one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from kexport_support import pages_in_new_sessions
from sqlalchemy import select

from app.extensions import db
from app.models import SME, Match, MatchStatus, SMECode, User
from app.templating import PAGE_PARTS
from tests.web.test_queries_per_page import business_number

TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]*)"')


@pytest.fixture
def proposals(
    app: Flask, client: Any, login_as: Any, make_student: Any, make_sme: Any
) -> Iterator[User]:
    """A student with three proposals from three SMEs, logged in; the kept parts emptied
    before and after."""
    student = make_student(email="kept@example.org")
    for n in range(3):
        sme = make_sme(email=f"kept{n}@example.org", business_number=business_number(60 + n))
        sme.sme.company_name_en = f"Company Number {n}"
        db.session.add(
            Match(
                student_id=student.student.id,
                sme_id=sme.sme.id,
                status=MatchStatus.PROPOSED,
                score=0.5 + n / 10,
                student_view=0.5,
                sme_view=0.5,
                reasons=[{"factor": "market", "key": "market.home", "params": {"market": "VN"}}],
            )
        )
    db.session.commit()
    PAGE_PARTS.clear()
    login_as(student)
    yield student
    PAGE_PARTS.clear()


def _page(client: Any) -> str:
    response = client.get("/student/proposals")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _card(html: str, match_id: int) -> str:
    return html[html.index(f'id="match-{match_id}"') :].split("</article>")[0]


def _one_token(html: str) -> str:
    tokens = set(TOKEN.findall(html))
    assert len(tokens) == 1, tokens
    return html.replace(tokens.pop(), "TOKEN")


def _match(n: int = 0) -> Match:
    found = db.session.scalars(select(Match).order_by(Match.id)).all()[n]
    return found


def test_a_kept_card_is_the_card_rendered_afresh(client: Any, proposals: User) -> None:
    fresh = _page(client)
    assert fresh.count('id="match-') == 3
    kept_before = len(PAGE_PARTS)
    assert kept_before >= 3
    kept = _page(client)  # every card from the cache now
    assert _one_token(kept) == _one_token(fresh)
    assert len(PAGE_PARTS) == kept_before  # nothing rendered anew
    PAGE_PARTS.clear()
    assert _one_token(_page(client)) == _one_token(fresh)


def test_a_change_to_the_match_or_its_sme_shows_at_once(client: Any, proposals: User) -> None:
    _page(client)
    match = _match()
    sme = db.session.get(SME, match.sme_id)
    sme.code_rows.append(SMECode(kind="market", code="JP"))  # each change alone: its own key
    db.session.commit()
    assert "Japan" in _card(_page(client), match.id)
    sme.description_en = "Now exporting to Hanoi."
    db.session.commit()
    assert "Now exporting to Hanoi." in _card(_page(client), match.id)
    match.student_decision = "accept"
    db.session.commit()
    card = _card(_page(client), match.id)
    assert "Waiting for the company" in card  # the answer given, no longer the buttons
    match.status = MatchStatus.APPROVED
    db.session.commit()
    assert "status-approved" in _card(_page(client), match.id)


def test_whether_an_answer_can_be_changed_is_part_of_the_key(client: Any, proposals: User) -> None:
    """A decline can be undone while the SME has room: when it fills up, the same match (the
    row unchanged) must lose the undo button."""
    for other in (_match(1), _match(2)):  # the student holds no other proposal: free to undo
        other.status = MatchStatus.EXPIRED
    match = _match()
    match.status, match.student_decision = MatchStatus.DECLINED, "decline"
    db.session.commit()
    assert "Undo my decline" in _card(_page(client), match.id)
    sme = db.session.get(SME, match.sme_id)
    sme.capacity = 0
    db.session.commit()
    assert "Undo my decline" not in _card(_page(client), match.id)


def test_a_kept_card_follows_the_readers_language(client: Any, proposals: User) -> None:
    english = _page(client)
    client.post("/language", data={"locale": "ko"})
    korean = _page(client)
    assert "Why you were proposed" in english and "Why you were proposed" not in korean
    assert _card(english, _match().id) != _card(korean, _match().id)


def test_each_session_gets_its_own_token_in_kept_cards(app: Flask, proposals: User) -> None:
    pages = pages_in_new_sessions(app, proposals.email, _page)
    tokens = [set(TOKEN.findall(page)) for page in pages]
    assert all(len(t) == 1 and "" not in t for t in tokens), tokens
    assert tokens[0] != tokens[1]  # the second page's cards came from the cache, with its token


def test_the_decision_forms_module_is_built_once_per_process(
    app: Flask, client: Any, proposals: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`_macros/decisions.html` is imported without the page's context: Jinja builds it once
    and a page whose cards are all kept runs none of it (imported `with context`, its words,
    CSRF token and reasons' menu were made on every render). Its forms still carry the
    reader's token and the reasons in the reader's language (below, and the cards' tests)."""
    template = app.jinja_env.get_template("_macros/decisions.html")
    runs: list[int] = []
    root = template.root_render_func

    def counted(context: Any) -> Any:
        runs.append(1)
        return root(context)

    monkeypatch.setattr(template, "root_render_func", counted)
    monkeypatch.setattr(template, "_module", None)
    first = _page(client)  # the cards rendered afresh: the module built, at most once
    assert len(runs) <= 1
    again = _page(client)
    assert len(runs) <= 1
    token = _one_token(first)
    # accept and decline on 3 cards, and the layout's language and log-out forms
    assert token.count('name="csrf_token" value="TOKEN"') == 2 * 3 + 2
    assert 'option value="not_a_fit">Not a good fit<' in again
    client.post("/language", data={"locale": "ko"})
    korean = _page(client)
    assert "Not a good fit" not in korean and 'option value="not_a_fit">' in korean
