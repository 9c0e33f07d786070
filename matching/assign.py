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
import time
from collections.abc import Callable, Iterable
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from .compute import is_member, small_pages, sorted_unique

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

#: ``_solve_min_cost_flow`` hands OR-tools its arcs, and reads their flows back, this many at
#: a time. Arrays over 32 MiB are fresh pages from the system each time (glibc maps them
#: anew), and page faults cost 20-40 microseconds a page on this machine: whole-graph arrays
#: on the 5-million-pair graph took about 1.4 s of system time a solve; 2 MiB chunks reuse
#: the allocator's memory.
_ARC_CHUNK = 1 << 18
#: ``_int_prices`` relaxes every arc at once while its front holds at least 1 / this of the
#: SMEs, and gathers the front's arcs only below that (the first two or three of the 86
#: rounds at 20,000 x 10,000 hold 10,000 -> 7,152 SMEs: a gather of their arcs cost more
#: than relaxing them all; the nine calls of a run 0.87-1.07 -> 0.68-0.84 s CPU).
_SWEEP_FRONT = 2

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Pairs = Iterable[tuple[int, int]]

#: ``grow(students, cutoff, listed) -> (student_scores, sme_scores)``: new
#: acceptable entries (students x SMEs CSR) for the given unmatched students,
#: leaving out the pairs already listed (``listed``: their keys
#: ``student * max(SMEs, 1) + SME``, sorted and unique; keys, not two pair
#: arrays: millions of listed pairs at 100,000 x 30,000), restricted to
#: SMEs that would accept now (``sme_score >= cutoff[j]``; ``-inf`` when a seat
#: is free, ``+inf`` when the SME takes nobody), best first by the student's
#: score. Returning nothing for a student means their list is exhausted.
#: A third element, optional, names the students the call *deferred*
#: (not looked at: asked again next call, not exhausted), so a call can be
#: bounded in what it returns (memory); a call must answer at least one.
#: With ``stable(..., grow_listed="lookup")`` the third argument is instead a
#: function ``listed_of(students) -> keys``: the same sorted unique keys, for
#: the given students (sorted, unique, among those asked) only.
GrowFn = Callable[[IntArray, FloatArray, Any], tuple[Any, ...]]


def _csr(scores: Any) -> tuple[IntArray, npt.NDArray[Any], FloatArray, tuple[int, int]]:
    """Stored (acceptable) entries of a CSR or dense score matrix: indptr, cols, values.

    Canonical CSR input is used as it is (no copy of its index or value
    arrays); anything else is converted first, never changing the caller's
    matrix.
    """
    if sp.issparse(scores):
        csr = sp.csr_array(scores)
        if not (csr.format == "csr" and csr.has_canonical_format):
            csr = sp.csr_array(scores, copy=True)  # never change the caller's matrix
            csr.sum_duplicates()
            csr.sort_indices()
        n, m = csr.shape
        indptr = np.asarray(csr.indptr, dtype=np.int64)
        cols = np.asarray(csr.indices)
        vals = np.asarray(csr.data, dtype=np.float64)
    else:
        a = np.asarray(scores, dtype=np.float64)
        if a.ndim != 2:
            raise ValueError("scores must be 2-D")
        n, m = a.shape
        if np.isnan(a).any():
            raise ValueError("scores contain NaN")
        r, c = np.nonzero(np.isfinite(a))
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(r, minlength=n), out=indptr[1:])
        cols, vals = c.astype(np.int64), a[r, c]
    if not np.isfinite(vals).all():
        raise ValueError("stored scores must be finite")
    return indptr, cols, vals, (int(n), int(m))


def _coo(scores: Any) -> tuple[IntArray, IntArray, FloatArray, tuple[int, int]]:
    """Stored (acceptable) entries of a CSR or dense score matrix, row-major."""
    indptr, cols, vals, (n, m) = _csr(scores)
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    return rows, cols.astype(np.int64, copy=False), vals, (n, m)


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
        keep &= ~is_member(rows * m + cols, sorted_unique(ei * m + ej))
    return keep


