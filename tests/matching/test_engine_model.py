"""The similarity model: sanity cases, bounds, reasons, shortlists."""

from __future__ import annotations

import copy
import dataclasses
import datetime
import threading

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from same_answers import assert_same_lists
from sklearn.base import clone

import matching.model
from matching import MatchModel, SMEProfile, StudentProfile, load_rules, shortlists
from matching.explanations import Reason, _reason
from matching.shortlists import BOUND_MARGIN, NEAR_TIE, SPARSE_GROWTH_SHARE, TopKPass
from matching.synthetic import population, with_visa_fields
from matching.taxonomy import INDUSTRIES, INDUSTRY_RELATEDNESS, REGION_CLOSENESS

_VISA_RULES = load_rules(datetime.date(2026, 1, 1))


def _student(
    i: int, nat: str, langs: dict[str, str], inds: tuple[str, ...], **kw: object
) -> StudentProfile:
    base: dict[str, object] = dict(
        markets=(), regions=("seoul",), topik_level=3, hours_per_week=20, text=""
    )
    base.update(kw)
    return StudentProfile(i, nat, langs, industries=inds, **base)  # type: ignore[arg-type]


def test_vietnamese_cosmetics_student_ranks_first_for_vietnam_cosmetics_sme() -> None:
    vn = _student(1, "VN", {"vi": "native", "en": "conversational"}, ("cosmetics",))
    en = _student(2, "US", {"en": "native"}, ("machinery",))
    cn = _student(3, "CN", {"zh": "native", "en": "fluent"}, ("cosmetics",))
    sme = SMEProfile(10, ("cosmetics",), ("VN",), region="seoul", capacity=1)
    other = SMEProfile(11, ("machinery",), ("US",), region="busan", capacity=1)
    model = MatchModel().fit([vn, en, cn], [sme, other])
    comb, stu, smev = model.score_pairs([0, 1, 2], [0, 0, 0])
    assert comb[0] > comb[2] > comb[1]
    assert smev[0] == max(smev)
    cand = model.candidates(1, by="sme", sme_side=True)
    col = cand.sme_view.toarray()[:, 0]
    assert int(np.argmax(col)) == 0
    keys = {r.key for r in model.explain(0, 0)}
    assert {"language.speaks_needed", "market.home", "industry.same"} <= keys


def test_spanish_speaker_counts_for_mexico() -> None:
    es = _student(1, "CO", {"es": "native"}, ("processed_food",))
    ko = _student(2, "JP", {"ja": "native"}, ("processed_food",))
    sme = SMEProfile(10, ("processed_food",), ("MX",), region="seoul")
    model = MatchModel().fit([es, ko], [sme])
    comb, _, _ = model.score_pairs([0, 1], [0, 0])
    assert comb[0] > comb[1]
    reasons = model.explain(0, 0)
    mx = [r for r in reasons if r.key == "market.language"]
    assert mx and mx[0].params["market"] == "MX" and mx[0].params["language"] == "es"
    assert "Mexico" in mx[0].detail and "Spanish" in mx[0].detail
    lang = [r for r in reasons if r.key == "language.speaks_needed"]
    assert lang and lang[0].params == {"language": "es", "level": "native"}


def test_tables_are_symmetric() -> None:
    for (a, b), v in INDUSTRY_RELATEDNESS.items():
        assert INDUSTRY_RELATEDNESS[(b, a)] == v
    for (a, b), v in REGION_CLOSENESS.items():
        assert REGION_CLOSENESS[(b, a)] == v
    assert all(INDUSTRY_RELATEDNESS[(x, x)] == 1.0 for x in INDUSTRIES)


def test_topik_below_minimum_is_unacceptable() -> None:
    low = _student(1, "VN", {"vi": "native"}, ("cosmetics",), topik_level=1)
    sme = SMEProfile(10, ("cosmetics",), ("VN",), region="seoul", min_topik=3)
    model = MatchModel().fit([low], [sme])
    assert not model.acceptable([0], [0])[0]
    assert model.candidates(5).combined.nnz == 0
    assert any(r.key == "korean.below_minimum" for r in model.explain(0, 0))


def test_nothing_in_common_is_unacceptable() -> None:
    a = _student(1, "MN", {"mn": "native"}, ("software_it",))
    sme = SMEProfile(10, ("metals",), ("DE",), region="seoul")
    model = MatchModel().fit([a], [sme])
    assert not model.acceptable([0], [0])[0]
    assert model.candidates(5).combined.nnz == 0


def test_sklearn_conventions() -> None:
    model = MatchModel(weights={"text": 0.0}, random_state=1)
    assert model.get_params()["weights"] == {"text": 0.0}
    clone(model)
    with pytest.raises(RuntimeError):
        model.score_pairs([0], [0])
    students, smes = population(5, 4, seed=1)
    assert model.fit(students, smes) is model
    assert abs(sum(model.weights_.values()) - 1.0) < 1e-12
    with pytest.raises(ValueError, match="unknown factor"):
        MatchModel(weights={"nope": 1.0}).fit(students, smes)
    with pytest.raises(ValueError, match="positive weight"):
        MatchModel(weights={"language": 0, "market": 0, "industry": 0}).fit(students, smes)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 25), st.integers(1, 12), st.integers(0, 10_000), st.booleans())
