"""The coordinators' lists of students and SMEs, with filters."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar, Self

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from app import schemas, taxonomy
from app.extensions import db
from app.models import (
    SME,
    AuditEvent,
    Match,
    MatchStatus,
    SMECode,
    Student,
    StudentCode,
    StudentLanguage,
)
from app.services.clock import KST
from app.services.errors import InvalidInput
from app.services.validation import validate

PER_PAGE = 25


@dataclass(frozen=True)
class SMEFilters:
    language: str = ""
    market: str = ""
    industry: str = ""
    region: str = ""
    q: str = ""

    # Which taxonomy each coded filter takes its values from.
    KINDS: ClassVar[dict[str, str]] = {
        "language": "languages",
        "market": "countries",
        "industry": "industries",
        "region": "regions",
    }

    @classmethod
    def from_args(cls, args: Any) -> Self:
        codes = {name: _code(args, name, kind) for name, kind in cls.KINDS.items()}
        return cls(**codes, q=_search_text(args))


@dataclass(frozen=True)
class StudentFilters(SMEFilters):
    nationality: str = ""

    KINDS: ClassVar[dict[str, str]] = {**SMEFilters.KINDS, "nationality": "countries"}


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


def student_query(filters: StudentFilters) -> Select[Student]:
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


def sme_query(filters: SMEFilters) -> Select[SME]:
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
        pattern = _like(filters.q)
        query = query.where(
            or_(
                func.lower(SME.company_name_ko).like(pattern, escape="\\"),
                func.lower(SME.company_name_en).like(pattern, escape="\\"),
            )
        )
    return query.order_by(SME.created_at.desc(), SME.id.desc())


def page_of(query: Select[Any], page: int, per_page: int = PER_PAGE) -> Pagination:
    """One page of an ordered query, and the total: every paged list, pages and API alike."""
    return db.paginate(query, page=page, per_page=per_page, max_per_page=100, error_out=False)


def seats() -> int:
    """The places SMEs offer in all (the dashboard; its other counts come with the statistics)."""
    return db.session.scalar(select(func.coalesce(func.sum(SME.capacity), 0))) or 0


# --- matches -------------------------------------------------------------------------------------

MATCH_STATUSES = tuple(status.value for status in MatchStatus)
# Not a stored status: proposals both sides accepted, waiting for a coordinator (the queue).
READY = "ready"


def ready_conditions() -> tuple[Any, ...]:
    """A proposal both the student and the SME accepted: only a coordinator can move it on."""
    return (
        Match.status == MatchStatus.PROPOSED,
        Match.student_decision == "accept",
        Match.sme_decision == "accept",
    )


# Oldest first: the second acceptance is the proposal's last change before a coordinator acts,
# so `updated_at` is when it started waiting.
READY_ORDER = (Match.updated_at.asc(), Match.id.asc())


def ready_count() -> int:
    """How many proposals wait for a coordinator (one COUNT, for the menu and the dashboard)."""
    return db.session.scalar(select(func.count(Match.id)).where(*ready_conditions())) or 0


@dataclass(frozen=True)
class MatchFilters:
    """Market, industry and region are the SME's: what the pair would work on, and where."""

    status: str = ""
    cycle: str = ""
    market: str = ""
    industry: str = ""
    region: str = ""
    score_min: str = ""

    @classmethod
    def from_args(cls, args: Any, *, strict: bool = False) -> MatchFilters:
        """The query string's filters, by app.schemas.MatchFilterIn's rules (the API's too).

        Strictly, a broken filter raises InvalidInput naming it (the API's 422); otherwise it
        is left out and filters nothing, as the coordinators' page always did."""
        data = {name: args.get(name) for name in cls.__dataclass_fields__ if args.get(name)}
        try:
            return cls.of(validate(schemas.MatchFilterIn, data, strict=False))
        except InvalidInput as error:
            if strict:
                raise
            broken = {field.split(".")[0] for field in error.fields}
            kept = {name: value for name, value in data.items() if name not in broken}
            return cls.of(validate(schemas.MatchFilterIn, kept, strict=False))

    @classmethod
    def of(cls, valid: schemas.MatchFilterIn) -> MatchFilters:
        """From filters already checked (the API's query model includes them)."""
        return cls(
            status=valid.status or "",
            cycle=str(valid.cycle or ""),
            market=valid.market or "",
            industry=valid.industry or "",
            region=valid.region or "",
            score_min="" if valid.score_min is None else str(round(valid.score_min, 3)),
        )


