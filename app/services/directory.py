"""The coordinators' lists of students and SMEs, with filters."""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar, NamedTuple, Self

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import (
    Float,
    Integer,
    Select,
    String,
    Text,
    bindparam,
    cast,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.orm import joinedload, selectinload

from app import schemas, taxonomy
from app.bilingual import LocalizedText, pick
from app.extensions import db
from app.models import (
    SME,
    AuditEvent,
    Match,
    MatchCycle,
    MatchStatus,
    SMECode,
    Student,
    StudentCode,
    StudentLanguage,
)
from app.models.matching import StoredReasons
from app.services.clock import KST
from app.services.errors import InvalidInput
from app.services.plain_reads import read
from app.services.plain_reads import rows as plain_rows
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


@functools.cache
def _seats_query() -> Select[int]:
    return select(func.coalesce(func.sum(SME.capacity), 0))


def seats() -> int:
    """The places SMEs offer in all (the dashboard; its other counts come with the statistics)."""
    return read(_seats_query()).scalar() or 0


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


@functools.cache
def _ready_count_query() -> Select[int]:
    """Built once per process: every coordinator's page asks it, for the menu."""
    return select(func.count(Match.id)).where(*ready_conditions())


def ready_count() -> int:
    """How many proposals wait for a coordinator (one COUNT, for the menu and the dashboard)."""
    return plain_rows(_ready_count_query())[0][0] or 0  # COUNT: one row


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
        query = query.where(_sme_in_region(filters.region))
    for kind, code in (("market", filters.market), ("industry", filters.industry)):
        if code:
            query = query.where(_match_sme_has(kind, code))
    if filters.score_min:
        query = query.where(Match.score >= float(filters.score_min))
    if filters.status == READY:
        return query.order_by(*READY_ORDER)
    return query.order_by(Match.created_at.desc(), Match.id.desc())


def _sme_in_region(region: Any) -> Any:
    return exists().where(SME.id == Match.sme_id, SME.region == region)


def _match_sme_has(kind: str, code: Any) -> Any:
    return exists().where(
        SMECode.sme_id == Match.sme_id, SMECode.kind == kind, SMECode.code == code
    )


# --- the coordinators' matches list as plain rows ----------------------------------------------
#
# The list shows 25 matches a page; loading them as ORM objects (`match_query`: every column of
# the match, its student and its SME, ~75 objects with their identity-map entries and decoded
# JSON) cost more CPU than the rest of the page's data (issue 14). It only reads, so the page
# loads exactly the columns it shows into the plain rows below (`coordinators/matches.html`
# reads nothing else); the API and the ready queue keep `match_query`.


@dataclass(slots=True, frozen=True)
class ListedStudent:
    name: str
    nationality: str


@dataclass(slots=True, frozen=True)
class ListedSME:
    company_name_ko: str | None
    company_name_en: str | None
    region: str

    @property
    def company_name(self) -> LocalizedText:
        """In the reader's language, else the other one (as `SME.company_name`)."""
        return pick(self.company_name_ko, self.company_name_en)


@dataclass(slots=True, eq=False)
class ListedMatch(StoredReasons):
    """A match as the list shows it (the same names as `Match`'s). `reasons_json` is the stored
    text, decoded the first time `reasons` is read."""

    id: int
    cycle_id: int | None
    status: MatchStatus
    score: float
    reasons_json: str
    student_decision: str | None
    sme_decision: str | None
    student: ListedStudent
    sme: ListedSME
    _reasons: list[dict[str, Any]] | None = None

    @property
    def key(self) -> tuple[Any, ...]:
        """Everything the list shows of the row: its rendered HTML is kept under this key (with
        the reader's language), so a changed match is a new key, never a stale row."""
        student, sme = self.student, self.sme
        return (
            self.id,
            self.cycle_id,
            str(self.status),
            self.score,
            self.reasons_json,
            self.student_decision,
            self.sme_decision,
            student.name,
            student.nationality,
            sme.company_name_ko,
            sme.company_name_en,
            sme.region,
        )


# Which filters a list uses decides the statement's shape; their values are bound parameters.
_SHAPE = ("status", "cycle", "region", "market", "industry", "score_min")


@functools.cache
def _listed_statements(
    shape: tuple[str, ...],
) -> tuple[Select[*tuple[Any, ...]], Select[int]]:
    """The page's rows and the count for one combination of filters (`shape`: the names in use,
    "ready" for the queue's condition), built once per process: building them cost about as
    much CPU as running them (issue 14). Values are bound at execution; the limit and offset are
    written in at execution."""
    conditions: list[Any] = []
    if "ready" in shape:
        conditions.extend(ready_conditions())
    elif "status" in shape:
        conditions.append(Match.status == bindparam("status", type_=Match.status.type))
    if "cycle" in shape:
        conditions.append(Match.cycle_id == bindparam("cycle", type_=Integer))
    if "region" in shape:
        conditions.append(
            Match.sme_id.in_(select(SME.id).where(SME.region == bindparam("region", type_=String)))
        )
    for kind in ("market", "industry"):
        if kind in shape:
            conditions.append(_match_sme_has(kind, bindparam(kind, type_=String)))
    if "score_min" in shape:
        conditions.append(Match.score >= bindparam("score_min", type_=Float))
    order = READY_ORDER if "ready" in shape else (Match.created_at.desc(), Match.id.desc())
    count = select(func.count(Match.id)).where(*conditions)
    rows = (
        select(
            Match.id,
            Match.cycle_id,
            Match.status,
            Match.score,
            cast(Match.reasons, Text),
            Match.student_decision,
            Match.sme_decision,
            Student.name,
            Student.nationality,
            SME.company_name_ko,
            SME.company_name_en,
            SME.region,
            # How many matches the filters leave, on every row: an uncorrelated subquery, run
            # once (SQLite and PostgreSQL), instead of a statement of its own on every page
            # that has rows (issue 14). Not correlated: it counts all of them, not this row.
            count.correlate(None).scalar_subquery(),
        )
        .join(Student, Student.id == Match.student_id)
        .join(SME, SME.id == Match.sme_id)
        .where(*conditions)
        .order_by(*order)
        # Written into the statement at execution (`literal_execute`), not sent as parameters:
        # PostgreSQL cannot estimate a LIMIT or OFFSET that is a parameter (it assumes a tenth
        # of the rows), so the generic plan of a prepared statement looked dearer than every
        # custom one and it planned the rows anew on every request (0 generic, 25 custom plans
        # in `pg_prepared_statements` after 30 lists; ~0.3 ms of planning each, issue 14). With
        # both written in, each page's statement is planned once per connection.
        .limit(bindparam("limit", type_=Integer, literal_execute=True))
        .offset(bindparam("offset", type_=Integer, literal_execute=True))
    )
    return rows, count


class _ListedPagination(Pagination):
    """`page_of`'s pagination over `_listed_statements`: the same pages, plain rows as items."""

    # The total the rows carried (`_query_items`), None when there was no row to carry it.
    _total_with_rows: int | None = None

    def _query_items(self) -> list[Any]:
        rows, _ = self._query_args["statements"]
        values = {
            **self._query_args["values"],
            "limit": self.per_page,
            "offset": self._query_offset,
        }
        found = plain_rows(rows, values)
        # Every row carries the total; a page with no row counts with a statement of its own.
        self._total_with_rows = found[0][12] if found else None
        return [
            ListedMatch(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                ListedStudent(r[7], r[8]),
                ListedSME(r[9], r[10], r[11]),
            )
            # `.all()`: one fetch of every row (iterating the result fetched them one by one)
            for r in found
        ]

    def _query_count(self) -> int:
        if self._total_with_rows is not None:
            return self._total_with_rows
        _, count = self._query_args["statements"]
        return int(plain_rows(count, self._query_args["values"])[0][0] or 0)  # COUNT: one row


def listed_matches(filters: MatchFilters, page: int, per_page: int = PER_PAGE) -> Pagination:
    """One page of every match narrowed by `filters`, in `match_query`'s order, as plain rows
    (`ListedMatch`): one statement (the rows carry the total), two when the page has no row."""
    values: dict[str, Any] = {}
    shape: list[str] = []
    if filters.status == READY:
        shape.append("ready")
    for name in _SHAPE:
        value = getattr(filters, name)
        if value and not (name == "status" and value == READY):
            shape.append(name)
            values[name] = value
    if "cycle" in values:
        values["cycle"] = int(values["cycle"])
    if "score_min" in values:
        values["score_min"] = float(values["score_min"])
    return _ListedPagination(
        page=page,
        per_page=per_page,
        max_per_page=100,
        error_out=False,
        statements=_listed_statements(tuple(shape)),
        values=values,
    )


class CycleStart(NamedTuple):
    """A cycle as the matches list's cycle menu shows it."""

    id: int
    started_at: datetime


@functools.cache
def _cycle_starts_query() -> Select[*tuple[Any, ...]]:
    return (
        select(MatchCycle.id, MatchCycle.started_at)
        .order_by(MatchCycle.id.desc())
        .limit(bindparam("limit", type_=Integer))
    )


def cycle_starts(limit: int = 50) -> tuple[CycleStart, ...]:
    """The last cycles, newest first, as the matches list's menu shows them: two columns, not
    `cycles.recent_cycles`' ORM objects, and hashable (the kept list's key holds them)."""
    return tuple(CycleStart(*row) for row in plain_rows(_cycle_starts_query(), {"limit": limit}))


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