def test_scores_bounded_and_reasons_add_up(n: int, m: int, seed: int, text: bool) -> None:
    students, smes = population(n, m, seed=seed, text=text)
    pri = np.random.default_rng(seed).random(n) < 0.3
    model = MatchModel(random_state=0).fit(students, smes, priority=pri)
    comb, stu, smev = model.score_matrix()
    ok = np.isfinite(comb)
    for v in (comb, stu, smev):
        assert ((v[ok] >= 0) & (v[ok] <= 1)).all()
    assert np.allclose(comb[ok], 0.5 * (stu[ok] + smev[ok]))
    i, j = np.divmod(np.arange(n * m), m)
    raw, _, _ = model.score_pairs(i, j)
    for a, b in zip(i[:60], j[:60], strict=True):
        reasons = model.explain(int(a), int(b))
        assert abs(sum(r.weight for r in reasons) - raw[a * m + b]) < 1e-6
        assert all(isinstance(r.detail, str) and r.detail for r in reasons)


@settings(max_examples=20, deadline=None)
@given(
    st.integers(1, 30),
    st.integers(1, 40),
    st.integers(0, 10_000),
    st.integers(1, 6),
    st.sampled_from(["combined", "student", "sme"]),
)
# Found by Hypothesis: with the SME-side union, student-ranked lists kept
# their untrimmed near-ties, which then looked like SME-side picks.
@example(n=20, m=32, seed=3853, k=4, by="student")
def test_candidates_are_the_top_k(n: int, m: int, seed: int, k: int, by: str) -> None:
    students, smes = population(n, m, seed=seed)
    model = MatchModel(random_state=0).fit(students, smes)
    comb, stu, smev = model.score_matrix()
    full = {"combined": comb, "student": stu, "sme": smev}[by]
    cand = model.candidates(k, by=by, chunk_size=7)  # type: ignore[arg-type]
    got = {"combined": cand.combined, "student": cand.student_view, "sme": cand.sme_view}[
        by
    ].toarray()
    listed = np.zeros((n, m), bool)
    coo = cand.combined.tocoo()
    listed[coo.row, coo.col] = True
    assert (np.isfinite(comb)[listed]).all()  # only acceptable pairs
    for i in range(n):
        acc = np.flatnonzero(np.isfinite(full[i]))
        # Lists are the top k of the ranking with unacceptable pairs removed,
        # so they may be shorter than k but are always a prefix. Student-ranked
        # lists (deferred acceptance) also keep the near-ties of their k-th score
        # and are a prefix by exact score: ties are never split by float32 noise.
        if by == "student" and acc.size:
            kth = np.sort(full[i][acc])[::-1][min(k, acc.size) - 1]
            assert (full[i][listed[i]] >= kth - NEAR_TIE).all()
        else:
            assert listed[i].sum() <= min(k, acc.size)
        if acc.size and not listed[i].any():
            assert k < m
        if listed[i].any():
            worst = full[i][listed[i]].min()
            others = full[i][~listed[i] & np.isfinite(full[i])]
            if by == "student":
                assert (others < worst).all()
            else:
                assert (others <= worst + 1e-5).all()
        assert np.allclose(got[i][listed[i]], full[i][listed[i]], atol=1e-5)
    # SME side union: a superset of the student lists, and per SME a prefix
    # of its acceptable students (unacceptable ones are dropped, as for rows)
    cand2 = model.candidates(k, by=by, sme_side=True, chunk_size=5)  # type: ignore[arg-type]
    listed2 = cand2.combined.toarray() > 0
    assert (listed2 | ~listed).all()
    for j in range(m):
        extra = listed2[:, j] & ~listed[:, j]
        if extra.any():
            worst = full[extra, j].min()
            assert (
                (full[~listed2[:, j], j] <= worst + 1e-5) | ~np.isfinite(full[~listed2[:, j], j])
            ).all()


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 30),
    st.integers(1, 30),
    st.integers(0, 10_000),
    st.integers(1, 8),
    st.floats(0.0, 1.0),
    st.sampled_from([0.0, 2.0]),
)
def test_floor_queries_and_complete_rows(
    n: int, m: int, seed: int, k: int, free: float, sparse_share: float
) -> None:
    """List growth's query: SMEs with a floor drop the students below it (SMEs
    with a free seat, floor -inf, drop nobody), and ``complete`` marks exactly
    the students whose row holds every pair that passes: asking again can
    bring nothing new (issue 14, growth stops without a pass to prove it).
    Both ways of reading the student view: dense (share 0) and pair by pair
    where full SMEs accept (share 2: every chunk)."""
    shortlists.SPARSE_GROWTH_SHARE = sparse_share
    try:
        _check_floor_query(n, m, seed, k, free)
    finally:
        shortlists.SPARSE_GROWTH_SHARE = SPARSE_GROWTH_SHARE


