"""The coordinators' lists of students and SMEs, with filters."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import selectinload

from app import taxonomy
from app.extensions import db
from app.models import SME, SMECode, Student, StudentCode, StudentLanguage

PER_PAGE = 25


@dataclass(frozen=True)
class StudentFilters:
    nationality: str = ""
    language: str = ""
    market: str = ""
    industry: str = ""
    region: str = ""
    q: str = ""

    @classmethod
    def from_args(cls, args: Any) -> StudentFilters:
        return cls(
            nationality=_code(args, "nationality", "countries"),
            language=_code(args, "language", "languages"),
            market=_code(args, "market", "countries"),
            industry=_code(args, "industry", "industries"),
            region=_code(args, "region", "regions"),
            q=_search_text(args),
        )


@dataclass(frozen=True)
class SMEFilters:
    language: str = ""
    market: str = ""
    industry: str = ""
    region: str = ""
    q: str = ""

    @classmethod
    def from_args(cls, args: Any) -> SMEFilters:
        return cls(
            language=_code(args, "language", "languages"),
            market=_code(args, "market", "countries"),
            industry=_code(args, "industry", "industries"),
            region=_code(args, "region", "regions"),
            q=_search_text(args),
        )


def _search_text(args: Any) -> str:
    """The name searched for, without control characters (PostgreSQL refuses NUL in a query)."""
    text = "".join(ch for ch in args.get("q") or "" if unicodedata.category(ch) != "Cc")
    return text.strip()[:100]


def _code(args: Any, name: str, kind: str) -> str:
    """A filter value, or nothing: an unknown code filters nothing rather than failing."""
    value = (args.get(name) or "").strip()
    value = value.upper() if kind == "countries" else value.lower()
    return value if taxonomy.is_valid(kind, value) else ""


def _student_has(kind: str, code: str) -> Any:
    return exists().where(
        StudentCode.student_id == Student.id, StudentCode.kind == kind, StudentCode.code == code
    )


def _sme_has(kind: str, code: str) -> Any:
    return exists().where(SMECode.sme_id == SME.id, SMECode.kind == kind, SMECode.code == code)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def student_query(filters: StudentFilters) -> Select[tuple[Student]]:
    query = select(Student).options(
        selectinload(Student.language_rows), selectinload(Student.code_rows)
    )
    if filters.nationality:
        query = query.where(Student.nationality == filters.nationality)
    if filters.language:
        query = query.where(
            exists().where(
                StudentLanguage.student_id == Student.id, StudentLanguage.code == filters.language
            )
        )
    for kind, code in (
        ("market", filters.market),
        ("industry", filters.industry),
        ("region", filters.region),
    ):
        if code:
            query = query.where(_student_has(kind, code))
    if filters.q:
        query = query.where(func.lower(Student.name).like(_like(filters.q), escape="\\"))
    return query.order_by(Student.created_at.desc(), Student.id.desc())


def sme_query(filters: SMEFilters) -> Select[tuple[SME]]:
    query = select(SME).options(selectinload(SME.code_rows))
    if filters.region:
        query = query.where(SME.region == filters.region)
    for kind, code in (
        ("language", filters.language),
        ("market", filters.market),
        ("industry", filters.industry),
    ):
        if code:
            query = query.where(_sme_has(kind, code))
    if filters.q:
        query = query.where(func.lower(SME.company_name).like(_like(filters.q), escape="\\"))
    return query.order_by(SME.created_at.desc(), SME.id.desc())


def page_of(query: Select[Any], page: int, per_page: int = PER_PAGE) -> Pagination:
    return db.paginate(query, page=page, per_page=per_page, max_per_page=100, error_out=False)


def counts() -> dict[str, int]:
    return {
        "students": db.session.scalar(select(func.count(Student.id))) or 0,
        "smes": db.session.scalar(select(func.count(SME.id))) or 0,
        "seats": db.session.scalar(select(func.coalesce(func.sum(SME.capacity), 0))) or 0,
        "exporting": db.session.scalar(select(func.count(SME.id)).where(SME.exporting)) or 0,
    }
