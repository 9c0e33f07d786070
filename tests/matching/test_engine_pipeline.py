"""The cycle entry point: ids, hard rules, determinism, list growth."""

from __future__ import annotations

import copy
import dataclasses
import gc
import multiprocessing
import random
import threading
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching import (
    MatchModel,
    SMEProfile,
    StudentProfile,
    assign,
    explain_pair,
    pipeline,
    run,
    shortlists,
)
from matching.synthetic import population


def _caps_ok(
    result_pairs: list[tuple[int, int]], smes: list[SMEProfile], locked: list[tuple[int, int]]
) -> None:
    count: dict[int, int] = {}
    for _, e in result_pairs + locked:
        count[e] = count.get(e, 0) + 1
    cap = {e.id: e.capacity for e in smes}
    for e, c in count.items():
        assert c <= max(cap[e], sum(1 for _, x in locked if x == e))


@settings(max_examples=15, deadline=None)
@given(
    st.integers(0, 40),
    st.integers(0, 15),
    st.integers(0, 1000),
    st.sampled_from(["stable", "optimal"]),
)
def test_hard_rules(n: int, m: int, seed: int, mode: str) -> None:
    students, smes = population(n, m, seed=seed)
    rng = random.Random(seed)
    pairs_all = [(s.id, e.id) for s in students for e in smes]
    excluded = [p for p in pairs_all if rng.random() < 0.2]
    locked: list[tuple[int, int]] = []
    seen: set[int] = set()
    for s, e in pairs_all:
        if s not in seen and rng.random() < 0.05:
            locked.append((s, e))
            seen.add(s)
    res = run(students, smes, mode=mode, k=3, locked=locked, excluded=excluded)  # type: ignore[arg-type]
    got = [(p.student_id, p.sme_id) for p in res.pairs]
    assert len({s for s, _ in got}) == len(got)  # at most once per student
    assert not set(got) & set(excluded)
    assert not {s for s, _ in got} & {s for s, _ in locked}  # locked students keep their pair
    _caps_ok(got, smes, locked)
    assert res.n_students == n and res.n_smes == m
    assert set(res.timings) >= {"fit", "candidates", "assign", "explain"}
    for p in res.pairs:
        assert abs(sum(r.weight for r in p.reasons) - p.score) < 1e-6
        assert 0 <= p.score <= 1
    if mode == "stable":
        assert res.blocking_pairs == 0


@settings(max_examples=12, deadline=None)
@given(st.integers(1, 40), st.integers(1, 12), st.integers(0, 1000), st.integers(1, 3))
def test_short_lists_grow_to_the_full_list_result(n: int, m: int, seed: int, k: int) -> None:
    students, smes = population(n, m, seed=seed)
    short = run(students, smes, mode="stable", k=k, explain=False)
    full = run(students, smes, mode="stable", k=m, explain=False)
    assert [(p.student_id, p.sme_id) for p in short.pairs] == [
        (p.student_id, p.sme_id) for p in full.pairs
    ]
    # nobody unmatched while an acceptable seat is free
    model = MatchModel(random_state=0).fit(
        sorted(students, key=lambda s: s.id), sorted(smes, key=lambda s: s.id)
    )
    comb, _, _ = model.score_matrix()
    placed = {p.student_id: p.sme_id for p in short.pairs}
    used = np.bincount([p.sme_id - 1 for p in short.pairs], minlength=m)
    free = used < np.array([e.capacity for e in smes])
    for i, s in enumerate(sorted(students, key=lambda s: s.id)):
        if s.id not in placed:
            assert not (np.isfinite(comb[i]) & free).any()


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 30), st.integers(1, 10), st.integers(0, 1000), st.integers(1, 3))
def test_optimal_mode_reaches_the_optimum_on_full_lists_and_fills_free_seats(
    n: int, m: int, seed: int, k: int
) -> None:
    students, smes = population(n, m, seed=seed)
    full = run(students, smes, mode="optimal", k=m, explain=False)
    model = MatchModel(random_state=0).fit(students, smes)
    comb, _, _ = model.score_matrix()
    best = assign.optimal(comb, [e.capacity for e in smes])
    assert abs(full.total_score - comb[np.arange(n), best][best >= 0].sum()) < 1e-4
    short = run(students, smes, mode="optimal", k=k, explain=False)
    # short lists grow until no pair outside them could raise the total
    assert abs(short.total_score - full.total_score) < 1e-4
    placed = {p.student_id for p in short.pairs}
    used = np.bincount([p.sme_id - 1 for p in short.pairs], minlength=m)
    free = used < np.array([e.capacity for e in smes])
    for i, s in enumerate(students):
        if s.id not in placed:
            assert not (np.isfinite(comb[i]) & free).any()


def test_optimal_mode_with_short_lists_reaches_the_dense_optimum() -> None:
    students, smes = population(300, 80, seed=11)
    model = MatchModel(random_state=0).fit(students, smes)
    comb, _, _ = model.score_matrix()
    best = assign.optimal(comb, [e.capacity for e in smes])
    dense = comb[np.arange(300), best][best >= 0].sum()
    for k in (1, 3):
        res = run(students, smes, mode="optimal", k=k, explain=False)
        assert abs(res.total_score - dense) < 1e-4


def _dense_total(students: list[StudentProfile], smes: list[SMEProfile]) -> float:
    model = MatchModel(random_state=0).fit(students, smes)
    comb, _, _ = model.score_matrix()
    best = assign.optimal(comb, [e.capacity for e in smes])
    return float(comb[np.arange(len(students)), best][best >= 0].sum())


