"""Visa-aware eligibility (issue 9, part 3): the rule table, block codes, and run/check_pair."""

from __future__ import annotations

import datetime
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matching.model
from matching import (
    BLOCK_CODES,
    REASON_KEYS,
    MatchModel,
    SMEProfile,
    StudentProfile,
    check_pair,
    load_rules,
    run,
)
from matching.eligibility import RULES_DIRECTORY, blocked
from matching.synthetic import population, with_visa_fields

RULES = load_rules(datetime.date(2026, 1, 1))


def _student(**kw: object) -> StudentProfile:
    base: dict[str, object] = {
        "id": 1,
        "nationality": "VN",
        "languages": {"vi": "native"},
        "markets": ("VN",),
        "industries": ("machinery",),
        "regions": ("seoul",),
        "topik_level": 3,
        "hours_per_week": 20,
        "visa": "d2",
        "degree_level": "bachelor",
        "year_of_study": 1,
    }
    base.update(kw)
    return StudentProfile(**base)  # type: ignore[arg-type]


def _sme(**kw: object) -> SMEProfile:
    base: dict[str, object] = {"id": 1, "industries": ("machinery",), "markets": ("VN",)}
    base.update(kw)
    return SMEProfile(**base)  # type: ignore[arg-type]


def test_the_default_table_has_its_source_and_date() -> None:
    assert RULES.effective_from == datetime.date(2024, 3, 1)
    assert "international offices" in RULES.source and RULES.note
    assert RULES.version == "2024-03"


@pytest.mark.parametrize(
    ("kw", "max_hours"),
    [
        ({"year_of_study": 1, "topik_level": 3}, 30),
        ({"year_of_study": 2, "topik_level": 2}, 10),
        ({"year_of_study": 3, "topik_level": 3}, 10),
        ({"year_of_study": 3, "topik_level": 4}, 30),
        ({"year_of_study": 0, "topik_level": 3}, 10),  # year unknown: TOPIK 4 asked
        ({"degree_level": "master", "topik_level": 4}, 35),
        ({"degree_level": "doctorate", "topik_level": 3}, 15),
        ({"visa": "d4", "degree_level": "language", "months_in_korea": 7, "topik_level": 2}, 10),
        ({"visa": "d10"}, None),
        ({"visa": "e7"}, None),
        ({"visa": "f2"}, None),
        ({"visa": ""}, None),
    ],
)
def test_hour_limits(kw: dict[str, object], max_hours: int | None) -> None:
    assert RULES.limits(_student(**kw)).max_hours == max_hours


def test_block_codes_of_the_default_table() -> None:
    assert blocked(_student(topik_level=3), _sme(ksic_section="C"), RULES) == (
        "visa.manufacturing_topik",
    )
    assert blocked(_student(topik_level=4, year_of_study=3), _sme(ksic_section="C"), RULES) == ()
    assert blocked(_student(topik_level=6), _sme(ksic_section="F"), RULES) == ("visa.construction",)
    assert blocked(_student(visa="f2", topik_level=0), _sme(ksic_section="F"), RULES) == ()
    assert blocked(_student(current_workplaces=2), _sme(), RULES) == ("visa.workplaces",)
    assert blocked(_student(visa="d4", months_in_korea=5, topik_level=3), _sme(), RULES) == (
        "visa.d4_too_early",
    )
    assert blocked(_student(visa="d4", months_in_korea=9, topik_level=1), _sme(), RULES) == (
        "visa.d4_too_early",
    )
    check = check_pair(_student(topik_level=2), _sme(hours_needed=20), rules=RULES)
    assert check.blocked == ("visa.hours",)
    assert dict(check.blocked_params["visa.hours"]) == {"hours_needed": 20, "max_hours": 10}
    assert check_pair(_student(), _sme(), rules=RULES, declined_before=True).blocked == (
        "declined_before",
    )
    assert set(check.blocked) <= set(BLOCK_CODES)
    assert all(r.key in REASON_KEYS for r in check.reasons)


def test_a_later_file_is_picked_up_without_code(tmp_path: Path) -> None:
    shutil.copy(RULES_DIRECTORY / "visa-2024-03-01.json", tmp_path)
    data = json.loads((RULES_DIRECTORY / "visa-2024-03-01.json").read_text())
    data["version"], data["effective_from"] = "2027-01", "2027-01-01"
    data["visas"]["d2"]["max_workplaces"] = 1
    (tmp_path / "visa-2027-01-01.json").write_text(json.dumps(data))
    assert load_rules(datetime.date(2026, 6, 1), tmp_path).version == "2024-03"
    newer = load_rules(datetime.date(2027, 2, 1), tmp_path)
    assert newer.version == "2027-01"
    assert blocked(_student(current_workplaces=1), _sme(), newer) == ("visa.workplaces",)


def test_run_never_proposes_a_blocked_pair_and_reports_the_table() -> None:
    students = [_student(id=1, topik_level=3), _student(id=2, topik_level=5, year_of_study=3)]
    factory = _sme(id=1, ksic_section="C", capacity=2)
    res = run(students, [factory], rules=RULES)
    assert [p.student_id for p in res.pairs] == [2]


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["stable", "optimal"]), st.booleans())
def test_blocked_pairs_are_never_proposed_and_check_pair_agrees(
    seed: int, mode: str, many_groups: bool
) -> None:
    students, smes = with_visa_fields(*population(40, 15, seed=seed), seed=seed)
    if many_groups:  # the per-chunk mask instead of folded group columns
        old = matching.model.MAX_FOLDED_GROUPS
        matching.model.MAX_FOLDED_GROUPS = 0
    try:
        res = run(students, smes, mode=mode, k=3, rules=RULES)  # type: ignore[arg-type]
        model = MatchModel(rules=RULES).fit(students, smes)
    finally:
        if many_groups:
            matching.model.MAX_FOLDED_GROUPS = old
    i, j = np.divmod(np.arange(len(students) * len(smes)), len(smes))
    ok = model.acceptable(i, j)
    comb, _, _ = model.score_pairs(i, j)
    s_by, e_by = {s.id: s for s in students}, {e.id: e for e in smes}
    for p in res.pairs:
        check = check_pair(s_by[p.student_id], e_by[p.sme_id], rules=RULES)
        assert check.acceptable and check.blocked == ()
        assert check.score == p.score
    for a, b in zip(i[::7].tolist(), j[::7].tolist(), strict=True):
        check = check_pair(students[a], smes[b], rules=RULES)
        assert check.acceptable == bool(ok[a * len(smes) + b])
        assert check.score == comb[a * len(smes) + b]
    # stable mode is still the deferred acceptance of the acceptable pairs: no blocked pair
    # would have changed anything, and nobody is left out next to a free acceptable seat
    placed = {p.student_id for p in res.pairs}
    used = np.bincount([p.sme_id - 1 for p in res.pairs], minlength=len(smes))
    free = used < np.array([e.capacity for e in smes])
    for a, s in enumerate(students):
        if s.id not in placed:
            assert not (ok[a * len(smes) : (a + 1) * len(smes)] & free).any()
