"""Every email body is escaped: hostile names never become markup in the HTML part (issue 12.3).

Each HTML email template is rendered with every variable it reads set to a hostile string (and
each match event for the match update), through the same `mail.compose` the platform sends with.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import meta

from app.services import mail

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quoted"'
EMAIL_DIR = Path(__file__).resolve().parents[2] / "templates" / "email"
TEMPLATES = sorted(
    p.stem for p in EMAIL_DIR.glob("*.html") if not p.name.startswith("_") and p.stem != "base"
)
NUMBERS = {"count", "minutes", "expiry_days", "days", "hours"}  # plural forms need integers
EVENTS = [
    "student_accept",
    "student_decline",
    "sme_accept",
    "sme_decline",
    "approved",
    "rejected",
    "active",
    "completed",
]


def _variables(app, name: str) -> set[str]:
    source = app.jinja_env.loader.get_source(app.jinja_env, f"email/{name}.html")[0]
    found = meta.find_undeclared_variables(app.jinja_env.parse(source))
    return found - set(app.jinja_env.globals) - {"_", "gettext", "ngettext"}


@pytest.mark.parametrize("name", TEMPLATES)
@pytest.mark.parametrize("locale", ["en", "ko"])
def test_each_email_template_escapes_hostile_values(app, name, locale):
    context = {v: 2 if v in NUMBERS else HOSTILE for v in _variables(app, name)}
    with app.test_request_context():
        content = mail.compose(name, locale, lambda: "subject", **context)
    html = content["body_html"]
    assert "<script>" not in html and "<img" not in html
    if set(context) - NUMBERS:
        assert "&lt;script&gt;" in html


@pytest.mark.parametrize("event", EVENTS)
def test_match_updates_escape_names_in_every_event(app, make_student, make_sme, event):
    """The real path: decisions' notification with a hostile student and company name."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Match, OutboxMessage
    from app.services import cycles, decisions

    make_student(name=HOSTILE)
    make_sme(company_name=HOSTILE)
    cycles.run_cycle()
    match = db.session.scalar(select(Match))
    decisions._notify(match, event)
    db.session.flush()
    messages = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == f"match_{event}")
    ).all()
    assert len(messages) == 2
    for message in messages:
        assert "<script>" not in message.body_html and "<img" not in message.body_html
        assert "&lt;script&gt;" in message.body_html
        assert HOSTILE in message.body_text  # plain text stays as typed
