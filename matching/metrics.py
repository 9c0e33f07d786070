"""Quality measures of an assignment.

All functions take the same score inputs as ``matching.assign`` (CSR with
stored entries = acceptable pairs, or dense with ``-inf``) and an assignment
(one SME index or -1 per student).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .assign import _common_entries, _coo

IntArray = npt.NDArray[np.int64]


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
    ra, ca, va, (n, m) = _coo(student_scores)
    rb, cb, vb, _ = _coo(sme_scores)
    rows, cols, stu, smev = _common_entries(ra, ca, va, rb, cb, vb, m)
    keys = rows * m + cols
    a = np.asarray(assignment, dtype=np.int64)
    cap = np.asarray(capacity, dtype=np.int64)
    placed = np.flatnonzero(a >= 0)
    # Student's value of their current place (+inf if not stored).
    cur = np.full(n, -np.inf)
    cur_v, found = _lookup(placed * m + a[placed], keys, stu)
    cur[placed] = np.where(found, cur_v, np.inf)
    # SME's worst current student (value, index).
    held_v, hfound = _lookup(placed * m + a[placed], keys, smev)
    held_v = np.where(hfound, held_v, np.inf)
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
    cand = a[rows] != cols
    ai = a[rows]
    st_pref = (a[rows] < 0) | (stu > cur[rows]) | ((stu == cur[rows]) & (cols < ai))
    free_seat = count[cols] < cap[cols]
    sm_pref = (
        free_seat | (smev > worst_v[cols]) | ((smev == worst_v[cols]) & (rows < worst_i[cols]))
    )
    return int(np.count_nonzero(cand & st_pref & sm_pref))
