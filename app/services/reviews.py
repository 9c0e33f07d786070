"""What an SME and a student see of their proposals, and the little they can change about them."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, Text, bindparam, cast, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app import taxonomy
from app.bilingual import LocalizedText
from app.extensions import db
from app.models import (
    SME,
    Match,
    MatchStatus,
    SMECode,
    Student,
    StudentCode,
    StudentLanguage,
    User,
    utcnow,
)
from app.models.matching import StoredReasons
from app.models.profiles import SMEDerivations, StudentDerivations
from app.services import audit, match_settings, visibility
from app.services.cycle_lock import hold_off_cycle_saves
from app.services.decisions import places_taken, places_taken_query, withdraw_pending_for_student
from app.services.errors import InvalidInput
from app.services.plain_reads import rows as plain_rows

# Above this many candidates waiting for an answer, the page offers filters and sorting.
FILTER_FROM = 5
SORTS = ("fit", "topik", "name", "newest")


@dataclass(frozen=True)
class CandidateFilters:
    """What an SME narrows its waiting candidates to (the page's query string)."""

    language: str = ""  # speaks it (ISO 639-1)
    market: str = ""  # knows it (ISO 3166-1: nationality or a market listed)
    topik: int = 0  # at least this TOPIK level
    region: str = ""  # can work there
    shortlisted: bool = False
    sort: str = "fit"  # fit (shortlisted first, then score), topik, name, newest

    @property
    def active(self) -> bool:
        return self != CandidateFilters(sort=self.sort)

    def keeps(self, match: MatchRow) -> bool:
        student = match.student
        return (
            (not self.language or any(r.code == self.language for r in student.language_rows))
            and (
                not self.market
                or self.market == student.nationality
                or self.market in student.markets
            )
            and student.topik_level >= self.topik
            and (not self.region or self.region in student.regions)
            and (not self.shortlisted or match.sme_shortlisted)
        )


def candidate_filters(args: Mapping[str, str]) -> CandidateFilters:
    """Read the filters from a query string. Raises InvalidInput naming each field that is not
    a code of the taxonomy (or a TOPIK level 0-6, or a known sort)."""
    errors: dict[str, list[dict[str, Any]]] = {}

    def code(name: str, kind: str) -> str:
        value = (args.get(name) or "").strip()
        if value and not taxonomy.is_valid(kind, value):
            errors[name] = [{"type": "unknown_code", "ctx": {"code": value[:20]}}]
            return ""
        return value

    language, market = code("language", "languages"), code("market", "countries")
    region = code("region", "regions")
    raw_topik = (args.get("topik") or "0").strip() or "0"
    topik = int(raw_topik) if raw_topik.isdigit() and int(raw_topik) <= 6 else -1
    if topik < 0:
        errors["topik"] = [{"type": "less_than_equal", "ctx": {"le": 6}}]
        topik = 0
    sort = (args.get("sort") or "fit").strip() or "fit"
    if sort not in SORTS:
        errors["sort"] = [{"type": "unknown_code", "ctx": {"code": sort[:20]}}]
        sort = "fit"
    if errors:
        raise InvalidInput(errors)
    return CandidateFilters(
        language=language,
        market=market,
        topik=topik,
        region=region,
        shortlisted=args.get("shortlisted") in ("1", "on", "true"),
        sort=sort,
    )


@dataclass
class FilterOptions:
    """The codes the waiting candidates actually have: the choices worth offering."""

    languages: list[str] = field(default_factory=list)
    markets: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)


class _ScheduleReadWithRows:
    """A page's rows whose statement also carried the stored schedule (`schedule_read`;
    `stored_schedule` None: none stored), for the next cycle's date: one statement fewer
    (issue 14)."""

    stored_schedule: str | None
    schedule_read: bool

    def next_run(self) -> datetime | None:
        """When the next cycle runs (`match_settings.next_run`), from the schedule read with
        the rows; read on its own when there was no row to carry it."""
        if self.schedule_read:
            return match_settings.next_run_of(self.stored_schedule)
        return match_settings.next_run()


