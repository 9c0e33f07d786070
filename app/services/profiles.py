"""Profiles of students and SMEs: apply validated input to rows; export a person's data."""

from __future__ import annotations

from dataclasses import dataclass
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
        existing = have.get(code)
        if existing is None:
            student.language_rows.append(StudentLanguage(code=code, level=level, position=position))
        else:
            existing.level, existing.position = level, position
    _sync_codes(student.code_rows, "market", form.markets, StudentCode)
    _sync_codes(student.code_rows, "industry", form.industries, StudentCode)
    _sync_codes(student.code_rows, "region", form.regions, StudentCode)


def apply_sme_profile(sme: SME, form: schemas.SMEProfileIn) -> None:
    for field in (
        "contact_name",
        "company_name_ko",
        "company_name_en",
        "products_ko",
        "products_en",
        "region",
        "capacity",
        "exporting",
        "min_topik",
        "ksic_section",
        "hours_needed",
        "period_start",
        "period_end",
        "description_ko",
        "description_en",
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
        # The reader's language (the other as a fallback), as before both were kept.
        "company_name": str(sme.company_name),
        "company_name_ko": sme.company_name_ko,
        "company_name_en": sme.company_name_en,
        "business_number": sme.business_number,
        "industries": sme.industries,
        "products": str(sme.products),
        "products_ko": sme.products_ko,
        "products_en": sme.products_en,
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
        "description": str(sme.description),
        "description_ko": sme.description_ko,
        "description_en": sme.description_en,
    }


# --- how complete a profile is ----------------------------------------------------------------


@dataclass(frozen=True)
class Completeness:
    """The optional parts of a profile that help matching, which are filled in, and the share.

    `missing` keys are worded and linked by templates/_partials/completeness.html."""

    done: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def percent(self) -> int:
        total = len(self.done) + len(self.missing)
        return round(100 * len(self.done) / total) if total else 100


def _completeness(parts: dict[str, bool]) -> Completeness:
    return Completeness(
        done=tuple(k for k, ok in parts.items() if ok),
        missing=tuple(k for k, ok in parts.items() if not ok),
    )


def student_completeness(student: Student) -> Completeness:
    """A CV, an introduction, the period they are free, their studies and visa dates: none is
    required to apply, each makes better (and legal) proposals."""
    return _completeness(
        {
            "cv": student.cv_stored_name is not None,
            "bio": bool((student.bio or "").strip()),
            "availability": bool(student.available_from and student.available_until),
            "studies": bool(student.degree_level and student.year_of_study),
            "visa_dates": bool(student.expected_graduation and student.in_korea_since),
        }
    )


def sme_completeness(sme: SME) -> Completeness:
    """The name and products in both languages (each reader gets their own), a description, the
    KSIC section (visa rules) and the project period."""
    return _completeness(
        {
            "name_both": bool(sme.company_name_ko and sme.company_name_en),
            "products_both": bool(sme.products_ko and sme.products_en),
            "description": bool(sme.description_ko or sme.description_en),
            "ksic_section": bool(sme.ksic_section),
            "period": bool(sme.period_start and sme.period_end),
        }
    )