@pytest.mark.parametrize("sparse_share", [0.0, 2.0])
@pytest.mark.parametrize("seed", [3, 11, 27])
def test_floor_query_every_sme_full_some_students_refused_by_all(
    seed: int, sparse_share: float
) -> None:
    """Every SME full and high floors: some students of a chunk are refused by
    all (dropped as ``complete`` before the student view), the others' few
    accepted pairs are read as flat positions of the SME-view comparison and
    renumbered past the dropped rows (issue 14, seventh session); both the
    sparse and the dense reading give what the definitions say."""
    shortlists.SPARSE_GROWTH_SHARE = sparse_share
    try:
        _check_floor_query(40, 30, seed, 3, 0.0, low=0.55)
    finally:
        shortlists.SPARSE_GROWTH_SHARE = SPARSE_GROWTH_SHARE


def _check_floor_query(n: int, m: int, seed: int, k: int, free: float, low: float = 0.2) -> None:
    students, smes = population(n, m, seed=seed)
    model = MatchModel(random_state=0).fit(students, smes)
    _, stu, smev = model.score_matrix()
    rng = np.random.default_rng(seed)
    floor = np.where(rng.random(m) < free, -np.inf, rng.uniform(low, 0.9, m))
    asked = np.flatnonzero(rng.random(n) < 0.7)
    cand = model.candidates(k, by="student", students=asked, sme_floor=floor, chunk_size=4)
    assert cand.complete is not None and cand.complete.shape == (n,)
    assert not cand.complete[np.setdiff1d(np.arange(n), asked)].any()
    got = cand.student_view.toarray() != 0
    coo = cand.student_view.tocoo()
    got[:] = False
    got[coo.row, coo.col] = True
    for i in asked.tolist():
        # what any query with this floor may return (the screen is lenient
        # by NEAR_TIE: an extra proposal is harmless, a missed one is not)
        passes = np.isfinite(stu[i]) & (smev[i] >= floor - NEAR_TIE)
        surely = np.isfinite(stu[i]) & (smev[i] >= floor + NEAR_TIE)
        assert not (got[i] & ~passes).any()
        if cand.complete[i]:
            assert not (surely & ~got[i]).any()  # nothing left to ask for
        else:
            assert got[i].sum() >= k  # a full row: the next query asks for more
        if got[i].any():  # a prefix of the student's order among what passes
            assert (stu[i][surely & ~got[i]] < stu[i][got[i]].min()).all()


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 15),
    st.integers(1, 200),
    st.integers(0, 10_000),
    st.integers(1, 6),
    st.integers(1, 12),
    st.sampled_from([None, 4, 8]),
    st.booleans(),
)
@example(quads=15, m=200, seed=3, k=2, r=3, chunk=4, many_groups=True)
@example(quads=4, m=110, seed=215, k=1, r=4, chunk=4, many_groups=False)
def test_the_first_pass_with_its_sample_first_gives_the_same_lists(
    quads: int, m: int, seed: int, k: int, r: int, chunk: int | None, many_groups: bool
) -> None:
    """The first pass multiplies by the SMEs' rows with the selection's sample
    first (issue 14, session 13: ``sample_first_order``), so its blocks'
    columns are not the SMEs' order: the same lists, values, reserve (in the
    same order), cutoffs and complete students as the SMEs in their order,
    bit for bit, with excluded pairs, some SMEs left out, blocked groups
    masked per chunk (the visa rules, not folded) and chunks of four rows.
    Every block has a multiple of 4 rows (``4 * quads`` students): with
    other row counts and an SME count that is not a multiple of 4, OpenBLAS
    can give an entry in a block's last columns one ulp apart in the two
    orders (13 students in chunks of 2 and 110 SMEs did, session 14), which
    the lists may then show."""
    n = 4 * quads
    model, rng, declined, allowed = _visa_cohort(n, m, seed, many_groups)
    got = []
    try:
        for first in (False, True):
            shortlists.SAMPLE_FIRST = first
            got.append(
                model.candidates(
                    k,
                    by="student",
                    exclude=declined,
                    sme_mask=allowed,
                    chunk_size=chunk,
                    reserve=r,
                )
            )
    finally:
        shortlists.SAMPLE_FIRST = True
    assert all(answer.reserve is not None for answer in got)
    assert_same_lists(*got)


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 60),
    st.integers(1, 200),
    st.integers(0, 10_000),
    st.integers(1, 6),
    st.sampled_from([None, 2, 5]),
    st.booleans(),
)
@example(n=60, m=200, seed=3, k=2, chunk=2, many_groups=True)
def test_lists_ranked_by_price_are_the_plain_selections(
    n: int, m: int, seed: int, k: int, chunk: int | None, many_groups: bool
) -> None:
    """Optimal mode's first lists from start prices (a priced query whose floor every
    acceptable pair passes: ``RANKED_BELOW``) are selected as the first pass is, from a
    sample-first block (issue 14, session 14: ``topk_ranking``): bit for bit the lists
    and views of the plain selection of pricing queries, with excluded pairs, some SMEs
    left out, blocked groups masked per chunk and chunks of two rows."""
    model, rng, declined, allowed = _visa_cohort(n, m, seed, many_groups)
    v0 = rng.random(m) * 0.5
    prices = (np.full(n, -2.0 - v0.max()), v0)  # as ``pipeline._run_optimal``'s first lists
    got = []
    try:
        for ranked_below in (-np.inf, shortlists.RANKED_BELOW):
            shortlists.RANKED_BELOW = ranked_below
            query = dict(exclude=declined, sme_mask=allowed, chunk_size=chunk, prices=prices)
            got.append(model.candidates(k, by="combined", **query))  # type: ignore[arg-type]
            if not allowed.any():
                continue
            pass_ = TopKPass(
                model,
                k,
                "combined",
                np.arange(n),
                np.flatnonzero(allowed),
                np.zeros(0, np.int64),
                sme_side=False,
                sme_floor=None,
                prices=prices,
                chunk_size=chunk,
                max_block_bytes=128 << 20,
            )
            assert pass_.ranked_by_price == (ranked_below > -np.inf)
    finally:
        shortlists.RANKED_BELOW = -1.0
    one, other = got
    for view in ("student_view", "sme_view", "combined"):
        a, b = getattr(one, view), getattr(other, view)
        assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
        assert np.array_equal(a.data, b.data)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 40),
    st.integers(0, 10_000),
    st.integers(1, 6),
    st.integers(1, 12),
)
def test_reserve_follows_the_list(n: int, m: int, seed: int, k: int, r: int) -> None:
    """The reserve kept from the first pass (issue 14) continues each
    student's list: the list is the same as without it, and list plus reserve
    hold every acceptable pair from ``reserve.cutoff`` on (all of them when it
    is -inf), so list growth can hand it out instead of a new pass. Small
    chunks: several workers fill it at once."""
    students, smes = population(n, m, seed=seed)
    model = MatchModel(random_state=0).fit(students, smes)
    _, stu, _ = model.score_matrix()
    plain = model.candidates(k, by="student", chunk_size=3)
    cand = model.candidates(k, by="student", chunk_size=3, reserve=r)
    assert cand.reserve is not None and plain.reserve is None
    assert (cand.student_view != plain.student_view).nnz == 0
    coo = plain.student_view.tocoo()
    listed = np.zeros((n, m), bool)
    listed[coo.row, coo.col] = True
    ri, rj = cand.reserve.of(np.arange(n))
    reserved = np.zeros((n, m), bool)
    reserved[ri, rj] = True
    assert ri.size == reserved.sum()  # no pair twice
    assert not (listed & reserved).any()
    for i in range(n):
        acc = np.isfinite(stu[i])
        need = acc & (stu[i] >= cand.reserve.cutoff[i])
        assert not (need & ~listed[i] & ~reserved[i]).any()
        if acc.sum() > k + r:  # a full reserve: no more than the next r and near-ties
            assert np.isfinite(cand.reserve.cutoff[i])
            assert (stu[i][reserved[i] & acc] >= cand.reserve.cutoff[i] - 2 * NEAR_TIE).all()
    with pytest.raises(ValueError, match="reserve"):
        model.candidates(k, by="combined", reserve=r)


