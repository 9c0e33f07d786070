"""The API as its clients see it: a bearer token per person, JSON in and out."""

from __future__ import annotations

from typing import Any

import pytest
from api_support import Api, token_for
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import Match, User
from app.services import cycles


@pytest.fixture
def anon(app: Flask) -> Api:
    return Api(app.test_client())


@pytest.fixture
def as_user(app: Flask) -> Any:
    """as_user(user) → an Api client carrying a fresh token of that user."""

    def make(user: User) -> Api:
        return Api(app.test_client(), token_for(user))

    return make


@pytest.fixture
def proposal(student: User, sme: User) -> Match:
    """The student proposed to the SME by a cycle."""
    cycles.run_cycle()
    match = db.session.scalar(select(Match))
    assert match is not None
    return match