def _ranges(starts: IntArray, counts: IntArray) -> IntArray:
    """``concatenate([arange(s, s + c) for s, c in zip(starts, counts)])``, vectorised."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offset = np.cumsum(counts) - counts
    return np.repeat(starts - offset, counts) + np.arange(total, dtype=np.int64)


_SIGN = np.uint64(1 << 63)


def _best_first(
    group: npt.NDArray[Any], key: FloatArray, tie: npt.NDArray[Any], groups: int
) -> IntArray:
    """Order of entries by (group, -key, tie), exactly; one integer sort.

    ``lexsort((tie, -key, group))`` makes three indirect stable passes (it
    was the contest's cost in every round of deferred acceptance, and the
    lists' sort). Here a float64's bits are mapped to an unsigned integer in
    the same order (flip every bit of a negative number, the sign bit of a
    positive one), its top bits go below the group number in one uint64,
    and one ``argsort`` of that sorts: about 7x faster at 100,000 entries.
    Entries left with equal uint64 keys (same group and keys equal, or
    within 2**(b - 52) of each other relatively, b the bits of the group
    number) are put in exact (-key, tie) order afterwards; with real scores
    those are the exact ties, few. ``group`` must be in [0, groups).
    """
    size = len(key)
    if size <= 1:
        return np.zeros(size, dtype=np.int64)
    gbits = max(int(groups - 1).bit_length(), 1)
    if gbits > 48:  # pragma: no cover - no room left for the key
        return np.lexsort((tie, -key, group)).astype(np.int64)
    bits = (np.asarray(key, dtype=np.float64) + 0.0).view(np.uint64)  # + 0.0: -0.0 -> 0.0
    neg = (bits >> np.uint64(63)).astype(bool)
    code = np.where(neg, ~bits, bits | _SIGN)  # ascending in the key
    packed = (group.astype(np.uint64) << np.uint64(64 - gbits)) | (~code >> np.uint64(gbits))
    order = np.argsort(packed)
    ps = packed[order]
    same = ps[1:] == ps[:-1]
    if same.any():
        # runs of equal packed keys: exact order inside each run
        member = np.zeros(size, dtype=bool)
        member[1:] = same
        member[:-1] |= same
        at = np.flatnonzero(member)
        starts = np.ones(at.size, dtype=bool)
        starts[1:] = ~same[at[1:] - 1]
        run = np.cumsum(starts)
        sub = order[at]
        order[at] = sub[np.lexsort((tie[sub], -key[sub], run))]
    return order.astype(np.int64, copy=False)


def _head_cut(indptr: IntArray, key: FloatArray, size: int) -> FloatArray:
    """Per row, its ``size``-th largest key (-inf for rows of at most ``size`` entries).

    The entries at or above it are a prefix of the row's (-key, col) order
    of at least ``size`` entries (ties at the threshold included). Found by
    ``np.partition`` along the rows of a padded (rows x width) matrix, no
    sort. Rows much longer than the others (more than twice the mean) are
    sorted instead, so the padding never exceeds twice the entries.
    """
    n = indptr.size - 1
    deg = np.diff(indptr)
    cut = np.full(n, -np.inf)
    long_rows = np.flatnonzero(deg > size)
    if long_rows.size == 0:
        return cut
    d = deg[long_rows]
    width = min(int(d.max()), 2 * int(d.mean()) + size)
    padded, sorted_rows = long_rows[d <= width], long_rows[d > width]
    if padded.size:
        dd = deg[padded]
        e = _ranges(indptr[padded], dd)
        base = np.arange(padded.size, dtype=np.int64) * width - indptr[padded]
        pad = np.full(padded.size * width, -np.inf)
        pad[e + np.repeat(base, dd)] = key[e]
        grid = pad.reshape(padded.size, width)
        grid.partition(width - size, axis=1)
        cut[padded] = grid[:, width - size]
        del pad, grid, e
    if sorted_rows.size:
        dd = deg[sorted_rows]
        e = _ranges(indptr[sorted_rows], dd)
        g = np.repeat(np.arange(sorted_rows.size, dtype=np.int64), dd)
        e = e[_best_first(g, key[e], e, sorted_rows.size)]
        cut[sorted_rows] = key[e[np.cumsum(dd) - dd + size - 1]]
    return cut


class _DeferredAcceptance:
    """Student-proposing deferred acceptance, run in vectorised rounds.

    Every round, all free students with something left on their list propose
    to their next SME at once; each SME that received proposals keeps its
    best ``capacity`` among holders and proposers. The outcome does not
    depend on proposal order (Gale-Shapley), so rounds give the same result
    as one-at-a-time proposals, and so does pausing a student whose list ran
    out until more of it is added.

    Lists: each student reads a *segment* of one append-only pool (SME,
    the SME's score of the student), ``nxt[i]`` to ``end[i]``, in preference
    order. Entries given later (the rest of a list, growth) are sorted on
    their own and appended as a new segment, so adding costs the new entries
    only, never a copy of every list. The caller's lists stay in CSR form
    (``set_lists``): only each student's first part (``_FIRST_PART``
    entries, from a per-row threshold) is sorted up front; a student who
    runs out of it gets the rest of their row *inside the round loop*,
    minus the SMEs that refuse them by then (cutoffs only rise), so there
    are no passes of "run, hand out rests, run again".

    Each SME's holders live in its own slots (``capacity`` of them, a flat
    array, best first), so a round touches only the proposers and the
    holders of the SMEs proposed to, never the whole population; a proposal
    below the SME's cutoff (its worst holder when full) is refused without
    entering the contest, and the contest is one integer sort
    (``_best_first``).
    """

    def __init__(self, n: int, m: int, cap: IntArray) -> None:
        self.n, self.m = n, m
        self.cap = cap
        self.first = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(cap, out=self.first[1:])
        seats = int(self.first[-1])
        self.slot_i = np.full(seats, -1, dtype=np.int64)  # student in each seat, best first
        self.slot_v = np.full(seats, -np.inf)  # the SME's score of that student (-inf: empty)
        self.match = np.full(n, -1, dtype=np.int64)
        self.nxt = np.zeros(n, dtype=np.int64)  # next pool entry each student proposes to
        self.end = np.zeros(n, dtype=np.int64)  # end of their current segment
        # SME of each pool entry: int32 (4 bytes an entry less; the pool holds
        # every listed and grown pair, 15-20 M at 100,000 x 30,000), widened
        # to int64 when read, a round's proposals at a time
        self.pool_j = np.zeros(0, dtype=np.int32 if m < 2**31 else np.int64)
        self.pool_v = np.zeros(0)
        self.used = 0
        # the caller's lists (CSR) whose rests are handed out on demand
        self.has_rest = np.zeros(n, dtype=bool)
        self.rest: tuple[IntArray, Any, FloatArray, FloatArray, FloatArray] | None = None
        self.rounds = 0

    def _reserve(self, extra: int) -> None:
        if self.used + extra <= self.pool_j.size:
            return
        # Grow by a quarter, not double: growth appends millions of entries
        # at once (4-5 M per call at 100,000 x 30,000), so doubling left up
        # to half the pool (16 bytes an entry) unused at the memory peak;
        # the small appends of rests inside the rounds stay amortised.
        # Resized in place (``realloc``: glibc moves a large block's pages
        # with ``mremap``), not copied into a fresh array: a fresh array over
        # 32 MiB is new pages from the kernel, faulted in again entry by
        # entry, and page faults dominate this stage at 100,000 x 30,000
        # (system time 3-12 s against 3 s of user time). No view of the pool
        # outlives a method, so nothing is left pointing at the old block.
        size = max(self.pool_j.size + self.pool_j.size // 4, self.used + extra)
        self.pool_j.resize(size, refcheck=False)
        self.pool_v.resize(size, refcheck=False)

    def _append(self, who: IntArray, counts: IntArray, cols: Any, smev: FloatArray) -> None:
        """New segments for the students ``who`` (unique): what they have left, then the entries.

        ``cols``/``smev`` hold ``counts[k]`` entries for ``who[k]``, in
        ``who`` order, each student's in preference order.
        """
        left = self.end[who] - self.nxt[who]
        total = counts + left
        size = int(total.sum())
        self._reserve(size)
        start = self.used + np.cumsum(total) - total
        if left.any():  # not in practice: entries go to students who ran out
            src = _ranges(self.nxt[who], left)
            dst = _ranges(start, left)
            self.pool_j[dst] = self.pool_j[src]
            self.pool_v[dst] = self.pool_v[src]
            dst = _ranges(start + left, counts)
            self.pool_j[dst] = cols
            self.pool_v[dst] = smev
        else:
            self.pool_j[self.used : self.used + size] = cols
            self.pool_v[self.used : self.used + size] = smev
        self.nxt[who] = start
        self.end[who] = start + total
        self.used += size

    def set_lists(
        self, indptr: IntArray, cols: Any, stu: FloatArray, smev: FloatArray, first_part: int
    ) -> None:
        """The caller's lists (CSR, columns ascending in each row): first parts now, rests later."""
        n = self.n
        cut = _head_cut(indptr, stu, first_part)
        head = np.flatnonzero(stu >= np.repeat(cut, np.diff(indptr)))
        hptr = np.searchsorted(head, indptr).astype(np.int64)
        hcount = np.diff(hptr)
        rows = np.repeat(np.arange(n, dtype=np.int64), hcount)
        # in CSR order the entry index orders a row's columns: ties go to the lower SME
        head = head[_best_first(rows, stu[head], head, max(n, 1))]
        self.used = 0
        self._append(np.arange(n, dtype=np.int64), hcount, cols[head], smev[head])
        self.has_rest = hcount < np.diff(indptr)
        self.rest = (indptr, cols, stu, smev, cut)

    def _fetch_rests(self, who: IntArray, cut: FloatArray) -> None:
        """Append the rest of their row for students who ran out of its first part.

        SMEs whose cutoff already refuses them are left out (cutoffs only
        rise: refused now is refused for good).
        """
        assert self.rest is not None
        indptr, cols, stu, smev, head_cut = self.rest
        self.has_rest[who] = False
        deg = indptr[who + 1] - indptr[who]
        e = _ranges(indptr[who], deg)
        g = np.repeat(np.arange(who.size, dtype=np.int64), deg)
        keep = (stu[e] < head_cut[who][g]) & (smev[e] >= cut[cols[e]])
        e, g = e[keep], g[keep]
        if e.size == 0:
            return
        order = _best_first(g, stu[e], e, who.size)
        e = e[order]
        self._append(who, np.bincount(g, minlength=who.size), cols[e], smev[e])

    def _with_entries(self, who: IntArray, cut: FloatArray) -> IntArray:
        """The students of ``who`` with an entry left to propose to (rests handed out first)."""
        left = self.nxt[who] < self.end[who]
        if not left.all():
            out = who[~left]
            want = out[self.has_rest[out]]
            if want.size:
                self._fetch_rests(want, cut)
                left = self.nxt[who] < self.end[who]
        return who[left]

    def add(self, rows: IntArray, cols: IntArray, stu: FloatArray, smev: FloatArray) -> None:
        """Append entries to the students' lists (after what they already have).

        New entries are ordered by the student's score, then lower SME index,
        and placed after the student's remaining entries.
        """
        if rows.size == 0:
            return
        order = _best_first(rows, stu, cols, max(self.n, 1))
        rows, cols, smev = rows[order], cols[order], smev[order]
        new = np.ones(rows.size, dtype=bool)
        new[1:] = rows[1:] != rows[:-1]
        at = np.flatnonzero(new)
        counts = np.diff(np.append(at, rows.size))
        self._append(rows[at], counts, cols, smev)

    def cutoffs(self) -> FloatArray:
        """Per SME: score a newcomer must reach to be kept now (-inf if a seat is free)."""
        cut = np.full(self.m, np.inf)
        has = self.cap > 0
        cut[has] = self.slot_v[self.first[1:][has] - 1]  # -inf when that seat is empty
        return cut

    def run(self, active: BoolArray) -> None:
        cut = self.cutoffs()
        free = self._with_entries(np.flatnonzero(active & (self.match < 0)), cut)
        cap, first, m = self.cap, self.first, self.m
        touched = np.zeros(m, dtype=bool)
        while free.size:
            self.rounds += 1
            pos = self.nxt[free]
            self.nxt[free] = pos + 1
            js = self.pool_j[pos].astype(np.int64)
            vs = self.pool_v[pos]
            # A proposal below the SME's worst holder loses whatever happens
            # (cutoffs only rise); ties at the cutoff go to the contest, where
            # the lower student index wins.
            hope = vs >= cut[js]
            if hope.all():
                refused = free[:0]
                prop_i, prop_j, prop_v = free, js, vs
            else:
                refused = free[~hope]
                prop_i, prop_j, prop_v = free[hope], js[hope], vs[hope]
            if prop_i.size == 0:
                free = self._with_entries(refused, cut)
                continue
            # The contest: the proposers and the current holders of the SMEs proposed to.
            touched[prop_j] = True
            tj = np.flatnonzero(touched)
            touched[tj] = False
            width = cap[tj]
            seat = _ranges(first[tj], width)
            occupant = self.slot_i[seat]
            held = occupant >= 0
            all_i = np.concatenate([occupant[held], prop_i])
            all_j = np.concatenate([np.repeat(tj, width)[held], prop_j])
            all_v = np.concatenate([self.slot_v[seat[held]], prop_v])
            order = _best_first(all_j, all_v, all_i, m)
            all_i, all_j, all_v = all_i[order], all_j[order], all_v[order]
            # place of each contestant in its SME's order (0 = best)
            idx = np.arange(all_j.size, dtype=np.int64)
            new_group = np.ones(all_j.size, dtype=bool)
            new_group[1:] = all_j[1:] != all_j[:-1]
            rank = idx - np.maximum.accumulate(np.where(new_group, idx, 0))
            win = rank < cap[all_j]
            # Winners fill the SME's seats best first; seats left over stay empty.
            self.slot_i[seat] = -1
            self.slot_v[seat] = -np.inf
            won_i, won_j = all_i[win], all_j[win]
            wpos = first[won_j] + rank[win]
            self.slot_i[wpos] = won_i
            self.slot_v[wpos] = all_v[win]
            self.match[won_i] = won_j
            lost = all_i[~win]
            self.match[lost] = -1
            cut[tj] = self.slot_v[first[tj] + width - 1]
            free = self._with_entries(np.concatenate([refused, lost]), cut)

    def assignment(self) -> IntArray:
        return self.match


