"""Assignment invariants: capacities, stability, optimality, constraints."""

from __future__ import annotations

import os
from unittest.mock import patch

import numpy as np
import pytest
import scipy.sparse as sp
from engine_reference import blocking_bruteforce, da_reference, optimum_bruteforce, optimum_lsa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from matching import assign, compute, metrics


@st.composite
def instances(
    draw: st.DrawFn, max_n: int = 7, max_m: int = 4
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(0, max_n))
    m = draw(st.integers(0, max_m))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    # Small integer scores make ties common, which is where tie rules bite.
    stu = rng.integers(0, 4, (n, m)).astype(float)
    sme = rng.integers(0, 4, (n, m)).astype(float)
    bad = rng.random((n, m)) < draw(st.sampled_from([0.0, 0.3, 0.7, 1.0]))
    stu[bad] = -np.inf
    sme[bad] = -np.inf
    cap = rng.integers(0, 3, m)
    return stu, sme, cap


def _check_basic(a: np.ndarray, scores: np.ndarray, cap: np.ndarray) -> None:
    n, m = scores.shape
    assert a.shape == (n,) and a.dtype == np.int64
    placed = a[a >= 0]
    assert (np.bincount(placed, minlength=m) <= cap).all()
    assert all(np.isfinite(scores[i, a[i]]) for i in range(n) if a[i] >= 0)


