"""Assignment under capacities: stable (deferred acceptance) and optimal.

Inputs are score matrices of shape (students, SMEs): ``scipy.sparse`` CSR
arrays/matrices whose *stored* entries are the acceptable pairs (explicit
zeros included), or dense arrays with ``-inf`` for unacceptable pairs. Higher
is better. Outputs are int64 arrays with one entry per student: the SME index
or -1.

Tie rules (the contract's "ties are broken by the lower index"):

* a student who scores two SMEs equally prefers the lower SME index;
* an SME that scores two students equally prefers the lower student index;
* ``optimal`` returns one maximum-total assignment, deterministically for a
  given input; when several assignments reach the same total, which one is
  returned is decided by the solver's order of work on the index-ordered
  input, not by a further rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

try:  # the fast exact solver; scipy's LAPJVsp stands in when it is missing
    from ortools.graph.python import min_cost_flow as _min_cost_flow
except ImportError:  # pragma: no cover - exercised only without OR-tools
    _min_cost_flow = None

#: The solver ``optimal`` uses by default: "ortools" or, without it, "scipy".
OPTIMAL_SOLVER: Literal["ortools", "scipy"] = "ortools" if _min_cost_flow is not None else "scipy"
#: Scores are rounded to 2**-_COST_BITS of the largest before ``optimal``
#: solves (integer costs). OR-tools multiplies costs by the number of nodes
#: and needs the product well inside int64: 2**36 x 2 x 2 million nodes < 2**63.
_COST_BITS = 36

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Pairs = Iterable[tuple[int, int]]

#: ``grow(students, cutoff, listed_rows, listed_cols) -> (student_scores,
#: sme_scores)``: new acceptable entries (students x SMEs CSR) for the given
#: unmatched students, leaving out the pairs already listed, restricted to
#: SMEs that would accept now (``sme_score >= cutoff[j]``; ``-inf`` when a seat
#: is free, ``+inf`` when the SME takes nobody), best first by the student's
#: score. Returning nothing for a student means their list is exhausted.
GrowFn = Callable[[IntArray, FloatArray, IntArray, IntArray], tuple[Any, Any]]


def _coo(scores: Any) -> tuple[IntArray, IntArray, FloatArray, tuple[int, int]]:
    """Stored (acceptable) entries of a CSR or dense score matrix, row-major."""
    if sp.issparse(scores):
        csr = sp.csr_array(scores)
        if not (csr.format == "csr" and csr.has_canonical_format):
            csr = sp.csr_array(scores, copy=True)  # never change the caller's matrix
            csr.sum_duplicates()
            csr.sort_indices()
        n, m = csr.shape
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(csr.indptr))
        vals = np.asarray(csr.data, dtype=np.float64)
        cols = np.asarray(csr.indices, dtype=np.int64)
    else:
        a = np.asarray(scores, dtype=np.float64)
        if a.ndim != 2:
            raise ValueError("scores must be 2-D")
        n, m = a.shape
        if np.isnan(a).any():
            raise ValueError("scores contain NaN")
        r, c = np.nonzero(np.isfinite(a))
        rows, cols = r.astype(np.int64), c.astype(np.int64)
        vals = a[r, c]
    if np.isnan(vals).any() or np.isinf(vals).any():
        raise ValueError("stored scores must be finite")
    return rows, cols, vals, (int(n), int(m))


def _coo_shape(scores: Any) -> tuple[int, int]:
    shape = scores.shape if sp.issparse(scores) else np.shape(scores)
    if len(shape) != 2:
        raise ValueError("scores must be 2-D")
    return int(shape[0]), int(shape[1])


def _common_entries(
    ra: IntArray, ca: IntArray, va: FloatArray, rb: IntArray, cb: IntArray, vb: FloatArray, m: int
) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """Entries stored in both matrices (row-major): rows, cols, values of a, values of b."""
    if ra.size == rb.size and np.array_equal(ra, rb) and np.array_equal(ca, cb):
        return ra, ca, va, vb  # same pattern (shortlists): nothing to intersect
    _, ia, ib = np.intersect1d(ra * m + ca, rb * m + cb, assume_unique=True, return_indices=True)
    return ra[ia], ca[ia], va[ia], vb[ib]


def _pair_arrays(pairs: Pairs | None) -> tuple[IntArray, IntArray]:
    if pairs is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    arr = np.asarray(list(pairs), dtype=np.int64).reshape(-1, 2)
    return arr[:, 0].copy(), arr[:, 1].copy()


def _prepare(
    shape: tuple[int, int],
    capacity: npt.ArrayLike,
    locked: Pairs | None,
    active_students: npt.ArrayLike | None,
    active_smes: npt.ArrayLike | None,
) -> tuple[IntArray, IntArray, BoolArray, BoolArray]:
    """Apply locked pairs and masks: (assignment, free capacity, student ok, SME ok)."""
    n, m = shape
    cap = np.asarray(capacity, dtype=np.int64).reshape(-1).copy()
    if cap.shape != (m,):
        raise ValueError(f"capacity must have one entry per SME ({m}), got {cap.shape}")
    if (cap < 0).any():
        raise ValueError("capacity must be >= 0")
    st_ok = (
        np.ones(n, bool) if active_students is None else np.asarray(active_students, bool).copy()
    )
    sm_ok = np.ones(m, bool) if active_smes is None else np.asarray(active_smes, bool).copy()
    if st_ok.shape != (n,) or sm_ok.shape != (m,):
        raise ValueError("active masks must have one flag per student / SME")
    out = np.full(n, -1, dtype=np.int64)
    li, lj = _pair_arrays(locked)
    if li.size:
        if (li < 0).any() or (li >= n).any() or (lj < 0).any() or (lj >= m).any():
            raise IndexError("locked pair out of range")
        if np.unique(li).size != li.size:
            raise ValueError("a student appears in more than one locked pair")
        out[li] = lj
        # Approved pairs keep their seat even if capacity has since shrunk.
        cap = np.maximum(cap - np.bincount(lj, minlength=m), 0)
        st_ok[li] = False  # locked students do not take part any further
    cap[~sm_ok] = 0
    return out, cap, st_ok, sm_ok


def _filter_entries(
    rows: IntArray,
    cols: IntArray,
    m: int,
    st_ok: BoolArray,
    cap: IntArray,
    excluded: Pairs | None,
) -> BoolArray:
    keep = st_ok[rows] & (cap[cols] > 0)
    ei, ej = _pair_arrays(excluded)
    if ei.size and rows.size:
        keep &= ~_member(rows * m + cols, _unique_keys(ei * m + ej))
    return keep


def _unique_keys(keys: IntArray) -> IntArray:
    """``np.unique`` of integer keys, by one sort.

    numpy 2.4's ``np.unique`` (and so ``union1d``, ``isin``) hashes, which
    costs about 1 us a key on millions of distinct keys, 50-100x a sort:
    building the listed pairs for list growth with ``union1d`` was a quarter
    of a 33,000 x 10,000 stable run.
    """
    if keys.size == 0:
        return keys
    k = np.sort(keys)
    return k[np.r_[True, k[1:] != k[:-1]]]


def _member(keys: IntArray, sorted_keys: IntArray) -> BoolArray:
    """``np.isin(keys, sorted_keys)`` for a sorted array, by binary search."""
    if sorted_keys.size == 0 or keys.size == 0:
        return np.zeros(keys.size, bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.size - 1)
    return np.asarray(sorted_keys[pos] == keys)


def _row_order(rows: IntArray, cols: IntArray, key: FloatArray) -> IntArray:
    """Order of entries by (row, -key, col): each student's list, best first.

    One float sort plus one integer sort on a combined key instead of a
    three-key ``lexsort`` (about 2.5x faster at 5 million entries). A stable
    sort of ``-key`` over entries given in (row, col) order leaves equal
    scores in column order, so the rank carries the column tie rule.
    """
    if rows.size == 0:
        return np.zeros(0, dtype=np.int64)
    pair = rows * (int(cols.max()) + 1) + cols
    if (np.diff(pair) > 0).all():  # CSR order, as every caller passes
        by_key = np.argsort(-key, kind="stable")
    else:
        base = np.argsort(pair, kind="stable")
        by_key = base[np.argsort(-key[base], kind="stable")]
    rank = np.empty(rows.size, dtype=np.int64)
    rank[by_key] = np.arange(rows.size, dtype=np.int64)
    return np.argsort(rows * rows.size + rank).astype(np.int64)


def _head_of_lists(rows: IntArray, key: FloatArray, n: int, size: int) -> BoolArray:
    """Mark, per row, a prefix of its list (best first) of at least ``size`` entries.

    The prefix is every entry at or above a per-row threshold, so it is
    exactly the first entries of the row's (-key, col) order, ties at the
    threshold included. Thresholds come from a histogram of each row over 32
    global quantile buckets (one bucket search and one ``bincount``), not
    from sorting; a prefix has ``size`` plus about one bucket's worth of
    entries. Rows with fewer than ``size`` entries are taken whole.
    """
    if rows.size == 0:
        return np.zeros(0, bool)
    nb = 32
    sample = key[:: max(1, key.size // 65536)]
    edges = np.unique(np.quantile(sample, np.linspace(0.0, 1.0, nb + 1)[1:-1]))
    bucket = np.searchsorted(edges, key, side="right").astype(np.int64)
    nb = edges.size + 1
    counts = np.bincount(rows * nb + bucket, minlength=n * nb).reshape(n, nb)
    # at_least[i, b]: entries of row i in bucket b or above
    at_least = np.cumsum(counts[:, ::-1], axis=1)[:, ::-1]
    enough = at_least >= size
    # highest bucket whose suffix holds `size` entries (0 = the whole row)
    cut = np.where(enough.any(axis=1), nb - 1 - np.argmax(enough[:, ::-1], axis=1), 0)
    return np.asarray(bucket >= cut[rows])


class _DeferredAcceptance:
    """Student-proposing deferred acceptance, run in vectorised rounds.

    Every round, all free students with something left on their list propose
    to their next SME at once; each SME that received proposals keeps its
    best ``capacity`` among holders and proposers. The outcome does not
    depend on proposal order (Gale-Shapley), so rounds give the same result
    as one-at-a-time proposals, and so does pausing a student whose list ran
    out until more of it is added.

    Each SME's holders live in its own slots (``capacity`` of them, a flat
    array, best first), so a round touches only the proposers and the
    holders of the SMEs proposed to, never the whole population; a proposal
    below the SME's cutoff (its worst holder when full) is refused without
    entering the contest. Memory: the lists (three arrays of list length),
    four arrays per student and two per seat.
    """

    def __init__(self, n: int, m: int, cap: IntArray) -> None:
        self.n, self.m = n, m
        self.cap = cap
        self.first = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(cap, out=self.first[1:])
        seats = int(self.first[-1])
        self.slot_i = np.full(seats, -1, dtype=np.int64)  # student in each seat, best first
        self.slot_v = np.full(seats, -np.inf)  # the SME's score of that student
        self.match = np.full(n, -1, dtype=np.int64)
        self.ptr = np.zeros(n, dtype=np.int64)
        self.indptr = np.zeros(n + 1, dtype=np.int64)
        self.sme = np.zeros(0, dtype=np.int64)
        self.sval = np.zeros(0)
        self.rounds = 0

    def add(self, rows: IntArray, cols: IntArray, stu: FloatArray, smev: FloatArray) -> None:
        """Append entries to the students' lists (after what they already have).

        New entries are ordered by the student's score, then lower SME index,
        and placed after the student's existing entries, which keep their
        order; ``ptr`` stays valid. Only the new entries are sorted: the old
        ones move by a per-row offset (O(nnz), no global sort).
        """
        n = self.n
        order = _row_order(rows, cols, stu)
        rows, cols, smev = rows[order], cols[order], smev[order]
        old_cnt = np.diff(self.indptr)
        new_cnt = np.bincount(rows, minlength=n)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(old_cnt + new_cnt, out=indptr[1:])
        total = int(indptr[-1])
        sme = np.empty(total, dtype=np.int64)
        sval = np.empty(total)
        if self.sme.size:
            old_rows = np.repeat(np.arange(n, dtype=np.int64), old_cnt)
            pos_old = (
                np.arange(self.sme.size, dtype=np.int64)
                + (indptr[:-1] - self.indptr[:-1])[old_rows]
            )
            sme[pos_old] = self.sme
            sval[pos_old] = self.sval
        if rows.size:
            new_start = np.cumsum(new_cnt) - new_cnt
            pos_new = (
                indptr[rows]
                + old_cnt[rows]
                + (np.arange(rows.size, dtype=np.int64) - new_start[rows])
            )
            sme[pos_new] = cols
            sval[pos_new] = smev
        self.sme, self.sval, self.indptr = sme, sval, indptr

    def rows(self) -> IntArray:
        """Student index of every list entry."""
        return np.repeat(np.arange(self.n, dtype=np.int64), np.diff(self.indptr))

    def cutoffs(self) -> FloatArray:
        """Per SME: score a newcomer must reach to be kept now (-inf if a seat is free)."""
        cut = np.full(self.m, np.inf)
        has = self.cap > 0
        last = self.first[1:][has] - 1
        cut[has] = np.where(self.slot_i[last] >= 0, self.slot_v[last], -np.inf)
        return cut

    def run(self, active: BoolArray) -> None:
        length = np.diff(self.indptr)
        free = np.flatnonzero(active & (self.match < 0) & (self.ptr < length))
        cut = self.cutoffs()
        cap, first = self.cap, self.first
        touched = np.zeros(self.m, bool)
        while free.size:
            self.rounds += 1
            pos = self.indptr[free] + self.ptr[free]
            self.ptr[free] += 1
            js = self.sme[pos]
            vs = self.sval[pos]
            # A proposal below the SME's worst holder loses whatever happens
            # (cutoffs only rise); ties at the cutoff go to the contest, where
            # the lower student index wins.
            hope = vs >= cut[js]
            refused = free[~hope]
            prop_i, prop_j, prop_v = free[hope], js[hope], vs[hope]
            # The contest: the proposers and the current holders of the SMEs proposed to.
            touched[prop_j] = True
            tj = np.flatnonzero(touched)
            touched[tj] = False
            width = cap[tj]
            seat = np.repeat(first[tj] - np.cumsum(width) + width, width) + np.arange(
                int(width.sum())
            )
            held = seat[self.slot_i[seat] >= 0]
            all_i = np.concatenate([self.slot_i[held], prop_i])
            all_j = np.concatenate([np.repeat(tj, width)[self.slot_i[seat] >= 0], prop_j])
            all_v = np.concatenate([self.slot_v[held], prop_v])
            order = np.lexsort((all_i, -all_v, all_j))
            all_i, all_j, all_v = all_i[order], all_j[order], all_v[order]
            # place of each contestant in its SME's order (0 = best)
            new_group = np.ones(all_j.size, bool)
            new_group[1:] = all_j[1:] != all_j[:-1]
            group_start = np.flatnonzero(new_group)
            rank = np.arange(all_j.size) - np.repeat(
                group_start, np.diff(np.append(group_start, all_j.size))
            )
            win = rank < cap[all_j]
            # Winners fill the SME's seats best first; seats left over stay empty.
            self.slot_i[seat] = -1
            self.slot_v[seat] = -np.inf
            wpos = first[all_j[win]] + rank[win]
            self.slot_i[wpos] = all_i[win]
            self.slot_v[wpos] = all_v[win]
            self.match[all_i[win]] = all_j[win]
            lost = all_i[~win]
            self.match[lost] = -1
            last = first[tj + 1] - 1
            cut[tj] = np.where(self.slot_i[last] >= 0, self.slot_v[last], -np.inf)
            again = np.concatenate([refused, lost])
            free = again[self.ptr[again] < length[again]]

    def assignment(self) -> IntArray:
        return self.match


#: First part of every student's list put through deferred acceptance; the
#: rest of a list follows only for a student who runs out. Most students are
#: placed within their first few choices, so most of the lists are never
#: sorted.
_FIRST_PART = 8


def stable(
    student_scores: Any,
    sme_scores: Any,
    capacity: npt.ArrayLike,
    *,
    locked: Pairs | None = None,
    excluded: Pairs | None = None,
    active_students: npt.ArrayLike | None = None,
    active_smes: npt.ArrayLike | None = None,
    grow: GrowFn | None = None,
) -> IntArray:
    """Student-optimal stable assignment with capacities (deferred acceptance).

    Parameters
    ----------
    student_scores : CSR array/matrix or dense array, shape (students, SMEs)
        How much each student wants each SME; stored entries (or finite
        entries when dense) are the acceptable pairs.
    sme_scores : same shape
        How much each SME wants each student. A pair is acceptable only when
        it is stored in both matrices.
    capacity : array-like of int, shape (SMEs,)
    locked : iterable of (student, SME), optional
        Approved pairs: kept as they are, and they use capacity.
    excluded : iterable of (student, SME), optional
        Pairs never proposed.
    active_students, active_smes : array-like of bool, optional
        People left out of this run (inactive students stay at -1 unless
        locked; inactive SMEs take no new students).
    grow : callable, optional
        Called with the students still unmatched after their lists ran out
        and each SME's current cutoff; returns more entries for them (see
        ``GrowFn``). Repeated until it returns nothing new. With lists that are
        prefixes of each student's preference order this gives exactly the
        result on full lists, while only ever listing a few SMEs per student.

    Returns
    -------
    ndarray of int64, shape (students,)
        SME index per student, or -1.
    """
    ra, ca, va, shape = _coo(student_scores)
    rb, cb, vb, shape_b = _coo(sme_scores)
    if shape != shape_b:
        raise ValueError("student_scores and sme_scores must have the same shape")
    n, m = shape
    out, cap, st_ok, _ = _prepare(shape, capacity, locked, active_students, active_smes)
    rows, cols, stu, smev = _common_entries(ra, ca, va, rb, cb, vb, m)
    del ra, ca, va, rb, cb, vb  # (memory: these are list-sized)
    keep = _filter_entries(rows, cols, m, st_ok, cap, excluded)
    if not keep.all():
        rows, cols, stu, smev = rows[keep], cols[keep], stu[keep], smev[keep]
    del keep
    given = rows * m + cols  # row-major, sorted: the pairs the caller listed
    da = _DeferredAcceptance(n, m, cap)
    # 1. Deferred acceptance on the first part of every list (a prefix of the
    #    student's order, found without sorting the rest).
    head = _head_of_lists(rows, stu, n, _FIRST_PART)
    da.add(rows[head], cols[head], stu[head], smev[head])
    rest = ~head
    rows, cols, stu, smev = rows[rest], cols[rest], stu[rest], smev[rest]
    del head, rest
    rest_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=rest_ptr[1:])
    has_rest = np.diff(rest_ptr) > 0
    da.run(st_ok)
    # 2. A student who ran out unplaced gets the rest of their list, minus
    #    SMEs that already refuse them (cutoffs only rise, so a pair refused
    #    now is refused for good); the others' rests are never sorted.
    # 3. Lists the caller grows, for students who ran out of all of theirs.
    #    Step 2 comes first in every pass, also after growth: growth displaces
    #    students who had not needed their rest yet, and ``grow`` leaves out
    #    every pair the caller listed, so a displaced student sent straight
    #    to growth would skip the rest of their list for good (blocking pairs
    #    within the lists).
    exhausted = np.zeros(n, bool)
    ex_i, ex_j = _pair_arrays(excluded)
    ex_keys = _unique_keys(ex_i * m + ex_j)
    while True:
        need = np.flatnonzero(st_ok & (da.match < 0) & (da.ptr >= np.diff(da.indptr)) & has_rest)
        if need.size:
            has_rest[need] = False
            cnt = rest_ptr[need + 1] - rest_ptr[need]
            e = np.repeat(rest_ptr[need] - np.cumsum(cnt) + cnt, cnt) + np.arange(int(cnt.sum()))
            e = e[smev[e] >= da.cutoffs()[cols[e]]]
            da.add(rows[e], cols[e], stu[e], smev[e])
            da.run(st_ok)
            if not has_rest.any():  # (memory: the rests are list-sized)
                rows, cols = np.zeros(0, np.int64), np.zeros(0, np.int64)
                stu, smev = np.zeros(0), np.zeros(0)
            continue
        if grow is None:
            break
        todo = np.flatnonzero(st_ok & (da.match < 0) & ~exhausted)
        if todo.size == 0:
            break
        asked = np.zeros(n, bool)
        asked[todo] = True
        lr = da.rows()
        sel_l = asked[lr]
        listed = _unique_keys(
            np.concatenate([given[asked[given // max(m, 1)]], lr[sel_l] * m + da.sme[sel_l]])
        )
        del lr, sel_l
        # listed pairs are passed in (row, SME) order
        gs, gm = grow(todo, da.cutoffs(), listed // max(m, 1), listed % max(m, 1))
        gr, gc, gv, _ = _coo(gs)
        hr, hc, hv, _ = _coo(gm)
        kg, kh = gr * m + gc, hr * m + hc
        _, ig, ih = np.intersect1d(kg, kh, assume_unique=True, return_indices=True)
        gr, gc, gv, hv = gr[ig], gc[ig], gv[ig], hv[ih]
        # Only the students asked about, only SMEs not listed, never excluded.
        ok = asked[gr] & (cap[gc] > 0)
        ok &= ~_member(gr * m + gc, listed)
        if ex_keys.size:
            ok &= ~_member(gr * m + gc, ex_keys)
        gr, gc, gv, hv = gr[ok], gc[ok], gv[ok], hv[ok]
        got = np.zeros(n, bool)
        got[gr] = True
        exhausted[todo[~got[todo]]] = True
        if gr.size == 0:
            break
        da.add(gr, gc, gv, hv)
        da.run(st_ok)
    free = out < 0
    out[free] = da.match[free]
    return out


def _quantum(vals: FloatArray) -> float:
    """The step scores are rounded to before solving: a power of two, 2**-36 of the largest.

    Both solvers then solve the same problem on exact integers (OR-tools
    needs integer costs; on the scipy path the rounded values are exact in
    floating point, so LAPJVsp adds them without error), and
    ``_optimal_prices`` can check them exactly. Integers and binary fractions
    (scores in steps of 1/4, ...) are kept exactly; other scores move by at
    most half a step (about 7e-12 for scores in [0, 1]), so the total is
    within (students x step) of the optimum of the unrounded scores.
    """
    top = float(np.abs(vals).max()) if vals.size else 0.0
    return float(2.0 ** (math.frexp(top)[1] - _COST_BITS)) if top > 0 else 1.0


def _graph(
    scores: Any,
    capacity: npt.ArrayLike,
    locked: Pairs | None,
    excluded: Pairs | None,
    active_students: npt.ArrayLike | None,
    active_smes: npt.ArrayLike | None,
) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray, float]:
    """The edges ``optimal`` solves over.

    Returns (assignment with the locked pairs, rows, cols, integer weights,
    free capacity, step): weights are the scores in units of ``step``.
    """
    rows, cols, vals, shape = _coo(scores)
    out, cap, st_ok, _ = _prepare(shape, capacity, locked, active_students, active_smes)
    keep = _filter_entries(rows, cols, shape[1], st_ok, cap, excluded) & (vals >= 0)
    rows, cols, vals = rows[keep], cols[keep], vals[keep]
    step = _quantum(vals)
    return out, rows, cols, np.rint(vals / step).astype(np.int64), cap, step


def _compact(keys: IntArray, size: int) -> tuple[IntArray, IntArray]:
    """``np.unique(keys, return_inverse=True)`` for small non-negative integers, without a sort."""
    seen = np.zeros(size, dtype=bool)
    seen[keys] = True
    present = np.flatnonzero(seen)
    number = np.zeros(size, dtype=np.int64)
    number[present] = np.arange(present.size, dtype=np.int64)
    return present, number[keys]


def _solve_min_cost_flow(
    rows: IntArray, cols: IntArray, w: IntArray, cap: IntArray
) -> IntArray | None:
    """Maximum-weight b-matching as a min-cost flow (OR-tools); SME per edge's row, or None.

    Nodes: the students with edges (supply 1 each), the SMEs with edges, one
    sink (demand = students). Arcs: student -> SME (capacity 1, cost -w),
    student -> sink (staying unmatched, cost 0), SME -> sink (capacity = its
    free seats). Returns None if OR-tools reports the costs out of its range.

    No warm start: a column-generation round could pass the previous
    round's prices as node potentials (reduced costs; the optimum is the
    same), but the cost-scaling solver starts from epsilon = largest cost x
    nodes whatever the prices, so it does the same work: measured on the
    5-million-pair graph with 3 % of the pairs added after the first solve,
    10.96 s CPU cold and 10.78 s with the first optimum's prices.
    """
    us, r = _compact(rows, int(rows.max()) + 1)
    ms, c = _compact(cols, cap.size)
    R, M = us.size, ms.size
    sink = R + M
    e = rows.size
    tails = np.concatenate([r, np.arange(R), R + np.arange(M)]).astype(np.int64)
    heads = np.concatenate([R + c, np.full(R + M, sink)]).astype(np.int64)
    caps = np.concatenate(
        [np.ones(e + R, np.int64), np.minimum(cap[ms], np.bincount(c, minlength=M))]
    )
    costs = np.concatenate([-w, np.zeros(R + M, np.int64)])
    flow = _min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supply = np.zeros(sink + 1, np.int64)
    supply[:R] = 1
    supply[sink] = -R
    flow.set_nodes_supplies(np.arange(sink + 1, dtype=np.int64), supply)
    status = flow.solve()
    if status == flow.BAD_COST_RANGE:
        return None
    if status != flow.OPTIMAL:  # cannot happen: every student may stay unmatched
        raise RuntimeError(f"min-cost flow failed: {status}")
    used = np.flatnonzero(flow.flows(np.arange(e, dtype=np.int64)) > 0)
    out = np.full(R, -1, dtype=np.int64)
    out[r[used]] = cols[used]
    full = np.full(int(rows.max()) + 1, -1, dtype=np.int64)
    full[us] = out
    return full


def _solve_lapjvsp(rows: IntArray, cols: IntArray, w: IntArray, cap: IntArray) -> IntArray:
    """The same problem as a sparse assignment problem (scipy's LAPJVsp); SME per row.

    Each SME with free capacity ``c`` becomes ``min(c, degree)`` seats, each
    student a private "unmatched" seat worth 0; the graph has
    ``sum(seats per edge) + students`` edges (slow past a million or so).
    """
    m = cap.size
    us, rows_c = np.unique(rows, return_inverse=True)
    R = us.size
    deg = np.bincount(cols, minlength=m)
    seats = np.minimum(cap, deg)
    first = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(seats, out=first[1:])
    S = int(first[-1])
    rep = seats[cols]
    e_rows = np.repeat(rows_c, rep)
    e_w = np.repeat(w, rep)
    # seat number within the SME for each replicated edge
    starts = np.repeat(np.cumsum(rep) - rep, rep)
    e_cols = np.repeat(first[cols], rep) + (np.arange(e_rows.size) - starts)
    # Weights must be > 0 (explicit zeros are dropped by scipy); with exactly
    # one column per row, a constant shift does not change the optimum.
    shift = float(w.max()) + 1.0
    weights = np.concatenate([shift - e_w, np.full(R, shift)])
    rr = np.concatenate([e_rows, np.arange(R, dtype=np.int64)])
    cc = np.concatenate([e_cols, S + np.arange(R, dtype=np.int64)])
    graph = sp.csr_array((weights, (rr, cc)), shape=(R, S + R))
    graph.sum_duplicates()
    r_idx, c_idx = min_weight_full_bipartite_matching(graph)
    seat_owner = np.repeat(np.arange(m, dtype=np.int64), seats)
    got = c_idx < S
    full = np.full(int(rows.max()) + 1, -1, dtype=np.int64)
    full[us[r_idx[got]]] = seat_owner[c_idx[got]]
    return full


def optimal(
    scores: Any,
    capacity: npt.ArrayLike,
    *,
    locked: Pairs | None = None,
    excluded: Pairs | None = None,
    active_students: npt.ArrayLike | None = None,
    active_smes: npt.ArrayLike | None = None,
    solver: Literal["ortools", "scipy"] | None = None,
) -> IntArray:
    """Assignment with the largest total score under capacities.

    Solved exactly as a minimum-cost flow by OR-tools' ``SimpleMinCostFlow``
    (cost-scaling push-relabel, integer costs): 100,000 students x 30,000
    SMEs with 5 million acceptable pairs take seconds, where scipy's
    ``min_weight_full_bipartite_matching`` (LAPJVsp, kept as the fallback
    when OR-tools is not installed) needs minutes on the seat-replicated
    graph. Scores are rounded to a step of 2**-36 of the largest score
    first (see ``_quantum``), on both paths.

    Parameters
    ----------
    scores : CSR array/matrix or dense array, shape (students, SMEs)
        Stored (or finite) entries are the acceptable pairs. Pairs scoring
        below 0 are never worth making and are left out.
    capacity : array-like of int, shape (SMEs,)
    locked, excluded, active_students, active_smes
        As in ``stable``.
    solver : {"ortools", "scipy"}, optional
        Force a solver; by default OR-tools when it is installed
        (``OPTIMAL_SOLVER``).

    Returns
    -------
    ndarray of int64, shape (students,)
        SME index per student, or -1.
    """
    out, rows, cols, w, cap, _ = _graph(
        scores, capacity, locked, excluded, active_students, active_smes
    )
    if rows.size == 0:
        return out
    which = solver or OPTIMAL_SOLVER
    if which not in ("ortools", "scipy"):
        raise ValueError("solver must be 'ortools' or 'scipy'")
    if which == "ortools" and _min_cost_flow is None:
        raise ValueError("OR-tools is not installed")
    got = _solve_min_cost_flow(rows, cols, w, cap) if which == "ortools" else None
    if got is None:
        got = _solve_lapjvsp(rows, cols, w, cap)
    placed = np.flatnonzero(got >= 0)
    out[placed] = got[placed]
    return out


def optimal_prices(
    scores: Any,
    capacity: npt.ArrayLike,
    assignment: npt.ArrayLike,
    *,
    active_students: npt.ArrayLike | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Dual prices proving that ``assignment`` is optimal on ``scores``' graph.

    For the LP ``max sum w x`` with one place per student and ``capacity``
    seats per SME, returns ``u >= 0`` (students) and ``v >= 0`` (SMEs) with
    ``u[i] + v[j] >= w[i, j]`` on every edge, equality on assigned pairs,
    ``u = 0`` for unassigned students and ``v = 0`` for SMEs with a free seat
    (complementary slackness). Any pair *outside* the graph with ``w > u + v``
    could improve the total; if there is none, the assignment is optimal on
    the full matrix too. ``v`` is the largest solution of the upper-bound
    constraints (shortest paths over "move the student at j to j'" arcs,
    relaxed from the SMEs whose value changed); for an optimal assignment it
    also meets the lower bounds. The prices are computed on the rounded
    integer weights ``optimal`` solves (see ``_quantum``), in exact
    arithmetic, so they hold for the real scores to within half a step.
    """
    n, m = _coo_shape(scores)
    a = np.asarray(assignment, dtype=np.int64)
    # The rounded integer weights ``optimal`` solved over: exact arithmetic,
    # so an optimal assignment has no negative cycle to chase.
    _, rows, cols, w, cap, step = _graph(scores, capacity, None, None, active_students, None)
    big = np.iinfo(np.int64).max // 4  # "no bound yet"; sums of two stay in range
    at = a[rows]
    is_match = at == cols
    count = np.bincount(a[a >= 0], minlength=m)
    v = np.where(count < cap, 0, big).astype(np.int64)
    np.minimum.at(v, cols[is_match], w[is_match])  # u_i = w - v_j >= 0
    w_at = np.zeros(n, dtype=np.int64)
    w_at[rows[is_match]] = w[is_match]
    on_edge = np.zeros(n, bool)
    on_edge[rows[is_match]] = True
    # arc j' -> j for a student at j listing j': v_j <= v_j' + w(i, j) - w(i, j')
    arc = (at >= 0) & ~is_match
    src, dst = cols[arc], at[arc]
    length = w_at[rows[arc]] - w[arc]
    order = np.argsort(src, kind="stable")
    src, dst, length = src[order], dst[order], length[order]
    indptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=m), out=indptr[1:])
    front = np.flatnonzero(v < big)
    for _ in range(4 * m + 10):  # no negative cycles when optimal; the bound is a guard
        if front.size == 0:
            break
        starts, ends = indptr[front], indptr[front + 1]
        cnt = ends - starts
        if cnt.sum() == 0:
            break
        e = np.repeat(starts - np.cumsum(cnt) + cnt, cnt) + np.arange(int(cnt.sum()))
        cand = v[src[e]] + length[e]
        d = dst[e]
        better = cand < v[d]
        if not better.any():
            break
        d, cand = d[better], cand[better]
        old = v.copy()
        np.minimum.at(v, d, cand)
        front = np.flatnonzero(v < old)
    v = np.where(v < big, np.maximum(v, 0), 0)
    u = np.zeros(n, dtype=np.int64)
    placed = np.flatnonzero(on_edge)
    u[placed] = np.maximum(w_at[placed] - v[a[placed]], 0)
    return u.astype(np.float64) * step, v.astype(np.float64) * step