#: First part of every student's list put through deferred acceptance; the
#: rest of a list follows only for a student who runs out. Most students are
#: placed within their first few choices, so most of the lists are never
#: sorted.
_FIRST_PART = 8


@small_pages()
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
    grow_listed: Literal["keys", "lookup"] = "keys",
    before_grow: Callable[[IntArray], None] | None = None,
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
        ``GrowFn``; it may defer some of them to its next call). Repeated
        until it returns nothing new. With lists that are
        prefixes of each student's preference order this gives exactly the
        result on full lists, while only ever listing a few SMEs per student.
    grow_listed : {"keys", "lookup"}
        How ``grow`` gets the listed pairs: the keys of every student asked
        about, or a function giving them for the students it names (see
        ``GrowFn``). A call serves only some of the students it is asked
        about (the pipeline's budget: about 10,000 of up to 68,000 at
        100,000 x 30,000), so building every asked student's keys (a sort
        of millions, each call) was mostly wasted.
    before_grow : callable, optional
        Called before each ``grow`` call with the SME each student holds
        now (-1: none; read-only, valid for the call only). The pipeline
        builds the reasons of pairs held then while the growth passes run.

    Returns
    -------
    ndarray of int64, shape (students,)
        SME index per student, or -1.
    """
    ia, ca, va, shape = _csr(student_scores)
    ib, cb, vb, shape_b = _csr(sme_scores)
    if shape != shape_b:
        raise ValueError("student_scores and sme_scores must have the same shape")
    n, m = shape
    out, cap, st_ok, _ = _prepare(shape, capacity, locked, active_students, active_smes)
    if np.array_equal(ia, ib) and np.array_equal(ca, cb):
        indptr, cols, stu, smev = ia, ca, va, vb  # same pattern (shortlists): nothing to intersect
    else:
        deg_a, deg_b = np.diff(ia), np.diff(ib)
        ra = np.repeat(np.arange(n, dtype=np.int64), deg_a)
        rb = np.repeat(np.arange(n, dtype=np.int64), deg_b)
        rows, cols, stu, smev = _common_entries(
            ra, ca.astype(np.int64), va, rb, cb.astype(np.int64), vb, m
        )
        indptr = np.searchsorted(rows, np.arange(n + 1)).astype(np.int64)
        del ra, rb, rows
    del ia, ca, va, ib, cb, vb  # (memory: these are list-sized)
    # Inactive students, SMEs without a free seat and excluded pairs leave the lists.
    deg = np.diff(indptr)
    keep = np.ones(cols.size, dtype=bool) if (cap > 0).all() else cap[cols] > 0
    if not st_ok.all():
        keep &= np.repeat(st_ok, deg)
    ex_i, ex_j = _pair_arrays(excluded)
    ex_keys = sorted_unique(ex_i * m + ex_j)
    if ex_keys.size and cols.size:
        keys = np.repeat(np.arange(n, dtype=np.int64), deg) * m + cols
        keep &= ~is_member(keys, ex_keys)
        del keys
    if not keep.all():
        kept = np.zeros(keep.size + 1, dtype=np.int64)
        np.cumsum(keep, out=kept[1:])
        indptr = kept[indptr]
        cols, stu, smev = cols[keep], stu[keep], smev[keep]
        deg = np.diff(indptr)
    del keep
    da = _DeferredAcceptance(n, m, cap)
    # 1. Deferred acceptance on the first part of every list (a prefix of the
    #    student's order, found without sorting the rest); a student who runs
    #    out gets the rest of their list inside the run, minus SMEs that
    #    already refuse them; the others' rests are never sorted.
    da.set_lists(indptr, cols, stu, smev, _FIRST_PART)
    da.run(st_ok)
    # 2. Lists the caller grows, for students who ran out of all of theirs.
    #    Growth displaces students who had not needed their rest yet; ``run``
    #    hands it out before they could be sent to growth (``grow`` leaves out
    #    every pair the caller listed, so such a student would otherwise skip
    #    the rest of their list for good: blocking pairs within the lists).
    exhausted = np.zeros(n, bool)
    # keys (row * m + col) of the pairs grown so far, one sorted array per call
    grown: list[IntArray] = []
    mm = max(m, 1)

    def listed_of(who: IntArray) -> IntArray:
        """Sorted unique keys of the pairs listed for ``who`` (sorted, unique)."""
        who = np.asarray(who, dtype=np.int64)
        dt = deg[who]
        parts = [np.repeat(who, dt) * m + cols[_ranges(indptr[who], dt)]]
        for keys in grown:
            # each call's keys are sorted: a student's are one range of them
            lo = np.searchsorted(keys, who * mm)
            parts.append(keys[_ranges(lo, np.searchsorted(keys, (who + 1) * mm) - lo)])
        return sorted_unique(np.concatenate(parts)) if len(parts) > 1 else parts[0]

    while grow is not None:
        todo = np.flatnonzero(st_ok & (da.match < 0) & ~exhausted)
        if todo.size == 0:
            break
        asked = np.zeros(n, bool)
        asked[todo] = True
        if before_grow is not None:
            before_grow(da.match)
        answer = grow(todo, da.cutoffs(), listed_of if grow_listed == "lookup" else listed_of(todo))
        gr, gc, gv, hv = _grown_entries(answer[0], answer[1], m)
        deferred = np.zeros(n, bool)
        if len(answer) > 2:
            deferred[np.asarray(answer[2], dtype=np.int64)] = True
            if deferred[todo].all():
                raise ValueError("grow deferred every student it was asked about")
        del answer
        # Only the students asked about, only SMEs not listed, never excluded.
        key = gr * m + gc
        ok = asked[gr] & (cap[gc] > 0)
        if ok.any():  # (the listed pairs of the students answered only)
            ok &= ~is_member(key, listed_of(sorted_unique(gr[ok])))
        if ex_keys.size:
            ok &= ~is_member(key, ex_keys)
        gr, gc, gv, hv, key = gr[ok], gc[ok], gv[ok], hv[ok], key[ok]
        del ok
        got = np.zeros(n, bool)
        got[gr] = True
        exhausted[todo[~got[todo] & ~deferred[todo]]] = True
        if gr.size == 0:
            continue  # the deferred (if any) are asked next time; else todo is empty
        grown.append(key if (key[1:] > key[:-1]).all() else sorted_unique(key))
        da.add(gr, gc, gv, hv)
        # Memory: nothing of this call outlives it but the pool's entries and
        # the keys (a loop's variables would otherwise hold the call's arrays,
        # about 70 bytes a grown pair, through the next growth pass).
        del gr, gc, gv, hv, key
        da.run(st_ok)
    free = out < 0
    out[free] = da.match[free]
    return out


def _grown_entries(gs: Any, gm: Any, m: int) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """A growth call's entries, row-major: rows, cols, student scores, SME scores.

    The caller's two matrices usually share a pattern (the same pairs, two
    views): then nothing is intersected (the intersection's sort was a fifth
    of the step) and the rows are expanded once.
    """
    ia, ca, va, _ = _csr(gs)
    ib, cb, vb, _ = _csr(gm)
    if np.array_equal(ia, ib) and np.array_equal(ca, cb):
        rows = np.repeat(np.arange(ia.size - 1, dtype=np.int64), np.diff(ia))
        return rows, ca.astype(np.int64, copy=False), va, vb
    ra = np.repeat(np.arange(ia.size - 1, dtype=np.int64), np.diff(ia))
    rb = np.repeat(np.arange(ib.size - 1, dtype=np.int64), np.diff(ib))
    return _common_entries(ra, ca.astype(np.int64), va, rb, cb.astype(np.int64), vb, m)


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
    top = float(vals.max()) if vals.size else 0.0  # ``_graph`` keeps scores >= 0 only
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

    Few temporaries (issue 14, session 6): on the 5-million-pair graph every
    fresh 40 MB array costs page faults (about a second of system time for the
    twenty the graph and the solver's arrays once took), so nothing is copied
    when every entry is kept and the weights are rounded in place.
    """
    rows, cols, vals, shape = _coo(scores)
    out, cap, st_ok, _ = _prepare(shape, capacity, locked, active_students, active_smes)
    keep = _filter_entries(rows, cols, shape[1], st_ok, cap, excluded)
    keep &= vals >= 0
    if not keep.all():
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
    step = _quantum(vals)
    scaled = np.divide(vals, step)  # exact: step is a power of two
    np.rint(scaled, out=scaled)
    return out, rows, cols, scaled.astype(np.int64), cap, step


