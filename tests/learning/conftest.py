"""Fixtures for learned weights: answers simulated through the demo's hidden preferences."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import User
from app.services import demo

# The API client helper lives with the API tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))


@pytest.fixture
def answered(app: Flask, coordinator: User) -> dict[str, int]:
    """A small programme after four cycles of answers from hidden true preferences."""
    demo.seed(students=60, smes=30, seed=3)
    db.session.commit()
    return demo.simulate_answers(cycles=4, seed=3)


@pytest.fixture
def coord_client(client: FlaskClient, coordinator: User, login_as: Any) -> FlaskClient:
    login_as(coordinator)
    return client
