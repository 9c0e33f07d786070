"""The busiest pages send a fixed number of SQL statements, however many rows they show.

Each page is rendered with few rows and with many, counting the statements the request sends
(a SQLAlchemy `before_cursor_execute` listener on the engine); the counts must be equal, so no
page runs a query per row (the people of each match, their languages and codes, are loaded with
the matches). Figures under load: `scripts/load_pages.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from kexport_support import REASONS, business_number
from sqlalchemy import event

from app.extensions import db
from app.models import Match, MatchStatus, User


@contextmanager
def counted() -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _programme(make_student: Any, make_sme: Any, rows: int) -> tuple[User, User]:
    """One SME with `rows` candidates (some answered, one approved); one student with `rows`
    proposals from as many SMEs."""
    sme = make_sme(
        capacity=20, email=f"sme{rows}@example.org", business_number=business_number(rows)
    )
    students = [
        make_student(email=f"s{rows}-{i}@example.org", name=f"Student {i}") for i in range(rows)
    ]
    others = [
        make_sme(email=f"e{rows}-{i}@example.org", business_number=business_number(100 * rows + i))
        for i in range(rows)
    ]
    for i in range(rows):
        status = MatchStatus.APPROVED if i == 1 else MatchStatus.PROPOSED
        for student, company in ((students[i], sme), (students[0], others[i])):
            if i == 0 and company is not sme:
                continue
            db.session.add(
                Match(
                    student_id=student.student.id,
                    sme_id=company.sme.id,
                    status=status,
                    score=0.5 + i / 100,
                    student_view=0.5,
                    sme_view=0.5,
                    reasons=REASONS,
                    sme_decision="accept" if i % 3 == 2 else None,
                )
            )
    db.session.commit()
    return sme, students[0]


PAGES = [
    ("sme", "/sme/candidates"),
    ("sme", "/sme/candidates?language=vi&market=VN&topik=2&region=seoul&sort=topik"),
    ("sme", "/sme/candidates?shortlisted=1&sort=name"),
    ("sme", "/sme/"),
    ("student", "/student/proposals"),
    ("student", "/student/"),
    ("coordinator", "/coordinator/matches"),
    ("coordinator", "/coordinator/"),
]


@pytest.mark.parametrize(("role", "url"), PAGES)
def test_statements_per_page_do_not_grow_with_rows(
    app: Flask,
    login_as: Any,
    make_student: Any,
    make_sme: Any,
    coordinator: User,
    role: str,
    url: str,
) -> None:
    counts = []
    for rows in (2, 9):
        sme, student = _programme(make_student, make_sme, rows)
        who = {"sme": sme, "student": student, "coordinator": coordinator}[role]
        client = app.test_client()
        login_as(who, target=client)
        client.get(url)  # the first request of a session may record a login
        db.session.expire_all()
        with counted() as statements:
            response = client.get(url)
        assert response.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], f"{url}: {counts[0]} statements with 2 rows, {counts[1]} with 9"
