"""The layout's menu is rendered once per process and kept (`app.templating.kept_layout`), keyed
on all it shows: the same for every reader of one role on one page in one language (issue 14).
A kept menu must be the one the request would have rendered: the reader's own CSRF token, the
page's own address in the language switch (escaped as Jinja escapes it), the reader's language
and role, and a coordinator's waiting count as it is now."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from kexport_support import pages_in_new_sessions
from markupsafe import escape

from app.templating import PAGE_PARTS

TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]*)"')
NEXT = re.compile(r'name="next" value="([^"]*)"')


def _menu(html: str) -> str:
    return html[html.index("<nav") : html.index("</nav>")]


def _page(client: Any, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status
    return str(response.get_data(as_text=True))


def _blank(html: str) -> str:
    """The page with its CSRF token blanked, once every form on it carries the same one (a token
    is signed with the time in seconds: two renders a second apart differ in it)."""
    tokens = set(TOKEN.findall(html))
    assert len(tokens) == 1, tokens
    return html.replace(tokens.pop(), "TOKEN")


def test_a_kept_menu_is_the_menu_rendered_afresh(client: Any, login_as: Any, sme: Any) -> None:
    login_as(sme)
    PAGE_PARTS.clear()
    fresh = _page(client, "/sme/candidates?sort=name&topik=1")
    kept = _page(client, "/sme/candidates?sort=name&topik=1")
    assert _blank(kept) == _blank(fresh)
    assert NEXT.findall(kept) == ["/sme/candidates?sort=name&amp;topik=1"]
    # another address of the same page: the same kept menu, this page's own address in it
    other = _page(client, "/sme/candidates?sort=topik")
    assert NEXT.findall(other) == ["/sme/candidates?sort=topik"]
    PAGE_PARTS.clear()
    assert _blank(_page(client, "/sme/candidates?sort=topik")) == _blank(other)


def test_the_address_is_escaped_as_jinja_escapes_it(client: Any, login_as: Any, sme: Any) -> None:
    login_as(sme)
    path = '/no/such/"page"<b>&'
    PAGE_PARTS.clear()
    fresh = _page(client, path, 404)
    assert NEXT.findall(fresh) == [str(escape(path + "?"))]  # request.full_path
    again = _page(client, path, 404)
    assert _blank(again) == _blank(fresh)
    assert NEXT.findall(_page(client, "/no/other", 404)) == ["/no/other?"]


def test_each_reader_gets_their_own_token(app: Flask, sme: Any) -> None:
    PAGE_PARTS.clear()
    pages = pages_in_new_sessions(app, sme.email, lambda c: _page(c, "/sme/"))
    tokens = [set(TOKEN.findall(_menu(page))) for page in pages]
    assert all(len(t) == 1 and "" not in t for t in tokens), tokens
    assert tokens[0] != tokens[1]
    assert "\x00" not in pages[1]


def test_the_menu_follows_the_language_and_the_role(
    client: Any, login_as: Any, sme: Any, student: Any
) -> None:
    PAGE_PARTS.clear()
    login_as(sme)
    english = _menu(_page(client, "/sme/"))
    client.post("/language", data={"locale": "ko"})
    korean = _menu(_page(client, "/sme/"))
    assert "Candidates" in english and "Candidates" not in korean
    client.post("/language", data={"locale": "en"})
    assert "/sme/candidates" in _menu(_page(client, "/privacy"))
    student_client = client.application.test_client()
    login_as(student, target=student_client)
    menu = _menu(_page(student_client, "/privacy"))  # the same page, another role
    assert "/student/proposals" in menu and "/sme/candidates" not in menu


def test_a_coordinators_waiting_count_shows_at_once(
    app: Flask, client: Any, login_as: Any, coordinator: Any
) -> None:
    login_as(coordinator)
    PAGE_PARTS.clear()
    counted = app.jinja_env.globals["ready_count"]
    try:
        for waiting in (3, 4, 3):
            app.jinja_env.globals["ready_count"] = lambda waiting=waiting: waiting
            menu = _menu(_page(client, "/coordinator/matches"))
            assert f'data-ready-count="{waiting}"' in menu
    finally:
        app.jinja_env.globals["ready_count"] = counted
