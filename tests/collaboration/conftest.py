"""An approved match, its two people and a coordinator, made through the services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from app.extensions import db
from app.models import Match, User
from app.services import decisions


@dataclass
class Pair:
    student: User
    sme: User
    coordinator: User
    match_id: int
    outsider_student: User
    outsider_sme: User

    @property
    def match(self) -> Match:
        match = db.session.get(Match, self.match_id)
        assert match is not None
        return match


def make_pair(make_student: Any, make_sme: Any, coordinator: User, *, approve: bool) -> Pair:
    student = make_student(email="linh@example.org")
    sme = make_sme(email="export@hanbit.example")
    other_student = make_student(email="other@example.org", name="Other Student")
    other_sme = make_sme(
        email="other@sme.example", company_name="다른회사", business_number="124-81-00998"
    )
    match = decisions.pair(student.student.id, sme.sme.id, coordinator)
    db.session.commit()
    if approve:
        decisions.decide(match.id, student, "accept")
        decisions.decide(match.id, sme, "accept")
        decisions.approve(match.id, coordinator)
        db.session.commit()
    return Pair(student, sme, coordinator, match.id, other_student, other_sme)


@pytest.fixture
def pair(app: Flask, make_student: Any, make_sme: Any, coordinator: User) -> Pair:
    return make_pair(make_student, make_sme, coordinator, approve=True)


@pytest.fixture
def proposed_pair(app: Flask, make_student: Any, make_sme: Any, coordinator: User) -> Pair:
    return make_pair(make_student, make_sme, coordinator, approve=False)