def test_candidates_exclude_include_and_masks() -> None:
    students, smes = population(20, 15, seed=4)
    model = MatchModel().fit(students, smes)
    base = model.candidates(3)
    coo = base.combined.tocoo()
    excl = list(zip(coo.row[:10].tolist(), coo.col[:10].tolist(), strict=True))
    c2 = model.candidates(3, exclude=excl)
    d = c2.combined.toarray()
    assert all(d[i, j] == 0 for i, j in excl) and not any(c2.combined[i, j] for i, j in excl)
    c3 = model.candidates(3, students=[1, 2], sme_mask=np.arange(15) < 5)
    c3c = c3.combined.tocoo()
    assert set(c3c.row.tolist()) <= {1, 2} and (c3c.col < 5).all()
    comb, _, _ = model.score_matrix()
    i, j = np.argwhere(np.isfinite(comb))[-1]
    c4 = model.candidates(1, include=[(int(i), int(j))])
    assert c4.combined[int(i), int(j)] > 0


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 30),
    st.integers(0, 10_000),
    st.booleans(),
    st.booleans(),
)
def test_exact_views_sum_each_pair_in_column_order(
    n: int, m: int, seed: int, text: bool, priority: bool
) -> None:
    """The exact scorer's sparse product gives, bit for bit, each pair's terms
    summed one by one from 0.0 in column order over the SME's nonzero columns
    (what deferred acceptance's tie-breaking and the saved outputs rely on)."""
    students, smes = population(n, m, seed=seed, text=text)
    pri = np.random.default_rng(seed).random(n) < 0.3 if priority else None
    model = MatchModel(random_state=0).fit(students, smes, priority=pri)
    rng = np.random.default_rng(seed + 1)
    size = int(rng.integers(0, 3 * n * m + 1))
    si, sj = rng.integers(0, n, size), rng.integers(0, m, size)
    ex = model._exact  # noqa: SLF001 - the shortcut itself is under test
    stu, sme = ex.views(si, sj)
    text_cols = model.col_factor_ == "text"
    rest = np.flatnonzero(~text_cols)
    for view, x, y, w_text in (
        (stu, model.x_stu_, model.y_stu_, ex.text_stu),
        (sme, model.x_sme_, model.y_sme_, ex.text_sme),
    ):
        expect = np.empty(size)
        for p, (i, j) in enumerate(zip(si.tolist(), sj.tolist(), strict=True)):
            s = 0.0
            for f in rest[y[j, rest] != 0].tolist():
                s += float(x[i, f]) * float(y[j, f])
            expect[p] = s
        if ex.x_text.shape[1] and w_text > 0:
            dot = np.einsum("ij,ij->i", ex.x_text[si], ex.y_text[sj]).astype(np.float64)
            expect += w_text * dot
        assert np.array_equal(view, expect)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 40),
    st.integers(0, 10_000),
    st.integers(1, 8),
    st.floats(0.0, 1.0),
    st.floats(0.0, 0.9),
)
def test_sparse_growth_equals_dense(
    n: int, m: int, seed: int, k: int, free: float, high: float
) -> None:
    """List growth's sparse reading of the student view (where full SMEs
    refuse nearly everyone, issue 14) returns what the dense pass returns:
    the same pairs, values and ``complete`` students, with declined pairs
    and high floors (most pairs refused) mixed in."""
    students, smes = population(n, m, seed=seed)
    model = MatchModel(random_state=0).fit(students, smes)
    rng = np.random.default_rng(seed)
    floor = np.where(rng.random(m) < free, -np.inf, rng.uniform(high, 1.0, m))
    asked = np.flatnonzero(rng.random(n) < 0.8)
    declined = np.column_stack([rng.integers(0, n, 3 * n), rng.integers(0, m, 3 * n)])
    got = []
    for share in (0.0, 2.0):
        shortlists.SPARSE_GROWTH_SHARE = share
        try:
            got.append(
                model.candidates(
                    k,
                    by="student",
                    students=asked,
                    sme_floor=floor,
                    exclude=declined,
                    chunk_size=5,
                )
            )
        finally:
            shortlists.SPARSE_GROWTH_SHARE = SPARSE_GROWTH_SHARE
    assert_same_lists(*got)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 60),
    st.integers(1, 40),
    st.integers(0, 10_000),
    st.integers(1, 8),
    st.floats(0.0, 1.0),
    st.floats(0.0, 0.9),
    st.sampled_from([0.0, 2.0]),
)
def test_full_smes_left_out_by_their_bound_change_nothing(
    n: int, m: int, seed: int, k: int, free: float, high: float, sparse_share: float
) -> None:
    """List growth leaves out of a chunk's SME-view product the full SMEs
    whose bound refuses every student of the chunk, the students grouped by
    their strongest columns first (issue 14, session 9): the same pairs,
    values and ``complete`` students as every full SME in every chunk, both
    ways of reading the student view, with declined pairs and high floors."""
    students, smes = population(n, m, seed=seed)
    model = MatchModel(random_state=0).fit(students, smes)
    rng = np.random.default_rng(seed)
    floor = np.where(rng.random(m) < free, -np.inf, rng.uniform(high, 1.0, m))
    asked = np.flatnonzero(rng.random(n) < 0.8)
    declined = np.column_stack([rng.integers(0, n, 3 * n), rng.integers(0, m, 3 * n)])
    got = []
    shortlists.SPARSE_GROWTH_SHARE = sparse_share
    try:
        for prune in (False, True):
            shortlists.PRUNE_FULL_SMES = prune
            got.append(
                model.candidates(
                    k, by="student", students=asked, sme_floor=floor, exclude=declined, chunk_size=5
                )
            )
    finally:
        shortlists.PRUNE_FULL_SMES = True
        shortlists.SPARSE_GROWTH_SHARE = SPARSE_GROWTH_SHARE
    assert_same_lists(*got)


