"""The programme in numbers, for the coordinators' dashboard: aggregate SQL (GROUP BY) only.

Every figure is one query that counts in the database; no list of students or matches is read
into Python, so the dashboard costs the same at 1,000 and at 100,000 students.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Integer, bindparam, case, distinct, func, literal_column, select

from app.extensions import db
from app.i18n import code_name
from app.models import (
    SME,
    DataVersion,
    ExportStatus,
    Match,
    MatchCycle,
    MatchOutcome,
    MatchStatus,
    SMECode,
    Student,
    StudentCode,
)
from app.services.plain_reads import read
from app.services.plain_reads import rows as plain_rows
from app.templating import Recent

TARGET_PLACED = 1000  # the programme's goal: 1,000 students placed with SMEs
PLACED_STATUSES = (MatchStatus.APPROVED, MatchStatus.ACTIVE, MatchStatus.COMPLETED)
CYCLES_SHOWN = 12


@dataclass
class CycleRow:
    id: int
    started_at: Any
    new_students: int
    new_smes: int
    pool: int
    proposed: int
    matched: int  # approved, active or completed
    pending: int  # still proposed
    declined: int  # declined by a side or rejected by a coordinator
    expired: int  # expired or withdrawn


@dataclass
class Breakdown:
    code: str
    name: str
    students: int
    smes: int
    placed: int


@dataclass
class Rates:
    student_answers: int
    student_accepts: int
    sme_answers: int
    sme_accepts: int
    decided: int  # approved (or later) + rejected by coordinators
    approved: int

    @staticmethod
    def _share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def student(self) -> float | None:
        return self._share(self.student_accepts, self.student_answers)

    @property
    def sme(self) -> float | None:
        return self._share(self.sme_accepts, self.sme_answers)

    @property
    def coordinator(self) -> float | None:
        return self._share(self.approved, self.decided)


@dataclass
class Programme:
    students: int
    smes: int
    placed: int
    target: int
    by_status: dict[str, int]
    rates: Rates
    cycles: list[CycleRow] = field(default_factory=list)
    markets: list[Breakdown] = field(default_factory=list)
    industries: list[Breakdown] = field(default_factory=list)
    regions: list[Breakdown] = field(default_factory=list)
    nationalities: list[Breakdown] = field(default_factory=list)

    @property
    def progress(self) -> float:
        return min(self.placed / self.target, 1.0) if self.target else 0.0

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for row in data["cycles"]:
            row["started_at"] = row["started_at"].isoformat() if row["started_at"] else None
        data["progress"] = self.progress
        data["rates"].update(
            student=self.rates.student, sme=self.rates.sme, coordinator=self.rates.coordinator
        )
        return data


def _count(query: Any) -> int:
    return int(read(query).scalar() or 0)


# Every statement below takes no value from the request (or only bound ones): each is built once
# per process. Building the dashboard's ~15 statements cost about as much CPU as the database
# took to run them (issue 14).
_once = functools.cache

# Written into the statement, not bound: psycopg keeps a statement's parsed form only when it
# has at most 50 parameters, and the dashboard's single-figure statement counts 20 things.
_ONE: Any = literal_column("1")
_ZERO: Any = literal_column("0")


def _how_many(condition: Any) -> Any:
    """How many rows meet `condition` (0, not NULL, when there are none)."""
    return func.coalesce(func.sum(case((condition, _ONE), else_=_ZERO)), _ZERO)


@_once
def _placed_count() -> Any:
    return select(func.count(distinct(Match.student_id))).where(Match.status.in_(PLACED_STATUSES))


def placed_students() -> int:
    """Students with an approved, active or completed match (each counted once)."""
    return _count(_placed_count())


@_once
def _by_status_query() -> Any:
    return select(Match.status, func.count(Match.id)).group_by(Match.status)


def by_status() -> dict[str, int]:
    rows = read(_by_status_query())
    counts = {str(status): 0 for status in MatchStatus}
    counts.update({str(status): n for status, n in rows})
    return counts


@_once
def _rates_query() -> Any:
    return select(
        _how_many(Match.student_decision.is_not(None)),
        _how_many(Match.student_decision == "accept"),
        _how_many(Match.sme_decision.is_not(None)),
        _how_many(Match.sme_decision == "accept"),
        _how_many(Match.status.in_((*PLACED_STATUSES, MatchStatus.REJECTED))),
        _how_many(Match.status.in_(PLACED_STATUSES)),
    )


def rates() -> Rates:
    row = read(_rates_query()).one()
    return Rates(*(int(v) for v in row))


def per_cycle(limit: int = CYCLES_SHOWN) -> list[CycleRow]:
    """The last cycles, oldest first: sign-ups since the previous one, and what became of its
    proposals."""
    recent = read(_recent_cycles_query(), {"limit": limit}).all()
    if not recent:
        return []
    ids = [row.id for row in recent]
    outcomes = read(_cycle_outcomes_query(), {"ids": ids}).all()
    new_students = read(_signups_query(Student.created_at)).all()
    new_smes = read(_signups_query(SME.created_at)).all()
    return _cycles_from(recent, outcomes, new_students, new_smes)


def _cycles_from(
    recent: Sequence[Any], outcomes: Sequence[Any], new_students: Any, new_smes: Any
) -> list[CycleRow]:
    """`per_cycle`'s rows from its statements' rows: the cycles newest first (id, started_at,
    pool, proposed), their outcomes (cycle, matched, pending, declined, expired) and the
    sign-ups per cycle (cycle, count)."""
    by_cycle = {row[0]: row for row in outcomes}
    students_by, smes_by = _signups_from(new_students), _signups_from(new_smes)
    rows = []
    for cycle_id, started_at, pool, proposed in reversed(recent):
        outcome = by_cycle.get(cycle_id)
        rows.append(
            CycleRow(
                id=cycle_id,
                started_at=started_at,
                new_students=students_by.get(cycle_id, 0),
                new_smes=smes_by.get(cycle_id, 0),
                pool=pool or 0,
                proposed=proposed or 0,
                matched=int(outcome[1]) if outcome else 0,
                pending=int(outcome[2]) if outcome else 0,
                declined=int(outcome[3]) if outcome else 0,
                expired=int(outcome[4]) if outcome else 0,
            )
        )
    return rows


@_once
def _recent_cycles_query() -> Any:
    return (
        select(MatchCycle.id, MatchCycle.started_at, MatchCycle.n_students, MatchCycle.n_proposed)
        .order_by(MatchCycle.id.desc())
        .limit(bindparam("limit", type_=Integer))
    )


@_once
def _cycle_outcomes_query() -> Any:
    def status_sum(statuses: tuple[MatchStatus, ...]) -> Any:
        return func.coalesce(func.sum(case((Match.status.in_(statuses), 1), else_=0)), 0)

    return (
        select(
            Match.cycle_id,
            status_sum(PLACED_STATUSES).label("matched"),
            status_sum((MatchStatus.PROPOSED,)).label("pending"),
            status_sum((MatchStatus.DECLINED, MatchStatus.REJECTED)).label("declined"),
            status_sum((MatchStatus.EXPIRED, MatchStatus.WITHDRAWN)).label("expired"),
        )
        .where(Match.cycle_id.in_(bindparam("ids", expanding=True)))
        .group_by(Match.cycle_id)
    )


@_once
def _signups_query(created_at: Any) -> Any:
    first_cycle = (
        select(func.min(MatchCycle.id))
        .where(MatchCycle.started_at >= created_at)
        .correlate(created_at.class_)
        .scalar_subquery()
        .label("cycle_id")
    )
    return select(first_cycle, func.count()).select_from(created_at.class_).group_by(first_cycle)


def _signups_from(rows: Any) -> dict[int, int]:
    """Sign-ups counted against the first cycle that started after them (one GROUP BY's rows)."""
    return {cycle_id: n for cycle_id, n in rows if cycle_id is not None}


def _placed_student_ids() -> Any:
    return select(Match.student_id).where(Match.status.in_(PLACED_STATUSES)).distinct()


_BREAKDOWNS = {"market": "countries", "industry": "industries", "region": "regions"}


@_once
def _breakdown_queries() -> tuple[Any, Any, Any]:
    placed_ids = _placed_student_ids()
    return (
        select(
            StudentCode.kind,
            StudentCode.code,
            func.count(StudentCode.student_id),
            func.coalesce(func.sum(case((StudentCode.student_id.in_(placed_ids), 1), else_=0)), 0),
        )
        .where(StudentCode.kind.in_(_BREAKDOWNS))
        .group_by(StudentCode.kind, StudentCode.code),
        select(SMECode.kind, SMECode.code, func.count(SMECode.sme_id))
        .where(SMECode.kind.in_(("market", "industry")))
        .group_by(SMECode.kind, SMECode.code),
        select(SME.region, func.count(SME.id)).group_by(SME.region),
    )


def _breakdowns() -> dict[str, list[Breakdown]]:
    """Students and SMEs per market, industry and region, and students placed: one GROUP BY
    over every kind of student code, one over SME codes, one over SME regions (an SME is in one
    region, a column of its own)."""
    students_query, smes_query, regions_query = _breakdown_queries()
    return _breakdowns_from(
        read(students_query).all(), read(smes_query).all(), read(regions_query).all()
    )


def _breakdowns_from(students: Any, smes: Any, regions: Any) -> dict[str, list[Breakdown]]:
    """`_breakdowns` from its three statements' rows."""
    smes_by: dict[str, dict[str, int]] = {kind: {} for kind in _BREAKDOWNS}
    for kind, code, n in smes:
        smes_by[kind][code] = n
    smes_by["region"] = dict(regions)
    students_by: dict[str, dict[str, tuple[int, int]]] = {kind: {} for kind in _BREAKDOWNS}
    for kind, code, n, placed in students:
        students_by[kind][code] = (n, int(placed))
    out = {}
    for kind, taxonomy_kind in _BREAKDOWNS.items():
        by_code, by_sme = students_by[kind], smes_by[kind]
        rows = [
            Breakdown(
                code=code,
                name=code_name(taxonomy_kind, code),
                students=by_code.get(code, (0, 0))[0],
                smes=by_sme.get(code, 0),
                placed=by_code.get(code, (0, 0))[1],
            )
            for code in set(by_code) | set(by_sme)
        ]
        out[kind] = sorted(rows, key=lambda r: (-(r.students + r.smes), r.code))
    return out


@_once
def _nationalities_query() -> Any:
    placed_ids = _placed_student_ids()
    return select(
        Student.nationality,
        func.count(Student.id),
        func.coalesce(func.sum(case((Student.id.in_(placed_ids), 1), else_=0)), 0),
    ).group_by(Student.nationality)


def _nationalities() -> list[Breakdown]:
    return _nationalities_from(read(_nationalities_query()).all())


def _nationalities_from(rows: Any) -> list[Breakdown]:
    return sorted(
        (
            Breakdown(code, code_name("countries", code), n, 0, int(placed))
            for code, n, placed in rows
        ),
        key=lambda r: (-r.students, r.code),
    )


@_once
def _people_query() -> Any:
    return select(
        select(func.count(Student.id)).scalar_subquery(),
        select(func.count(SME.id)).scalar_subquery(),
        select(func.count(distinct(Match.student_id)))
        .where(Match.status.in_(PLACED_STATUSES))
        .scalar_subquery(),
    )


def programme() -> Programme:
    people = read(_people_query()).one()
    breakdowns = _breakdowns()
    return Programme(
        students=int(people[0] or 0),
        smes=int(people[1] or 0),
        placed=int(people[2] or 0),  # as placed_students(), in the same statement
        target=TARGET_PLACED,
        by_status=by_status(),
        rates=rates(),
        cycles=per_cycle(),
        markets=breakdowns["market"],
        industries=breakdowns["industry"],
        regions=breakdowns["region"],
        nationalities=_nationalities(),
    )


# --- the coordinators' dashboard: every figure read once, as plain rows ------------------------


@dataclass(frozen=True)
class DashboardCounts:
    """Every figure the dashboard shows, as the database counted them on this request: tuples
    of numbers, codes and dates, hashable. The page's kept rendering is keyed on them (with the
    language and the mount point), and its `Programme` and targets are built from them only
    when that rendering is drawn (`programme_of`, `targets_of`): the same figures as
    `programme()` and `targets_json()` count, in 11 statements instead of 18 (issue 14)."""

    totals: tuple[int, ...]  # see _totals_query
    cycles: tuple[tuple[Any, ...], ...]
    outcomes: tuple[tuple[Any, ...], ...]
    new_students: tuple[tuple[Any, ...], ...]
    new_smes: tuple[tuple[Any, ...], ...]
    student_codes: tuple[tuple[Any, ...], ...]
    sme_codes: tuple[tuple[Any, ...], ...]
    regions: tuple[tuple[Any, ...], ...]
    nationalities: tuple[tuple[Any, ...], ...]
    funnels: tuple[tuple[Any, ...], ...]

    @property
    def seats(self) -> int:
        return self.totals[-1]


_STATUSES = tuple(MatchStatus)


@_once
def _totals_query() -> Any:
    """The dashboard's single figures in one statement: people, placed, matches by status and
    the acceptance rates (one pass over the matches), the export KPIs, E-7 conversions and the
    places SMEs offer (uncorrelated subqueries, each run once)."""

    def once(query: Any) -> Any:
        # uncorrelated: run once, not tied to the matches this statement counts
        return query.correlate(None).scalar_subquery()

    exporting_query, e7_query = _kpi_queries()
    return select(
        once(select(func.count(Student.id))),
        once(select(func.count(SME.id))),
        once(_placed_count()),
        *(_how_many(Match.status == status) for status in _STATUSES),
        *_rates_query().selected_columns,
        *(once(select(column)) for column in exporting_query.selected_columns),
        once(e7_query),
        once(select(func.coalesce(func.sum(SME.capacity), 0))),
    ).select_from(Match)


@_once
def _version_query() -> Any:
    return select(DataVersion.epoch, DataVersion.n).where(DataVersion.id == 1)


# The dashboard's counts as last counted, per database and data version: a few entries (one
# database per process in production; several in the tests).
KEPT_COUNTS = Recent(size=4)


def dashboard_counts() -> DashboardCounts:
    """Every figure the dashboard shows, counted again only when a counted table has changed.

    Every write to a table these statements read moves `data_versions` on in its own
    transaction (database triggers, migration e1f2a3b4c5d6), so the figures are exactly those
    counting now would give. The version is read first, in the same transaction as the
    figures: on SQLite one snapshot serves both; on PostgreSQL (read committed) the figures
    are then at least as new as the version they are kept under, never older."""
    connection = db.session.connection()
    version = next(iter(plain_rows(_version_query())), None)
    if version is None:  # the row is gone (every table emptied): count, keep nothing
        return _count_all()
    key = (connection.engine.url, *version)
    counts: DashboardCounts | None = KEPT_COUNTS.get(key, None)
    if counts is None:
        counts = _count_all()
        KEPT_COUNTS.put(key, counts)
    return counts


def _count_all() -> DashboardCounts:
    """Every figure the dashboard shows, counted now."""

    def rows(statement: Any, params: Any = None) -> tuple[tuple[Any, ...], ...]:
        # fetched at once (iterating a result fetches row by row: ~160 rows a request)
        return tuple(map(tuple, read(statement, params).all()))

    totals = read(_totals_query()).one()
    cycles = rows(_recent_cycles_query(), {"limit": CYCLES_SHOWN})
    ids = [row[0] for row in cycles]
    students_query, smes_query, regions_query = _breakdown_queries()
    return DashboardCounts(
        totals=tuple(int(v or 0) for v in totals),
        cycles=cycles,
        outcomes=rows(_cycle_outcomes_query(), {"ids": ids}) if ids else (),
        new_students=rows(_signups_query(Student.created_at)) if ids else (),
        new_smes=rows(_signups_query(SME.created_at)) if ids else (),
        student_codes=rows(students_query),
        sme_codes=rows(smes_query),
        regions=rows(regions_query),
        nationalities=rows(_nationalities_query()),
        funnels=rows(_funnels_query()),
    )


def _totals_of(counts: DashboardCounts) -> dict[str, Any]:
    totals = list(counts.totals)
    people, totals = totals[:3], totals[3:]
    statuses, totals = totals[: len(_STATUSES)], totals[len(_STATUSES) :]
    rates, totals = totals[:6], totals[6:]
    return {
        "people": people,
        "by_status": {str(status): n for status, n in zip(_STATUSES, statuses, strict=True)},
        "rates": Rates(*rates),
        "first_export": totals[0],
        "usd_1m": totals[1],
        "e7": totals[2],
    }


def programme_of(counts: DashboardCounts) -> Programme:
    """`programme()`, from figures already counted."""
    totals = _totals_of(counts)
    students, smes, placed = totals["people"]
    breakdowns = _breakdowns_from(counts.student_codes, counts.sme_codes, counts.regions)
    return Programme(
        students=students,
        smes=smes,
        placed=placed,
        target=TARGET_PLACED,
        by_status=totals["by_status"],
        rates=totals["rates"],
        cycles=_cycles_from(counts.cycles, counts.outcomes, counts.new_students, counts.new_smes),
        markets=breakdowns["market"],
        industries=breakdowns["industry"],
        regions=breakdowns["region"],
        nationalities=_nationalities_from(counts.nationalities),
    )


def kpis_of(counts: DashboardCounts) -> dict[str, Any]:
    """`kpis()`, from figures already counted."""
    totals = _totals_of(counts)
    return {
        "students_placed": totals["people"][2],
        "smes_first_export": totals["first_export"],
        "smes_usd_1m": totals["usd_1m"],
        "e7_conversions": totals["e7"],
        "targets": dict(TARGETS),
    }


def targets_of(counts: DashboardCounts) -> dict[str, Any]:
    """`targets_json()`, from figures already counted."""
    by_cycle, by_cohort = _funnels_from(counts.funnels)
    return {
        "kpis": kpis_of(counts),
        "funnel_by_cycle": [asdict(r) for r in by_cycle],
        "funnel_by_cohort": [asdict(r) for r in by_cohort],
    }


# --- the programme's targets ---------------------------------------------------------------------

# The ministry's plan (students: the K-Export Warrior project over three years; SMEs: by 2027).
# It sets no number for E-7 conversions: they are counted and shown without a target.
TARGETS: dict[str, int | None] = {
    "students_placed": TARGET_PLACED,
    "smes_first_export": 1000,
    "smes_usd_1m": 3000,
    "e7_conversions": None,
}
EXPORTING = ("first_export", "usd_100k", "usd_1m")
FUNNEL_STAGES = ("proposed", "approved", "active", "completed", "first_export")


def kpis(placed: int | None = None) -> dict[str, Any]:
    """The four figures the programme is judged on, and their targets. `placed`: the students
    placed, when the caller has just counted them (the dashboard, from `programme()`)."""

    exporting_query, e7_query = _kpi_queries()
    exporting = read(exporting_query).one()
    return {
        "students_placed": placed_students() if placed is None else placed,
        "smes_first_export": int(exporting[0]),
        "smes_usd_1m": int(exporting[1]),
        "e7_conversions": _count(e7_query),
        "targets": dict(TARGETS),
    }


@_once
def _kpi_queries() -> tuple[Any, Any]:
    return (
        select(
            _how_many(ExportStatus.status.in_(EXPORTING)),
            _how_many(ExportStatus.status == "usd_1m"),
        ),
        select(func.count(distinct(Match.student_id)))
        .join(MatchOutcome, MatchOutcome.match_id == Match.id)
        .where(MatchOutcome.student_outcome == "e7_visa"),
    )


@dataclass
class FunnelRow:
    key: str  # a cycle's id ("#3"), "by hand", or a cohort ("2026-Q1")
    proposed: int
    approved: int
    active: int
    completed: int
    first_export: int


@functools.cache
def _funnels_query() -> Any:
    """Both funnels' counts in one pass over the matches: grouped by cycle and cohort together
    (a few dozen groups), each funnel then summed from those groups. Built once per process."""

    def reached(statuses: tuple[MatchStatus, ...]) -> Any:
        return func.coalesce(func.sum(case((Match.status.in_(statuses), 1), else_=0)), 0)

    exported = case(
        (
            (Match.status == MatchStatus.COMPLETED) & ExportStatus.status.in_(EXPORTING),
            1,
        ),
        else_=0,
    )
    cycle = func.coalesce(Match.cycle_id, 0)
    cohort = func.extract("year", Student.created_at).cast(Integer)
    return (
        select(
            cycle,
            cohort,
            func.count(Match.id),
            reached(PLACED_STATUSES),
            reached((MatchStatus.ACTIVE, MatchStatus.COMPLETED)),
            reached((MatchStatus.COMPLETED,)),
            func.coalesce(func.sum(exported), 0),
        )
        .outerjoin(ExportStatus, ExportStatus.sme_id == Match.sme_id)
        .join(Student, Student.id == Match.student_id)
        .group_by(cycle, cohort)
    )


def funnels() -> tuple[list[FunnelRow], list[FunnelRow]]:
    """Proposed → approved → active → completed → first export, per cycle (0: paired by hand)
    and per cohort (the year the student signed up), each in its key's order."""
    return _funnels_from(read(_funnels_query()).all())


def _funnels_from(groups: Any) -> tuple[list[FunnelRow], list[FunnelRow]]:
    """`funnels` from its statement's rows (cycle, cohort, then the five counts)."""
    by_cycle: dict[int, list[int]] = {}
    by_cohort: dict[int, list[int]] = {}
    for cycle, cohort, *values in groups:
        for totals, key in ((by_cycle, int(cycle)), (by_cohort, int(cohort))):
            sums = totals.setdefault(key, [0] * len(values))
            for i, value in enumerate(values):
                sums[i] += int(value)
    return (
        [FunnelRow(str(key), *by_cycle[key]) for key in sorted(by_cycle)],
        [FunnelRow(str(key), *by_cohort[key]) for key in sorted(by_cohort)],
    )


def funnel_by_cycle() -> list[FunnelRow]:
    """Proposed → approved → active → completed → first export, per cycle (0: paired by hand)."""
    return funnels()[0]


def funnel_by_cohort() -> list[FunnelRow]:
    """The same funnel per cohort: the year the student signed up."""
    return funnels()[1]


def targets_json(placed: int | None = None) -> dict[str, Any]:
    by_cycle, by_cohort = funnels()
    return {
        "kpis": kpis(placed),
        "funnel_by_cycle": [asdict(r) for r in by_cycle],
        "funnel_by_cohort": [asdict(r) for r in by_cohort],
    }


def targets_csv() -> bytes:
    """The targets and both funnels as one CSV (UTF-8 with a BOM, so Excel reads it)."""

    out = io.StringIO()
    writer = csv.writer(out)
    figures = kpis()
    writer.writerow(["kpi", "value", "target"])
    for name, target in TARGETS.items():
        writer.writerow([name, figures[name], "" if target is None else target])
    writer.writerow([])
    writer.writerow(["group", "key", *FUNNEL_STAGES])
    for group, rows in zip(("cycle", "cohort"), funnels(), strict=True):
        for row in rows:
            writer.writerow([group, row.key, *(getattr(row, s) for s in FUNNEL_STAGES)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
