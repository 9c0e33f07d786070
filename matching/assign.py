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

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

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
        bad = np.unique(ei * m + ej)
        keep &= ~np.isin(rows * m + cols, bad)
    return keep


def _member(keys: IntArray, sorted_keys: IntArray) -> BoolArray:
    """``np.isin(keys, sorted_keys)`` for a sorted array, by binary search."""
    if sorted_keys.size == 0 or keys.size == 0:
        return np.zeros(keys.size, bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.size - 1)
    return np.asarray(sorted_keys[pos] == keys)


class _DeferredAcceptance:
    """Student-proposing deferred acceptance, run in vectorised rounds.

    Every round, all free students with something left on their list propose
    to their next SME at once; each SME that received proposals keeps its
    best ``capacity`` among holders and proposers. The outcome does not
    depend on proposal order (Gale-Shapley), so rounds give the same result
    as one-at-a-time proposals.
    """

    def __init__(self, n: int, m: int, cap: IntArray) -> None:
        self.n, self.m = n, m
        self.cap = cap
        self.match = np.full(n, -1, dtype=np.int64)
        self.held = np.full(n, -np.inf)  # SME's score of the held student
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
        order = np.lexsort((cols, -stu, rows))
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

    def run(self, active: BoolArray) -> None:
        length = np.diff(self.indptr)
        free = np.flatnonzero(active & (self.match < 0) & (self.ptr < length))
        while free.size:
            self.rounds += 1
            pos = self.indptr[free] + self.ptr[free]
            self.ptr[free] += 1
            js = self.sme[pos]
            vs = self.sval[pos]
            touched = np.zeros(self.m, bool)
            touched[js] = True
            matched = self.match >= 0
            holders = np.flatnonzero(matched & touched[np.where(matched, self.match, 0)])
            all_i = np.concatenate([holders, free])
            all_j = np.concatenate([self.match[holders], js])
            all_v = np.concatenate([self.held[holders], vs])
            order = np.lexsort((all_i, -all_v, all_j))
            all_i, all_j, all_v = all_i[order], all_j[order], all_v[order]
            start = np.searchsorted(all_j, all_j, side="left")
            win = (np.arange(all_j.size) - start) < self.cap[all_j]
            self.match[all_i] = np.where(win, all_j, -1)
            self.held[all_i] = np.where(win, all_v, -np.inf)
            lost = all_i[~win]
            free = lost[self.ptr[lost] < length[lost]]

    def cutoffs(self) -> FloatArray:
        """Per SME: score a newcomer must reach to be kept now (-inf if a seat is free)."""
        cut = np.full(self.m, -np.inf)
        mi = np.flatnonzero(self.match >= 0)
        if mi.size:
            js = self.match[mi]
            cnt = np.bincount(js, minlength=self.m)
            worst = np.full(self.m, np.inf)
            np.minimum.at(worst, js, self.held[mi])
            full = (cnt >= self.cap) & (cnt > 0)
            cut[full] = worst[full]
        cut[self.cap == 0] = np.inf
        return cut


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
    da = _DeferredAcceptance(n, m, cap)
    da.add(rows, cols, stu, smev)
    del rows, cols, stu, smev
    da.run(st_ok)
    exhausted = np.zeros(n, bool)
    ex_i, ex_j = _pair_arrays(excluded)
    ex_keys = np.unique(ex_i * m + ex_j) if ex_i.size else np.zeros(0, np.int64)
    while grow is not None:
        todo = np.flatnonzero(st_ok & (da.match < 0) & ~exhausted)
        if todo.size == 0:
            break
        asked = np.zeros(n, bool)
        asked[todo] = True
        lr = da.rows()
        sel = asked[lr]
        listed = np.sort(lr[sel] * m + da.sme[sel])
        del lr, sel
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