def match_query(filters: MatchFilters, matches: Select[Match] | None = None) -> Select[Match]:
    """`matches` (every match, or what one reader may see: app.services.visibility) narrowed
    by `filters`, with their people, in the lists' order."""
    query = (select(Match) if matches is None else matches).options(
        joinedload(Match.student), joinedload(Match.sme)
    )
    if filters.status == READY:
        query = query.where(*ready_conditions())
    elif filters.status:
        query = query.where(Match.status == filters.status)
    if filters.cycle:
        query = query.where(Match.cycle_id == int(filters.cycle))
    if filters.region:
        query = query.where(exists().where(SME.id == Match.sme_id, SME.region == filters.region))
    for kind, code in (("market", filters.market), ("industry", filters.industry)):
        if code:
            query = query.where(
                exists().where(
                    SMECode.sme_id == Match.sme_id, SMECode.kind == kind, SMECode.code == code
                )
            )
    if filters.score_min:
        query = query.where(Match.score >= float(filters.score_min))
    if filters.status == READY:
        return query.order_by(*READY_ORDER)
    return query.order_by(Match.created_at.desc(), Match.id.desc())


# --- the audit log -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""
    actor_id: str = ""
    target_type: str = ""
    target_id: str = ""
    date_from: str = ""
    date_to: str = ""

    @classmethod
    def from_args(cls, args: Any) -> tuple[AuditFilters, InvalidInput | None]:
        """The filters, and the refusal of the fields typed wrong (those filter nothing)."""
        errors: dict[str, str] = {}

        def word(name: str) -> str:
            value = (args.get(name) or "").strip().lower()[:50]
            return value if all(ch.isalnum() or ch in "_-." for ch in value) else ""

        def number(name: str) -> str:
            value = (args.get(name) or "").strip()
            if value and not (value.isascii() and value.isdigit() and len(value) < 10):
                errors[name] = "int_parsing"
                return ""
            return value

        def day(name: str) -> str:
            value = (args.get(name) or "").strip()
            if not value:
                return ""
            try:
                if len(value) != 10:  # fromisoformat also takes 20240101 and week dates
                    raise ValueError(value)
                return date.fromisoformat(value).isoformat()
            except ValueError:
                errors[name] = "date_parsing"
                return ""

        filters = cls(
            action=word("action"),
            actor_id=number("actor_id"),
            target_type=word("target_type"),
            target_id=number("target_id"),
            date_from=day("date_from"),
            date_to=day("date_to"),
        )
        refused = {name: [{"type": code, "ctx": {}}] for name, code in errors.items()}
        return filters, InvalidInput(refused) if refused else None


def audit_query(filters: AuditFilters) -> Select[AuditEvent]:
    """Newest first. Dates are whole days in Korea time (as the page shows every time), both
    ends included."""
    query = select(AuditEvent)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.actor_id:
        query = query.where(AuditEvent.actor_id == int(filters.actor_id))
    if filters.target_type:
        query = query.where(AuditEvent.target_type == filters.target_type)
    if filters.target_id:
        query = query.where(AuditEvent.target_id == int(filters.target_id))
    if filters.date_from and date.fromisoformat(filters.date_from) > date.min:
        start = datetime.combine(date.fromisoformat(filters.date_from), time.min, tzinfo=KST)
        query = query.where(AuditEvent.at >= start.astimezone(UTC))
    if filters.date_to and date.fromisoformat(filters.date_to) < date.max:
        end = datetime.combine(date.fromisoformat(filters.date_to), time.min, tzinfo=KST)
        query = query.where(AuditEvent.at < (end + timedelta(days=1)).astimezone(UTC))
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def audit_actions() -> list[str]:
    return list(
        db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    )
