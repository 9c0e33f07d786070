"""Template helpers for pages that repeat one thing per row: work done once per page.

A page of 20 candidate cards built three URLs per card with `url_for` (werkzeug's URL builder:
about a tenth of a millisecond each) and asked Flask-WTF for the CSRF token five times per card.
The helpers here let a page build such things once and fill in each row's id (issue 14).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, url_for
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


def init_template_helpers(app: Flask) -> None:
    app.jinja_env.globals.update(url_pattern=url_pattern)
