"""Quality measures of an assignment.

All functions take the same score inputs as ``matching.assign`` (CSR with
stored entries = acceptable pairs, or dense with ``-inf``) and an assignment
(one SME index or -1 per student).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .assign import _common_entries, _coo, _csr

IntArray = npt.NDArray[np.int64]

#: ``blocking_pairs`` tests the listed pairs this many at a time (bounded temporaries).
BLOCKING_STEP = 1 << 18


def _lookup(
    keys: IntArray, sorted_keys: IntArray, values: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    pos = np.searchsorted(sorted_keys, keys)
    pos_c = np.minimum(pos, max(sorted_keys.size - 1, 0))
    found = (
        (pos < sorted_keys.size) & (sorted_keys[pos_c] == keys)
        if sorted_keys.size
        else np.zeros(keys.size, bool)
    )
    vals = np.where(found, values[pos_c] if values.size else 0.0, np.nan)
    return vals, found


def total_score(scores: Any, assignment: npt.ArrayLike) -> float:
    """Sum of the scores of the assigned pairs.

    Parameters
    ----------
    scores : CSR or dense, shape (students, SMEs)
    assignment : array-like of int
        SME index per student or -1.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If an assigned pair is not acceptable (not stored / ``-inf``).
    """
    rows, cols, vals, (n, m) = _coo(scores)
    a = np.asarray(assignment, dtype=np.int64)
    i = np.flatnonzero(a >= 0)
    if i.size == 0:
        return 0.0
    v, found = _lookup(i * m + a[i], rows * m + cols, vals)
    if not found.all():
        raise ValueError("assignment uses unacceptable pairs")
    return float(v.sum())


def placed_share(assignment: npt.ArrayLike) -> float:
    """Share of students placed (0.0 when there are no students).

    Parameters
    ----------
    assignment : array-like of int

    Returns
    -------
    float
    """
    a = np.asarray(assignment, dtype=np.int64)
    return float((a >= 0).mean()) if a.size else 0.0


def blocking_pairs(
    student_scores: Any, sme_scores: Any, capacity: npt.ArrayLike, assignment: npt.ArrayLike
) -> int:
    """Count acceptable pairs that would both rather be together.

    Pair (i, j) blocks when i is not at j, i prefers j to its current place
    (any acceptable SME beats being unplaced; equal scores -> lower SME index
    preferred) and j has a free seat or prefers i to its worst current
    student (equal scores -> lower student index preferred). Preferences are
    those of the given matrices; an assigned pair that is not stored (e.g. a
    locked pair outside a shortlist) counts as one neither side would leave.
    Runs in O(nnz log nnz).

    Parameters
    ----------
    student_scores, sme_scores : CSR or dense, same shape
    capacity : array-like of int
    assignment : array-like of int

    Returns
    -------
    int
    """
    ia, ca, va, (n, m) = _csr(student_scores)
    ib, cb, vb, _ = _csr(sme_scores)
    if ia.size == ib.size and np.array_equal(ia, ib) and np.array_equal(ca, cb):
        indptr, cols, stu, smev = ia, ca, va, vb  # same pattern (shortlists): nothing to intersect
    else:
        rows, cols, stu, smev = _common_entries(*_coo(student_scores)[:3], *_coo(sme_scores)[:3], m)
        indptr = np.searchsorted(rows, np.arange(n + 1)).astype(np.int64)
        del rows
    del ia, ca, va, ib, cb, vb
    a = np.asarray(assignment, dtype=np.int64)
    cap = np.asarray(capacity, dtype=np.int64)
    placed = np.flatnonzero(a >= 0)
    # Row blocks of about ``BLOCKING_STEP`` entries: the tests below are
    # about 45 bytes of temporaries an entry, 250 MB at once on 100,000 x
    # 30,000's lists, where the count runs beside the reasons (issue 14,
    # session 13). Entries are unique and sorted within a row.
    starts = np.searchsorted(indptr, np.arange(BLOCKING_STEP, cols.size, BLOCKING_STEP), "right")
    bounds = np.unique(np.concatenate(([0], starts - 1, [n])))
    blocks = list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))

    def entries(r0: int, r1: int) -> tuple[IntArray, IntArray, slice]:
        at = slice(int(indptr[r0]), int(indptr[r1]))
        rows = np.repeat(np.arange(r0, r1, dtype=np.int64), np.diff(indptr[r0 : r1 + 1]))
        return rows, cols[at].astype(np.int64, copy=False), at

    # Student's value of their current place (+inf if not stored), and the
    # SME's value of that student (+inf likewise).
    cur = np.full(n, -np.inf)
    cur[placed] = np.inf
    held_at = np.full(n, np.inf)
    for r0, r1 in blocks:
        rows, cj, at = entries(r0, r1)
        here = np.flatnonzero(a[rows] == cj)
        cur[rows[here]] = stu[at][here]
        held_at[rows[here]] = smev[at][here]
    held_v = held_at[placed]
    # SME's worst current student (value, index).
    count = np.bincount(a[placed], minlength=m)
    worst_v = np.full(m, np.inf)
    worst_i = np.full(m, -1, dtype=np.int64)
    if placed.size:
        order = np.lexsort(
            (-placed, held_v, a[placed])
        )  # per SME: lowest value, then highest index
        js = a[placed][order]
        firsts = np.r_[True, js[1:] != js[:-1]]
        worst_v[js[firsts]] = held_v[order][firsts]
        worst_i[js[firsts]] = placed[order][firsts]
    free_seat = count < cap
    blocking = 0
    for r0, r1 in blocks:
        rows, cj, at = entries(r0, r1)
        su, sv, ai, cr = stu[at], smev[at], a[rows], cur[rows]
        cand = ai != cj
        st_pref = (ai < 0) | (su > cr) | ((su == cr) & (cj < ai))
        sm_pref = free_seat[cj] | (sv > worst_v[cj]) | ((sv == worst_v[cj]) & (rows < worst_i[cj]))
        blocking += int(np.count_nonzero(cand & st_pref & sm_pref))
    return blocking
