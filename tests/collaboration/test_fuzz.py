"""Hypothesis fuzzing of the match page's forms: whatever is posted, never a 500, and a refused
post writes nothing (SECURITY.md item 11)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask import Flask
from hypothesis import given
from kexport_support import PASSWORD
from sqlalchemy import func, select

from app.extensions import db
from app.models import Activity, CheckIn, ContactDetails, Message
from app.services import kickoff
from tests.web.test_fuzz_forms import fuzz, posts

FORMS = {
    "messages": ({"body": "Hello"}, Message),
    "activities": (
        {"kind": "translation", "date": date.today().isoformat(), "hours": "1", "note": "x"},
        Activity,
    ),
    "checkins": ({"satisfaction": "4", "hours": "10", "blockers": ""}, CheckIn),
}


@pytest.fixture
def active(app: Flask, pair: Any) -> Any:
    from datetime import UTC, datetime, timedelta

    when = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    kickoff.offer(pair.match_id, pair.sme, {"slots": [{"starts_at": when, "place": "Zoom"}]})
    kickoff.confirm(pair.match_id, pair.student, {"slot": 0})
    db.session.commit()
    client = app.test_client()
    assert (
        client.post("/login", data={"email": pair.student.email, "password": PASSWORD}).status_code
        == 302
    )
    return pair, client


def _rows(model: Any) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize("form", sorted(FORMS))
@fuzz(25)
@given(data=posts({}, ["body", "kind", "date", "hours", "note", "satisfaction", "blockers", "id"]))
def test_fuzz_the_match_forms(active: Any, form: str, data: Any) -> None:
    pair, client = active
    base, model = FORMS[form]
    for key, value in base.items():
        if key not in data:
            data.add(key, value)
    before = _rows(model)
    response = client.post(f"/matches/{pair.match_id}/{form}", data=data)
    assert response.status_code < 500
    if response.status_code != 302:
        assert response.status_code in (400, 409, 413, 422, 429), response.status_code
        assert _rows(model) == before


@fuzz(40)
@given(data=posts({"phone": "+82 10 1234 5678"}, ["phone", "messenger", "address", "user_id"]))
def test_fuzz_contact_details(active: Any, data: Any) -> None:
    pair, client = active
    response = client.post("/matches/contact", data=data)
    assert response.status_code < 500
    db.session.rollback()
    details = db.session.get(ContactDetails, pair.student.id)
    if response.status_code == 302:
        assert details is not None
        assert all(ord(ch) >= 32 for ch in (details.phone or "") + (details.messenger or ""))
    else:
        assert response.status_code in (400, 413, 422)
