"""The coordinators' matches list loads plain rows, not ORM objects (issue 14, pages).

`directory.listed_matches` selects the columns `coordinators/matches.html` shows into
`ListedMatch` rows, with statements built once per combination of filters and the values bound.
These tests check that the page builds no Match, Student or SME object, and that for any
filters and page it lists exactly what `directory.match_query` (the models, as the API and the
ready queue still load them) lists: the same matches in the same order (ties on the creation
time included), the same total and every attribute the page reads — so a filter bound to the
wrong parameter, a lost tie-break or a column read into the wrong place fails here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select, text

from app.extensions import db
from app.models import SME, CycleStatus, Match, MatchCycle, MatchStatus, Student
from app.services import directory
from tests.web.test_queries_per_page import business_number

STATUSES = list(MatchStatus)
DECISIONS = [None, "accept", "decline"]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def many(make_student: Any, make_sme: Any) -> dict[str, Any]:
    """60 matches of 3 students and 3 SMEs (two regions, different markets and industries) in
    every status and answer, in two cycles or by hand, several created at the same instant."""
    students = [
        make_student(email=f"l{i}@example.org", name=name, nationality=nat)
        for i, (name, nat) in enumerate([("Linh", "VN"), ("Somchai", "TH"), ("Aru", "KZ")])
    ]
    smes = [
        make_sme(
            email=f"c{i}@sme.example",
            business_number=business_number(20 + i),
            region=region,
            markets=markets,
            industries=industries,
            **names,
        )
        for i, (region, markets, industries, names) in enumerate(
            [
                ("seoul", ["VN"], ["cosmetics"], {"company_name": "가나화장품"}),
                ("busan", ["TH", "VN"], ["processed_food"], {"company_name": "다라식품"}),
                ("busan", ["KZ"], ["cosmetics"], {"company_name": "Maba Machinery"}),
            ]
        )
    ]
    cycles = []
    for _ in range(2):
        cycle = MatchCycle(
            status=CycleStatus.FINISHED, trigger="cli", mode="stable", weights={}, candidates_k=5
        )
        db.session.add(cycle)
        cycles.append(cycle)
    db.session.flush()
    for i in range(60):
        db.session.add(
            Match(
                student_id=students[i % 3].student.id,
                sme_id=smes[(i // 3) % 3].sme.id,
                cycle_id=[None, cycles[0].id, cycles[1].id][i % 3],
                status=STATUSES[i % len(STATUSES)],
                score=round(0.2 + (i * 37 % 60) / 80, 3),
                student_view=0.5,
                sme_view=0.5,
                reasons=[
                    {"factor": "market", "key": "market.home", "weight": 0.3, "params": {"n": i}},
                    {"factor": "hours", "key": "hours.fit", "weight": 0.1 * (i % 4)},
                ],
                student_decision=DECISIONS[i % 3],
                sme_decision=DECISIONS[(i // 2) % 3],
                created_at=T0 + timedelta(minutes=i // 4),  # four at each instant: ties
            )
        )
    db.session.commit()
    return {"cycles": [c.id for c in cycles]}


def _shown(m: Any) -> tuple[Any, ...]:
    """Everything `coordinators/matches.html` reads of a row."""
    return (
        m.id,
        m.cycle_id,
        str(m.status),
        m.score,
        m.reasons,
        m.student_decision,
        m.sme_decision,
        m.student.name,
        m.student.nationality,
        str(m.sme.company_name),
        m.sme.company_name.lang,
        m.sme.region,
    )


FILTERS = st.builds(
    directory.MatchFilters,
    status=st.sampled_from(["", directory.READY, *directory.MATCH_STATUSES]),
    cycle=st.sampled_from(["", "first", "second"]),
    market=st.sampled_from(["", "VN", "TH", "KZ", "JP"]),
    industry=st.sampled_from(["", "cosmetics", "processed_food"]),
    region=st.sampled_from(["", "seoul", "busan"]),
    score_min=st.sampled_from(["", "0.3", "0.55", "0.9"]),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(filters=FILTERS, page=st.integers(1, 4), per_page=st.sampled_from([5, 25]))
def test_the_rows_list_what_the_models_list(
    app: Any, many: dict[str, Any], filters: Any, page: int, per_page: int
) -> None:
    cycle = {"": "", "first": str(many["cycles"][0]), "second": str(many["cycles"][1])}
    filters = directory.MatchFilters(**{**filters.__dict__, "cycle": cycle[filters.cycle]})
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        listed = directory.listed_matches(filters, page, per_page)
        models = directory.page_of(directory.match_query(filters), page, per_page)
        assert (listed.page, listed.total, listed.pages) == (
            models.page,
            models.total,
            models.pages,
        )
        assert [_shown(m) for m in listed.items] == [_shown(m) for m in models.items]
        db.session.expunge_all()


def test_the_filters_are_bound_not_built_in(app: Any, many: dict[str, Any]) -> None:
    """One statement per combination of filters, whatever their values: two SMEs' markets or
    two statuses reuse it, and each still narrows by its own value."""
    directory._listed_statements.cache_clear()
    with app.test_request_context("/"):
        vn = directory.listed_matches(directory.MatchFilters(market="VN"), 1, 100)
        kz = directory.listed_matches(directory.MatchFilters(market="KZ"), 1, 100)
    assert directory._listed_statements.cache_info().currsize == 1
    assert vn.total and kz.total and vn.total + kz.total == 60  # VN: two SMEs, KZ: the third
    assert not {m.id for m in vn.items} & {m.id for m in kz.items}


@pytest.fixture
def loaded() -> Iterator[list[str]]:
    seen: list[str] = []

    def on_load(target: Any, context: Any) -> None:
        seen.append(type(target).__name__)

    for model in (Match, Student, SME):
        event.listen(model, "load", on_load)
    yield seen
    for model in (Match, Student, SME):
        event.remove(model, "load", on_load)


@pytest.mark.parametrize(
    "url",
    ["/coordinator/matches", "/coordinator/matches?page=2", "/coordinator/matches?status=proposed"],
)
def test_the_matches_list_builds_no_match_or_person_object(
    app: Any, coord_client: Any, many: dict[str, Any], loaded: list[str], url: str
) -> None:
    db.session.expunge_all()
    loaded.clear()
    response = coord_client.get(url)
    assert response.status_code == 200
    assert "Somchai" in response.get_data(as_text=True)
    assert loaded == []
    assert db.session.scalar(select(Match.id).limit(1))  # the listener was live


_TOKEN = re.compile(r'(name="csrf_token" (?:type="hidden" )?value=)"[^"]*"')


def _no_tokens(html: str) -> str:
    return _TOKEN.sub(r'\1"TOKEN"', html)


def test_a_kept_row_is_never_stale(app: Any, coord_client: Any, many: dict[str, Any]) -> None:
    """The list's rows are kept per process (app.templating.PAGE_PARTS) under everything they
    show: a status changed or a renamed student shows at once, in the reader's language."""
    proposed = db.session.scalars(
        select(Match)
        .where(Match.status == MatchStatus.PROPOSED)
        .order_by(Match.created_at.desc(), Match.id.desc())
    ).first()
    assert proposed is not None
    tick = f'name="match_ids" value="{proposed.id}"'
    html = coord_client.get("/coordinator/matches").get_data(as_text=True)
    again = coord_client.get("/coordinator/matches").get_data(as_text=True)
    # CSRF tokens are signed with the time in seconds: two renders a second apart differ there
    assert tick in html and _no_tokens(again) == _no_tokens(html)
    proposed.status = MatchStatus.APPROVED  # nothing else of the row changes
    db.session.commit()
    html = coord_client.get("/coordinator/matches").get_data(as_text=True)
    assert tick not in html  # no longer proposed: no box to tick
    name = proposed.student.name
    proposed.student.name = "Renamed Student"
    db.session.commit()
    html = coord_client.get("/coordinator/matches").get_data(as_text=True)
    assert "Renamed Student" in html and f">{name}<" not in html
    with coord_client.session_transaction() as session:
        session["locale"] = "ko"
    korean = coord_client.get("/coordinator/matches").get_data(as_text=True)
    assert "승인됨" in korean and "Approved" not in korean