@dataclass
class SMEReview(_ScheduleReadWithRows):
    pending: list[MatchRow]  # awaiting this SME's answer, best first (after any filters)
    waiting: list[MatchRow]  # answered by the SME, awaiting the student or a coordinator
    current: list[MatchRow]  # approved or active
    history: list[MatchRow]  # declined, rejected, expired, completed
    places_left: int
    pending_total: int = 0  # awaiting an answer, before filters
    filters: CandidateFilters = field(default_factory=CandidateFilters)
    options: FilterOptions = field(default_factory=FilterOptions)
    stored_schedule: str | None = None  # `_ScheduleReadWithRows`
    schedule_read: bool = False

    @property
    def filterable(self) -> bool:
        """Filters are offered once there are more than a handful (or some are in use)."""
        return self.pending_total > FILTER_FROM or self.filters.active


# --- an SME's matches as plain rows ----------------------------------------------------------
#
# The candidates page and the SME's dashboard show ~20 cards of a student each; loading them as
# ORM objects (a Match, its Student, its language and code rows through `selectinload`: ~190
# objects, each with its identity-map entry, state and JSON decoding) cost more CPU than all the
# rest of the request (issue 14). They only read, so the rows are loaded as columns into the
# plain objects below, with exactly the attributes the pages read (`smes/_candidate.html`,
# `smes/candidates.html`, `smes/dashboard.html`, the decision macros, `decisions.changeable`
# and the card keys of `app.smes.routes`). Writes still go through the models.


@dataclass(slots=True, frozen=True)
class LanguageRow:
    code: str
    level: str


@dataclass(slots=True, frozen=True)
class CodeRow:
    kind: str
    code: str


@dataclass(slots=True, eq=False)
class StudentRow(StudentDerivations):
    """A student as an SME's pages show them (the same names as `Student`'s)."""

    id: int
    name: str
    nationality: str
    university: str
    major: str
    topik_level: int
    hours_per_week: int
    bio: str
    cv_stored_name: str | None
    language_rows: tuple[LanguageRow, ...] = ()  # by position
    code_rows: tuple[CodeRow, ...] = ()
    # Everything an SME's card shows of the student (the card keys of `app.smes.routes`), built
    # once per student with the row: the columns, and the languages and codes as the database
    # wrote them (`_json_rows`), from which the two tuples above are read.
    key: tuple[Any, ...] = ()


@dataclass(slots=True, eq=False)
class MatchRow(StoredReasons):
    """A match as an SME's pages show it (the same names as `Match`'s), with its student.

    `reasons_json` is the column's text as stored: the card keys compare it as it is, and it is
    decoded once, the first time `reasons` is read — only for a card not rendered before."""

    id: int
    student_id: int
    sme_id: int
    status: MatchStatus
    score: float
    reasons_json: str
    sme_shortlisted: bool
    sme_decision: str | None
    student_decision: str | None
    created_at: datetime
    updated_at: datetime
    student: StudentRow
    sme: SME
    _reasons: list[dict[str, Any]] | None = None


class _json_rows(FunctionElement[str]):
    """An aggregate: each row's columns as a JSON array, the group's arrays as one JSON array,
    as text (`[[0, "vi", "native"], ...]`; NULL or `[]` for no row). In no particular order:
    SQLite before 3.44 cannot order an aggregate's input, so the reader sorts what needs it."""

    type = Text()
    name = "json_rows"
    inherit_cache = True


