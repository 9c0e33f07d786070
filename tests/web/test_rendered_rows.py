"""Candidate cards are rendered once per process and kept, keyed on everything a card shows
(issue 14.3, app.templating.RenderedRows): a kept card must be the one the request would have
rendered, in the reader's language, with the reader's own CSRF token, and never a stale one."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from kexport_support import pages_in_new_sessions
from sqlalchemy import select

from app.extensions import db
from app.models import Match
from app.smes.routes import CANDIDATE_CARDS
from app.templating import RenderedRows

TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]*)"')


@pytest.fixture
def candidates(app: Flask, client, login_as, make_student, sme) -> Any:
    """An SME with three candidates, logged in; the kept cards emptied before and after."""
    from app.services import cycles

    for n in range(3):
        make_student(email=f"cards{n}@example.org", name=f"Card Student {n}")
    cycles.run_cycle()
    db.session.commit()
    CANDIDATE_CARDS.clear()
    login_as(sme)
    yield sme
    CANDIDATE_CARDS.clear()


def _page(client, path: str = "/sme/candidates") -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _one_token(html: str) -> str:
    """The page with its CSRF token blanked, once every form on it is shown to carry the same one.

    A token is signed with the time in seconds, so two renders a second apart differ in it
    (this test failed under load when they did); that the reader's token is the one put back
    into each kept card is what the same-token check here, and the per-session test below, show.
    """
    tokens = set(TOKEN.findall(html))
    assert len(tokens) == 1, tokens
    return html.replace(tokens.pop(), "TOKEN")


def test_a_kept_card_is_the_card_rendered_afresh(client, candidates):
    fresh = _page(client)
    assert fresh.count('id="match-') >= 1
    assert len(CANDIDATE_CARDS) == fresh.count('id="match-')  # each card kept once
    kept = _page(client)  # every card from the cache now
    assert _one_token(kept) == _one_token(fresh)
    assert len(CANDIDATE_CARDS) == fresh.count('id="match-')  # nothing rendered anew
    CANDIDATE_CARDS.clear()
    assert _one_token(_page(client)) == _one_token(fresh)


def test_a_change_to_the_student_or_the_match_shows_at_once(client, candidates):
    _page(client)
    match = db.session.scalar(select(Match).order_by(Match.id))
    match.student.name = "Renamed Student"
    match.sme_shortlisted = True
    db.session.commit()
    html = _page(client)
    assert "Renamed Student" in html
    card = html[html.index(f'id="match-{match.id}"') :]
    assert "Remove from shortlist" in card.split("</article>")[0]


def test_a_change_to_the_students_languages_or_codes_shows_at_once(client, candidates):
    """The card's key holds the student's languages and codes as the rows' statement read them
    (`reviews.StudentRow.key`): a level changed, two languages swapped, a market added or an
    industry removed is a new card, and every one of them is the card rendered afresh."""
    from app.models import StudentCode, StudentLanguage

    _page(client)
    match = db.session.scalar(select(Match).order_by(Match.id))
    student_id = match.student_id

    def card() -> str:
        html = _page(client)
        return html[html.index(f'id="match-{match.id}"') :].split("</article>")[0]

    def changes() -> Any:
        languages = {
            r.code: r
            for r in db.session.scalars(
                select(StudentLanguage).where(StudentLanguage.student_id == student_id)
            )
        }
        yield lambda: setattr(languages["en"], "level", "native")
        yield lambda: (
            setattr(languages["vi"], "position", 1),
            setattr(languages["en"], "position", 0),
        )
        yield lambda: db.session.add(StudentCode(student_id=student_id, kind="market", code="JP"))
        yield lambda: db.session.execute(
            StudentCode.__table__.delete().where(
                StudentCode.student_id == student_id, StudentCode.kind == "industry"
            )
        )

    before = card()
    for change in changes():
        change()
        db.session.commit()
        kept = card()
        assert kept != before
        CANDIDATE_CARDS.clear()
        assert _one_token(card()) == _one_token(kept)  # what a fresh render writes
        before = kept


def test_a_kept_card_follows_the_readers_language(client, candidates):
    english = _page(client)
    client.post("/language", data={"locale": "ko"})
    korean = _page(client)
    assert "Why this student" in english and "Why this student" not in korean
    assert "추천 사유" in korean


def test_each_session_gets_its_own_token_in_kept_cards(app: Flask, candidates, login_as):
    pages = pages_in_new_sessions(app, candidates.email, _page)
    tokens = [set(TOKEN.findall(page)) for page in pages]
    assert all(len(t) == 1 and "" not in t for t in tokens), tokens
    assert tokens[0] != tokens[1]  # the second page's cards came from the cache, with its token
    assert "\x00" not in pages[1]


def test_rendered_rows_keep_at_most_their_size():
    rows = RenderedRows(size=2)
    rendered: list[str] = []

    def render(text: str) -> Any:
        return lambda: rendered.append(text) or f"<p>{text} tok</p>"

    assert rows("a", "tok", render("a")) == "<p>a tok</p>"
    assert rows("a", "other", render("a")) == "<p>a other</p>"  # kept, with this token
    rows("b", "tok", render("b"))
    rows("c", "tok", render("c"))  # "a" was the least recently shown: dropped
    rows("a", "tok", render("a"))
    assert rendered == ["a", "b", "c", "a"]


def test_a_row_looked_up_by_the_view_carries_the_readers_token():
    """`RenderedRows.kept`: the candidates view looks its cards up itself; a row not kept is
    None (the template renders it), a kept row comes with this reader's token, and looking a row
    up counts as showing it (the least recently shown is dropped first)."""
    rows = RenderedRows(size=2)
    assert rows.kept("a", "tok") is None
    rows("a", "tok", lambda: '<input value="tok"><p>a</p>')
    rows("b", "tok", lambda: "<p>b</p>")
    assert rows.kept("a", "mine") == '<input value="mine"><p>a</p>'
    rows("c", "tok", lambda: "<p>c</p>")  # "b" was the least recently shown: dropped
    assert rows.kept("b", "tok") is None
    assert rows.kept("a", "other") == '<input value="other"><p>a</p>'


def test_rows_looked_up_at_once_are_each_looked_up_in_turn():
    """`RenderedRows.kept_rows` looks a page's rows up under one lock: each item with its key
    and its row (None when not kept), in the items' order, with the reader's token, and each
    row found counts as shown in that order, as one look-up after another did."""
    rows = RenderedRows(size=3)
    for name in "abc":
        rows(name, "tok", lambda name=name: f'<input value="tok"><p>{name}</p>')
    found = rows.kept_rows([(1, "c"), (2, "x"), (3, "a")], "mine")
    assert found == [
        (1, "c", '<input value="mine"><p>c</p>'),
        (2, "x", None),
        (3, "a", '<input value="mine"><p>a</p>'),
    ]
    rows("d", "tok", lambda: "<p>d</p>")  # "b", not looked up, was the least recently shown
    assert rows.kept("b", "tok") is None
    rows("e", "tok", lambda: "<p>e</p>")  # then "c", looked up before "a"
    assert [key for _, key, html in rows.kept_rows([(0, "c"), (0, "a")], "t") if html] == ["a"]