def _compact(keys: IntArray, size: int) -> tuple[IntArray, IntArray]:
    """``np.unique(keys, return_inverse=True)`` for small non-negative integers, without a sort.

    When every number below ``size`` occurs, the numbering is the identity and
    ``keys`` itself is returned (not copied).
    """
    seen = np.zeros(size, dtype=bool)
    seen[keys] = True
    present = np.flatnonzero(seen)
    if present.size == size:
        return present, keys
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
    flow = _min_cost_flow.SimpleMinCostFlow()
    # Arcs 0..e-1 are the pairs, in order, then student -> sink (R), then SME -> sink (M).
    # They go in chunks (see _ARC_CHUNK): OR-tools takes int32 node numbers and returns
    # the arc numbers, so whole-graph calls made four 20-40 MB arrays a solve.
    for s in range(0, e, _ARC_CHUNK):
        t = min(s + _ARC_CHUNK, e)
        flow.add_arcs_with_capacity_and_unit_cost(
            r[s:t].astype(np.int32), (c[s:t] + R).astype(np.int32), 1, np.negative(w[s:t])
        )
    seats = np.minimum(cap[ms], np.bincount(c, minlength=M))
    flow.add_arcs_with_capacity_and_unit_cost(
        np.arange(R + M, dtype=np.int32),
        np.full(R + M, sink, np.int32),
        np.concatenate([np.ones(R, np.int64), seats]),
        0,
    )
    supply = np.zeros(sink + 1, np.int64)
    supply[:R] = 1
    supply[sink] = -R
    flow.set_nodes_supplies(np.arange(sink + 1, dtype=np.int32), supply)
    status = flow.solve()
    if status == flow.BAD_COST_RANGE:
        return None
    if status != flow.OPTIMAL:  # cannot happen: every student may stay unmatched
        raise RuntimeError(f"min-cost flow failed: {status}")
    used = np.concatenate(
        [
            s + np.flatnonzero(flow.flows(np.arange(s, min(s + _ARC_CHUNK, e), dtype=np.int32)))
            for s in range(0, e, _ARC_CHUNK)
        ]
    )
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