def optimal(
    scores: Any,
    capacity: npt.ArrayLike,
    *,
    locked: Pairs | None = None,
    excluded: Pairs | None = None,
    active_students: npt.ArrayLike | None = None,
    active_smes: npt.ArrayLike | None = None,
) -> IntArray:
    """Assignment with the largest total score under capacities.

    Each SME with free capacity ``c`` becomes ``min(c, degree)`` seats, each
    student gets a private "unmatched" seat worth 0, and
    ``scipy.sparse.csgraph.min_weight_full_bipartite_matching`` (LAPJVsp)
    solves the resulting sparse assignment problem exactly. Only stored
    (acceptable) pairs become edges, so the graph has
    ``sum(seats per edge) + students`` edges.

    Parameters
    ----------
    scores : CSR array/matrix or dense array, shape (students, SMEs)
        Stored (or finite) entries are the acceptable pairs. Pairs scoring
        below 0 are never worth making and are left out.
    capacity : array-like of int, shape (SMEs,)
    locked, excluded, active_students, active_smes
        As in ``stable``.

    Returns
    -------
    ndarray of int64, shape (students,)
        SME index per student, or -1.
    """
    rows, cols, vals, shape = _coo(scores)
    n, m = shape
    out, cap, st_ok, _ = _prepare(shape, capacity, locked, active_students, active_smes)
    keep = _filter_entries(rows, cols, m, st_ok, cap, excluded) & (vals >= 0)
    rows, cols, vals = rows[keep], cols[keep], vals[keep]
    if rows.size == 0:
        return out
    # Compact to the students and SMEs that have edges.
    us, rows_c = np.unique(rows, return_inverse=True)
    R = us.size
    deg = np.bincount(cols, minlength=m)
    seats = np.minimum(cap, deg)
    first = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(seats, out=first[1:])
    S = int(first[-1])
    rep = seats[cols]
    e_rows = np.repeat(rows_c, rep)
    e_vals = np.repeat(vals, rep)
    # seat number within the SME for each replicated edge
    starts = np.repeat(np.cumsum(rep) - rep, rep)
    e_cols = np.repeat(first[cols], rep) + (np.arange(e_rows.size) - starts)
    # Weights must be > 0 (explicit zeros are dropped by scipy); with exactly
    # one column per row, a constant shift does not change the optimum.
    shift = float(vals.max()) + 1.0
    w = np.concatenate([shift - e_vals, np.full(R, shift)])
    rr = np.concatenate([e_rows, np.arange(R, dtype=np.int64)])
    cc = np.concatenate([e_cols, S + np.arange(R, dtype=np.int64)])
    graph = sp.csr_array((w, (rr, cc)), shape=(R, S + R))
    graph.sum_duplicates()
    r_idx, c_idx = min_weight_full_bipartite_matching(graph)
    seat_owner = np.repeat(np.arange(m, dtype=np.int64), seats)
    got = c_idx < S
    out[us[r_idx[got]]] = seat_owner[c_idx[got]]
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
    also meets the lower bounds.
    """
    rows, cols, vals, shape = _coo(scores)
    n, m = shape
    a = np.asarray(assignment, dtype=np.int64)
    _, cap, st_ok, _ = _prepare(shape, capacity, None, active_students, None)
    keep = _filter_entries(rows, cols, m, st_ok, cap, None) & (vals >= 0)
    rows, cols, vals = rows[keep], cols[keep], vals[keep]
    at = a[rows]
    is_match = at == cols
    count = np.bincount(a[a >= 0], minlength=m)
    v = np.where(count < cap, 0.0, np.inf)
    np.minimum.at(v, cols[is_match], vals[is_match])  # u_i = w - v_j >= 0
    w_at = np.zeros(n)
    w_at[rows[is_match]] = vals[is_match]
    on_edge = np.zeros(n, bool)
    on_edge[rows[is_match]] = True
    # arc j' -> j for a student at j listing j': v_j <= v_j' + w(i, j) - w(i, j')
    arc = (at >= 0) & ~is_match
    src, dst = cols[arc], at[arc]
    length = w_at[rows[arc]] - vals[arc]
    order = np.argsort(src, kind="stable")
    src, dst, length = src[order], dst[order], length[order]
    indptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=m), out=indptr[1:])
    front = np.flatnonzero(np.isfinite(v))
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
        better = cand < v[d] - 1e-12
        if not better.any():
            break
        d, cand = d[better], cand[better]
        old = v.copy()
        np.minimum.at(v, d, cand)
        front = np.flatnonzero(v < old)
    v = np.where(np.isfinite(v), np.maximum(v, 0.0), 0.0)
    u = np.zeros(n)
    placed = np.flatnonzero(on_edge)
    u[placed] = np.maximum(w_at[placed] - v[a[placed]], 0.0)
    return u, v