@compiles(_json_rows)
def _json_rows_sqlite(element: _json_rows, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_group_array(json_array({compiler.process(element.clauses, **kw)}))"


@compiles(_json_rows, "postgresql")
def _json_rows_postgresql(element: _json_rows, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(json_agg(json_build_array({compiler.process(element.clauses, **kw)})) AS TEXT)"


@functools.cache
def _sme_rows_query() -> Select[*tuple[Any, ...]]:
    """The statement of `_sme_rows`, built once per process with the SME's id as a parameter:
    building it (the visibility condition's correlated EXISTS and the 20 columns) cost about
    1 ms of CPU per request, as much as executing it (issue 14)."""
    return (
        select(
            Match.id,
            Match.student_id,
            Match.status,
            Match.score,
            cast(Match.reasons, Text),
            Match.sme_shortlisted,
            Match.sme_decision,
            Match.student_decision,
            Match.created_at,
            Match.updated_at,
            Student.name,
            Student.nationality,
            Student.university,
            Student.major,
            Student.topik_level,
            Student.hours_per_week,
            Student.bio,
            Student.cv_stored_name,
            # The SME's places taken (`decisions.places_taken`: approved and active matches,
            # whether or not their students are shown), one uncorrelated subquery that the
            # database runs once: one statement fewer on every candidates page and SME
            # dashboard with a match to show (issue 14).
            places_taken_query().correlate(None).scalar_subquery(),
            # The student's languages and codes, each a subquery on the student's row (its
            # primary key's index): two statements fewer on the same pages, each of which cost
            # more in SQLAlchemy's execution than in the database (issue 14).
            select(
                _json_rows(StudentLanguage.position, StudentLanguage.code, StudentLanguage.level)
            )
            .where(StudentLanguage.student_id == Student.id)
            .scalar_subquery(),
            select(_json_rows(StudentCode.kind, StudentCode.code))
            .where(StudentCode.student_id == Student.id)
            .scalar_subquery(),
            # The stored schedule, for the next cycle's date on the same pages: one more
            # uncorrelated subquery run once, one statement fewer (issue 14).
            match_settings.schedule_query().scalar_subquery(),
        )
        .join(Student, Student.id == Match.student_id)
        .where(*visibility.sme_can_see(bindparam("sme_id", type_=Integer)))
        .order_by(Match.score.desc(), Match.id)
    )


@functools.lru_cache(maxsize=4096)
def _language_rows(written: str | None) -> tuple[LanguageRow, ...]:
    """A student's languages as `_json_rows` wrote them, by position then code (the order of
    `Student.language_rows`). Kept per text: the result depends on the text alone, and many
    students share one (a process reads the same few hundred on every page)."""
    return tuple(LanguageRow(code, level) for _, code, level in sorted(json.loads(written or "[]")))


@functools.lru_cache(maxsize=4096)
def _code_rows(written: str | None) -> tuple[CodeRow, ...]:
    """A student's codes as `_json_rows` wrote them (in no order: every reader sorts them)."""
    return tuple(CodeRow(kind, code) for kind, code in json.loads(written or "[]"))


def _sme_rows(sme: SME) -> tuple[list[MatchRow], Any]:
    """Every match `sme` may see (visibility.sme_can_see), best score first, with its student,
    and the first row (None when there is none), which carries the SME's places taken and the
    stored schedule: one statement whatever the rows (the matches with their students, the
    students' languages and codes, the places taken and the schedule as subqueries), built once
    per process and read as plain columns on the driver (`plain_reads.rows`), no ORM object
    built."""
    rows = plain_rows(_sme_rows_query(), {"sme_id": sme.id})  # one fetch of every row
    students: dict[int, StudentRow] = {}
    matches = []
    for r in rows:
        student = students.get(r[1])
        if student is None:  # one per student, shared by their matches (as the ORM would)
            student = students[r[1]] = StudentRow(
                r[1],
                r[10],
                r[11],
                r[12],
                r[13],
                r[14],
                r[15],
                r[16],
                r[17],
                _language_rows(r[19]),
                _code_rows(r[20]),
                (r[10], r[11], r[12], r[13], r[14], r[15], r[16], r[17], r[19], r[20]),
            )
        matches.append(
            MatchRow(
                r[0], r[1], sme.id, r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], student, sme
            )
        )
    return matches, rows[0] if rows else None


def _with_people(query):  # type: ignore[no-untyped-def]
    """Load every match's people with the match: a fixed number of queries, whatever the rows
    (a student's proposals; an SME's pages load plain rows instead, `_sme_rows`)."""
    return query.options(
        selectinload(Match.student).selectinload(Student.language_rows),
        selectinload(Match.student).selectinload(Student.code_rows),
        selectinload(Match.sme).selectinload(SME.code_rows),
    )


def review_for_sme(sme: SME, filters: CandidateFilters | None = None) -> SMEReview:
    """Everything an SME's candidates page shows, in a fixed number of queries: the filters
    and sorting work on the rows already loaded with their people."""
    filters = filters or CandidateFilters()
    matches, first = _sme_rows(sme)
    pending = [m for m in matches if m.status == MatchStatus.PROPOSED and not m.sme_decision]
    waiting = [m for m in matches if m.status == MatchStatus.PROPOSED and m.sme_decision]
    current = [m for m in matches if m.status in (MatchStatus.APPROVED, MatchStatus.ACTIVE)]
    history = sorted(
        (m for m in matches if m not in pending and m not in waiting and m not in current),
        key=lambda m: m.updated_at,
        reverse=True,
    )
    # The choices: what the waiting candidates have, plus what is chosen (so it stays shown).
    # Read from the code rows in one pass (the `markets` and `regions` properties sort a list
    # per student, for sets: 40 sorts a page of 20; issue 14).
    chosen = lambda value: {value} if value else set()  # noqa: E731
    codes = [row for m in pending for row in m.student.code_rows]
    options = FilterOptions(
        languages=sorted(
            {r.code for m in pending for r in m.student.language_rows} | chosen(filters.language)
        ),
        markets=sorted(
            {m.student.nationality for m in pending}
            | {r.code for r in codes if r.kind == "market"}
            | chosen(filters.market)
        ),
        regions=sorted({r.code for r in codes if r.kind == "region"} | chosen(filters.region)),
    )
    total = len(pending)
    pending = [m for m in pending if filters.keeps(m)]
    pending.sort(key=_SORT_KEYS[filters.sort])
    return SMEReview(
        pending,
        waiting,
        current,
        history,
        places_left=places_left(sme, None if first is None else first[18] or 0),
        pending_total=total,
        filters=filters,
        options=options,
        stored_schedule=None if first is None else first[21],
        schedule_read=first is not None,
    )


_SORT_KEYS = {
    # Shortlisted candidates first, then by score.
    "fit": lambda m: (not m.sme_shortlisted, -m.score, m.id),
    "topik": lambda m: (-m.student.topik_level, -m.score, m.id),
    "name": lambda m: (m.student.name.casefold(), m.id),
    "newest": lambda m: (-m.created_at.timestamp(), m.id),
}


def places_left(sme: SME, taken: int | None = None) -> int:
    """The SME's seats not held by approved or active matches; `taken` when already read."""
    return max(sme.capacity - (places_taken(sme.id) if taken is None else taken), 0)


def toggle_shortlist(user: User, match_id: int) -> Match:
    assert user.sme is not None
    match = visibility.get_visible_match(match_id, user)
    db.session.execute(
        update(Match)
        .where(Match.id == match.id)
        .values(sme_shortlisted=~Match.sme_shortlisted, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(match)
    audit.record(
        "shortlist_toggled", actor=user, target=match, detail={"shortlisted": match.sme_shortlisted}
    )
    return match


# --- a student's proposals as plain rows ------------------------------------------------------
#
# The student's proposals page reads, of each match, its state and reasons, and of its SME the
# texts and codes a card shows; loaded as ORM objects (the match with every column, its student
# again, the SME, the student's languages and codes, the SME's codes) that was ~40 % of the
# page's CPU (issue 14). Loaded as columns like an SME's candidates (`_sme_rows`): one
# statement whatever the rows (the SMEs' codes and the stored schedule as subqueries), with
# the attributes `students/proposals.html`, the decision macros and `decisions.changeable`
# read, under the models' names.


@dataclass(slots=True, eq=False)
class ProposedSME(SMEDerivations):
    """An SME as a student's proposals show it (the same names as `SME`'s)."""

    id: int
    company_name_ko: str | None
    company_name_en: str | None
    products_ko: str | None
    products_en: str | None
    region: str
    exporting: bool
    description_ko: str | None
    description_en: str | None
    code_rows: list[CodeRow] = field(default_factory=list)

    @property
    def company_name(self) -> LocalizedText:
        """In the reader's language, else the other one (as `SME.company_name`)."""
        return self.localized("company_name")


@dataclass(slots=True, eq=False)
class ProposalRow(StoredReasons):
    """A match as a student's proposals page shows it (the same names as `Match`'s)."""

    id: int
    student_id: int
    sme_id: int
    status: MatchStatus
    reasons_json: str
    student_decision: str | None
    sme_decision: str | None
    sme: ProposedSME
    _reasons: list[dict[str, Any]] | None = None

    @property
    def key(self) -> tuple[Any, ...]:
        """Everything the proposals page's card shows of the row and its SME: the card is kept
        rendered under this key (app.templating.PAGE_PARTS, with the reader's language, where
        the app is mounted and whether the answer can be changed), so a changed match or SME is
        a new key, never a stale card."""
        sme = self.sme
        return (
            self.id,
            str(self.status),
            self.reasons_json,
            self.student_decision,
            sme.company_name_ko,
            sme.company_name_en,
            sme.products_ko,
            sme.products_en,
            sme.description_ko,
            sme.description_en,
            sme.region,
            sme.exporting,
            tuple(sorted((row.kind, row.code) for row in sme.code_rows)),
        )


@functools.cache
def _proposal_rows_query() -> Select[*tuple[Any, ...]]:
    """The statement of `proposal_rows`, built once per process, the student's id bound."""
    return (
        select(
            Match.id,
            Match.sme_id,
            Match.status,
            cast(Match.reasons, Text),
            Match.student_decision,
            Match.sme_decision,
            SME.company_name_ko,
            SME.company_name_en,
            SME.products_ko,
            SME.products_en,
            SME.region,
            SME.exporting,
            SME.description_ko,
            SME.description_en,
            # The SME's codes as one text (`_json_rows`, read by `_code_rows`) and the stored
            # schedule (the next cycle's date): subqueries, two statements fewer (issue 14).
            select(_json_rows(SMECode.kind, SMECode.code))
            .where(SMECode.sme_id == SME.id)
            .scalar_subquery(),
            match_settings.schedule_query().scalar_subquery(),
        )
        .join(SME, SME.id == Match.sme_id)
        .where(*visibility.student_can_see(bindparam("student_id", type_=Integer)))
        .order_by(Match.created_at.desc(), Match.id.desc())
    )


@dataclass
class StudentProposals(_ScheduleReadWithRows):
    """A student's proposals as plain rows (`proposal_rows`), and the stored schedule read
    with them for the next cycle's date (`next_run`)."""

    rows: list[ProposalRow]
    stored_schedule: str | None = None  # `_ScheduleReadWithRows`
    schedule_read: bool = False


def student_proposals(student_id: int) -> StudentProposals:
    """What `proposals_for_student` lists, in its order, as plain rows with their SMEs and the
    SMEs' codes, and the stored schedule: one statement whatever the rows."""
    smes: dict[int, ProposedSME] = {}
    matches = []
    rows = plain_rows(_proposal_rows_query(), {"student_id": student_id})  # one fetch
    for r in rows:
        sme = smes.get(r[1])
        if sme is None:  # one per SME, shared by its matches (as the ORM would)
            sme = smes[r[1]] = ProposedSME(
                r[1], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], list(_code_rows(r[14]))
            )
        matches.append(ProposalRow(r[0], student_id, r[1], r[2], r[3], r[4], r[5], sme))
    if not rows:
        return StudentProposals(matches)
    return StudentProposals(matches, stored_schedule=rows[0][15], schedule_read=True)


def proposal_rows(student_id: int) -> list[ProposalRow]:
    """The rows of `student_proposals`."""
    return student_proposals(student_id).rows


def proposals_for_student(student: Student) -> list[Match]:
    return list(
        db.session.scalars(
            _with_people(select(Match))
            .where(*visibility.student_can_see(student.id))
            .order_by(Match.created_at.desc(), Match.id.desc())
        )
    )


@dataclass
class Step:
    key: str
    done: bool
    at: datetime | None = None


def timeline(student: Student, matches: list[Match]) -> list[Step]:
    """Signed up → proposed → accepted → approved → active, for the most advanced match."""
    order = {
        MatchStatus.PROPOSED: 1,
        MatchStatus.APPROVED: 3,
        MatchStatus.ACTIVE: 4,
        MatchStatus.COMPLETED: 5,
    }
    best = max(
        (m for m in matches if m.status in order),
        key=lambda m: (order[m.status] + (m.student_decision == "accept"), m.id),
        default=None,
    )
    rank = 0 if best is None else order[best.status]
    accepted = best is not None and (best.student_decision == "accept" or rank >= 3)
    return [
        Step("signed_up", True, student.created_at),
        Step("proposed", best is not None, best.created_at if best else None),
        Step("accepted", accepted),
        Step("approved", rank >= 3),
        Step("active", rank >= 4),
    ]


def set_paused(user: User, paused: bool) -> int:
    """Pause or resume taking part. Pausing leaves the student out of cycles and withdraws the
    proposals not yet accepted; returns how many were withdrawn."""
    student = user.student
    assert student is not None
    hold_off_cycle_saves()  # a cycle's save then sees the pause (or waits for it)
    student.paused = paused
    withdrawn = withdraw_pending_for_student(student, user, keep_accepted=True) if paused else 0
    audit.record(
        "participation_paused" if paused else "participation_resumed", actor=user, target=student
    )
    db.session.flush()
    return withdrawn
