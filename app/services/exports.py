"""CSV exports of students, SMEs and matches, with the codes of CONTRACT.md.

UTF-8 with a byte-order mark, so Excel opens Korean names correctly. Lists of codes are joined
with `;` (as the SME import reads them). A match's reasons are the one column in words, in the
exporting coordinator's language (app.services.explanations), joined with ` | `. A cell that
starts with = + - @ is prefixed with `'`, so a spreadsheet never runs a name as a formula (CSV
injection).

Two header rows (documented in the README, "CSV"): the first names each column in the reader's
language, the second keeps its code (`company_name`, `markets`...), which stays the same in every
language. Programs read the second row; the SME import reads either (and the template to fill in
has the same two rows), so a file exported here imports back as it is. Times are written in Korea
time with their offset (`2026-03-02T15:00:00+09:00`): unambiguous for programs, and the time
people in the programme expect.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app.extensions import db
from app.models import SME, Match, Student
from app.services.audit_words import decline_text
from app.services.clock import to_kst
from app.services.explanations import top_reasons

KINDS = ("students", "smes", "matches")
BOM = "\ufeff"
BATCH = 1000

STUDENT_COLUMNS = [
    "id", "email", "name", "nationality", "languages", "topik_level", "university", "major",
    "markets", "industries", "regions", "hours_per_week", "available_from", "available_until",
    "visa", "degree_level", "year_of_study", "expected_graduation", "in_korea_since", "paused",
    "created_at",
]  # fmt: skip
SME_COLUMNS = [
    "id", "email", "contact_name", "company_name", "business_number", "industries", "products",
    "markets", "languages_needed", "region", "capacity", "exporting", "min_topik", "ksic_section",
    "hours_needed", "period_start", "period_end", "description", "created_at",
    # company_name, products and description above are in the reader's language (else the
    # other); these are each language as the SME wrote it (the import reads the same columns).
    "company_name_ko", "company_name_en", "products_ko", "products_en", "description_ko",
    "description_en",
]  # fmt: skip
MATCH_COLUMNS = [
    "id", "cycle", "student_id", "student_name", "sme_id", "company_name", "score", "status",
    "student_decision", "student_reason", "sme_decision", "sme_reason", "proposed_by",
    "coordinator_note", "outcome", "created_at", "updated_at", "reasons",
]  # fmt: skip


# Every column's name for people (the codes are the second header row). One table for the three
# exports and the SME import, so a header means the same thing wherever it appears.
HEADERS = {
    "id": _l("Id"),
    "email": _l("Email"),
    "name": _l("Name"),
    "nationality": _l("Nationality"),
    "languages": _l("Languages (code:level)"),
    "topik_level": _l("TOPIK level"),
    "university": _l("University"),
    "major": _l("Major"),
    "markets": _l("Target markets"),
    "industries": _l("Industries"),
    "regions": _l("Regions"),
    "hours_per_week": _l("Hours per week"),
    "available_from": _l("Available from"),
    "available_until": _l("Available until"),
    "visa": _l("Visa"),
    "degree_level": _l("Degree level"),
    "year_of_study": _l("Year of study"),
    "expected_graduation": _l("Expected graduation"),
    "in_korea_since": _l("In Korea since"),
    "paused": _l("Paused"),
    "created_at": _l("Signed up (Korea time)"),
    "contact_name": _l("Contact person"),
    "company_name": _l("Company name"),
    "business_number": _l("Business registration number"),
    "products": _l("Products"),
    "languages_needed": _l("Languages needed"),
    "region": _l("Region"),
    "capacity": _l("Capacity"),
    "exporting": _l("Already exporting"),
    "min_topik": _l("Minimum TOPIK level"),
    "ksic_section": _l("Industry section (KSIC)"),
    "hours_needed": _l("Hours per week needed"),
    "period_start": _l("Project starts"),
    "period_end": _l("Project ends"),
    "description": _l("Description"),
    "company_name_ko": _l("Company name in Korean"),
    "company_name_en": _l("Company name in English"),
    "products_ko": _l("Products, in Korean"),
    "products_en": _l("Products, in English"),
    "description_ko": _l("About the company, in Korean"),
    "description_en": _l("About the company, in English"),
    "cycle": _l("Cycle"),
    "student_id": _l("Student id"),
    "student_name": _l("Student"),
    "sme_id": _l("Company id"),
    "score": _l("Score"),
    "status": _l("Status"),
    "student_decision": _l("Student's answer"),
    "student_reason": _l("Student's reason"),
    "sme_decision": _l("Company's answer"),
    "sme_reason": _l("Company's reason"),
    "proposed_by": _l("Proposed by"),
    "coordinator_note": _l("Coordinator's note"),
    "outcome": _l("Outcome"),
    "updated_at": _l("Last change (Korea time)"),
    "reasons": _l("Why this pair"),
}


def header_rows(columns: list[str]) -> list[list[str]]:
    """The two header rows: names in the reader's language, then the codes."""
    return [[str(HEADERS[c]) for c in columns], list(columns)]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, datetime):
        return to_kst(value).isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _month(value: date | None) -> str | None:
    return f"{value:%Y-%m}" if value else None  # as the forms and the API write a month