@small_pages()
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
    return _solve_into(out, rows, cols, w, cap, which)


def _solve_into(
    out: IntArray, rows: IntArray, cols: IntArray, w: IntArray, cap: IntArray, which: str
) -> IntArray:
    """Solve ``_graph``'s edges on ``which`` solver (OR-tools falls back to scipy when
    it reports the costs out of range); the placed students are written into ``out``."""
    got = _solve_min_cost_flow(rows, cols, w, cap) if which == "ortools" else None
    if got is None:
        got = _solve_lapjvsp(rows, cols, w, cap)
    placed = np.flatnonzero(got >= 0)
    out[placed] = got[placed]
    return out


@small_pages()
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
    return _prices(n, m, a, rows, cols, w, cap, step)


@small_pages()
def optimal_with_prices(
    scores: Any,
    capacity: npt.ArrayLike,
    *,
    active_students: npt.ArrayLike | None = None,
    timings: dict[str, float] | None = None,
    near: tuple[FloatArray, FloatArray, float] | None = None,
) -> tuple[IntArray, FloatArray, FloatArray]:
    """``optimal`` and ``optimal_prices`` of its result, building the graph once.

    The same assignment as ``optimal(scores, capacity, active_students=...)``
    and the same prices as ``optimal_prices`` on it: both read the same
    rounded integer graph, which the two calls used to build each (issue 14,
    session 6; column generation calls this once a round). ``timings``, when
    given, gains the seconds spent solving (graph included) under "solve" and
    pricing under "prices", and the number of solver calls under "solves".

    ``near = (u, v, margin)``: prices of a nearby problem (the previous
    column-generation round's). The solver then first gets only the entries
    within ``margin`` of those prices (``_solve_near``); the result is still
    the optimum over *all* entries, checked exactly, and the prices are those
    of the whole graph (issue 14, session 7).
    """
    t0 = time.perf_counter()
    n, m = _coo_shape(scores)
    a, rows, cols, w, cap, step = _graph(scores, capacity, None, None, active_students, None)
    calls = 0
    if rows.size:
        if near is None:
            _solve_into(a, rows, cols, w, cap, OPTIMAL_SOLVER)
            calls = 1
        else:
            a, calls = _solve_near(n, m, a, rows, cols, w, cap, step, near)
    t1 = time.perf_counter()
    u, v = _prices(n, m, a, rows, cols, w, cap, step)
    if timings is not None:
        timings["solve"] = timings.get("solve", 0.0) + (t1 - t0)
        timings["prices"] = timings.get("prices", 0.0) + (time.perf_counter() - t1)
        timings["solves"] = timings.get("solves", 0) + calls
    return a, u, v