@settings(max_examples=150, deadline=None)
@given(instances())
def test_stable_matches_reference_and_has_no_blocking_pair(
    inst: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    stu, sme, cap = inst
    a = assign.stable(stu, sme, cap)
    _check_basic(a, stu, cap)
    assert (a == da_reference(stu, sme, cap)).all()
    assert blocking_bruteforce(stu, sme, cap, a) == 0
    if stu.size:
        assert metrics.blocking_pairs(stu, sme, cap, a) == 0


@settings(max_examples=150, deadline=None)
@given(instances())
def test_optimal_reaches_the_optimum(inst: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    scores, _, cap = inst
    a = assign.optimal(scores, cap)
    _check_basic(a, scores, cap)
    total = metrics.total_score(scores, a) if scores.size else 0.0
    assert total == pytest.approx(optimum_lsa(scores, cap), abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(instances(max_n=4, max_m=3))
def test_optimal_equals_brute_force(inst: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    scores, _, cap = inst
    a = assign.optimal(scores, cap)
    total = metrics.total_score(scores, a) if scores.size else 0.0
    assert total == pytest.approx(optimum_bruteforce(scores, cap), abs=1e-9)


def _to_csr(a: np.ndarray) -> sp.csr_array:
    r, c = np.nonzero(np.isfinite(a))
    return sp.csr_array((a[r, c], (r, c)), shape=a.shape)


@settings(max_examples=80, deadline=None)
@given(instances())
def test_dense_and_sparse_inputs_agree(inst: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    stu, sme, cap = inst
    assert (assign.stable(stu, sme, cap) == assign.stable(_to_csr(stu), _to_csr(sme), cap)).all()
    assert (assign.optimal(stu, cap) == assign.optimal(_to_csr(stu), cap)).all()
    # sparse matrices (not arrays) are accepted too
    assert (assign.optimal(sp.csr_matrix(_to_csr(stu)), cap) == assign.optimal(stu, cap)).all()


@settings(max_examples=80, deadline=None)
@given(instances(), st.integers(0, 2**31 - 1))
def test_locked_excluded_and_masks(
    inst: tuple[np.ndarray, np.ndarray, np.ndarray], seed: int
) -> None:
    stu, sme, cap = inst
    n, m = stu.shape
    rng = np.random.default_rng(seed)
    ok = np.argwhere(np.isfinite(stu))
    excluded = [tuple(p) for p in ok if rng.random() < 0.3]
    locked: list[tuple[int, int]] = []
    used: set[int] = set()
    for i, j in ok:
        if rng.random() < 0.2 and i not in used:
            locked.append((int(i), int(j)))
            used.add(int(i))
    act_st = rng.random(n) < 0.8
    act_sm = rng.random(m) < 0.8
    for fn in ("stable", "optimal"):
        if fn == "stable":
            a = assign.stable(
                stu,
                sme,
                cap,
                locked=locked,
                excluded=excluded,
                active_students=act_st,
                active_smes=act_sm,
            )
        else:
            a = assign.optimal(
                stu,
                cap,
                locked=locked,
                excluded=excluded,
                active_students=act_st,
                active_smes=act_sm,
            )
        for i, j in locked:
            assert a[i] == j
        lk = {i for i, _ in locked}
        for i, j in excluded:
            if (i, j) not in locked:
                assert a[i] != j
        for i in range(n):
            if i in lk:
                continue
            if not act_st[i]:
                assert a[i] == -1
            if a[i] >= 0:
                assert act_sm[a[i]]
        # new placements never push an SME past its capacity (locked may already fill it)
        locked_count = (
            np.bincount([j for _, j in locked], minlength=m) if locked else np.zeros(m, int)
        )
        new = np.array([a[i] for i in range(n) if a[i] >= 0 and i not in lk], dtype=np.int64)
        assert (np.bincount(new, minlength=m) <= np.maximum(cap - locked_count, 0)).all()


def _preference_orders(stu: np.ndarray) -> list[list[int]]:
    """Each student's acceptable SMEs (finite scores), best first, ties to the lower SME."""
    acceptable = np.isfinite(stu)
    return [
        sorted(np.flatnonzero(acceptable[i]), key=lambda j, i=i: (-stu[i, j], j))
        for i in range(stu.shape[0])
    ]


def _pairs_csr(pairs: list[tuple[int, int]], mat: np.ndarray) -> sp.csr_array:
    """The entries of ``mat`` at ``pairs``, as a CSR array of its shape."""
    if not pairs:
        return sp.csr_array(mat.shape)
    r = np.array([p[0] for p in pairs])
    c = np.array([p[1] for p in pairs])
    return sp.csr_array((mat[r, c], (r, c)), shape=mat.shape)


@settings(max_examples=100, deadline=None)
@given(instances(max_n=8, max_m=5), st.integers(1, 3))
def test_growing_short_lists_gives_the_full_list_result(
    inst: tuple[np.ndarray, np.ndarray, np.ndarray], k: int
) -> None:
    stu, sme, cap = inst
    n, m = stu.shape
    full = assign.stable(stu, sme, cap)
    order = _preference_orders(stu)

    first = [(i, j) for i in range(n) for j in order[i][:k]]

    def grow(
        who: np.ndarray, cutoff: np.ndarray, keys: np.ndarray
    ) -> tuple[sp.csr_array, sp.csr_array]:
        assert (np.diff(keys) > 0).all()  # sorted and unique, as the contract says
        lr, lc = np.divmod(keys, max(m, 1))
        listed = set(zip(lr.tolist(), lc.tolist(), strict=True))
        more = []
        for i in who:
            nxt = [j for j in order[i] if (i, j) not in listed and sme[i, j] >= cutoff[j]][:k]
            more += [(int(i), int(j)) for j in nxt]
        return _pairs_csr(more, stu), _pairs_csr(more, sme)

    short = assign.stable(_pairs_csr(first, stu), _pairs_csr(first, sme), cap, grow=grow)
    assert (short == full).all()


def test_edge_cases() -> None:
    empty = np.zeros((0, 0))
    assert assign.stable(empty, empty, np.zeros(0, int)).shape == (0,)
    assert assign.optimal(empty, np.zeros(0, int)).shape == (0,)
    no_smes = np.zeros((3, 0))
    assert (assign.stable(no_smes, no_smes, np.zeros(0, int)) == -1).all()
    assert (assign.optimal(no_smes, np.zeros(0, int)) == -1).all()
    scores = np.ones((3, 2))
    assert (assign.optimal(scores, [0, 0]) == -1).all()
    assert (assign.stable(scores, scores, [0, 0]) == -1).all()
    nobody = np.full((3, 2), -np.inf)
    assert (assign.optimal(nobody, [2, 2]) == -1).all()
    assert (assign.stable(nobody, nobody, [2, 2]) == -1).all()
    # all ties: lower indices win on both sides
    ties = np.ones((3, 2))
    assert assign.stable(ties, ties, [1, 1]).tolist() == [0, 1, -1]
    # one student
    one = np.array([[0.2, 0.9, 0.5]])
    assert assign.stable(one, one, [1, 1, 1]).tolist() == [1]
    assert assign.optimal(one, [1, 1, 1]).tolist() == [1]
    with pytest.raises(ValueError, match="NaN"):
        assign.optimal(np.array([[np.nan]]), [1])
    with pytest.raises(ValueError, match="capacity must have one entry per SME"):
        assign.stable(np.ones((1, 2)), np.ones((1, 2)), [1])


def test_deterministic() -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(0, 3, (40, 10)).astype(float)
    b = rng.integers(0, 3, (40, 10)).astype(float)
    cap = rng.integers(0, 4, 10)
    assert (assign.stable(a, b, cap) == assign.stable(a.copy(), b.copy(), cap)).all()
    assert (assign.optimal(a, cap) == assign.optimal(a.copy(), cap)).all()


def test_metrics() -> None:
    scores = np.array([[1.0, -np.inf], [0.5, 0.25]])
    a = np.array([0, 1])
    assert metrics.total_score(scores, a) == pytest.approx(1.25)
    assert metrics.placed_share(a) == 1.0
    assert metrics.placed_share(np.array([], dtype=int)) == 0.0
    with pytest.raises(ValueError, match="unacceptable"):
        metrics.total_score(scores, np.array([1, -1]))
    # student 1 prefers SME 0 and SME 0 has a free seat -> blocking
    assert metrics.blocking_pairs(scores, scores, [2, 1], a) == 1
    assert metrics.blocking_pairs(scores, scores, [1, 1], a) == 0


@settings(max_examples=150, deadline=None)
@given(instances(max_n=12, max_m=6), st.integers(0, 2**31 - 1), st.sampled_from([1, 2, 5, 1 << 18]))
def test_blocking_pairs_counted_in_row_blocks_equal_the_brute_force_count(
    inst: tuple[np.ndarray, np.ndarray, np.ndarray], seed: int, step: int
) -> None:
    # Issue 14, session 13: the count tests the listed pairs a block of rows
    # at a time (``BLOCKING_STEP`` entries; bounded temporaries), finding each
    # placed student's own pair in the blocks; any assignment, not only a
    # stable one, both when the two matrices share their pattern and not.
    stu, sme, cap = inst
    n, m = stu.shape
    rng = np.random.default_rng(seed)
    sme = np.where(rng.random((n, m)) < 0.2, -np.inf, sme)  # another pattern
    a = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        ok = np.flatnonzero(np.isfinite(stu[i]) & np.isfinite(sme[i]))
        if ok.size and rng.random() < 0.7:
            a[i] = rng.choice(ok)
    want = blocking_bruteforce(stu, sme, cap, a)
    # CSR with the same values shifted by one (order and ties kept; a stored zero would vanish)
    stored = sp.csr_array(np.where(np.isfinite(stu), stu + 1.0, 0.0))
    both = np.isfinite(stu) & np.isfinite(sme)
    one_pattern = [sp.csr_array(np.where(both, x + 1.0, 0.0)) for x in (stu, sme)]
    with patch.object(metrics, "BLOCKING_STEP", step):
        assert metrics.blocking_pairs(stu, sme, cap, a) == want
        assert metrics.blocking_pairs(stored, sme, cap, a) == want
        assert metrics.blocking_pairs(*one_pattern, cap, a) == want


@settings(max_examples=150, deadline=None)
@given(instances(), st.integers(0, 2**31 - 1))
def test_optimal_prices_certify_the_optimum(
    inst: tuple[np.ndarray, np.ndarray, np.ndarray], seed: int
) -> None:
    # The pipeline grows optimal-mode lists with pairs that beat these prices;
    # they must be dual feasible with the same total (LP duality) on the graph.
    scores, _, cap = inst
    n, m = scores.shape
    act = np.random.default_rng(seed).random(n) < 0.85
    a = assign.optimal(scores, cap, active_students=act)
    u, v = assign.optimal_prices(scores, cap, a, active_students=act)
    assert (u >= 0).all() and (v >= 0).all()
    edge = np.isfinite(scores) & act[:, None] & (cap[None, :] > 0)
    assert not ((scores > u[:, None] + v[None, :] + 1e-9) & edge).any()
    total = sum(scores[i, a[i]] for i in range(n) if a[i] >= 0)
    assert u[act].sum() + (cap * v).sum() == pytest.approx(total, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(instances(max_n=8, max_m=6))
def test_optimal_prices_do_not_depend_on_where_the_smes_sit(
    inst: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    # optimal_prices groups its arcs by SME with a 16-bit sort key when there are at most
    # 65,536 SMEs; the same graph with its SMEs moved to high column numbers (across the
    # 16-bit range, or past it) must get the same prices.
    scores, _, cap = inst
    n, m = scores.shape
    a = assign.optimal(scores, cap)
    u, v = assign.optimal_prices(scores, cap, a)
    r, c = np.nonzero(np.isfinite(scores))
    for shift in (65_533, 65_534, 131_070):
        big = sp.csr_array((scores[r, c], (r, c + shift)), shape=(n, m + shift))
        big_cap = np.zeros(m + shift, dtype=np.int64)
        big_cap[shift:] = cap
        bu, bv = assign.optimal_prices(big, big_cap, np.where(a >= 0, a + shift, -1))
        np.testing.assert_array_equal(bu, u)
        np.testing.assert_array_equal(bv[shift:], v)
        assert not bv[:shift].any()


# --- the solvers behind `optimal` and the list handling behind `stable` -------------------------


@st.composite
def float_instances(
    draw: st.DrawFn, max_n: int = 12, max_m: int = 6
) -> tuple[np.ndarray, np.ndarray]:
    """Real-valued scores (no ties to lean on): does rounding to the solver's step matter?"""
    n = draw(st.integers(1, max_n))
    m = draw(st.integers(1, max_m))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    scores = rng.random((n, m)) * draw(st.sampled_from([1e-3, 1.0, 7.5, 1e4]))
    scores[rng.random((n, m)) < draw(st.sampled_from([0.0, 0.4, 0.8]))] = -np.inf
    return scores, rng.integers(0, 3, m)


@settings(max_examples=60, deadline=None)
@given(float_instances(max_n=30, max_m=12), st.sampled_from([0.0, 2.0, 1e9]))
def test_optimal_prices_do_not_depend_on_how_the_fronts_are_relaxed(
    inst: tuple[np.ndarray, np.ndarray], sweep: float
) -> None:
    # ``_int_prices`` relaxes every arc at once while its front is large (``_SWEEP_FRONT``)
    # and only the front's arcs otherwise; both are the same shortest paths, so the prices
    # must be identical whichever it uses when (0: never sweep, 1e9: always).
    scores, cap = inst
    a = assign.optimal(scores, cap)
    want = assign.optimal_prices(scores, cap, a)
    with patch.object(assign, "_SWEEP_FRONT", sweep):
        got = assign.optimal_prices(scores, cap, a)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def _need_ortools() -> None:
    """A checkout installed before OR-tools joined the dependencies skips; CI must have it."""
    if assign.OPTIMAL_SOLVER != "ortools":
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI=true but OR-tools is not installed")
        pytest.skip("OR-tools is not installed: pip install -e '.[test]'")


@pytest.mark.parametrize("solver", ["ortools", "scipy"])
@settings(max_examples=120, deadline=None)
@given(inst=instances())
def test_both_solvers_reach_the_reference_optimum(
    solver: str, inst: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    # The min-cost-flow solver and the scipy fallback, each against linear_sum_assignment.
    if solver == "ortools":
        _need_ortools()
    scores, _, cap = inst
    a = assign.optimal(scores, cap, solver=solver)
    _check_basic(a, scores, cap)
    total = metrics.total_score(scores, a) if scores.size else 0.0
    assert total == pytest.approx(optimum_lsa(scores, cap), abs=1e-9)


@settings(max_examples=120, deadline=None)
@given(float_instances(), st.integers(0, 2**31 - 1))
def test_min_cost_flow_agrees_with_the_references_on_real_scores(
    inst: tuple[np.ndarray, np.ndarray], seed: int
) -> None:
    _need_ortools()
    scores, cap = inst
    n = scores.shape[0]
    act = np.random.default_rng(seed).random(n) < 0.9
    fast = assign.optimal(scores, cap, active_students=act, solver="ortools")
    slow = assign.optimal(scores, cap, active_students=act, solver="scipy")
    _check_basic(fast, scores, cap)
    assert (fast[~act] == -1).all()
    best = optimum_lsa(np.where(act[:, None], scores, -np.inf), cap)
    # scores are rounded to 2**-36 of the largest before solving: at most n half-steps off
    tol = (
        n * float(np.nanmax(np.where(np.isfinite(scores), scores, np.nan), initial=1.0)) * 2.0**-35
        + 1e-12
    )
    assert metrics.total_score(scores, fast) == pytest.approx(best, abs=tol)
    assert metrics.total_score(scores, slow) == pytest.approx(best, abs=tol)
    if n <= 5:
        brute = optimum_bruteforce(np.where(act[:, None], scores, -np.inf), cap)
        assert metrics.total_score(scores, fast) == pytest.approx(brute, abs=tol)
    # and the prices certify it exactly as they did for the scipy solver
    u, v = assign.optimal_prices(scores, cap, fast, active_students=act)
    edge = np.isfinite(scores) & act[:, None] & (cap[None, :] > 0)
    assert not ((scores > u[:, None] + v[None, :] + tol) & edge).any()


def test_unknown_solver_is_refused() -> None:
    with pytest.raises(ValueError, match="solver"):
        assign.optimal(np.ones((2, 2)), [1, 1], solver="simplex")  # type: ignore[arg-type]


@st.composite
def long_list_instances(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lists longer than the first part `stable` sorts, and few seats, so many students run out."""
    n = draw(st.integers(1, 40))
    m = draw(st.integers(1, 30))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    levels = draw(st.sampled_from([3, 50]))  # few levels: many ties
    stu = rng.integers(0, levels, (n, m)).astype(float)
    sme = rng.integers(0, levels, (n, m)).astype(float)
    bad = rng.random((n, m)) < draw(st.sampled_from([0.0, 0.3, 0.8]))
    stu[bad] = -np.inf
    sme[bad] = -np.inf
    cap = rng.integers(0, draw(st.integers(1, 4)), m)
    return stu, sme, cap


@pytest.mark.parametrize("first_part", [1, 2, 8])
@settings(max_examples=60, deadline=None)
@given(inst=long_list_instances())
def test_stable_with_long_lists_matches_one_at_a_time_deferred_acceptance(
    first_part: int, inst: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    # `stable` sorts only the first part of each list and hands out the rest to students
    # who run out; proposals below an SME's cutoff never enter a contest. None of it may
    # change the result of plain deferred acceptance on full lists.
    stu, sme, cap = inst
    saved = assign._FIRST_PART
    assign._FIRST_PART = first_part
    try:
        a = assign.stable(_to_csr(stu), _to_csr(sme), cap)
    finally:
        assign._FIRST_PART = saved
    assert (a == da_reference(stu, sme, cap)).all()
    assert blocking_bruteforce(stu, sme, cap, a) == 0


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 30),
    st.integers(1, 40),
    st.integers(1, 12),
    st.integers(0, 2**31 - 1),
    st.sampled_from([2, 1000]),
    st.booleans(),
)
def test_head_cut_marks_a_prefix_of_each_order(
    n: int, m: int, size: int, seed: int, levels: int, skewed: bool
) -> None:
    # Rows far longer than the others take the sorted path instead of the padded
    # partition: both must give each row's size-th best score.
    rng = np.random.default_rng(seed)
    dense = rng.integers(0, levels, (n, m)).astype(float)
    drop = 1 - rng.random((n, 1)) ** 6 if skewed else 0.3  # skewed: most rows short
    dense[rng.random((n, m)) < drop] = -np.inf
    csr = _to_csr(dense)
    head = csr.data >= np.repeat(assign._head_cut(csr.indptr, csr.data, size), np.diff(csr.indptr))
    for i in range(n):
        lo, hi = csr.indptr[i], csr.indptr[i + 1]
        mine = sorted(range(lo, hi), key=lambda e: (-csr.data[e], csr.indices[e]))
        taken = head[mine]
        k = int(taken.sum())
        assert taken[:k].all() and not taken[k:].any()  # a prefix
        assert k >= min(size, len(mine))
        # whole score levels: nothing tied with the last one taken is left out
        if 0 < k < len(mine):
            assert csr.data[mine[k]] < csr.data[mine[k - 1]]
        if k > size:  # more than asked only for ties at the threshold
            assert csr.data[mine[size]] == csr.data[mine[size - 1]]


_awkward_floats = st.sampled_from(
    [0.0, -0.0, 1.0, -1.0, 0.5, 1e-300, -1e-300, 5e-324, 1e300, -1e300, 0.1, 0.1 + 2**-55]
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), _awkward_floats | st.floats(-3, 3)), max_size=60),
    st.sampled_from([7, 1000, 2**20, 2**40]),
    st.integers(0, 2**31 - 1),
)
@example(entries=[(0, 0.0), (0, -0.0), (0, 0.0), (0, -0.0)], groups=7, seed=1)
@example(entries=[(1, 0.1), (1, 0.1 + 2**-55), (1, 0.1)], groups=2**40, seed=2)
def test_best_first_is_the_exact_group_key_tie_order(
    entries: list[tuple[int, float]], groups: int, seed: int
) -> None:
    # One integer sort on packed keys stands in for lexsort((tie, -key, group)). With
    # many groups few bits are left for the key, so near-equal keys collide and must
    # be put right exactly; -0.0 equals 0.0 (the lower tie wins), keys one ulp apart
    # do not tie.
    rng = np.random.default_rng(seed)
    group = np.array([g for g, _ in entries], dtype=np.int64)
    group = (group * (groups // 7)).clip(0, groups - 1)
    key = np.array([k for _, k in entries], dtype=np.float64)
    if key.size:
        near = rng.random(key.size) < 0.3
        key[near] = np.nextafter(key[near], np.inf)
    tie = rng.permutation(key.size).astype(np.int64)
    got = assign._best_first(group, key, tie, groups)
    assert got.tolist() == np.lexsort((tie, -key, group)).tolist()


@settings(max_examples=80, deadline=None)
@given(inst=long_list_instances(), split=st.integers(0, 5))
def test_adding_to_lists_not_yet_read_keeps_them_in_order(
    inst: tuple[np.ndarray, np.ndarray, np.ndarray], split: int
) -> None:
    # Entries added before a student ran out go after what they have left (the
    # pool copies the unread part into the new segment): giving each list as its
    # best `split` entries and then the others must not change the result.
    stu, sme, cap = inst
    n, m = stu.shape
    ok = np.isfinite(stu) & np.isfinite(sme)
    ranked = [sorted(np.flatnonzero(ok[i]), key=lambda j, i=i: (-stu[i, j], j)) for i in range(n)]
    da = assign._DeferredAcceptance(n, m, np.asarray(cap, dtype=np.int64))
    for part in (slice(0, split), slice(split, None)):
        pairs = [(i, j) for i in range(n) for j in ranked[i][part]]
        if pairs:
            r = np.array([p[0] for p in pairs], dtype=np.int64)
            c = np.array([p[1] for p in pairs], dtype=np.int64)
            da.add(r, c, stu[r, c], sme[r, c])
    da.run(np.ones(n, bool))
    assert (da.assignment() == da_reference(stu, sme, cap)).all()


@pytest.mark.parametrize("first_part", [1, 2])
@settings(max_examples=80, deadline=None)
@given(inst=long_list_instances(), k=st.integers(2, 6))
def test_growth_after_part_lists_gives_the_full_list_result(
    first_part: int, inst: tuple[np.ndarray, np.ndarray, np.ndarray], k: int
) -> None:
    # Lists longer than the first part *and* grown (as pipeline.run does with k = 50 and
    # the first part of 8). Growth displaces students whose unsorted rest was never
    # handed out; the caller's `grow` leaves out every listed pair, so such a student
    # must get their rest before any growth, or they skip it: blocking pairs within the
    # lists (4 were counted at 100,000 x 30,000).
    stu, sme, cap = inst
    n, m = stu.shape
    order = _preference_orders(stu)

    first = [(i, j) for i in range(n) for j in order[i][:k]]

    def grow(
        who: np.ndarray, cutoff: np.ndarray, keys: np.ndarray
    ) -> tuple[sp.csr_array, sp.csr_array]:
        assert (np.diff(keys) > 0).all()  # sorted and unique, as the contract says
        lr, lc = np.divmod(keys, max(m, 1))
        listed = set(zip(lr.tolist(), lc.tolist(), strict=True))
        more = []
        for i in who:
            nxt = [j for j in order[i] if (i, j) not in listed and sme[i, j] >= cutoff[j]][:k]
            more += [(int(i), int(j)) for j in nxt]
        return _pairs_csr(more, stu), _pairs_csr(more, sme)

    s_first, m_first = _pairs_csr(first, stu), _pairs_csr(first, sme)
    saved = assign._FIRST_PART
    assign._FIRST_PART = first_part
    try:
        a = assign.stable(s_first, m_first, cap, grow=grow)
    finally:
        assign._FIRST_PART = saved
    assert metrics.blocking_pairs(s_first, m_first, cap, a) == 0
    assert (a == da_reference(stu, sme, cap)).all()


@settings(max_examples=80, deadline=None)
@given(inst=long_list_instances(), k=st.integers(1, 4), per_call=st.integers(1, 3))
def test_growth_that_defers_students_gives_the_full_list_result(
    inst: tuple[np.ndarray, np.ndarray, np.ndarray], k: int, per_call: int
) -> None:
    # A growth call may answer only some of the students it is asked about and
    # name the rest as deferred (the pipeline caps what one call returns, for
    # memory): a deferred student is asked again, never taken as exhausted.
    stu, sme, cap = inst
    n, m = stu.shape
    order = _preference_orders(stu)

    first = [(i, j) for i in range(n) for j in order[i][:k]]
    deferrals = [0]

    def grow(
        who: np.ndarray, cutoff: np.ndarray, keys: np.ndarray
    ) -> tuple[sp.csr_array, sp.csr_array, np.ndarray]:
        lr, lc = np.divmod(keys, max(m, 1))
        listed = set(zip(lr.tolist(), lc.tolist(), strict=True))
        more = []
        for i in who[-per_call:]:  # the last ones: the loop must not rely on order
            nxt = [j for j in order[i] if (i, j) not in listed and sme[i, j] >= cutoff[j]][:k]
            more += [(int(i), int(j)) for j in nxt]
        later = who[:-per_call]
        deferrals[0] += later.size
        return _pairs_csr(more, stu), _pairs_csr(more, sme), later

    a = assign.stable(_pairs_csr(first, stu), _pairs_csr(first, sme), cap, grow=grow)
    assert (a == da_reference(stu, sme, cap)).all()
    assert metrics.blocking_pairs(_pairs_csr(first, stu), _pairs_csr(first, sme), cap, a) == 0


@settings(max_examples=80, deadline=None)
@given(
    inst=long_list_instances(),
    k=st.integers(1, 4),
    per_call=st.integers(1, 3),
    pick=st.integers(0, 2**16),
)
def test_growth_asking_for_listed_pairs_by_student_gives_the_keys_result(
    inst: tuple[np.ndarray, np.ndarray, np.ndarray], k: int, per_call: int, pick: int
) -> None:
    # ``grow_listed="lookup"`` hands ``grow`` a function giving the listed
    # pairs' keys of the students it names (the pipeline asks for those it
    # serves only, not every student asked about). Both ways, the keys are
    # those of the lists (SMEs with a seat) and of every pair grown before,
    # for exactly the students named, and the assignment is the same.
    stu, sme, cap = inst
    n, m = stu.shape
    mm = max(m, 1)
    order = _preference_orders(stu)
    first = [(i, j) for i in range(n) for j in order[i][:k]]
    rng = np.random.default_rng(pick)

    def run(grow_listed: str) -> np.ndarray:
        listed = {(i, j) for i, j in first if cap[j] > 0}

        def expected(who: np.ndarray) -> np.ndarray:
            named = set(who.tolist())
            return np.array(sorted(i * mm + j for i, j in listed if i in named), dtype=np.int64)

        def grow(who: np.ndarray, cutoff: np.ndarray, given: object) -> tuple[object, ...]:
            if grow_listed == "lookup":
                some = np.sort(rng.choice(who, rng.integers(0, who.size + 1), replace=False))
                np.testing.assert_array_equal(given(some), expected(some))  # type: ignore[operator]
                keys = given(who)  # type: ignore[operator]
            else:
                keys = given
            np.testing.assert_array_equal(keys, expected(who))
            more = []
            for i in who[-per_call:]:
                nxt = [j for j in order[i] if (i, j) not in listed and sme[i, j] >= cutoff[j]]
                more += [(int(i), int(j)) for j in nxt[:k]]
            listed.update((i, j) for i, j in more if cap[j] > 0)
            return _pairs_csr(more, stu), _pairs_csr(more, sme), who[:-per_call]

        s_first, m_first = _pairs_csr(first, stu), _pairs_csr(first, sme)
        return assign.stable(s_first, m_first, cap, grow=grow, grow_listed=grow_listed)  # type: ignore[arg-type]

    a, b = run("keys"), run("lookup")
    assert (a == b).all()
    assert (b == da_reference(stu, sme, cap)).all()


def test_growth_that_defers_everyone_is_refused() -> None:
    # A call that answers nobody would be asked the same forever. The student's
    # one listed SME has no seat, so they run out and growth is asked.
    first = sp.csr_array((np.array([1.0]), (np.array([0]), np.array([0]))), shape=(1, 2))

    def grow(who: np.ndarray, cutoff: np.ndarray, keys: np.ndarray) -> tuple[object, ...]:
        return sp.csr_array((1, 2)), sp.csr_array((1, 2)), who

    with pytest.raises(ValueError, match="deferred every student"):
        assign.stable(first, first, [0, 1], grow=grow)


@given(st.lists(st.integers(0, 10**12), max_size=200))
@settings(max_examples=100, deadline=None)
def test_unique_keys_is_np_unique(keys: list[int]) -> None:
    """The sort-based unique used for list growth's listed pairs equals ``np.unique``."""
    arr = np.asarray(keys, dtype=np.int64)
    out = compute.sorted_unique(arr)
    assert out.dtype == np.int64
    assert np.array_equal(out, np.unique(arr))


@settings(max_examples=120, deadline=None)
@given(float_instances(max_n=14, max_m=7), st.integers(0, 2**31 - 1), st.sampled_from([1, 3, 5]))
def test_optimal_with_prices_is_optimal_and_optimal_prices_in_one_graph(
    inst: tuple[np.ndarray, np.ndarray], seed: int, chunk: int
) -> None:
    # Column generation solves and prices through one call that builds the graph once; it must
    # return exactly what the two separate calls return. OR-tools gets its arcs, and gives back
    # their flows, in chunks of assign._ARC_CHUNK: with chunks of 1-5 arcs a wrong offset would
    # read another arc's flow and change the assignment.
    _need_ortools()
    scores, cap = inst
    n = scores.shape[0]
    act = np.random.default_rng(seed).random(n) < 0.9
    a = assign.optimal(scores, cap, active_students=act)
    u, v = assign.optimal_prices(scores, cap, a, active_students=act)
    clock: dict[str, float] = {}
    with patch.object(assign, "_ARC_CHUNK", chunk):
        small = assign.optimal(scores, cap, active_students=act)
        both, bu, bv = assign.optimal_with_prices(scores, cap, active_students=act, timings=clock)
    np.testing.assert_array_equal(small, a)
    np.testing.assert_array_equal(both, a)
    np.testing.assert_array_equal(bu, u)
    np.testing.assert_array_equal(bv, v)
    assert set(clock) == {"solve", "prices", "solves"}
    best = optimum_lsa(np.where(act[:, None], scores, -np.inf), cap)
    top = float(np.nanmax(np.where(np.isfinite(scores), scores, np.nan), initial=1.0))
    assert metrics.total_score(scores, both) == pytest.approx(best, abs=n * top * 2.0**-35 + 1e-12)


@settings(max_examples=150, deadline=None)
@given(
    float_instances(max_n=14, max_m=7),
    st.integers(0, 2**31 - 1),
    st.sampled_from([0.0, 0.01, 0.3]),
    st.sampled_from(["optimum", "random", "blind"]),
)
def test_optimal_with_prices_near_old_prices_is_the_same_optimum(
    inst: tuple[np.ndarray, np.ndarray], seed: int, margin: float, hint: str
) -> None:
    # Issue 14, session 7: a re-solve given the last round's prices (``near``) first solves only
    # the edges within ``margin`` of them, then checks every edge against that subset's prices.
    # Whatever the hint (the optimum's own prices, random ones, or prices that leave out nearly
    # every edge), the result must be the optimum of the whole graph with the whole graph's
    # prices: the same as without a hint when the optimum is unique (real-valued scores).
    _need_ortools()
    scores, cap = inst
    n, m = scores.shape
    rng = np.random.default_rng(seed)
    act = rng.random(n) < 0.9
    a, u, v = assign.optimal_with_prices(scores, cap, active_students=act)
    top = float(np.nanmax(np.where(np.isfinite(scores), scores, np.nan), initial=1.0))
    if hint == "optimum":
        pu, pv = u, v
    elif hint == "random":
        pu, pv = rng.random(n) * top, rng.random(m) * top
    else:  # every edge far below its price: the first subset is empty
        pu, pv = np.full(n, 10.0 * top + 1.0), np.zeros(m)
    clock: dict[str, float] = {}
    b, bu, bv = assign.optimal_with_prices(
        scores, cap, active_students=act, timings=clock, near=(pu, pv, margin * top)
    )
    best = optimum_lsa(np.where(act[:, None], scores, -np.inf), cap)
    assert metrics.total_score(scores, b) == pytest.approx(best, abs=n * top * 2.0**-35 + 1e-12)
    assert metrics.total_score(scores, b) == pytest.approx(
        metrics.total_score(scores, a), abs=n * top * 2.0**-35 + 1e-12
    )
    if np.array_equal(a, b):
        np.testing.assert_array_equal(bu, u)
        np.testing.assert_array_equal(bv, v)


def test_optimal_with_prices_near_misleading_prices_solves_again() -> None:
    # The subset near misleading prices holds no edge of the optimum; the exact check against
    # every edge must find that out and solve again (the test fails if the first subset's
    # optimum were returned: its total is lower).
    _need_ortools()
    scores = np.array([[0.9, 0.1, -np.inf], [0.8, 0.7, 0.2], [-np.inf, 0.6, 0.5]])
    cap = np.array([1, 1, 1])
    a, u, v = assign.optimal_with_prices(scores, cap)
    assert a.tolist() == [0, 1, 2]
    # prices that make only the edges (0, 1), (1, 2) and (2, 1) look near
    pu, pv = np.zeros(3), np.array([5.0, 0.1, 0.2])
    clock: dict[str, float] = {}
    b, bu, bv = assign.optimal_with_prices(scores, cap, timings=clock, near=(pu, pv, 0.0))
    assert b.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(bu, u)
    np.testing.assert_array_equal(bv, v)
    assert clock["solves"] >= 2