def _students() -> Iterator[list[Any]]:
    query = (
        select(Student)
        .options(
            joinedload(Student.user),
            selectinload(Student.language_rows),
            selectinload(Student.code_rows),
        )
        .order_by(Student.id)
    )
    for s in _batches(query):
        yield [
            s.id, s.user.email, s.name, s.nationality,
            [f"{lang['code']}:{lang['level']}" for lang in s.languages], s.topik_level,
            s.university, s.major, s.markets, s.industries, s.regions, s.hours_per_week,
            s.available_from, s.available_until, s.visa, s.degree_level, s.year_of_study,
            _month(s.expected_graduation), _month(s.in_korea_since), s.paused, s.created_at,
        ]  # fmt: skip


def _smes() -> Iterator[list[Any]]:
    query = select(SME).options(joinedload(SME.user), selectinload(SME.code_rows)).order_by(SME.id)
    for s in _batches(query):
        yield [
            s.id, s.user.email, s.contact_name, s.company_name, s.business_number, s.industries,
            s.products, s.markets, s.languages_needed, s.region, s.capacity, s.exporting,
            s.min_topik, s.ksic_section, s.hours_needed, s.period_start, s.period_end,
            s.description, s.created_at, s.company_name_ko, s.company_name_en, s.products_ko,
            s.products_en, s.description_ko, s.description_en,
        ]  # fmt: skip


def _matches() -> Iterator[list[Any]]:
    query = (
        select(Match).options(joinedload(Match.student), joinedload(Match.sme)).order_by(Match.id)
    )
    for m in _batches(query):
        yield [
            m.id, m.cycle_id, m.student_id, m.student.name, m.sme_id, m.sme.company_name,
            f"{m.score:.4f}", str(m.status), m.student_decision, decline_text(m.student_reason),
            m.sme_decision, decline_text(m.sme_reason), m.proposed_by, m.coordinator_note,
            m.outcome, m.created_at, m.updated_at,
            " | ".join(top_reasons(m.reasons or [], n=None)),
        ]  # fmt: skip


def _batches(query: Any) -> Iterable[Any]:
    """Rows in pages, so each eager load stays a bounded IN list."""
    offset = 0
    while True:
        rows = db.session.scalars(query.limit(BATCH).offset(offset)).unique().all()
        yield from rows
        if len(rows) < BATCH:
            return
        offset += BATCH


def csv_bytes(kind: str) -> tuple[bytes, int]:
    """The whole export as bytes, and how many records it holds."""
    columns, rows = {
        "students": (STUDENT_COLUMNS, _students),
        "smes": (SME_COLUMNS, _smes),
        "matches": (MATCH_COLUMNS, _matches),
    }[kind]
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(header_rows(columns))
    count = 0
    for row in rows():
        writer.writerow([_cell(v) for v in row])
        count += 1
    return out.getvalue().encode("utf-8"), count
