"""Issue 13 item 4: the migration that splits an SME's texts into Korean and English keeps every
text, in the field of its script, and its downgrade puts them back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from app import create_app
from app.extensions import db

BEFORE = "801f364b110e"
SPLIT = "5c0e13b1a4f2"


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'split.sqlite3'}",
            "UPLOAD_DIR": str(tmp_path / "uploads"),
        }
    )
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def _sme(connection, n: int, name: str, products: str, description: str) -> None:
    connection.execute(
        text(
            "INSERT INTO users (id, email, password_hash, role, locale, created_at, session_token)"
            " VALUES (:id, :email, 'x', 'sme', 'ko', '2026-01-01 00:00:00', :token)"
        ),
        {"id": n, "email": f"s{n}@example.org", "token": f"t{n}"},
    )
    connection.execute(
        text(
            "INSERT INTO smes (id, user_id, contact_name, company_name, business_number, "
            "products, region, capacity, exporting, min_topik, hours_needed, description, "
            "created_at, updated_at) VALUES (:id, :id, '김', :name, :bn, :products, 'seoul', "
            "1, 0, 0, 0, :description, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        ),
        {
            "id": n,
            "name": name,
            "bn": f"{n:010d}",
            "products": products,
            "description": description,
        },
    )


def test_texts_move_to_the_field_of_their_script_and_back(scratch: Flask) -> None:
    upgrade(revision=BEFORE)
    columns = {row[1] for row in db.session.execute(text("PRAGMA table_info(users)"))}
    assert {"session_token", "locale"} <= columns  # the row built below fits this revision
    db.session.commit()
    with db.engine.begin() as connection:
        _sme(connection, 1, "(주)한빛코스메틱", "Sunscreen, sheet masks", "")
        _sme(connection, 2, "Glow Lab", "선크림 SPF50", "베트남 진출을 준비합니다")
        _sme(connection, 3, "2030", "Nước mắm", "")  # no letters; Vietnamese (Latin letters)
        # Recreating `smes` on SQLite would cascade to its codes: they must survive.
        connection.execute(
            text("INSERT INTO sme_codes (sme_id, kind, code) VALUES (1, 'market', 'VN')")
        )
    upgrade(revision=SPLIT)
    rows = {
        row.id: row
        for row in db.session.execute(
            text(
                "SELECT id, company_name_ko, company_name_en, products_ko, products_en, "
                "description_ko, description_en FROM smes"
            )
        )
    }
    assert (rows[1].company_name_ko, rows[1].company_name_en) == ("(주)한빛코스메틱", None)
    assert (rows[1].products_ko, rows[1].products_en) == (None, "Sunscreen, sheet masks")
    assert (rows[1].description_ko, rows[1].description_en) == (None, None)
    assert (rows[2].company_name_ko, rows[2].company_name_en) == (None, "Glow Lab")
    assert (rows[2].products_ko, rows[2].description_ko) == (
        "선크림 SPF50",
        "베트남 진출을 준비합니다",
    )
    assert (rows[3].company_name_ko, rows[3].products_en) == ("2030", "Nước mắm")
    assert db.session.execute(text("SELECT count(*) FROM sme_codes")).scalar() == 1
    db.session.commit()
    downgrade(revision=BEFORE)
    back = {
        row.id: tuple(row[1:])
        for row in db.session.execute(
            text("SELECT id, company_name, products, description FROM smes ORDER BY id")
        )
    }
    assert back == {
        1: ("(주)한빛코스메틱", "Sunscreen, sheet masks", ""),
        2: ("Glow Lab", "선크림 SPF50", "베트남 진출을 준비합니다"),
        3: ("2030", "Nước mắm", ""),
    }
    db.session.commit()
    upgrade()