@pytest.mark.parametrize("seed", [1, 5, 9])
def test_full_sme_bounds_hold_and_leave_smes_out(seed: int) -> None:
    """The bound of a growth chunk (``TopKPass._full_sme_bounds``) is at least
    every full SME's float32 view of every student in the chunk, less than
    ``BOUND_MARGIN``: an SME left out refuses the whole chunk. The chunks
    hold each asked student once, each in index order, and with high floors
    the bound does leave SMEs out (the path is taken)."""
    n, m = 300, 60
    students, smes = population(n, m, seed=seed)
    model = MatchModel(random_state=0).fit(students, smes)
    rng = np.random.default_rng(seed)
    floor = np.where(rng.random(m) < 0.2, -np.inf, rng.uniform(0.5, 0.9, m))
    asked = np.flatnonzero(rng.random(n) < 0.8)
    query = TopKPass(
        model,
        3,
        "student",
        asked,
        np.arange(m),
        np.zeros(0, np.int64),
        sme_side=False,
        sme_floor=floor,
        prices=None,
        chunk_size=16,
        max_block_bytes=1 << 20,
    )
    assert query.bounds is not None and query.x_floor is not None
    assert query.y_floor is not None
    assert np.array_equal(np.sort(query.rows_all), asked)
    view = query.x_floor[query.rows_all] @ query.y_floor.T
    left_out = 0
    for c, a in enumerate(range(0, asked.size, 16)):
        rows = query.rows_all[a : a + 16]
        assert (np.diff(rows) > 0).all()
        assert (query.bounds[c] >= view[a : a + 16].max(axis=0) - BOUND_MARGIN).all()
        left_out += int((query.bounds[c] < query.floor - BOUND_MARGIN).sum())
    assert left_out > 0


