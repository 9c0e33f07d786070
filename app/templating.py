"""Template helpers for pages that repeat one thing per row: work done once per page.

A page of 20 candidate cards built three URLs per card with `url_for` (werkzeug's URL builder:
about a tenth of a millisecond each) and asked Flask-WTF for the CSRF token five times per card.
The helpers here let a page build such things once and fill in each row's id (issue 14).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, g, has_request_context, url_for
from markupsafe import Markup, escape

from app.schemas import ID_MAX

# Any id the routes accept: the path, which holds it, comes before any query value that could
# spell the same digits, so its first occurrence in the URL is the slot.
_SLOT = ID_MAX


def url_pattern(endpoint: str, key: str = "match_id", **values: Any) -> tuple[Markup, Markup]:
    """`url_for(endpoint, key=<id>, **values)` as the text before and after the id, escaped
    for an attribute: the page writes `{{ p[0] }}{{ id }}{{ p[1] }}` for each row."""
    url = url_for(endpoint, **{**values, key: _SLOT})
    before, _, after = url.partition(str(_SLOT))
    return escape(before), escape(after)


T = TypeVar("T")


def once_per_request(helper: Callable[[], T]) -> Callable[[], T]:
    """A template helper asked twice on one page (the coordinators' menu and their dashboard
    both show how many proposals wait): answered once per request, kept on `g`. Outside a
    request it is asked every time."""
    key = f"once_per_request.{helper.__module__}.{helper.__qualname__}"

    @functools.wraps(helper)
    def cached() -> T:
        if not has_request_context():
            return helper()
        if key not in g:
            setattr(g, key, helper())
        return getattr(g, key)

    return cached


def init_template_helpers(app: Flask) -> None:
    app.jinja_env.globals.update(url_pattern=url_pattern)