def _solve_near(
    n: int,
    m: int,
    a: IntArray,
    rows: IntArray,
    cols: IntArray,
    w: IntArray,
    cap: IntArray,
    step: float,
    near: tuple[FloatArray, FloatArray, float],
) -> tuple[IntArray, int]:
    """The optimum on ``_graph``'s edges, solving first on the edges near given prices.

    OR-tools' solve costs about 0.2 s for the 30,000 nodes of the 20,000 x
    10,000 cohort however few the arcs, plus about 1.5 microseconds an arc: a
    column-generation round that added a few hundred pairs to 1.7 million
    listed gets 335,000 of them at ``pipeline.SIFT_MARGIN``, while its
    optimum lies among the 50,000 within 0.005 of the last round's prices.
    So the solver gets those (``near``: prices and margin); the subset's
    integer prices ``(u, v)`` are then checked against *every* edge, exactly:
    if ``w <= u + v`` everywhere (and, as ``_prices`` guarantees on the
    subset, equality on assigned edges, ``u = 0`` for the unassigned and
    ``v = 0`` where a seat is free), they are feasible dual prices with
    complementary slackness for the whole graph, so by weak duality the
    assignment is optimal on it. Otherwise the edges that beat them, and all
    within ``margin`` of them, join the subset and it is solved again.
    Returns the assignment and the number of solver calls.
    """
    pu, pv, margin = near
    base = a
    slack = margin / step  # in the integer units of ``w``
    pu_i = np.rint(np.asarray(pu, dtype=np.float64) / step)
    pv_i = np.rint(np.asarray(pv, dtype=np.float64) / step)
    inner = w - pu_i[rows] - pv_i[cols] >= -slack
    calls = 0
    while True:
        got = base.copy()
        if inner.any():
            _solve_into(got, rows[inner], cols[inner], w[inner], cap, OPTIMAL_SOLVER)
            calls += 1
        if inner.all():
            return got, calls
        ui, vi = _int_prices(n, m, got, rows[inner], cols[inner], w[inner], cap)
        reduced = ui[rows] + vi[cols] - w
        if not (reduced < 0).any() and _complementary(got, rows, cols, w, cap, ui, vi):
            return got, calls
        grown = inner | (reduced <= slack)
        # An edge beating the prices lies outside the subset (inside, the solver's optimum
        # guarantees otherwise), so the subset grows; should it not, solve on everything.
        inner = grown if grown.sum() > inner.sum() else np.ones_like(inner)


