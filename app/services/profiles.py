"""Profiles of students and SMEs: apply validated input to rows; export a person's data."""

from __future__ import annotations

from datetime import date
from typing import Any

from app import schemas
from app.extensions import db
from app.models import SME, SMECode, Student, StudentCode, StudentLanguage, User
from app.services import audit
from app.services.validation import validate


def _sync_codes(rows: list[Any], kind: str, wanted: list[str], make: Any) -> None:
    """Make `rows` of `kind` hold exactly `wanted`, touching only what changed.

    (Clearing and re-adding would insert the same primary key before deleting it.)"""
    have = {row.code: row for row in rows if row.kind == kind}
    for code, row in have.items():
        if code not in wanted:
            rows.remove(row)
    for code in wanted:
        if code not in have:
            rows.append(make(kind=kind, code=code))


def apply_student_profile(student: Student, form: schemas.StudentProfileIn) -> None:
    for field in (
        "name",
        "nationality",
        "topik_level",
        "university",
        "major",
        "hours_per_week",
        "available_from",
        "available_until",
        "visa",
        "degree_level",
        "year_of_study",
        "expected_graduation",
        "in_korea_since",
        "bio",
    ):
        setattr(student, field, getattr(form, field))
    have = {row.code: row for row in student.language_rows}
    wanted = {skill.code: (position, skill.level) for position, skill in enumerate(form.languages)}
    for code, row in have.items():
        if code not in wanted:
            student.language_rows.remove(row)
    for code, (position, level) in wanted.items():
        row = have.get(code)
        if row is None:
            student.language_rows.append(StudentLanguage(code=code, level=level, position=position))
        else:
            row.level, row.position = level, position
    _sync_codes(student.code_rows, "market", form.markets, StudentCode)
    _sync_codes(student.code_rows, "industry", form.industries, StudentCode)
    _sync_codes(student.code_rows, "region", form.regions, StudentCode)


def apply_sme_profile(sme: SME, form: schemas.SMEProfileIn) -> None:
    for field in (
        "contact_name",
        "company_name",
        "products",
        "region",
        "capacity",
        "exporting",
        "min_topik",
        "ksic_section",
        "hours_needed",
        "period_start",
        "period_end",
        "description",
    ):
        setattr(sme, field, getattr(form, field))
    _sync_codes(sme.code_rows, "industry", form.industries, SMECode)
    _sync_codes(sme.code_rows, "market", form.markets, SMECode)
    _sync_codes(sme.code_rows, "language", form.languages_needed, SMECode)


def update_student(user: User, data: dict[str, Any]) -> Student:
    assert user.student is not None
    form = validate(schemas.StudentProfileIn, data)
    apply_student_profile(user.student, form)
    audit.record("profile_updated", actor=user, target=user.student)
    db.session.flush()
    return user.student


def update_sme(user: User, data: dict[str, Any]) -> SME:
    assert user.sme is not None
    form = validate(schemas.SMEProfileIn, data)
    apply_sme_profile(user.sme, form)
    audit.record("profile_updated", actor=user, target=user.sme)
    db.session.flush()
    return user.sme


def _year_month(value: date | None) -> str | None:
    return f"{value:%Y-%m}" if value else None


def student_dict(student: Student) -> dict[str, Any]:
    return {
        "id": student.id,
        "name": student.name,
        "nationality": student.nationality,
        "languages": student.languages,
        "topik_level": student.topik_level,
        "university": student.university,
        "major": student.major,
        "markets": student.markets,
        "industries": student.industries,
        "regions": student.regions,
        "hours_per_week": student.hours_per_week,
        "available_from": student.available_from.isoformat() if student.available_from else None,
        "available_until": student.available_until.isoformat() if student.available_until else None,
        "visa": student.visa,
        "degree_level": student.degree_level,
        "year_of_study": student.year_of_study,
        "expected_graduation": _year_month(student.expected_graduation),
        "in_korea_since": _year_month(student.in_korea_since),
        "bio": student.bio,
        "paused": student.paused,
        "has_cv": student.cv_stored_name is not None,
    }


def sme_dict(sme: SME) -> dict[str, Any]:
    return {
        "id": sme.id,
        "contact_name": sme.contact_name,
        "company_name": sme.company_name,
        "business_number": sme.business_number,
        "industries": sme.industries,
        "products": sme.products,
        "markets": sme.markets,
        "languages_needed": sme.languages_needed,
        "region": sme.region,
        "capacity": sme.capacity,
        "exporting": sme.exporting,
        "min_topik": sme.min_topik,
        "ksic_section": sme.ksic_section,
        "hours_needed": sme.hours_needed,
        "period_start": sme.period_start.isoformat() if sme.period_start else None,
        "period_end": sme.period_end.isoformat() if sme.period_end else None,
        "description": sme.description,
    }
