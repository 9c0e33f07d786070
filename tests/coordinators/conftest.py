"""Fixtures for the coordinators' pages: a logged-in coordinator, and a small known programme."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from kexport_support import business_number
from sqlalchemy import select

from app.extensions import db
from app.models import Match, User
from app.services import cycles


@pytest.fixture
def bn() -> Any:
    return business_number


@pytest.fixture
def coord_client(client: FlaskClient, coordinator: User, login_as: Any) -> FlaskClient:
    login_as(coordinator)
    return client


@pytest.fixture
def other_clients(app: Any, student: User, sme: User, login_as: Any) -> dict[str, FlaskClient]:
    clients = {}
    for role, user in (("student", student), ("sme", sme)):
        c = app.test_client()
        login_as(user, target=c)
        clients[role] = c
    return clients


@pytest.fixture
def programme(make_student: Any, make_sme: Any) -> dict[str, Any]:
    """Three students (VN, VN, TH) and two SMEs targeting Vietnam and Thailand; one cycle run."""
    students = [
        make_student(email="s1@example.org", name="Nguyen Van An"),
        make_student(email="s2@example.org", name="Tran Thi Binh"),
        make_student(
            email="s3@example.org",
            name="Somchai Thai",
            nationality="TH",
            languages=[{"code": "th", "level": "native"}],
            markets=["TH"],
        ),
    ]
    smes = [
        make_sme(
            email="a@sme.example", company_name="가나화장품", business_number=business_number(1)
        ),
        make_sme(
            email="b@sme.example",
            company_name="다라식품",
            business_number=business_number(2),
            industries=["processed_food"],
            region="busan",
        ),
    ]
    cycle = cycles.run_cycle()
    db.session.commit()
    matches = list(db.session.scalars(select(Match).order_by(Match.id)))
    return {"students": students, "smes": smes, "cycle": cycle, "matches": matches}