def _complementary(
    a: IntArray,
    rows: IntArray,
    cols: IntArray,
    w: IntArray,
    cap: IntArray,
    u: IntArray,
    v: IntArray,
) -> bool:
    """Whether integer prices ``(u, v)`` meet complementary slackness with ``a`` on these edges:
    ``u, v >= 0``, ``u + v = w`` on assigned edges, ``u = 0`` for unassigned students and
    ``v = 0`` for SMEs with a free seat (``_prices`` builds them so; checked, not assumed)."""
    on = a[rows] == cols
    placed = np.zeros(a.size, bool)
    placed[rows[on]] = True
    count = np.bincount(a[a >= 0], minlength=cap.size)
    return bool(
        (u >= 0).all()
        and (v >= 0).all()
        and (u[rows[on]] + v[cols[on]] == w[on]).all()
        and placed.sum() == (a >= 0).sum()
        and (u[~placed] == 0).all()
        and (v[count < cap] == 0).all()
    )


def _prices(
    n: int,
    m: int,
    a: IntArray,
    rows: IntArray,
    cols: IntArray,
    w: IntArray,
    cap: IntArray,
    step: float,
) -> tuple[FloatArray, FloatArray]:
    """``optimal_prices`` on the graph ``_graph`` built (rows, cols, integer weights, seats)."""
    u, v = _int_prices(n, m, a, rows, cols, w, cap)
    return u.astype(np.float64) * step, v.astype(np.float64) * step