@pytest.mark.parametrize("margin", [1e-4, 0.01, 0.05])
def test_optimal_mode_reprices_only_what_moved_and_still_reaches_the_optimum(
    margin: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # After a full pricing pass, rounds price only the students and SMEs whose price fell by
    # more than 0.4 x the margin (issue 14): the proof must still hold, whatever the margin.
    monkeypatch.setattr(pipeline, "PRICING_MARGIN", margin)
    restricted = 0
    for n, m, seed in ((300, 80, 11), (1000, 300, 5)):
        students, smes = population(n, m, seed=seed)
        dense = _dense_total(students, smes)
        for k in (1, 3):
            res = run(students, smes, mode="optimal", k=k, explain=False)
            assert abs(res.total_score - dense) < 1e-4
            restricted += int(res.timings["pricing_rounds"] - res.timings["full_pricing_passes"])
    assert restricted > 0  # the restricted rounds were exercised, not only full passes


# Cohorts where a pair only comes to violate through its SME's price falling: without the
# restricted pass over those SMEs (all students x the SMEs whose price fell), the run stops
# short of the optimum (found by a search over seeds with that pass removed).
@pytest.mark.parametrize(
    ("n", "m", "seed", "k"), [(60, 20, 3, 1), (300, 80, 10, 1), (300, 80, 20, 2)]
)
def test_optimal_mode_reprices_the_smes_whose_price_fell(n: int, m: int, seed: int, k: int) -> None:
    students, smes = population(n, m, seed=seed)
    res = run(students, smes, mode="optimal", k=k, explain=False)
    assert abs(res.total_score - _dense_total(students, smes)) < 1e-6


def test_order_does_not_matter_and_runs_are_deterministic() -> None:
    students, smes = population(60, 20, seed=7)
    a = run(students, smes, mode="stable", k=5)
    sh_st, sh_sm = students[:], smes[:]
    random.Random(1).shuffle(sh_st)
    random.Random(2).shuffle(sh_sm)
    b = run(sh_st, sh_sm, mode="stable", k=5)
    assert [(p.student_id, p.sme_id, p.score) for p in a.pairs] == [
        (p.student_id, p.sme_id, p.score) for p in b.pairs
    ]
    c = run(students, smes, mode="optimal", k=5)
    d = run(sh_st, sh_sm, mode="optimal", k=5)
    assert [(p.student_id, p.sme_id) for p in c.pairs] == [
        (p.student_id, p.sme_id) for p in d.pairs
    ]


def test_priority_students_win_ties() -> None:
    twin = dict(
        nationality="VN",
        languages={"vi": "native"},
        markets=(),
        industries=("cosmetics",),
        regions=("seoul",),
        topik_level=2,
        hours_per_week=20,
    )
    a = StudentProfile(1, **twin)  # type: ignore[arg-type]
    b = StudentProfile(2, **twin)  # type: ignore[arg-type]
    sme = SMEProfile(10, ("cosmetics",), ("VN",), region="seoul", capacity=1)
    # stable: the lower index wins a tie; optimal has no tie rule beyond determinism
    assert [p.student_id for p in run([a, b], [sme], mode="stable").pairs] == [1]
    for mode in ("stable", "optimal"):
        res = run([a, b], [sme], mode=mode, priority=[2])  # type: ignore[arg-type]
        assert [p.student_id for p in res.pairs] == [2]
        assert any(r.key == "priority.unmatched_last_cycle" for r in res.pairs[0].reasons)


def test_locked_pairs_use_capacity_and_capacity_override() -> None:
    students, smes = population(30, 5, seed=2)
    res = run(students, smes, locked=[(1, 1)], capacity_override={e.id: 1 for e in smes})
    assert all(p.sme_id != 1 for p in res.pairs)  # SME 1's single seat is taken
    assert all(p.student_id != 1 for p in res.pairs)
    # a locked student not passed in still holds the seat
    res2 = run(students[1:], smes, locked=[(1, 1)], capacity_override={e.id: 1 for e in smes})
    assert all(p.sme_id != 1 for p in res2.pairs)


def test_edge_cases() -> None:
    students, smes = population(5, 3, seed=1)
    for mode in ("stable", "optimal"):
        assert run([], smes, mode=mode).pairs == []  # type: ignore[arg-type]
        assert run(students, [], mode=mode).pairs == []  # type: ignore[arg-type]
        zero = [
            SMEProfile(e.id, e.industries, e.markets, region=e.region, capacity=0) for e in smes
        ]
        r = run(students, zero, mode=mode)  # type: ignore[arg-type]
        assert r.pairs == [] and r.placed_share == 0.0
        one = run(students[:1], smes, mode=mode)  # type: ignore[arg-type]
        assert len(one.pairs) <= 1


def test_explain_pair() -> None:
    s = StudentProfile(
        1, "VN", {"vi": "native"}, ("VN",), ("cosmetics",), ("seoul",), 3, 20, "skincare export"
    )
    e = SMEProfile(
        2, ("cosmetics",), ("VN",), region="gyeonggi", text="skincare brand export to Vietnam"
    )
    score, stu, smev, reasons = explain_pair(s, e)
    assert abs(score - 0.5 * (stu + smev)) < 1e-12
    assert abs(sum(r.weight for r in reasons) - score) < 1e-6
    assert {r.factor for r in reasons} >= {"language", "market", "industry", "region"}


def test_optimal_mode_is_not_stopped_by_unacceptable_picks() -> None:
    # Found by Hypothesis: an unacceptable pair (zero on every main criterion) took student 2's
    # top-1 place in the pricing query and hid an improving pair, so column generation stopped
    # 0.014 % below the optimum.
    students, smes = population(30, 10, seed=9)
    full = run(students, smes, mode="optimal", k=10, explain=False)
    short = run(students, smes, mode="optimal", k=1, explain=False)
    assert abs(short.total_score - full.total_score) < 1e-4


@settings(max_examples=10, deadline=None)
@given(st.integers(5, 40), st.integers(2, 12), st.integers(0, 1000), st.integers(1, 3))
def test_growth_never_asks_again_for_a_complete_list(n: int, m: int, seed: int, k: int) -> None:
    """A student whose last query returned everything that passed (fewer than
    asked for) is not queried again: cutoffs only rise, so a new pass over all
    SMEs could only prove what the last one showed (issue 14: at 100,000 x
    30,000 that proof cost a pass per student who cannot be placed). The
    result is unchanged (``test_short_lists_grow_to_the_full_list_result``)."""
    students, smes = population(n, m, seed=seed)
    asked: list[tuple[np.ndarray, object]] = []
    original = MatchModel.candidates

    def spy(self: MatchModel, k: int, **kw: object) -> object:
        out = original(self, k, **kw)  # type: ignore[arg-type]
        asked.append((np.asarray(kw.get("students")), out.complete))
        return out

    try:
        MatchModel.candidates = spy  # type: ignore[assignment,method-assign]
        res = run(students, smes, mode="stable", k=k, explain=False)
    finally:
        MatchModel.candidates = original  # type: ignore[method-assign]
    done = np.zeros(n, bool)
    for who, complete in asked:
        assert not done[who].any()
        assert complete is not None
        done |= np.asarray(complete)
    full = run(students, smes, mode="stable", k=m, explain=False)
    assert [(p.student_id, p.sme_id) for p in res.pairs] == [
        (p.student_id, p.sme_id) for p in full.pairs
    ]


@pytest.mark.parametrize("sift_margin", [0.0, 0.01, pipeline.SIFT_MARGIN, 0.05])
def test_optimal_mode_sifted_resolves_still_reach_the_optimum(
    sift_margin: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 14: re-solves see only the listed pairs within SIFT_MARGIN of their price (sifting
    # forced on every round here); a pair left out that beats the new prices must be put back,
    # or the run stops below the optimum. With a zero margin the put-back loop must run.
    monkeypatch.setattr(pipeline, "SIFT_MARGIN", sift_margin)
    monkeypatch.setattr(pipeline, "SIFT_BELOW", 1e9)
    put_back = 0
    for n, m, seed in ((300, 80, 11), (1000, 300, 5), (60, 20, 3)):
        students, smes = population(n, m, seed=seed)
        dense = _dense_total(students, smes)
        for k in (1, 3):
            res = run(students, smes, mode="optimal", k=k, explain=False)
            assert abs(res.total_score - dense) < 1e-6
            # one solve per round that found pairs, plus the first: more means put back
            put_back += int(res.timings["solves"] - res.timings["pricing_rounds"])
    if sift_margin == 0.0:
        assert put_back > 0


@pytest.mark.parametrize("near_margin", [0.0, 0.005, 0.05])
def test_optimal_mode_solving_near_the_last_prices_still_reaches_the_optimum(
    near_margin: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 14, session 7: after a small addition each re-solve first sees only the pairs near
    # the last prices (forced on every sifted round here, with no sift margin either); the
    # optimum over all listed pairs must still be reached, and the same pairs as without it.
    monkeypatch.setattr(pipeline, "SIFT_MARGIN", 0.0)
    monkeypatch.setattr(pipeline, "SIFT_BELOW", 1e9)
    for n, m, seed in ((300, 80, 11), (1000, 300, 5), (60, 20, 3)):
        students, smes = population(n, m, seed=seed)
        dense = _dense_total(students, smes)
        for k in (1, 3):
            monkeypatch.setattr(pipeline, "NEAR_BELOW", 0.0)
            plain = run(students, smes, mode="optimal", k=k, explain=False)
            monkeypatch.setattr(pipeline, "NEAR_BELOW", 1e9)
            monkeypatch.setattr(pipeline, "NEAR_MARGIN", near_margin)
            res = run(students, smes, mode="optimal", k=k, explain=False)
            assert abs(res.total_score - dense) < 1e-6
            assert [(p.student_id, p.sme_id) for p in res.pairs] == [
                (p.student_id, p.sme_id) for p in plain.pairs
            ]


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 40), st.integers(1, 12), st.integers(0, 1000), st.integers(1, 3))
def test_optimal_mode_with_pool_and_sifting_equals_the_dense_optimum(
    n: int, m: int, seed: int, k: int
) -> None:
    # Small margins make the pool, the restricted rounds and the put-back loop do real work.
    students, smes = population(n, m, seed=seed)
    dense = _dense_total(students, smes)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "SIFT_MARGIN", 0.0)
        mp.setattr(pipeline, "SIFT_BELOW", 1e9)
        mp.setattr(pipeline, "PRICING_MARGIN", 0.05)
        res = run(students, smes, mode="optimal", k=k, explain=False)
    assert abs(res.total_score - dense) < 1e-6


@pytest.mark.parametrize(("n", "m", "seed"), [(300, 80, 11), (1000, 300, 5), (400, 900, 2)])
def test_score_ceilings_bound_every_pair_outside_the_first_lists(n: int, m: int, seed: int) -> None:
    # Issue 14: optimal mode's pricing queries skip, per student, the SMEs whose price is too
    # high for any pair scoring at most the student's ceiling to pass. A ceiling below a real
    # unlisted score would drop a pair that can raise the total: check it against every pair.
    students, smes = population(n, m, seed=seed)
    model = MatchModel(random_state=0).fit(students, smes)
    comb, _, _ = model.score_matrix()
    for k in (1, 3, 10):
        first = model.candidates(k, by="combined")
        ceiling = pipeline._score_ceilings(first.combined, k)
        listed = first.combined.toarray() != 0
        outside = np.where(np.isfinite(comb) & ~listed, comb, -np.inf).max(axis=1)
        assert (outside <= ceiling).all()
        bounded = np.isfinite(ceiling)
        assert bounded.mean() > 0.5  # the bound is used, not vacuous


@pytest.mark.parametrize("groups", [1, 3, 50])
def test_optimal_mode_with_pruned_pricing_queries_reaches_the_dense_optimum(
    groups: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # However the students are grouped for the pruned pricing queries, the optimum is reached.
    monkeypatch.setattr(pipeline, "PRICING_GROUPS", groups)
    for n, m, seed in ((300, 80, 11), (1000, 300, 5)):
        students, smes = population(n, m, seed=seed)
        dense = _dense_total(students, smes)
        for k in (1, 3):
            res = run(students, smes, mode="optimal", k=k, explain=False)
            assert abs(res.total_score - dense) < 1e-6


@settings(max_examples=10, deadline=None)
@given(st.integers(5, 40), st.integers(2, 12), st.integers(0, 1000), st.integers(1, 3))
def test_growth_calls_are_capped_and_give_the_full_list_result(
    n: int, m: int, seed: int, k: int
) -> None:
    """One growth call hands deferred acceptance at most ``GROW_PAIRS`` pairs
    (one student's reserve and one student's pass when none fits), deferring
    the other students to the next call (issue 14: at 100,000 x 30,000 two
    calls returned 4-5 M pairs each, the memory peak). With a budget of one
    pair a call answers at most two students, and the result is the full lists'."""
    students, smes = population(n, m, seed=seed)
    answered: list[int] = []
    original = assign.stable

    def spy(*a: object, **kw: object) -> object:
        grow = kw["grow"]

        def counted(who: np.ndarray, cutoff: np.ndarray, listed: np.ndarray) -> object:
            out = grow(who, cutoff, listed)  # type: ignore[operator]
            answered.append(int((np.diff(out[0].indptr) > 0).sum()))
            return out

        kw["grow"] = counted
        return original(*a, **kw)  # type: ignore[arg-type]

    saved = pipeline.GROW_PAIRS
    try:
        pipeline.GROW_PAIRS = 1
        assign.stable = spy  # type: ignore[assignment]
        res = run(students, smes, mode="stable", k=k, explain=False)
    finally:
        assign.stable = original  # type: ignore[assignment]
        pipeline.GROW_PAIRS = saved
    assert all(a <= 2 for a in answered)
    full = run(students, smes, mode="stable", k=m, explain=False)
    assert [(p.student_id, p.sme_id) for p in res.pairs] == [
        (p.student_id, p.sme_id) for p in full.pairs
    ]
    assert res.blocking_pairs == 0


@pytest.mark.parametrize("full_smes", [1, 2, 30_000])
@pytest.mark.parametrize(
    ("n", "m", "seed", "k"), [(60, 15, 3, 2), (120, 30, 5, 2), (200, 40, 9, 3), (150, 25, 2, 1)]
)
def test_growth_pass_lengths_ask_for_grow_first_times_k_and_give_the_full_list_result(
    full_smes: int, n: int, m: int, seed: int, k: int
) -> None:
    """A student's g-th growth pass asks for ``L x 2^g`` SMEs, ``L = 2k`` from
    ``GROW_FULL_SMES`` SMEs on, proportionally fewer below, at least one (issue 14, session
    11: most grown students read few of their new entries). However long the passes are,
    the lists stay prefixes of each student's order, so the result is the full lists' one."""
    students, smes = population(n, m, seed=seed)
    asked: list[int] = []
    original = shortlists.candidates

    def spy(model: MatchModel, length: int, **kw: Any) -> Any:
        if kw.get("sme_floor") is not None:  # a growth pass
            asked.append(length)
        return original(model, length, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "GROW_FULL_SMES", full_smes * m)
        mp.setattr(shortlists, "candidates", spy)
        res = run(students, smes, mode="stable", k=k, explain=False)
    first = max(1, min(2 * k, 2 * k // full_smes))  # (m SMEs: 2k m // (full_smes m))
    assert asked  # (these cohorts grow lists by passes)
    assert asked[0] == min(first, m)  # the first pass is every student's first, level 0
    assert set(asked) <= {min(first << g, m) for g in range(31)}
    full = run(students, smes, mode="stable", k=m, explain=False)
    assert [(p.student_id, p.sme_id) for p in res.pairs] == [
        (p.student_id, p.sme_id) for p in full.pairs
    ]
    assert res.blocking_pairs == 0


def test_optimal_mode_pricing_never_returns_a_declined_pair() -> None:
    # Pricing queries skip the listed, pooled and declined pairs, given as sorted keys built
    # once a round (issue 14, session 6). Declining the dense optimum's own pairs makes them
    # the most attractive ones pricing could return: the run must reach the optimum without
    # them and never assign one.
    students, smes = population(300, 80, seed=11)
    model = MatchModel(random_state=0).fit(students, smes)
    comb, _, _ = model.score_matrix()
    cap = [e.capacity for e in smes]
    best = assign.optimal(comb, cap)
    declined = [(students[i].id, smes[j].id) for i, j in enumerate(best) if j >= 0 and i % 2]
    assert declined
    without = comb.copy()
    for s, e in declined:
        without[s - 1, e - 1] = -np.inf
    again = assign.optimal(without, cap)
    dense = without[np.arange(300), again][again >= 0].sum()
    for k in (1, 3):
        res = run(students, smes, mode="optimal", k=k, excluded=declined, explain=False)
        assert not {(p.student_id, p.sme_id) for p in res.pairs} & set(declined)
        assert abs(res.total_score - dense) < 1e-4
        assert res.timings["pricing_rounds"] >= 2


def test_blocking_pairs_counted_beside_the_reasons(monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 14: the count runs on another thread while the reasons are built,
    # on the cycle's lists and final assignment, and its result is the one
    # the cycle reports. (Until session 13 large lists were counted on this
    # thread first: the count's temporaries were list-sized; now they are
    # bounded by ``metrics.BLOCKING_STEP``.)
    students, smes = population(40, 25, seed=2)
    real = pipeline.metrics.blocking_pairs
    on_main: list[bool] = []

    def spy(stu: object, sme: object, capacity: object, assignment: object) -> int:
        on_main.append(threading.current_thread() is threading.main_thread())
        return real(stu, sme, capacity, assignment) + 7  # a count the cycle must pass on

    monkeypatch.setattr(pipeline.metrics, "blocking_pairs", spy)
    result = run(students, smes, mode="stable")
    monkeypatch.undo()
    plain = run(students, smes, mode="stable")
    assert on_main == [False]
    assert result.blocking_pairs == plain.blocking_pairs + 7
    assert [(p.student_id, p.sme_id, p.reasons) for p in result.pairs] == [
        (p.student_id, p.sme_id, p.reasons) for p in plain.pairs
    ]


def test_free_heap_given_back_only_from_trim_from_on(monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 14, session 14: stable mode's ``malloc_trim`` calls (after the
    # first pass, at each growth call, before the reasons) cost page faults
    # when the heap is reused, so they run only on cohorts of ``TRIM_FROM``
    # students x SMEs or more; the result is the same either way.
    students, smes = population(120, 40, seed=3)
    trims: list[str] = []
    real = pipeline.release_free_heap

    def spy() -> None:
        trims.append("trim")
        real()

    monkeypatch.setattr(pipeline, "release_free_heap", spy)
    monkeypatch.setattr(pipeline, "TRIM_FROM", 120 * 40 + 1)
    below = run(students, smes, mode="stable", k=3)
    assert trims == []
    monkeypatch.setattr(pipeline, "TRIM_FROM", 120 * 40)
    at = run(students, smes, mode="stable", k=3)
    # the first pass, the end of deferred acceptance and one per growth call
    assert len(trims) >= 3
    assert [(p.student_id, p.sme_id, p.score, p.reasons) for p in below.pairs] == [
        (p.student_id, p.sme_id, p.score, p.reasons) for p in at.pairs
    ]
    assert below.total_score == at.total_score


@pytest.mark.parametrize(("n", "m", "seed"), [(300, 80, 11), (1000, 300, 5), (400, 900, 2)])
def test_a_full_pricing_pass_bounds_every_pair_it_did_not_return(n: int, m: int, seed: int) -> None:
    # Issue 14, session 8: after a full pricing pass every pair outside lists and pass scores at
    # most u_i + v_j - gap_i; for a student with k or more pairs returned (unbounded) the gap
    # comes from the lowest returned pair. Later rounds price only where prices fell by more,
    # so a gap above the truth would drop a pair that can raise the total: check every pair.
    students, smes = population(n, m, seed=seed)
    model = MatchModel(random_state=0).fit(students, smes)
    comb, _, _ = model.score_matrix()
    cap = [e.capacity for e in smes]
    margin = pipeline.PRICING_MARGIN
    some_below_margin = False
    for k in (1, 3, 10):
        first = model.candidates(k, by="combined")
        _, u, v = assign.optimal_with_prices(first.combined, cap)
        listed = first.combined.tocoo()
        got = pipeline._Pairs.of(
            model.candidates(
                k,
                by="combined",
                exclude=np.column_stack([listed.row, listed.col]),
                prices=(u - margin, v),
            )
        )
        gap = pipeline._proven_gap(got, u, v, n, k)
        seen = np.zeros((n, m), bool)
        seen[listed.row, listed.col] = True
        seen[got.i, got.j] = True
        unbounded = np.bincount(got.i, minlength=n) >= k
        assert unbounded.any() and (gap[unbounded] < margin).all()
        assert (gap[~unbounded] == margin).all()
        left = np.where(np.isfinite(comb) & ~seen, comb - u[:, None] - v[None, :], -np.inf)
        assert (left.max(axis=1) <= -gap + 1e-9).all()
        # the plain margin would not hold for unbounded students: their own gap is needed
        some_below_margin |= bool((left.max(axis=1)[unbounded] > -margin).any())
    assert some_below_margin


@settings(max_examples=15, deadline=None)
@given(
    st.integers(2, 60),
    st.integers(1, 15),
    st.integers(0, 1000),
    st.integers(1, 3),
    st.sampled_from([1e-4, 0.01, 0.05]),
)
def test_pricing_only_where_the_last_pass_proof_fails_finds_the_same_pairs(
    n: int, m: int, seed: int, k: int, margin: float
) -> None:
    # Issue 14, session 8: rounds after a full pass price only the pairs whose student's and
    # SME's prices fell by more than the pass proved (a full pass: within the margin of that).
    # They must find exactly what pricing the movers against everyone found: the same rounds,
    # lists, pairs and blocking count, and the dense optimum.
    students, smes = population(n, m, seed=seed)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "PRICING_MARGIN", margin)
        mp.setattr(pipeline, "PRUNE_BY_LAST_PASS", False)
        plain = run(students, smes, mode="optimal", k=k, explain=False)
        mp.setattr(pipeline, "PRUNE_BY_LAST_PASS", True)
        pruned = run(students, smes, mode="optimal", k=k, explain=False)
    assert [(p.student_id, p.sme_id) for p in pruned.pairs] == [
        (p.student_id, p.sme_id) for p in plain.pairs
    ]
    assert pruned.blocking_pairs == plain.blocking_pairs
    for key in ("pricing_rounds", "full_pricing_passes", "listed_pairs"):
        assert pruned.timings[key] == plain.timings[key]
    assert abs(pruned.total_score - _dense_total(students, smes)) < 1e-6


@pytest.mark.parametrize("margin", [1e-4, 0.01])
def test_pricing_only_where_the_last_pass_proof_fails_prices_fewer_pairs(
    margin: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same pairs as above from smaller products: count students x SMEs of every pricing
    # query after the first pass, both ways, on cohorts with several rounds.
    monkeypatch.setattr(pipeline, "PRICING_MARGIN", margin)
    original = MatchModel.candidates
    products: list[int] = []

    def spy(self: MatchModel, k: int, **kw: object) -> object:
        if kw.get("prices") is not None:
            products[-1] += np.size(kw["students"]) * int(np.sum(kw["sme_mask"]))  # type: ignore[arg-type]
        return original(self, k, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(MatchModel, "candidates", spy)
    for n, m, seed in ((300, 80, 11), (1000, 300, 5)):
        students, smes = population(n, m, seed=seed)
        for prune in (False, True):
            monkeypatch.setattr(pipeline, "PRUNE_BY_LAST_PASS", prune)
            products.append(0)
            res = run(students, smes, mode="optimal", k=3, explain=False)
            assert res.timings["pricing_rounds"] > 1
        assert products[-1] < products[-2]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 150), st.integers(1, 9), st.integers(2, 3))
def test_reserve_screen_in_chunks_on_several_threads_equals_one_call(
    seed: int, size: int, step: int, threads: int
) -> None:
    """Issue 14: list growth's reserve screen (``_not_refused``) computes its
    float32 SME views in ``ROW_DOTS_STEP`` chunks on all cores. Any step on
    several threads keeps exactly the pairs one thread keeps, and those are the
    pairs whose SME has a free seat or whose view (``row_dots`` in one call,
    the same steps) is within ``NEAR_TIE`` of the SME's cutoff."""
    from matching import compute, shortlists

    students, smes = population(30, 20, seed=seed)
    model = MatchModel(random_state=0).fit(students, smes)
    rng = np.random.default_rng(seed)
    # a reserve comes student by student: runs of one row
    ri = np.sort(rng.integers(0, 30, size)).astype(np.int64)
    rj = rng.integers(0, 20, size).astype(np.int64)
    x, yt = model.ranking_matrices("sme")
    cutoff = np.where(rng.random(20) < 0.3, -np.inf, rng.uniform(0.0, 0.8, 20))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(shortlists, "ROW_DOTS_STEP", step)
        patch.setattr(compute, "workers", lambda: 1)
        serial = pipeline._not_refused(model, ri, rj, cutoff)
        patch.setattr(compute, "workers", lambda: threads)
        chunked = pipeline._not_refused(model, ri, rj, cutoff)
        views = shortlists.row_dots(x, ri, yt.T, rj)
    for a, b in zip(serial, chunked, strict=True):
        assert a.tobytes() == b.tobytes()
    keep = ~np.isfinite(cutoff[rj]) | (views >= cutoff[rj] - shortlists.NEAR_TIE)
    assert chunked[0].tolist() == ri[keep].tolist()
    assert chunked[1].tolist() == rj[keep].tolist()


@pytest.mark.parametrize(("n", "m", "seed"), [(300, 80, 11), (1000, 300, 5), (400, 900, 2)])
def test_score_ceilings_with_start_prices_bound_every_pair_outside_the_first_lists(
    n: int, m: int, seed: int
) -> None:
    # Issue 14, session 9: with start prices v0 the first lists rank score - v0_j and the
    # ceiling bounds that key; pricing queries skip the SMEs with v_j - v0_j above the ceiling
    # minus the floor, so a ceiling below a real unlisted key would drop a pair that can raise
    # the total. Prices with a tail at 0 and a few at 1, as a previous cycle's may have.
    students, smes = population(n, m, seed=seed)
    model = MatchModel(random_state=0).fit(students, smes)
    comb, _, _ = model.score_matrix()
    rng = np.random.default_rng(seed)
    v0 = np.where(rng.random(m) < 0.2, 0.0, rng.random(m))
    v0[rng.random(m) < 0.05] = 1.0
    for k in (1, 3, 10):
        first = model.candidates(k, by="combined", prices=(np.full(n, -3.0), v0))
        ceiling = pipeline._score_ceilings(first.combined, k, v0)
        listed = first.combined.toarray() != 0
        key = np.where(np.isfinite(comb) & ~listed, comb - v0, -np.inf).max(axis=1)
        assert (key <= ceiling).all()
        assert np.isfinite(ceiling).mean() > 0.5  # the bound is used, not vacuous
        # lists ranked by price leave out pairs scoring above the plain ceiling: the bound
        # without the start prices would be wrong
        score = np.where(np.isfinite(comb) & ~listed, comb, -np.inf).max(axis=1)
        assert (score > pipeline._score_ceilings(first.combined, k)).any()


@settings(max_examples=15, deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 12),
    st.integers(0, 1000),
    st.integers(1, 3),
    st.lists(st.floats(-0.5, 1.5), min_size=12, max_size=12),
)
def test_optimal_mode_from_any_start_prices_equals_the_dense_optimum(
    n: int, m: int, seed: int, k: int, prices: list[float]
) -> None:
    # Start prices only choose the first lists: whatever they are (out of range ones are
    # clipped, SMEs not given start at 0), the run reaches the dense optimum.
    students, smes = population(n, m, seed=seed)
    start = {e.id: p for e, p in zip(smes[: m - 1], prices, strict=False)}
    res = run(students, smes, mode="optimal", k=k, explain=False, start_prices=start)
    assert abs(res.total_score - _dense_total(students, smes)) < 1e-6
    assert set(res.sme_prices) == {e.id for e in smes}


def test_optimal_mode_from_the_last_cycles_prices_needs_one_solve() -> None:
    # A cycle started from its own final prices (``MatchResult.sme_prices``, what the next
    # cycle would be given) lists each student's best pairs at those prices: the first solve
    # is the optimum and one pricing pass proves it; the pairs are the same.
    for n, m, seed in ((300, 80, 11), (1000, 300, 5), (400, 900, 2)):
        students, smes = population(n, m, seed=seed)
        cold = run(students, smes, mode="optimal", k=3, explain=False)
        assert cold.timings["solves"] > 1
        warm = run(students, smes, mode="optimal", k=3, explain=False, start_prices=cold.sme_prices)
        assert warm.timings["solves"] == 1
        assert warm.timings["full_pricing_passes"] == 1
        assert [(p.student_id, p.sme_id) for p in warm.pairs] == [
            (p.student_id, p.sme_id) for p in cold.pairs
        ]
        assert abs(warm.total_score - cold.total_score) < 1e-9
    stable = run(students, smes, mode="stable", start_prices=cold.sme_prices)
    assert stable.sme_prices == {}
    with pytest.raises(ValueError, match="finite"):
        run(students, smes, mode="optimal", start_prices={smes[0].id: float("nan")})


@settings(max_examples=10, deadline=None)
@given(st.integers(6, 40), st.integers(6, 12), st.integers(0, 1000), st.integers(2, 3))
def test_optimal_mode_started_from_parts_keeps_the_rules_and_the_optimum(
    n: int, m: int, seed: int, parts: int
) -> None:
    # Large cohorts start from the prices of smaller parts solved on their own (issue 14,
    # session 9): forced here on small ones (at least two students and SMEs a part), with
    # declined, locked and priority students, the result is the cycle's own optimum and keeps
    # its rules.
    students, smes = population(n, m, seed=seed)
    rng = random.Random(seed)
    excluded = [(s.id, e.id) for s in students for e in smes if rng.random() < 0.2]
    locked = [(students[0].id, smes[-1].id)]
    priority = [s.id for s in students if rng.random() < 0.3]
    plain = run(
        students, smes, mode="optimal", k=2, locked=locked, excluded=excluded, priority=priority
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "PARTS_FROM", 0)
        mp.setattr(pipeline, "START_PARTS", parts)
        calls: list[int] = []
        real = pipeline._prices_from_parts

        def spy(*a: object, **kw: object) -> dict[int, float]:
            calls.append(1)
            mp.setattr(pipeline, "PARTS_FROM", 1e18)  # the parts themselves start cold
            return real(*a, **kw)  # type: ignore[arg-type]

        mp.setattr(pipeline, "_prices_from_parts", spy)
        res = run(
            (s for s in students),
            smes,
            mode="optimal",
            k=2,
            locked=(p for p in locked),
            excluded=(p for p in excluded),
            priority=(i for i in priority),
        )
    assert calls == [1] and "start_parts" in res.timings
    assert abs(res.total_score - plain.total_score) < 1e-6
    got = {(p.student_id, p.sme_id) for p in res.pairs}
    assert not got & set(excluded)
    assert students[0].id not in {s for s, _ in got}
    _caps_ok(sorted(got), smes, locked)


def _optimal_from_two_parts(
    students: Any, smes: Any, run_optimal: Any, **knobs: float
) -> pipeline.MatchResult:
    """Optimal mode (k 2, no reasons) forced to start from two parts solved in this process,
    with ``pipeline._run_optimal`` replaced by ``run_optimal`` (a spy that calls the real one)
    and the pipeline's constants in ``knobs`` set."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "PARTS_FROM", 0)
        mp.setattr(pipeline, "START_PARTS", 2)
        mp.setattr(pipeline, "PARTS_AT_ONCE", 1)
        for name, value in knobs.items():
            mp.setattr(pipeline, name, value)
        mp.setattr(pipeline, "_run_optimal", run_optimal)
        return run(students, smes, mode="optimal", k=2, explain=False)


def _parts_timings_from_two_parts(
    students: Any, smes: Any, **knobs: float
) -> tuple[pipeline.MatchResult, list[dict[str, float]]]:
    """``_optimal_from_two_parts`` with a spy that keeps each part's timings after its column
    generation (a part: a ``_run_optimal`` call with a stop or a last share; the whole has 0
    for both), in the order the parts ran."""
    parts: list[dict[str, float]] = []
    real = pipeline._run_optimal

    def spy(*a: Any, **kw: Any) -> Any:
        out = real(*a, **kw)
        if kw.get("stop_below") or kw.get("last_below"):
            parts.append(dict(a[1].timings))
        return out

    return _optimal_from_two_parts(students, smes, spy, **knobs), parts


@settings(max_examples=10, deadline=None)
@given(st.integers(8, 40), st.integers(6, 12), st.integers(0, 1000))
def test_parts_that_stop_early_still_start_the_whole_to_its_own_optimum(
    n: int, m: int, seed: int
) -> None:
    # A part stops column generation once a round adds fewer pairs than ``PART_STOP_BELOW`` of
    # its lists (issue 14, session 13): its prices are only a start. Forced to stop at its first
    # round that finds anything, the whole still ends at its own optimum, which only the whole
    # may not stop short of (the test fails if the stop applies to the whole too).
    students, smes = population(n, m, seed=seed)
    plain = run(students, smes, mode="optimal", k=2, explain=False)
    res, parts = _parts_timings_from_two_parts(students, smes, PART_STOP_BELOW=1e9)
    assert "start_parts" in res.timings
    assert parts and max(int(t["solves"]) for t in parts) == 1  # each part: its first solve only
    assert abs(res.total_score - plain.total_score) < 1e-6


@settings(max_examples=10, deadline=None)
@given(st.integers(8, 40), st.integers(6, 12), st.integers(0, 1000))
def test_parts_that_end_on_a_solve_still_start_the_whole_to_its_own_optimum(
    n: int, m: int, seed: int
) -> None:
    # A part whose round added fewer pairs than ``PART_LAST_BELOW`` of its lists solves them in
    # and stops there, without pricing again (issue 14, session 15): forced on every round, each
    # part makes at most one pricing round and ends on the solve after it, and the whole still
    # ends at its own optimum (the test fails if the whole stops too, or if the parts go on).
    students, smes = population(n, m, seed=seed)
    plain = run(students, smes, mode="optimal", k=2, explain=False)
    res, parts = _parts_timings_from_two_parts(
        students, smes, PART_STOP_BELOW=0.0, PART_LAST_BELOW=1e9
    )
    assert "start_parts" in res.timings and len(parts) == 2
    assert all(t["pricing_rounds"] == 1 and t["full_pricing_passes"] == 1 for t in parts)
    assert abs(res.total_score - plain.total_score) < 1e-6


def test_a_part_ends_on_the_solve_after_its_sifted_round() -> None:
    # At 100,000 x 30,000 a part's first round adds 84 % of its first lists (46 % of the lists
    # after it) and its second 7-10 %, after which the third round found 0.03 %: the part ends
    # on the solve after the second round (session 15), with the same prices as before, so the
    # shipped share must lie between the two. 0 (undone) or a fifth of that (the second round's
    # 10 % not caught) would fail here.
    assert 0.104 < pipeline.PART_LAST_BELOW < 0.46
    assert pipeline.PART_LAST_BELOW <= pipeline.SIFT_BELOW  # only after a sifted re-solve


def test_the_parts_give_the_same_prices_in_forked_workers_and_in_this_process() -> None:
    # The start parts run two at a time in forked workers that receive them through their
    # initializer; one at a time (PARTS_AT_ONCE = 1) they run here. Same prices either way, and
    # this process keeps no parts behind.
    students, smes = population(40, 12, seed=3)
    cycle = pipeline._prepare(students, smes, [], [], [], None)
    given: dict[str, Any] = {
        "weights": None,
        "k": 2,
        "locked": [],
        "excluded": [],
        "priority": [],
        "capacity_override": None,
        "rules": None,
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "START_PARTS", 2)
        mp.setattr(pipeline, "PARTS_FROM", 1e18)
        mp.setattr(pipeline, "PARTS_AT_ONCE", 2)
        beside: list[str] = []
        forked = pipeline._prices_from_parts(
            cycle, beside=lambda: beside.append("forked"), **dict(given)
        )
        mp.setattr(pipeline, "PARTS_AT_ONCE", 1)
        here = pipeline._prices_from_parts(
            cycle, beside=lambda: beside.append("here"), **dict(given)
        )
    assert forked == here and len(forked) == len(smes)
    assert pipeline._PARTS is None
    # what runs beside the parts (the whole's fit) runs once either way, in this process
    assert beside == ["forked", "here"]


def test_a_part_gives_the_prices_its_own_cycle_gives() -> None:
    # A part is solved for its SME prices alone (no scores, reasons or blocking count): the
    # same prices as its cycle run on its own, with its declined, locked and priority pairs.
    students, smes = population(60, 16, seed=4)
    rng = random.Random(4)
    options: dict[str, Any] = {
        "weights": None,
        "k": 3,
        "locked": [(students[1].id, smes[2].id)],
        "excluded": [(s.id, e.id) for s in students for e in smes if rng.random() < 0.2],
        "priority": [s.id for s in students if rng.random() < 0.3],
        "capacity_override": {smes[0].id: 0},
        "rules": None,
    }
    own = run(students, smes, mode="optimal", explain=False, **options)
    jobs = [(0, students, smes)]
    assert pipeline._part_prices(0, (jobs, options)) == own.sme_prices


def test_the_part_workers_take_a_cpu_each_in_the_order_they_start() -> None:
    # Each forked worker holds itself to one CPU, chosen by the order the workers start (not
    # by the part it solves first: a worker moving on to the next part stays on its CPU).
    held: list[set[int]] = []
    started = multiprocessing.get_context().Value("i", 0)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "_PARTS", None)  # (the initializer sets it; put back after)
        mp.setattr(pipeline.os, "sched_getaffinity", lambda pid: {3, 5}, raising=False)
        mp.setattr(
            pipeline.os,
            "sched_setaffinity",
            lambda pid, cpus: held.append(set(cpus)),
            raising=False,
        )
        for _ in range(3):
            pipeline._receive_parts(([], {}), started)
    assert held == [{3}, {5}, {3}]
    assert pipeline._PARTS is None


def test_fast_pairs_equal_constructed_ones() -> None:
    """Pairs built in bulk (``_proposed_pair``) are the objects ``ProposedPair(...)`` makes."""
    # The shortcut fills the fields directly: it must know them all and skip
    # no validation.
    fields = [f.name for f in dataclasses.fields(pipeline.ProposedPair)]
    assert fields == ["student_id", "sme_id", "score", "student_view", "sme_view", "reasons"]
    assert not hasattr(pipeline.ProposedPair, "__post_init__")
    students, smes = population(1, 1, seed=3)
    *_, reasons = explain_pair(students[0], smes[0])
    args = (7, 11, 0.625, 0.5, 0.75, reasons)
    fast, made = pipeline._proposed_pair(*args), pipeline.ProposedPair(*args)
    assert fast == made and repr(fast) == repr(made) and vars(fast) == vars(made)
    assert copy.deepcopy(fast) == made  # copies go through __reduce_ex__, as pickling does
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.score = 1.0  # type: ignore[misc]


def _pairs_with_reasons(result: pipeline.MatchResult) -> list[tuple[Any, ...]]:
    return [
        (p.student_id, p.sme_id, p.score, p.student_view, p.sme_view, repr(p.reasons))
        for p in result.pairs
    ]


def _count_reasons_built_beside(mp: pytest.MonkeyPatch) -> list[int]:
    """How many reasons each cycle's thread built beside growth (one entry a cycle whose thread
    ran), in pieces of 256 pairs (the cycle's 1,024 would need thousands of students to engage);
    still above the size where the reasons' BLAS product takes its path for small matrices."""
    built_beside: list[int] = []
    close = pipeline._ReasonsBeside.close

    def counted(self: pipeline._ReasonsBeside) -> None:
        close(self)
        built_beside.append(len(self.done))

    mp.setattr(pipeline, "BESIDE_PIECE", 256)
    mp.setattr(pipeline._ReasonsBeside, "close", counted)
    return built_beside


@settings(max_examples=4, deadline=None)
@given(st.integers(0, 1000), st.integers(1, 3))
def test_reasons_built_beside_list_growth_equal_those_built_after_it(seed: int, k: int) -> None:
    students, smes = population(900, 300, seed=seed)
    with pytest.MonkeyPatch.context() as mp:
        built_beside = _count_reasons_built_beside(mp)
        beside = run(students, smes, k=k)
        mp.setattr(pipeline._ReasonsBeside, "held", lambda self, match: None)
        after = run(students, smes, k=k)
    assert built_beside[0] > 0, "the reasons were not built beside growth"
    assert built_beside[1] == 0
    assert _pairs_with_reasons(beside) == _pairs_with_reasons(after)
    assert beside.total_score == after.total_score


@pytest.mark.parametrize("unbuilt_every", [2, 500])
def test_reasons_taken_from_those_built_beside_and_the_rest_built_in_order(
    unbuilt_every: int,
) -> None:
    students, smes = population(80, 60, seed=5)
    model = MatchModel().fit(students, smes)
    n_pairs, m = 4096 + 300, len(smes)
    keys = np.random.default_rng(0).permutation(len(students) * m)[:n_pairs]
    si, sj = keys // m, keys % m
    # Some of the first 4,096 pairs "built beside" (marked); the tail (300 <
    # BESIDE_PIECE pairs after the last whole chunk) is built as
    # ``explain_pairs`` builds it. With fewer than BESIDE_PIECE pairs left to
    # build, built ones are built again with them (the same reasons).
    marked = {
        key: [f"beside {key}"]
        for p, key in enumerate(keys[:4096].tolist())
        if p % unbuilt_every != 0
    }
    got = pipeline._reasons(model, si, sj, marked, m)  # type: ignore[arg-type]
    want = model.explain_pairs(si, sj)
    assert len(got) == n_pairs
    taken = 0
    for p, key in enumerate(keys.tolist()):
        if got[p] == marked.get(key):
            taken += 1
        else:
            assert repr(got[p]) == repr(want[p])
    assert taken >= len(marked) - pipeline.BESIDE_PIECE
    assert taken <= len(marked)


def test_a_failure_building_reasons_beside_growth_reaches_the_caller() -> None:
    students, smes = population(900, 300, seed=1)

    def broken(self: MatchModel, si: Any, sj: Any) -> Any:
        if threading.current_thread().name == "matching-reasons":
            raise RuntimeError("reasons beside growth")
        return MatchModel.explain_pairs(self, si, sj)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "BESIDE_PIECE", 256)
        mp.setattr(MatchModel, "explain_pairs", broken)
        with pytest.raises(RuntimeError, match="reasons beside growth"):
            run(students, smes, k=1)


def test_reasons_beside_growth_keep_only_pairs_still_held() -> None:
    # Issue 14, session 13: the reasons built beside growth are built at any
    # list length (until then not above 2^21 listed pairs, for memory), and
    # those of pairs displaced since are dropped at each growth call: what the
    # thread keeps is at most one list per held pair (``_ReasonsBeside``).
    students, smes = population(900, 300, seed=2)
    held_at_last_call: list[set[int]] = []
    dropped: list[int] = []
    with pytest.MonkeyPatch.context() as mp:
        built_beside = _count_reasons_built_beside(mp)
        held = pipeline._ReasonsBeside.held

        def watched(self: pipeline._ReasonsBeside, match: Any) -> None:
            before = set(self.done)
            held(self, match)
            now = {i * self.m + int(j) for i, j in enumerate(match.tolist()) if j >= 0}
            assert set(self.done) <= now
            dropped.append(len(before - set(self.done)))
            held_at_last_call[:] = [now]

        close = pipeline._ReasonsBeside.close

        def closed(self: pipeline._ReasonsBeside) -> None:
            close(self)
            assert set(self.done) <= held_at_last_call[0]

        mp.setattr(pipeline._ReasonsBeside, "held", watched)
        mp.setattr(pipeline._ReasonsBeside, "close", closed)
        beside = run(students, smes, k=1)
        mp.setattr(pipeline._ReasonsBeside, "held", lambda self, match: None)
        after = run(students, smes, k=1)
    assert built_beside[0] > 0
    assert sum(dropped) > 0, "no displaced pair's reasons were dropped"
    assert _pairs_with_reasons(beside) == _pairs_with_reasons(after)
    assert (beside.total_score, beside.blocking_pairs) == (after.total_score, after.blocking_pairs)


def test_the_collector_stays_paused_through_a_stable_cycle_and_is_restored_after() -> None:
    # Issue 14, session 13: with the reasons built beside growth, the
    # collector switched back on after each piece ran young collections over
    # it (and older ones over everything) holding the GIL beside the passes;
    # the cycle keeps it paused until the pairs are built, then restores it.
    students, smes = population(900, 300, seed=3)
    seen: list[tuple[str, bool]] = []
    explain = MatchModel.explain_pairs

    def watched(self: MatchModel, si: Any, sj: Any) -> Any:
        seen.append((threading.current_thread().name, gc.isenabled()))
        return explain(self, si, sj)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "BESIDE_PIECE", 256)
        mp.setattr(MatchModel, "explain_pairs", watched)
        run(students, smes, k=1)
        assert gc.isenabled()
        gc.disable()
        try:
            run(students, smes, k=1)
            assert not gc.isenabled()
        finally:
            gc.enable()
    assert any(name == "matching-reasons" for name, _ in seen)
    assert not any(on for _, on in seen)


def test_a_part_never_splits_into_parts_of_its_own() -> None:
    # Since 20,000 x 10,000 starts from parts (issue 14, session 14: PARTS_FROM 2e8), a part of
    # a cohort above 3.2e9 (120,000 x 30,000: 2.25e8) would itself be over the threshold; its
    # prices are only a start, so it is solved cold instead of splitting again (the test fails
    # without the ``not part`` guard: the parts, in this process, split once more).
    students, smes = population(40, 24, seed=5)
    plain = run(students, smes, mode="optimal", k=2, explain=False)
    calls: list[int] = []
    real = pipeline._prices_from_parts

    def spy(*a: Any, **kw: Any) -> dict[int, float]:
        calls.append(1)
        return real(*a, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "PARTS_FROM", 0)
        mp.setattr(pipeline, "START_PARTS", 2)
        mp.setattr(pipeline, "PARTS_AT_ONCE", 1)
        mp.setattr(pipeline, "_prices_from_parts", spy)
        res = run(students, smes, mode="optimal", k=2, explain=False)
    assert calls == [1] and "start_parts" in res.timings
    assert abs(res.total_score - plain.total_score) < 1e-6


def test_the_wholes_ranking_matrices_and_exact_scorer_are_built_beside_the_parts() -> None:
    # While the parts solve, this process fits the whole's model and builds what its first
    # pass and rescoring need first (issue 14, session 15): none of it needs prices, so the
    # whole's column generation starts with them built. The test fails if only the fit runs
    # beside the parts.
    students, smes = population(40, 24, seed=5)
    plain = run(students, smes, mode="optimal", k=2, explain=False)
    built: list[tuple[bool, bool]] = []
    real = pipeline._run_optimal

    def spy(model: Any, cycle: Any, k: int, **kw: float) -> Any:
        if not kw.get("stop_below"):  # the whole, not a part
            built.append(
                (dict.__contains__(model._rank, "combined"), model._exact_scorer is not None)
            )
        return real(model, cycle, k, **kw)

    res = _optimal_from_two_parts(students, smes, spy)
    assert "start_parts" in res.timings
    assert built == [(True, True)]
    assert abs(res.total_score - plain.total_score) < 1e-6


def test_twenty_thousand_by_ten_thousand_starts_from_parts_whose_parts_do_not() -> None:
    # The threshold's place (issue 14, session 14): 20,000 x 10,000 (2e8) starts from parts,
    # 1,000 x 3,000 does not, and a part of 100,000 x 30,000 (25,000 x 7,500) is below it anyway.
    assert 20_000 * 10_000 >= pipeline.PARTS_FROM > 1_000 * 3_000
    assert (100_000 // pipeline.START_PARTS) * (
        30_000 // pipeline.START_PARTS
    ) < pipeline.PARTS_FROM
