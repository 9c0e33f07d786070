"""The top-k pass's shortcuts give exactly what the plain computation gives.

``topk_rows`` tests "a language or market in common" as bits only where it
looks (a sample of the columns and the entries above the sample's bound),
and student-ranked lists take a second, checked bound from the sample. If
either bound were wrong, a row would lose an entry it should keep; these
tests compare against a brute-force reading of the same definitions.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from same_answers import assert_same_lists

from matching import MatchModel, compute, shortlists
from matching.compute import UNACCEPTABLE
from matching.shortlists import (
    CommonMask,
    _by_row_descending,
    _reserve,
    _sample_bounds,
    _sorted_by_row_descending,
    common,
    common_block,
    pack_bits,
    row_dots,
    sample_first_order,
    topk_near_ties,
    topk_ranking,
    topk_rows,
)
from matching.synthetic import population

#: Values with many exact ties (discrete profiles) plus continuous ones.
_VALUES = np.array([0.0, 0.1, 0.25, 0.25, 0.5, 0.5, 0.5001, 0.75, 0.9, 1.0], dtype=np.float32)


def _reference(
    block: np.ndarray, ok: np.ndarray, k: int, floor: float, near_tie: float
) -> tuple[set[tuple[int, int]], np.ndarray]:
    """Brute force: per row, the acceptable entries above ``floor`` ...

    ... without near-ties: the k largest, ties to the lower column; with
    them: every entry within ``near_tie`` of the k-th value, strictly above
    the sample's bound (the k-th acceptable value of every ``stride``-th
    column, minus ``near_tie``), which is how the lists are defined.
    """
    c, m = block.shape
    f32 = np.float32
    kept: set[tuple[int, int]] = set()
    kth_out = np.full(c, -np.inf, dtype=np.float32)
    stride = max(1, min(8, m // (4 * k))) if m > k else 1
    for i in range(c):
        cols = [j for j in range(m) if ok[i, j] and block[i, j] > f32(floor)]
        if near_tie == 0:
            best = sorted(cols, key=lambda j, i=i: (-block[i, j], j))[:k]
            kept.update((i, j) for j in best)
            continue
        if len(cols) < k or m <= k:
            kept.update((i, j) for j in cols)
            continue
        vals = sorted((block[i, j] for j in cols), reverse=True)
        kth = vals[k - 1]
        kth_out[i] = kth
        sample = (
            sorted((block[i, j] for j in range(0, m, stride) if ok[i, j]), reverse=True)
            + [f32(-np.inf)] * k
        )
        tau = max(f32(sample[k - 1] - f32(near_tie)), f32(floor))
        kept.update(
            (i, j) for j in cols if block[i, j] > tau and block[i, j] >= kth - f32(near_tie)
        )
    return kept, kth_out


@st.composite
def _blocks(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, float]:
    c = draw(st.integers(1, 12))
    m = draw(st.integers(1, 300))
    k = draw(st.integers(1, 12))
    width = draw(st.sampled_from([3, 40, 70, 130]))  # one, two and three 64-bit words
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    block = np.where(
        rng.random((c, m)) < 0.5,
        rng.choice(_VALUES, (c, m)),
        rng.random((c, m)).astype(np.float32),
    ).astype(np.float32)
    block[rng.random((c, m)) < draw(st.sampled_from([0.0, 0.3, 0.9]))] = UNACCEPTABLE
    density = draw(st.sampled_from([0.02, 0.1, 0.5]))
    bx = rng.random((c, width)) < density
    by = rng.random((m, width)) < density
    return block, bx, by, k, draw(st.sampled_from([0.0, 1e-4, 0.05]))


@given(_blocks())
@settings(max_examples=300, deadline=None)
def test_topk_rows_with_a_lazy_mask_equals_brute_force(
    case: tuple[np.ndarray, np.ndarray, np.ndarray, int, float],
) -> None:
    block, bx, by, k, near_tie = case
    floor = UNACCEPTABLE / 2
    ok = (bx.astype(np.int64) @ by.T.astype(np.int64)) > 0
    want, want_kth = _reference(block, ok, k, floor, near_tie)
    mask = CommonMask(pack_bits(bx), pack_bits(by))
    r, c, kth = topk_rows(block.copy(), k, floor, near_tie, mask)
    got = set(zip(r.tolist(), c.tolist(), strict=True))
    assert len(got) == r.size  # no entry twice
    assert got == want
    if near_tie > 0:
        np.testing.assert_array_equal(kth, want_kth)
        # sorted by row, largest value first (what the reserve split reads)
        v = block[r, c]
        same_row = r[1:] == r[:-1]
        assert (r[1:] >= r[:-1]).all() and (v[1:][same_row] <= v[:-1][same_row]).all()
        # with their values, bit for bit the block's (the pass reads them from here)
        r3, c3, kth3, v3 = topk_near_ties(block.copy(), k, floor, near_tie, mask)
        np.testing.assert_array_equal(r3, r)
        np.testing.assert_array_equal(c3, c)
        np.testing.assert_array_equal(kth3, kth)
        np.testing.assert_array_equal(v3.view(np.uint32), v.view(np.uint32))
    # the same selection when the block is masked outright
    masked = np.where(ok, block, np.float32(UNACCEPTABLE))
    r2, c2, _ = topk_rows(masked, k, floor, near_tie)
    assert set(zip(r2.tolist(), c2.tolist(), strict=True)) == want


@given(_blocks(), st.sampled_from([None, 0.6]))
@settings(max_examples=300, deadline=None)
def test_a_sample_first_block_gives_the_same_selection(
    case: tuple[np.ndarray, np.ndarray, np.ndarray, int, float], floor: float | None
) -> None:
    """Issue 14, session 13: the first pass's block holds the SMEs with the
    selection's sample first (``sample_first_order``); read with that order,
    the selection is the one of the block in the usual order, bit for bit:
    rows, columns, k-th values, values, and the order of equal values."""
    block, bx, by, k, near_tie = case
    floor = UNACCEPTABLE / 2 if floor is None else floor
    near_tie = near_tie or 1e-4
    order = sample_first_order(block.shape[1], k)
    if order is None:  # no sample to put first (stride 1)
        assert shortlists.sample_stride(block.shape[1], k) == 1
        return
    # (the usual order's bits, then the permuted block's own)
    want = topk_near_ties(
        block.copy(), k, floor, near_tie, CommonMask(pack_bits(bx), pack_bits(by))
    )
    got = topk_near_ties(
        block[:, order], k, floor, near_tie, CommonMask(pack_bits(bx), pack_bits(by[order])), order
    )
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(got[3].view(np.uint32), want[3].view(np.uint32))
    with pytest.raises(ValueError, match="sample"):
        topk_near_ties(block[:, order], k, floor, near_tie, None, order[:-1])


@given(_blocks(), st.sampled_from([None, 0.6]), st.integers(1, 13), st.booleans())
@settings(max_examples=300, deadline=None)
def test_the_selection_in_row_slabs_is_the_whole_blocks(
    case: tuple[np.ndarray, np.ndarray, np.ndarray, int, float],
    floor: float | None,
    slab_rows: int,
    sample_first: bool,
) -> None:
    """Issue 14, session 14: the selection compares its block with the rows'
    bounds in slabs of rows (``_entries_at_least``); the survivors, their
    order and values, and so the whole selection, are the whole block's, bit
    for bit (ties at a bound, masked rows, floors, the sample-first layout;
    slabs of 1 row, of rows that do not divide the block, and of all)."""
    block, bx, by, k, near_tie = case
    floor = UNACCEPTABLE / 2 if floor is None else floor
    near_tie = near_tie or 1e-4
    order = sample_first_order(block.shape[1], k) if sample_first else None
    if order is not None:
        block, by = block[:, order], by[order]
    # a bound per row on values the block holds (ties at the bound) and off them
    rng = np.random.default_rng(block.shape[0] * 1000 + block.shape[1])
    lo = block[np.arange(block.shape[0]), rng.integers(0, block.shape[1], block.shape[0])]
    lo = np.where(rng.random(block.shape[0]) < 0.3, np.float32(0.5), lo).astype(np.float32)
    want_flat = np.flatnonzero(block >= lo[:, None])
    slab_bytes = slab_rows * 4 * block.shape[1]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(shortlists, "SELECTION_SLAB_BYTES", slab_bytes)
        flat, v = shortlists._entries_at_least(block, lo)
        got = topk_near_ties(
            block.copy(), k, floor, near_tie, CommonMask(pack_bits(bx), pack_bits(by)), order
        )
    np.testing.assert_array_equal(flat, want_flat)
    np.testing.assert_array_equal(v.view(np.uint32), block.ravel()[want_flat].view(np.uint32))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(shortlists, "SELECTION_SLAB_BYTES", 1 << 62)  # one slab: the whole block
        want = topk_near_ties(
            block.copy(), k, floor, near_tie, CommonMask(pack_bits(bx), pack_bits(by)), order
        )
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(got[3].view(np.uint32), want[3].view(np.uint32))


@given(_blocks(), st.sampled_from([None, 0.6]), st.booleans())
@settings(max_examples=300, deadline=None)
def test_topk_ranking_is_topk_rows(
    case: tuple[np.ndarray, np.ndarray, np.ndarray, int, float],
    floor: float | None,
    sample_first: bool,
) -> None:
    """Issue 14, session 14: optimal mode's first lists take each row's first k of the
    near-tie selection (``topk_ranking``) instead of ``topk_rows``' plain top k: the same
    entries (ties at the k-th value to the lower columns, masked and floored entries
    never), also from a sample-first block, on blocks full of exact ties."""
    block, bx, by, k, _ = case
    floor = UNACCEPTABLE / 2 if floor is None else floor
    mask = CommonMask(pack_bits(bx), pack_bits(by))
    want_r, want_c, _ = topk_rows(block.copy(), k, floor, 0.0, mask)
    want = sorted(zip(want_r.tolist(), want_c.tolist(), strict=True))
    order = sample_first_order(block.shape[1], k) if sample_first else None
    if order is None:
        got_r, got_c = topk_ranking(block.copy(), k, floor, mask)
    else:
        got_r, got_c = topk_ranking(
            block[:, order], k, floor, CommonMask(pack_bits(bx), pack_bits(by[order])), order
        )
    assert np.all(np.diff(got_r) >= 0)  # by row, as the pass's parts are read
    assert sorted(zip(got_r.tolist(), got_c.tolist(), strict=True)) == want


@given(_blocks(), st.sampled_from([0.3, 0.6, 0.95]))
@settings(max_examples=300, deadline=None)
def test_topk_rows_with_a_selective_floor_equals_brute_force(
    case: tuple[np.ndarray, np.ndarray, np.ndarray, int, float], floor: float
) -> None:
    # A pricing pass's floor (u_i + v_j, here a constant) leaves most rows "thin" (fewer than k
    # entries above it in the sample) but with few survivors: only thin rows with many
    # survivors are masked outright (issue 14), the others are tested entry by entry. Both
    # kinds occur in these blocks; the selection must be the plain one either way.
    block, bx, by, k, _ = case
    ok = (bx.astype(np.int64) @ by.T.astype(np.int64)) > 0
    want, _ = _reference(block, ok, k, floor, 0.0)
    mask = CommonMask(pack_bits(bx), pack_bits(by))
    r, c, _ = topk_rows(block.copy(), k, floor, 0.0, mask)
    assert len(set(zip(r.tolist(), c.tolist(), strict=True))) == r.size
    assert set(zip(r.tolist(), c.tolist(), strict=True)) == want


@given(st.integers(1, 200), st.integers(0, 2**32 - 1))
@settings(max_examples=50, deadline=None)
def test_bits_agree_with_the_indicator_product(width: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = (rng.random((20, width)) < 0.05).astype(np.float32)
    y = (rng.random((30, width)) < 0.05).astype(np.float32)
    want = (x @ y.T) > 0.5
    bx, by = pack_bits(x), pack_bits(y)
    np.testing.assert_array_equal(common_block(bx, by), want)
    i, j = np.divmod(np.arange(20 * 30), 30)
    np.testing.assert_array_equal(common(bx[i], by[j]), want[i, j])


def test_student_lists_are_the_same_with_one_chunk_or_many() -> None:
    # Chunks of 7 students see other samples and bounds than one chunk of
    # all (and BLAS rounds their float32 products differently): the lists,
    # trimmed by exact scores, must not depend on it.
    students, smes = population(300, 900, seed=3)
    model = MatchModel().fit(students, smes)
    whole = model.candidates(5, by="student", reserve=10)
    parts = model.candidates(5, by="student", reserve=10, chunk_size=7)
    for a, b in ((whole.student_view, parts.student_view), (whole.sme_view, parts.sme_view)):
        np.testing.assert_array_equal(a.indptr, b.indptr)
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_array_equal(a.data, b.data)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 3000),
    st.integers(0, 400),
    st.integers(0, 10_000),
    st.sampled_from([0.0, 0.5, 0.9]),
)
def test_packed_sort_equals_a_stable_sort_by_row_then_value(
    rows: int, cols: int, size: int, seed: int, ties: float
) -> None:
    """The packed-key sort gives exactly the stable (row, value descending)
    order of entries that come in column order within each row, values' bits
    included (negative values, -inf, -0.0 and many ties)."""
    rng = np.random.default_rng(seed)
    flat = np.unique(rng.integers(0, rows * cols, size))
    r, col = np.divmod(flat, cols)
    pool = np.array([-np.inf, -4.0, -0.0, 0.0, 0.25, 1.0], dtype=np.float32)
    v = rng.standard_normal(flat.size).astype(np.float32)
    tied = rng.random(flat.size) < ties
    v[tied] = pool[rng.integers(0, pool.size, int(tied.sum()))]
    # stable; 0.0 ranks above -0.0 as their bits do (what the engine always did)
    order = sorted(range(flat.size), key=lambda e: (r[e], -float(v[e]), bool(np.signbit(v[e]))))
    got_r, got_c, got_v = _sorted_by_row_descending(r, col, v, rows, cols)
    assert np.array_equal(got_r, r[order])
    assert np.array_equal(got_c, col[order])
    assert np.array_equal(got_v.view(np.uint32), v[order].view(np.uint32))
    old = _by_row_descending(r, v)
    assert np.array_equal(got_r, r[old]) and np.array_equal(got_c, col[old])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 3000), st.integers(0, 400), st.integers(0, 10_000))
def test_survivor_sort_takes_rows_in_any_order(rows: int, cols: int, size: int, seed: int) -> None:
    """The rows ``_topk_near_ties`` reads again are appended after the others, not put back
    in row order (issue 14, session 8): the sort must give the same order whatever the order
    of the rows, each row's entries in column order, on its packed path and its fallback."""
    rng = np.random.default_rng(seed)
    flat = np.unique(rng.integers(0, rows * cols, size))
    r, col = np.divmod(flat, cols)
    v = rng.choice(np.array([-np.inf, -0.0, 0.0, 0.25, 0.5, 1.0], dtype=np.float32), flat.size)
    want = _sorted_by_row_descending(r, col, v, rows, cols)
    moved = np.lexsort((col, rng.permutation(rows)[r]))  # whole rows moved, columns in order
    for bound in (rows, 2**32):  # 2**32 rows: too wide to pack, the stable fallback
        got = _sorted_by_row_descending(r[moved], col[moved], v[moved], bound, cols)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
        assert np.array_equal(got[2].view(np.uint32), want[2].view(np.uint32))


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 40), st.integers(0, 2**32 - 1), st.integers(1, 6))
def test_reserve_layout_equals_a_stable_sort_by_student(n: int, seed: int, chunks: int) -> None:
    """The reserve is joined from the pass's int32 chunks (arriving in any order)
    and the near-ties without a sort; it must equal the old layout: every
    pair, chunks then near-ties, stably sorted by student (issue 14, memory:
    the sort and its int64 copies were the first pass's peak)."""
    rng = np.random.default_rng(seed)
    bounds = np.unique(np.r_[0, np.sort(rng.integers(0, n + 1, chunks - 1)), n])
    parts, all_i, all_j = [], [], []
    for a, b in zip(bounds[:-1], bounds[1:], strict=False):
        rows = np.arange(a, b)
        ri = np.sort(rng.choice(rows, int(rng.integers(0, 4 * rows.size + 1)))).astype(np.int64)
        rj = rng.integers(0, 50, ri.size).astype(np.int64)
        parts.append((int(a), ri.astype(np.int32), rj.astype(np.int32)))
        all_i.append(ri)
        all_j.append(rj)
    tie_i = np.sort(rng.integers(0, n, int(rng.integers(0, 3 * n)))).astype(np.int64)
    tie_j = rng.integers(0, 50, tie_i.size).astype(np.int64)
    rng.shuffle(parts)  # workers finish in any order
    cutoff = rng.random(n)
    got = _reserve(n, parts, tie_i, tie_j, cutoff)
    assert parts == []  # emptied: the pass's parts are freed once joined
    ri = np.concatenate([*all_i, tie_i])
    rj = np.concatenate([*all_j, tie_j])
    order = np.argsort(ri, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(ri, minlength=n), out=ptr[1:])
    np.testing.assert_array_equal(got.indptr, ptr)
    np.testing.assert_array_equal(got.sme, rj[order].astype(np.int32))
    assert got.sme.dtype == np.int32
    assert got.cutoff is cutoff