def test_a_growth_pass_of_one_chunk_skips_the_full_sme_bounds() -> None:
    """A pass of one chunk (list growth's last passes: 1-29 students at 20,000 x
    10,000) pays no ``_full_sme_bounds`` (their fixed cost is more than they save
    in one product; the test for it once held for every pass); a pass of several
    chunks still computes them, and both give the same lists (issue 14, session 11)."""
    n, m = 300, 60
    students, smes = population(n, m, seed=5)
    model = MatchModel(random_state=0).fit(students, smes)
    rng = np.random.default_rng(5)
    floor = np.where(rng.random(m) < 0.2, -np.inf, rng.uniform(0.5, 0.9, m))
    asked = np.flatnonzero(rng.random(n) < 0.8)

    def query(chunk_size: int | None) -> TopKPass:
        return TopKPass(
            model,
            3,
            "student",
            asked,
            np.arange(m),
            np.zeros(0, np.int64),
            sme_side=False,
            sme_floor=floor,
            prices=None,
            chunk_size=chunk_size,
            max_block_bytes=1 << 20,
        )

    one = query(asked.size)
    assert one.bounds is None and np.array_equal(one.rows_all, asked)
    several = query(16)
    assert several.bounds is not None
    got = [query(size).run() for size in (asked.size, 16)]
    lists = [
        sorted(zip(np.concatenate(i).tolist(), np.concatenate(j).tolist(), strict=True))
        for i, j in got
    ]
    assert lists[0] == lists[1] and lists[0]


def test_fast_reasons_equal_constructed_ones() -> None:
    """Reasons built in bulk (``_reason``) are the objects ``Reason(...)`` makes."""
    # The shortcut fills the fields directly: it must know them all and
    # skip no validation.
    assert [f.name for f in dataclasses.fields(Reason)] == ["factor", "key", "params", "weight"]
    assert not hasattr(Reason, "__post_init__")
    for args in (
        ("language", "language.speaks_needed", {"language": "vi", "level": "native"}, 0.125),
        ("market", "market.no_overlap", {}, 0.0),
        ("text", "text.similar", {"similarity": 0.5}, 0.0625),
    ):
        fast, made = _reason(*args), Reason(*args)  # type: ignore[arg-type]
        assert fast == made and repr(fast) == repr(made) and vars(fast) == vars(made)
        assert copy.deepcopy(fast) == made  # copies go through __reduce_ex__, as pickling does
        assert fast.detail == made.detail
        with pytest.raises(dataclasses.FrozenInstanceError):
            fast.weight = 1.0  # type: ignore[misc]


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(1, 40),
    m=st.integers(1, 40),
    seed=st.integers(0, 10_000),
    by=st.sampled_from(["student", "sme", "combined"]),
)
@example(n=300, m=200, seed=1, by="student")
def test_ranking_matrices_leave_out_columns_zero_on_a_side(
    n: int, m: int, seed: int, by: str
) -> None:
    # Issue 14: a column zero for every student or every SME adds an exact 0
    # to every product and is left out of the ranking matrices; the product
    # must be the one of the full layout.
    from matching import model as model_module

    students, smes = population(n, m, seed=seed)
    x, yt = MatchModel().fit(students, smes).ranking_matrices(by)
    assert (x != 0).any(axis=0).all()
    assert (yt != 0).any(axis=1).all()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(model_module, "_product_columns", lambda a, b: np.arange(a.shape[1]))
        x_full, yt_full = MatchModel().fit(students, smes).ranking_matrices(by)
    if n >= 300:
        assert x.shape[1] < x_full.shape[1]  # this population has such columns
    np.testing.assert_allclose(x @ yt, x_full @ yt_full, rtol=0, atol=1e-5)