def _int_prices(
    n: int, m: int, a: IntArray, rows: IntArray, cols: IntArray, w: IntArray, cap: IntArray
) -> tuple[IntArray, IntArray]:
    """``_prices`` in the integer units of ``w``."""
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
    # Grouped by source SME with a stable sort; numpy radix-sorts 16-bit keys, so with at most
    # 65,536 SMEs the keys go as uint16: the same order, 5-10x faster than sorting int64
    # (0.17-0.36 -> 0.035 s CPU for the 1.66 million arcs of the 20,000 x 10,000 cohort).
    order = np.argsort(src.astype(np.uint16) if m <= 1 << 16 else src, kind="stable")
    dst, length = dst[order], length[order]
    per_source = np.bincount(src, minlength=m)
    indptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(per_source, out=indptr[1:])
    front = np.flatnonzero(v < big)
    for _ in range(4 * m + 10):  # no negative cycles when optimal; the bound is a guard
        if front.size == 0:
            break
        if _SWEEP_FRONT * front.size >= m:
            # A large front (the first rounds): every arc in storage order, each source's
            # value repeated over its arcs, instead of gathering the front's arcs. Arcs from
            # outside the front cannot improve anything (each was relaxed at its source's
            # current value when that source was last in the front, and values only fall);
            # sources with no bound yet (none when every SME with arcs has a seat) get one
            # no arc can lower anything to.
            cand = np.repeat(np.where(v < big, v, 2 * big), per_source)
            cand += length
            d = dst
        else:
            starts = indptr[front]
            cnt = indptr[front + 1] - starts
            total = int(cnt.sum())
            if total == 0:
                break
            e = np.repeat(starts - np.cumsum(cnt) + cnt, cnt)
            e += np.arange(total)
            cand = np.repeat(v[front], cnt)  # (arcs grouped by source: no gather of it)
            cand += length[e]
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
    return u, v