def test_growth_query_with_exclusion_keys_equals_the_pair_form() -> None:
    """List growth passes its listed pairs as sorted keys (``exclude_keys``),
    together with the cycle's excluded pairs: the same lists as passing all of
    them as pairs."""
    students, smes = population(300, 200, seed=3)
    model = MatchModel().fit(students, smes)
    first = model.candidates(10, by="student")
    coo = first.student_view.tocoo()
    listed_i, listed_j = coo.row.astype(np.int64), coo.col.astype(np.int64)
    keys = np.sort(listed_i * 200 + listed_j)
    declined = np.array([[0, 5], [1, 7], [2, 9], [int(listed_i[0]), int(listed_j[0])]])
    floor = np.full(200, -np.inf)
    floor[::3] = 0.4
    who = np.arange(0, 300, 2)
    a = model.candidates(
        25, by="student", exclude=declined, exclude_keys=keys, students=who, sme_floor=floor
    )
    b = model.candidates(
        25,
        by="student",
        exclude=np.vstack([declined, np.column_stack([listed_i, listed_j])]),
        students=who,
        sme_floor=floor,
    )
    for x, y in ((a.student_view, b.student_view), (a.sme_view, b.sme_view)):
        assert (x != y).nnz == 0
        np.testing.assert_array_equal(x.indices, y.indices)
        np.testing.assert_array_equal(x.indptr, y.indptr)
    np.testing.assert_array_equal(a.complete, b.complete)
    assert a.student_view.nnz > 0
    got = set(zip(*a.student_view.nonzero(), strict=True))
    assert not got & set(zip(listed_i.tolist(), listed_j.tolist(), strict=True))