@pytest.fixture
def statements(app: Any) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    yield seen
    event.remove(db.engine, "before_cursor_execute", note)


def test_a_page_with_rows_carries_the_total_and_an_empty_page_counts(
    app: Any, many: dict[str, Any], statements: list[str]
) -> None:
    """The rows' statement carries the total (a subquery counting every match the filters
    leave, not the row's own): one statement; a page past the last has no row to carry it and
    counts on its own."""
    filters = directory.MatchFilters(region="busan")
    with app.test_request_context("/"):
        statements.clear()
        first = directory.listed_matches(filters, 1, 5)
        assert len(statements) == 1 and "count(" in statements[0]
        assert (first.total, len(first.items)) == (39, 5)  # the two SMEs in Busan: 39 of 60
        statements.clear()
        past = directory.listed_matches(filters, 9, 5)
        assert (past.total, past.items) == (39, [])
        assert len(statements) == 2


def test_the_pages_limit_and_offset_are_written_into_the_rows_statement(
    app: Any, many: dict[str, Any], statements: list[str]
) -> None:
    """Not parameters: PostgreSQL cannot estimate a LIMIT or OFFSET it is not shown, so it
    planned the rows anew on every request (next test). The page still gets its own rows."""
    with app.test_request_context("/"):
        statements.clear()
        third = directory.listed_matches(directory.MatchFilters(), 3, 5)
        models = directory.page_of(directory.match_query(directory.MatchFilters()), 3, 5)
        assert [m.id for m in third.items] == [m.id for m in models.items]
    assert re.search(r"LIMIT 5 OFFSET 10\s*$", statements[0])


def test_postgresql_plans_the_rows_once_per_connection(app: Any, many: dict[str, Any]) -> None:
    """psycopg prepares a statement after its fifth run on a connection. With the limit and
    offset as parameters PostgreSQL planned the prepared statement with their values at least
    five times more, and on the load test's 1,096 matches at every run (its generic plan, with
    a parameter's LIMIT taken for a tenth of the rows, looked dearer: ~0.3 ms of the server's
    CPU a list, issue 14). Written in, no parameter is left: one plan when it is prepared."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan cache")
    with app.test_request_context("/"):
        for _ in range(12):
            assert directory.listed_matches(directory.MatchFilters(), 1).total == 60
        plans = db.session.execute(
            text("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        ).all()
    # The list's own statement: the connection may be a pooled one on which earlier tests'
    # statements were prepared too (a student read by user id names students.nationality).
    rows = [(generic, custom) for sql, generic, custom in plans if _is_the_list(sql)]
    assert len(rows) == 1  # prepared by psycopg
    generic, custom = rows[0]
    assert generic > 0 and custom == 0


def _is_the_list(sql: str) -> bool:
    return sql.startswith("SELECT matches.id") and "students.nationality" in sql and "LIMIT" in sql