def test_exact_views_do_not_depend_on_the_step() -> None:
    # Issue 14: the exact scorer works through pairs 2^13 at a time (its
    # temporaries stay in reused heap memory); pairs across several steps,
    # with a step boundary inside a run of one student's pairs, must score
    # bit for bit as each pair scored alone.
    students, smes = population(60, 80, seed=3)
    model = MatchModel(random_state=0).fit(students, smes)
    rng = np.random.default_rng(4)
    size = 3 * (1 << 13) + 17
    si = np.sort(rng.integers(0, 60, size))
    sj = rng.integers(0, 80, size)
    ex = model._exact  # noqa: SLF001 - the shortcut itself is under test
    stu, sme = ex.views(si, sj)
    probe = np.concatenate([np.arange(0, size, 997), np.arange((1 << 13) - 3, (1 << 13) + 3)])
    for p in probe.tolist():
        a, b = ex.views(si[p : p + 1], sj[p : p + 1])
        assert a[0] == stu[p] and b[0] == sme[p]


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 400), st.integers(1, 64), st.integers(2, 4))
def test_exact_scores_in_parallel_chunks_equal_one_serial_pass(
    seed: int, size: int, step: int, threads: int
) -> None:
    """Issue 14: exact scores (``score_pairs``, ``shortlist_scores``) go in
    chunks on all cores. Any chunk length on several threads gives, bit for
    bit, what one thread gives in the default chunks (chunk boundaries inside
    a student's run of pairs, a last chunk of one pair included)."""
    from matching import compute
    from matching import model as model_module

    students, smes = population(25, 18, seed=seed, text=seed % 2 == 0)
    pri = np.random.default_rng(seed).random(25) < 0.3
    model = MatchModel(random_state=0).fit(students, smes, priority=pri)
    rng = np.random.default_rng(seed + 1)
    si = np.sort(rng.integers(0, 25, size))
    sj = rng.integers(0, 18, size)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compute, "workers", lambda: 1)
        serial = model.shortlist_scores(si, sj)
        serial_scores = model.score_pairs(si, sj)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compute, "workers", lambda: threads)
        patch.setattr(model_module, "EXACT_STEP", step)
        chunked = model.shortlist_scores(si, sj)
        chunked_scores = model.score_pairs(si, sj)
    for a, b in zip((*serial, *serial_scores), (*chunked, *chunked_scores), strict=True):
        assert a.dtype == b.dtype and a.shape == (size,)
        assert a.tobytes() == b.tobytes()
    # and each pair as it scores alone
    for p in range(0, size, 37):
        alone = model.shortlist_scores(si[p : p + 1], sj[p : p + 1])
        assert all(x[0] == y[p] for x, y in zip(alone, serial, strict=True))


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 120), st.integers(1, 16), st.integers(2, 4))
def test_reasons_with_their_numbers_on_several_threads_equal_one_thread(
    seed: int, size: int, step: int, threads: int
) -> None:
    """Issue 14: ``explain_pairs`` computes every chunk's numbers on all cores
    first, then builds the reasons chunk by chunk; the same chunks on any
    number of threads give the same reasons, in pair order."""
    from matching import compute, explanations

    students, smes = population(20, 15, seed=seed)
    pri = np.random.default_rng(seed).random(20) < 0.3
    model = MatchModel(random_state=0).fit(students, smes, priority=pri)
    rng = np.random.default_rng(seed + 1)
    si, sj = rng.integers(0, 20, size), rng.integers(0, 15, size)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(explanations, "EXPLAIN_STEP", step)
        patch.setattr(compute, "workers", lambda: 1)
        serial = model.explain_pairs(si, sj)
        patch.setattr(compute, "workers", lambda: threads)
        parallel = model.explain_pairs(si, sj)
    assert len(parallel) == size
    assert repr(parallel) == repr(serial)
    # each pair's reasons are the one-pair call's (the order of equal weights
    # may differ: a product of another shape can differ in the last bit)
    for p in range(0, size, 11):
        alone = model.explain(int(si[p]), int(sj[p]))
        assert sorted(repr((r.key, r.params)) for r in alone) == sorted(
            repr((r.key, r.params)) for r in serial[p]
        )


def test_text_similarity_that_rounds_to_zero_is_never_negative_zero() -> None:
    """A text similarity a hair below zero rounds to 0.0, not -0.0: alone and in a
    batch a pair's embeddings' product may land either side of zero, and the reason
    must read the same (found by Hypothesis: seed 5, the batch's pair 42, whose
    one-pair call said ``-0.0``)."""
    students, smes = population(20, 15, seed=5)
    pri = np.random.default_rng(5).random(20) < 0.3
    model = MatchModel(random_state=0).fit(students, smes, priority=pri)
    rng = np.random.default_rng(6)
    si, sj = rng.integers(0, 20, 60), rng.integers(0, 15, 60)
    batch = model.explain_pairs(si, sj)
    sims = [
        (p, r.params["similarity"])
        for p in range(60)
        for r in (*batch[p], *model.explain(int(si[p]), int(sj[p])))
        if r.key.startswith("text.")
    ]
    assert any(s == 0.0 for _, s in sims)  # the case is still exercised
    assert not [p for p, s in sims if s == 0.0 and np.signbit(s)]


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 40), st.integers(1, 30), st.integers(1, 50))
def test_view_matrices_filled_in_parallel_chunks_equal_one_pass(
    seed: int, n: int, m: int, rows: int
) -> None:
    """Issue 14: ``fit`` fills the view matrices in row chunks on all cores
    (students then SMEs, a chunk may hold both); any chunk length gives the
    matrices one serial pass gives, bit for bit."""
    from matching import compute
    from matching import model as model_module

    students, smes = population(n, m, seed=seed)
    pri = np.random.default_rng(seed).random(n) < 0.3
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compute, "workers", lambda: 1)
        serial = MatchModel(random_state=0).fit(students, smes, priority=pri)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compute, "workers", lambda: 3)
        patch.setattr(model_module, "FILL_ROWS", rows)
        chunked = MatchModel(random_state=0).fit(students, smes, priority=pri)
    for name in ("x_sme_", "y_sme_", "x_stu_", "y_stu_"):
        a, b = getattr(serial, name), getattr(chunked, name)
        assert a.shape == b.shape and a.tobytes() == b.tobytes(), name