def test_first_pass_blocks_hold_enough_students_for_blas(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first pass (a reserve) takes ``FIRST_PASS_MIN_ROWS`` students per block where the
    byte target alone would give fewer (BLAS packs the SMEs once per block), other passes
    keep the byte target, and the lists and reserve are those of small blocks."""
    students, smes = population(600, 400, seed=5)
    model = MatchModel().fit(students, smes)
    # 40 KiB is 25 students of 400 SMEs: the byte target alone gives small blocks
    monkeypatch.setattr(shortlists, "BLOCK_TARGET_BYTES", 40 << 10)
    monkeypatch.setattr(shortlists, "FIRST_PASS_MIN_ROWS", 120)
    rows, cols, none = np.arange(600), np.arange(400), np.zeros(0, np.int64)

    def step(reserve: int) -> int:
        return shortlists.TopKPass(
            model, 5, "student", rows, cols, none, sme_side=False, sme_floor=None,
            prices=None, chunk_size=None, max_block_bytes=128 << 20, reserve=reserve,
        ).step  # fmt: skip

    assert step(reserve=10) == 120
    assert step(reserve=0) == 25
    big = model.candidates(5, by="student", reserve=10)
    monkeypatch.setattr(shortlists, "FIRST_PASS_MIN_ROWS", 0)
    small = model.candidates(5, by="student", reserve=10)
    assert big.reserve is not None and small.reserve is not None
    assert_same_lists(big, small)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(1, 6),
    st.integers(0, 5),
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=40),
    st.integers(1, 7),
    st.integers(1, 7),
    st.integers(0, 10_000),
)
def test_row_dots_equal_the_dot_of_each_pair(
    n: int, m: int, width: int, pairs: list[tuple[int, int]], step: int, piece: int, seed: int
) -> None:
    """List growth's one-by-one dots (``row_dots``: one matrix-vector product
    per run of a student's pairs, issue 14) give each pair's dot product, in
    any order of pairs (runs of one row, rows repeated later, single pairs),
    with runs cut across the gathering steps. Since session 16 a step's runs
    are gathered in pieces (``ROW_DOTS_PIECE``) into one reused buffer: each
    run's product is still the same product of the same rows, so bit for bit
    what a product of that run's own gathered rows gives."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, width)).astype(np.float32)
    y = rng.uniform(-1, 1, (m, width)).astype(np.float32)
    r = np.array([p[0] % n for p in pairs], dtype=np.int64)
    c = np.array([p[1] % m for p in pairs], dtype=np.int64)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(shortlists, "ROW_DOTS_STEP", step)
        mp.setattr(shortlists, "ROW_DOTS_PIECE", piece)
        got = row_dots(x, r, y, c)
    assert got.dtype == np.float32 and got.shape == (len(pairs),)
    expect = np.einsum("ij,ij->i", x[r].astype(np.float64), y[c].astype(np.float64))
    np.testing.assert_allclose(got, expect, rtol=0, atol=1e-5)
    # each run (cut at the steps) by itself
    by_run = np.empty(len(pairs), dtype=np.float32)
    for a in range(0, len(pairs), step):
        b = min(a + step, len(pairs))
        cuts = [a, *(a + 1 + np.flatnonzero(r[a + 1 : b] != r[a : b - 1])).tolist(), b]
        for s, e in zip(cuts[:-1], cuts[1:], strict=True):
            by_run[s:e] = y[c[s:e]] @ x[r[s]]
    assert np.array_equal(got.view(np.uint32), by_run.view(np.uint32))


def test_a_pass_over_every_sme_reads_the_ranking_rows_without_a_copy() -> None:
    """Issue 14: with every SME allowed, a pass multiplies by the ranking
    matrix's own rows (list growth makes a pass per growth level per call, and
    copying the SMEs' rows was most of a small pass's fixed cost); with some
    SMEs masked, by a copy of theirs. Both give the lists of the copy."""
    students, smes = population(120, 90, seed=4)
    model = MatchModel().fit(students, smes)
    _, yt = model.ranking_matrices("student")
    rows, none = np.arange(120), np.zeros(0, np.int64)

    def query(cols: np.ndarray) -> shortlists.TopKPass:
        return shortlists.TopKPass(
            model, 5, "student", rows, cols, none, sme_side=False, sme_floor=None,
            prices=None, chunk_size=None, max_block_bytes=128 << 20,
        )  # fmt: skip

    every = query(np.arange(90))
    assert np.shares_memory(every.y, yt) and every.y.flags.c_contiguous
    np.testing.assert_array_equal(every.y, yt.T)
    np.testing.assert_array_equal(every.bits_y, model.pair_bits_y_)
    some = query(np.arange(0, 90, 2))
    assert not np.shares_memory(some.y, yt)
    np.testing.assert_array_equal(some.y, yt.T[::2])
    np.testing.assert_array_equal(some.bits_y, model.pair_bits_y_[::2])


def test_a_pass_of_one_chunk_runs_blas_on_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 14: a pass too small to split (list growth's last passes, a few
    students each) runs in the calling thread with BLAS limited to one thread,
    as the chunks on worker threads do: OpenBLAS's own two threads on a
    product of 13 students x 8,200 SMEs cost 8 ms of CPU against 1 ms."""
    from threadpoolctl import threadpool_info

    students, smes = population(20, 60, seed=2)
    model = MatchModel().fit(students, smes)
    seen: list[int] = []
    real_chunk = shortlists.TopKPass.chunk

    def chunk(self: shortlists.TopKPass, start: int) -> Any:
        seen.extend(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")
        return real_chunk(self, start)

    monkeypatch.setattr(shortlists.TopKPass, "chunk", chunk)
    model.candidates(5, by="student")
    assert seen and set(seen) == {1}


def test_a_query_of_a_few_dozen_students_is_split_across_the_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 14: a query is split across the workers from ``MIN_SPLIT_ROWS``
    students each (list growth's passes of 64-255 students ran on one core);
    the lists are those of one chunk."""
    students, smes = population(100, 300, seed=6)
    model = MatchModel().fit(students, smes)
    floor = np.full(300, -np.inf)
    floor[::2] = 0.3
    monkeypatch.setattr(shortlists, "workers", lambda: 2)
    rows, cols, none = np.arange(100), np.arange(300), np.zeros(0, np.int64)
    split = shortlists.TopKPass(
        model, 10, "student", rows, cols, none, sme_side=False, sme_floor=floor,
        prices=None, chunk_size=None, max_block_bytes=128 << 20,
    )  # fmt: skip
    assert shortlists.MIN_SPLIT_ROWS <= 50 and split.step == 50
    two = model.candidates(10, by="student", sme_floor=floor)
    monkeypatch.setattr(shortlists, "workers", lambda: 1)
    one = model.candidates(10, by="student", sme_floor=floor)
    for a, b in ((two.student_view, one.student_view), (two.sme_view, one.sme_view)):
        np.testing.assert_array_equal(a.indptr, b.indptr)
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(two.complete, one.complete)
    assert two.student_view.nnz > 0


def test_a_passs_chunks_run_on_the_kept_threads_and_give_the_inline_lists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 14, session 12: a pass's chunks run on the process's kept
    threads (``compute.ordered_map``), not on a pool made per pass; the
    lists are those of the same chunks run in the calling thread, and a pass
    started from inside one of those threads runs its chunks there (a worker
    waiting on its own pool could wait forever)."""
    students, smes = population(120, 300, seed=7)
    model = MatchModel().fit(students, smes)
    floor = np.full(300, -np.inf)
    floor[::3] = 0.25
    ran_on: list[str] = []
    real_chunk = shortlists.TopKPass.chunk

    def chunk(self: shortlists.TopKPass, start: int) -> Any:
        ran_on.append(threading.current_thread().name)
        return real_chunk(self, start)

    monkeypatch.setattr(shortlists.TopKPass, "chunk", chunk)
    monkeypatch.setattr(shortlists, "workers", lambda: 2)
    pooled = model.candidates(10, by="student", sme_floor=floor, chunk_size=16)
    assert len(ran_on) > 2
    assert all(name.startswith("matching-chunks") for name in ran_on)
    ran_on.clear()
    monkeypatch.setattr(shortlists, "workers", lambda: 1)
    inline = model.candidates(10, by="student", sme_floor=floor, chunk_size=16)
    assert set(ran_on) == {threading.current_thread().name}
    monkeypatch.setattr(shortlists, "workers", lambda: 2)
    ran_on.clear()
    nested = next(
        compute.ordered_map(
            lambda _: model.candidates(10, by="student", sme_floor=floor, chunk_size=16),
            [0, 1],
            2,
        )
    )
    assert len(set(ran_on)) >= 1 and all(n.startswith("matching-chunks") for n in ran_on)
    for got in (inline, nested):
        for a, b in ((pooled.student_view, got.student_view), (pooled.sme_view, got.sme_view)):
            np.testing.assert_array_equal(a.indptr, b.indptr)
            np.testing.assert_array_equal(a.indices, b.indices)
            np.testing.assert_array_equal(a.data, b.data)
        np.testing.assert_array_equal(pooled.complete, got.complete)
    assert pooled.student_view.nnz > 0


@given(
    st.integers(1, 16),
    st.integers(40, 3000),
    st.integers(1, 60),
    st.integers(0, 2**32 - 1),
    st.sampled_from([0.02, 0.3, 0.9]),
    st.sampled_from([0.0, 0.3]),
    st.booleans(),
)
@settings(max_examples=200, deadline=None)
def test_sample_bounds_equal_the_masked_samples_order_statistics(
    c: int, m: int, k: int, seed: int, density: float, unacceptable: float, equal_row: bool
) -> None:
    """Issue 14, session 11: the sample's k-th and ``hi_rank``-th largest acceptable values
    are read from the sample's largest entries only (the mask tested there), with rows where
    those hold fewer than k acceptable entries, or far too many, masked and partitioned whole.
    They must be, bit for bit, the order statistics of the whole masked sample."""
    rng = np.random.default_rng(seed)
    block = np.where(
        rng.random((c, m)) < 0.5,
        rng.choice(_VALUES, (c, m)),
        rng.random((c, m)).astype(np.float32),
    ).astype(np.float32)
    block[rng.random((c, m)) < unacceptable] = UNACCEPTABLE
    if equal_row:
        block[0] = np.float32(0.5)  # a row of ties: every sampled entry passes the threshold
    width = 70
    mask = CommonMask(
        pack_bits(rng.random((c, width)) < density), pack_bits(rng.random((m, width)) < density)
    )
    stride = max(1, min(8, m // (4 * k))) if m > k else 1
    hi_rank = max(1, (3 * k) // (2 * stride))
    ns = -(-m // stride)
    if ns < k:
        return
    sample = np.where(mask.columns(stride), block[:, ::stride], np.float32(-np.inf))
    part = np.sort(sample, axis=1)[:, ::-1]
    tau, t_hi = _sample_bounds(block, k, hi_rank, stride, mask)
    np.testing.assert_array_equal(tau.view(np.uint32), part[:, k - 1].view(np.uint32))
    want_hi = part[:, min(hi_rank, k) - 1]
    np.testing.assert_array_equal(t_hi.view(np.uint32), want_hi.view(np.uint32))
    if stride > 1:  # the same bounds from a block with its sample first (session 13)
        order = sample_first_order(m, k)
        assert order is not None
        first = CommonMask(mask.bits_x, mask.bits_y[order])
        tau2, t_hi2 = _sample_bounds(
            np.ascontiguousarray(block[:, order]), k, hi_rank, stride, first, True
        )
        np.testing.assert_array_equal(tau2.view(np.uint32), tau.view(np.uint32))
        np.testing.assert_array_equal(t_hi2.view(np.uint32), t_hi.view(np.uint32))