def test_build_ahead_in_a_thread_gives_the_same_matrices_and_scores() -> None:
    # Stable mode builds the SME view's ranking matrices in a thread beside
    # deferred acceptance, which may ask for them (list growth) and for exact
    # scores meanwhile: every caller must get the one build, with the values
    # an on-demand build gives.
    students, smes = population(300, 200, seed=5)
    plain = MatchModel().fit(students, smes)
    ahead = MatchModel().fit(students, smes)
    start = threading.Barrier(3, timeout=30)
    got: dict[str, object] = {}

    def build() -> None:
        start.wait()
        ahead.build_ahead("sme", "student")

    def ask(by: str) -> None:
        start.wait()
        got[by] = ahead.ranking_matrices(by)

    threads = [threading.Thread(target=build), threading.Thread(target=ask, args=("sme",))]
    for thread in threads:
        thread.start()
    start.wait()
    i = np.repeat(np.arange(300), 5)
    j = np.tile(np.arange(0, 200, 40), 300)
    scores = ahead.shortlist_scores(i, j)
    for thread in threads:
        thread.join()
    assert got["sme"] is ahead.ranking_matrices("sme")  # one build, kept
    for by in ("sme", "student"):
        for a, b in zip(ahead.ranking_matrices(by), plain.ranking_matrices(by), strict=True):
            np.testing.assert_array_equal(a, b)
    for a, b in zip(scores, plain.shortlist_scores(i, j), strict=True):
        np.testing.assert_array_equal(a, b)


def test_exact_scorer_built_ahead_is_built_once_and_scores_as_on_demand() -> None:
    # Stable mode builds the exact scorer's tables in a thread while the
    # first pass's ranking matrices are built, and the pass's exact scores
    # may ask for them meanwhile (issue 14, session 13): one build, which
    # every caller gets, with the scores of a scorer built on demand.
    students, smes = population(300, 200, seed=6)
    pri = np.arange(300) % 7 == 0
    plain = MatchModel().fit(students, smes, priority=pri)
    ahead = MatchModel().fit(students, smes, priority=pri)
    assert ahead._exact_scorer is None  # noqa: SLF001 - not built by fit
    start = threading.Barrier(3, timeout=30)
    built: list[object] = []

    def build() -> None:
        start.wait()
        ahead.build_ahead("exact", "student")
        built.append(ahead._exact)  # noqa: SLF001

    i = np.repeat(np.arange(300), 7)
    j = np.tile(np.arange(0, 200, 29), 300)
    got: dict[str, object] = {}

    def ask() -> None:
        start.wait()
        got["scores"] = ahead.score_pairs(i, j)

    threads = [threading.Thread(target=build), threading.Thread(target=ask)]
    for thread in threads:
        thread.start()
    start.wait()
    mine = ahead.shortlist_scores(i, j)
    for thread in threads:
        thread.join()
    assert built == [ahead._exact]  # noqa: SLF001 - one scorer, kept
    want = plain.shortlist_scores(i, j)
    for a, b in zip(mine, want, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(got["scores"], want[:3], strict=True):  # type: ignore[call-overload]
        np.testing.assert_array_equal(a, b)
    # and the views are the feature matrices' dot products (to rounding)
    dense_sme = np.einsum("pf,pf->p", plain.x_sme_[i], plain.y_sme_[j])
    dense_stu = np.einsum("pf,pf->p", plain.x_stu_[i], plain.y_stu_[j])
    np.testing.assert_allclose(want[2], np.clip(dense_sme, 0, 1), atol=1e-8)
    np.testing.assert_allclose(want[1], np.clip(dense_stu, 0, 1), atol=1e-8)


def _visa_cohort(
    n: int, m: int, seed: int, many_groups: bool
) -> tuple[MatchModel, np.random.Generator, np.ndarray, np.ndarray]:
    """A fitted cohort with the visa rules (blocked groups masked per chunk, not folded, with
    ``many_groups``), some declined pairs and some SMEs left out, for comparing two ways of
    selecting the same lists; and the generator that drew them, to draw more."""
    students, smes = with_visa_fields(*population(n, m, seed=seed), seed=seed)
    old_groups = matching.model.MAX_FOLDED_GROUPS
    if many_groups:
        matching.model.MAX_FOLDED_GROUPS = 0
    try:
        model = MatchModel(random_state=0, rules=_VISA_RULES).fit(students, smes)
    finally:
        matching.model.MAX_FOLDED_GROUPS = old_groups
    rng = np.random.default_rng(seed)
    declined = np.column_stack([rng.integers(0, n, 2 * n), rng.integers(0, m, 2 * n)])
    allowed = rng.random(m) < 0.9
    return model, rng, declined, allowed
