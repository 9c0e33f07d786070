"""Shortlists: the top-k acceptable SMEs per student, without a students x SMEs matrix.

``candidates`` answers one query (the lists a cycle starts from, a list
extension for deferred acceptance, or a pricing query of optimal mode's column
generation). Scores are computed chunk by chunk of students as one float32
product of the model's narrow ranking matrices, on all cores; the top k per
row come from a sampled lower bound and one threshold pass (``topk_rows``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from .compute import (
    UNACCEPTABLE,
    blas_single_thread,
    is_member,
    ordered_map,
    sorted_unique,
    workers,
)

if TYPE_CHECKING:
    from .model import MatchModel

FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
#: One chunk's contribution to the per-SME pool: (scores, students, SME positions).
PoolPart = tuple[Float32Array, IntArray, IntArray]
#: Target size of one dense score block per worker: big enough for BLAS to
#: run at full speed, small enough that the passes over it stay near cache.
BLOCK_TARGET_BYTES = 16 << 20
#: The first pass (a query with a reserve) takes at least this many students
#: per block when ``max_block_bytes`` allows: OpenBLAS packs the whole SME
#: matrix once per product, which a 16 MiB block of 30,000 SMEs (139
#: students) pays for too rarely (87 GFLOP/s against 107 at 278 students;
#: issue 14, session 8). Growth passes keep ``BLOCK_TARGET_BYTES``: the
#: memory peak at 100,000 x 30,000 is theirs.
FIRST_PASS_MIN_ROWS = 256
#: Student-ranked lists keep every pair within this of the k-th float32 score
#: (near-ties), then drop, by exact score, those below ``k-th - NEAR_TIE +
#: FLOAT32_ERROR``: so a list holds every pair scoring above its last pair,
#: exactly, and exact ties are decided by the lower index, not float32
#: rounding. ``FLOAT32_ERROR`` bounds |float32 product - exact score| for
#: scores in [0, 1] over a few hundred columns.
NEAR_TIE = 1e-4
#: A query is split across the worker threads when each gets at least this
#: many students (below it, thread start-up costs more than it saves). A
#: growth pass costs 0.2-0.3 ms of CPU a student at 20,000 x 10,000 (k of
#: 100-400), thread start-up well under 1 ms: 128 left list growth's passes of
#: 87, 109 and 160 students (0.1 s of CPU) on one core (issue 14, session 9).
MIN_SPLIT_ROWS = 32
FLOAT32_ERROR = 2e-5
#: List growth reads the student view pair by pair (``TopKPass._growth_chunk``)
#: when full SMEs refuse all but this share of a chunk's pairs with them; a
#: single dot product costs several times a pair of the dense product.
SPARSE_GROWTH_SHARE = 1 / 16
#: List growth skips, chunk by chunk, the full SMEs that refuse every student
#: of the chunk by a bound (``TopKPass._full_sme_bounds``), with the chunks'
#: students grouped by their strongest columns first. False: every full SME
#: in every chunk's SME-view product (for tests that compare the two).
PRUNE_FULL_SMES = True
#: Students are grouped by their this many strongest columns (in order).
GROUP_COLUMNS = 4
#: How far a chunk's bound must fall below an SME's floor for the SME to be
#: left out of the chunk's product: the bound and the product are float32 sums
#: of the same columns, each within ``FLOAT32_ERROR`` of its exact value.
BOUND_MARGIN = 1e-4
#: The first pass (plain lists with a reserve) multiplies by the SMEs' rows
#: with the selection's sample (every ``stride``-th SME) first, so that the
#: sample is the block's first columns, not a strided copy of the whole block
#: (``sample_first_order``). False: the SMEs in their order (for tests that
#: compare the two).
SAMPLE_FIRST = True
#: The selection compares a block with its rows' bounds in slabs of rows of
#: about this many bytes (``_entries_at_least``), so each slab's boolean
#: mask and its survivors' values are read from cache, not memory: 8 rows of
#: a 30,000-SME block, 26 of a 10,000-SME one (slabs of 8-32 rows were
#: the fastest of 4-64 at both sizes; a core's L2 here is 2 MiB).
SELECTION_SLAB_BYTES = 1 << 20
#: A priced query with ``u_i + v_j`` below this for every pair asked (no combined
#: score is below 0) keeps every acceptable pair above its floor (optimal mode's first
#: lists): its rows are full, so it is selected as the first pass is (``topk_ranking``).
#: Pricing queries (floors near the scores: rows of a few entries) keep the plain one.
RANKED_BELOW = -1.0
#: The near-tie of that selection (``topk_ranking``): it must move every row's sample
#: bound down by at least one float32 step (the selection keeps only entries strictly
#: above the moved bound: with 1e-30, a k-th value equal to the bound was lost), so
#: values up to 2**9 (a step there is 6e-5; those queries' are below 5). A larger one
#: only adds survivors below each row's k-th value, which ``topk_ranking`` drops.
RANKED_NEAR_TIE = NEAR_TIE


@dataclass(frozen=True)
class Candidates:
    """Shortlists: sparse (students x SMEs) matrices over the same pairs.

    Attributes
    ----------
    combined, student_view, sme_view : scipy.sparse.csr_array
        Scores of the shortlisted pairs, float64, column indices sorted;
        every stored entry is an acceptable pair (values may be tiny but the
        entry is stored explicitly).
    k : int
        Requested list length.
    by : str
        Which score the per-student top-k ranked by.
    complete : ndarray of bool, shape (students,), optional
        Student-ranked queries: students whose row holds *every* SME that
        passed the query's screens (fewer than ``k`` did), so asking again
        with the same or a higher ``sme_floor`` can bring nothing new.
    reserve : Reserve, optional
        With ``reserve=r``: the next SMEs after each student's list (see
        ``Reserve``), not scored yet.
    """

    combined: sp.csr_array
    student_view: sp.csr_array
    sme_view: sp.csr_array
    k: int
    by: str
    complete: npt.NDArray[np.bool_] | None = None
    reserve: Reserve | None = None


@dataclass(frozen=True)
class Reserve:
    """The SMEs that follow each student's list, kept from the same pass.

    Together with the list they hold every pair whose exact student view is
    at least ``cutoff[i]`` (a prefix of the student's order, as a list of
    length ``k + r`` would), plus a few just below it; pairs unacceptable in
    exact terms may be among them. Nothing is scored: list growth scores a
    student's reserve only if they run out of their list, which spares most
    of a pass over all SMEs for every student who does (two thirds of them
    at 100,000 x 30,000) and the scoring for those who do not.

    Attributes
    ----------
    indptr : ndarray of int64, shape (students + 1,)
    sme : ndarray of int32
        SME indices, student by student (CSR layout), in no particular order.
    cutoff : ndarray of float64, shape (students,)
        Exact student view from which every pair is in list or reserve;
        ``-inf``: the student's every acceptable SME is in one of them.
    """

    indptr: IntArray
    sme: npt.NDArray[np.int32]
    cutoff: FloatArray

    def of(self, who: IntArray) -> tuple[IntArray, IntArray]:
        """The reserved (students, SMEs) pairs of some students.

        Parameters
        ----------
        who : ndarray of int

        Returns
        -------
        students, smes : ndarray of int
        """
        cnt = self.indptr[who + 1] - self.indptr[who]
        pos = np.repeat(self.indptr[who] - np.cumsum(cnt) + cnt, cnt) + np.arange(int(cnt.sum()))
        return np.repeat(who, cnt), self.sme[pos].astype(np.int64)


def as_pairs(pairs: Any, n: int, m: int) -> tuple[IntArray, IntArray]:
    """Turn an iterable of (i, j), an (p, 2) array or a sparse matrix into arrays.

    Parameters
    ----------
    pairs : iterable of (int, int), ndarray, sparse matrix or None
    n, m : int
        Bounds of the student and SME indices.

    Returns
    -------
    student_idx, sme_idx : ndarray of int
    """
    if pairs is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if sp.issparse(pairs):
        coo = sp.coo_array(pairs)
        return coo.row.astype(np.int64), coo.col.astype(np.int64)
    arr = np.asarray(list(pairs) if not isinstance(pairs, np.ndarray) else pairs, dtype=np.int64)
    if arr.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    arr = arr.reshape(-1, 2)
    out_of_range = (arr[:, 0] < 0) | (arr[:, 0] >= n) | (arr[:, 1] < 0) | (arr[:, 1] >= m)
    if out_of_range.any():
        raise IndexError("pair index out of range")
    return arr[:, 0].copy(), arr[:, 1].copy()


def pack_bits(indicators: npt.NDArray[Any]) -> npt.NDArray[np.uint64]:
    """Rows of 0/1 indicators as bits in 64-bit words.

    Parameters
    ----------
    indicators : ndarray, shape (rows, columns)
        Nonzero = set.

    Returns
    -------
    ndarray of uint64, shape (rows, max(1, ceil(columns / 64)))
    """
    rows, width = indicators.shape
    words = max(1, -(-width // 64))
    padded = np.zeros((rows, words * 64), dtype=bool)
    padded[:, :width] = indicators != 0
    packed = np.packbits(padded, axis=1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64, copy=False)


def common(bits_x: npt.NDArray[np.uint64], bits_y: npt.NDArray[np.uint64]) -> BoolArray:
    """Whether paired rows of bits share a set bit.

    Parameters
    ----------
    bits_x, bits_y : ndarray of uint64, shape (pairs, words)

    Returns
    -------
    ndarray of bool, shape (pairs,)
    """
    out: BoolArray = (bits_x[:, 0] & bits_y[:, 0]) != 0
    for q in range(1, bits_x.shape[1]):
        out |= (bits_x[:, q] & bits_y[:, q]) != 0
    return out


def common_block(bits_x: npt.NDArray[np.uint64], bits_y: npt.NDArray[np.uint64]) -> BoolArray:
    """Whether each row of ``bits_x`` shares a set bit with each row of ``bits_y``.

    Parameters
    ----------
    bits_x : ndarray of uint64, shape (rows, words)
    bits_y : ndarray of uint64, shape (columns, words)

    Returns
    -------
    ndarray of bool, shape (rows, columns)
    """
    out: BoolArray = (bits_x[:, 0, None] & bits_y[None, :, 0]) != 0
    for q in range(1, bits_x.shape[1]):
        out |= (bits_x[:, q, None] & bits_y[None, :, q]) != 0
    return out


class CommonMask:
    """Acceptability by "a language or market in common" for one block of scores.

    A pair with nothing in common is unacceptable, which is not linear, so it
    cannot be folded into the score product. Testing it as bits (one AND per
    pair) only where ``topk_rows`` looks - a strided sample of the columns
    and the entries above the sample's bound - costs a fraction of masking
    the whole block (the product of 0/1 indicators and a masked copy were
    about a third of a pass).

    Parameters
    ----------
    bits_x : ndarray of uint64, shape (block rows, words)
        The block's students.
    bits_y : ndarray of uint64, shape (block columns, words)
        The block's SMEs.
    """

    def __init__(self, bits_x: npt.NDArray[np.uint64], bits_y: npt.NDArray[np.uint64]) -> None:
        self.bits_x, self.bits_y = bits_x, bits_y

    def columns(self, step: int) -> BoolArray:
        """Every row against every ``step``-th column: ``block[:, ::step]``'s mask."""
        return common_block(self.bits_x, self.bits_y[::step])

    def rows(self, row_pos: IntArray) -> BoolArray:
        """Some rows against every column."""
        return common_block(self.bits_x[row_pos], self.bits_y)

    def at(self, row_pos: IntArray, col_pos: IntArray) -> BoolArray:
        """Single entries."""
        return common(self.bits_x[row_pos], self.bits_y[col_pos])


def candidates(
    model: MatchModel,
    k: int,
    *,
    by: Literal["combined", "student", "sme"] = "combined",
    exclude: Any = None,
    include: Any = None,
    students: npt.ArrayLike | None = None,
    sme_mask: npt.ArrayLike | None = None,
    sme_side: bool = False,
    sme_floor: FloatArray | None = None,
    prices: tuple[FloatArray, FloatArray] | None = None,
    chunk_size: int | None = None,
    max_block_bytes: int = 128 << 20,
    reserve: int = 0,
    exclude_keys: IntArray | None = None,
) -> Candidates:
    """Top-k acceptable SMEs per student, as sparse matrices.

    The query runs in named steps:

    1. *Scope*: the students asked about and the SMEs allowed (``sme_mask``).
    2. *Exclusions*: excluded pairs as sorted integer keys.
    3. *Top-k pass* (``TopKPass``): chunk by chunk of students, one float32
       product of the ranking matrices; excluded pairs (and, with
       ``sme_floor``, pairs the SME would refuse now) are masked, prices are
       subtracted, and the top k per row are kept (ties at the k-th score go
       to the lower SME index); with ``sme_side`` each SME's top k students
       are pooled as well.
    4. *Union*: the lists, the SME-side pool and ``include``, deduplicated,
       without excluded pairs.
    5. *Exact scores*: each kept pair is rescored on its own
       (``MatchModel.shortlist_scores``), with its acceptability.
    6. *Ask again* (pricing queries only): students whose top places went to
       unacceptable pairs are queried again without them.
    7. *Assemble*: acceptable pairs (with prices: those that beat
       ``u_i + v_j``) become three CSR matrices over one pattern.

    Memory: the dense block is at most ``max_block_bytes`` (``chunk_size``
    rows x SMEs x 4 bytes), plus about twice that for masks and temporaries,
    plus the output (about 3 x 16 bytes per kept pair). Nothing of size
    students x SMEs is ever held.

    Parameters
    ----------
    model : MatchModel
        Fitted.
    k : int
        List length per student (>= 1).
    by : {"combined", "student", "sme"}
        Score that ranks the lists. ``"student"`` gives lists that are
        exact prefixes of the student's preference order (what deferred
        acceptance needs).
    exclude : pairs, optional
        (student, SME) index pairs never returned.
    include : pairs, optional
        Pairs added whatever their rank (if acceptable and not excluded).
    students : array-like of int, optional
        Compute lists only for these students (others get empty rows).
    sme_mask : array-like of bool, optional
        Only SMEs flagged True are considered.
    sme_side : bool
        Also add each SME's top-k students (by the same score): the union
        helps ``optimal`` reach the global optimum.
    sme_floor : ndarray of float, shape (SMEs,), optional
        Keep only pairs the SME would accept now in deferred acceptance:
        ``sme_view >= sme_floor[j]`` (lenient by 1e-5: an extra proposal
        is harmless, a missed one is not).
    prices : (u, v) of float arrays, shapes (students,) and (SMEs,), optional
        Keep only pairs whose combined score beats ``u[i] + v[j]`` (by
        more than 1e-9), ranked by how much: the pairs that violate a dual
        solution of ``optimal`` on the current lists (column generation;
        see ``matching.pipeline``). Use with ``by="combined"``.
    chunk_size : int, optional
        Students per block; default from ``max_block_bytes``.
    max_block_bytes : int
        Memory bound for one dense block.
    reserve : int
        With ``by="student"`` (no floor, prices or SME side): also keep the
        next ``reserve`` SMEs of each student, unscored (``Candidates.reserve``).
    exclude_keys : ndarray of int, optional
        More excluded pairs, as sorted unique keys ``student * SMEs + SME``
        (list growth's listed pairs: millions of them at 100,000 x 30,000,
        where the pair arrays and their copies were 40 bytes a pair more
        during the pass).

    Returns
    -------
    Candidates
    """
    if k < 1:
        raise ValueError("k must be >= 1")
    if reserve and (by != "student" or sme_side or sme_floor is not None or prices is not None):
        raise ValueError("a reserve is for plain student-ranked lists")
    n, m = model.n_students_, model.n_smes_
    # 1. scope
    rows_all = (
        np.arange(n, dtype=np.int64)
        if students is None
        else np.unique(np.asarray(students, dtype=np.int64))
    )
    cols = np.arange(m, dtype=np.int64)
    if sme_mask is not None:
        cols = cols[np.asarray(sme_mask, dtype=bool)]
    # 2. exclusions
    ex_i, ex_j = as_pairs(exclude, n, m)
    excluded_keys = sorted_unique(ex_i * max(m, 1) + ex_j)
    if exclude_keys is not None and exclude_keys.size:
        excluded_keys = (
            sorted_unique(np.concatenate([excluded_keys, exclude_keys]))
            if excluded_keys.size
            else np.asarray(exclude_keys, dtype=np.int64)
        )
    # 3. top-k pass
    got_i: list[IntArray] = []
    got_j: list[IntArray] = []
    cutoff = np.full(n, -np.inf)  # per student: exact score a listed pair must reach
    complete = np.zeros(n, bool)
    if rows_all.size and not cols.size:
        complete[rows_all] = True
    res_parts: list[tuple[int, npt.NDArray[np.int32], npt.NDArray[np.int32]]] = []
    res_cutoff = np.full(n, -np.inf)
    pool_keys = np.zeros(0, np.int64)  # the SME-side union's pairs
    if rows_all.size and cols.size:
        query = TopKPass(
            model,
            k,
            by,
            rows_all,
            cols,
            excluded_keys,
            sme_side=sme_side,
            sme_floor=sme_floor,
            prices=prices,
            chunk_size=chunk_size,
            max_block_bytes=max_block_bytes,
            reserve=reserve,
        )
        got_i, got_j = query.run()
        if sme_side:
            pool_keys = got_i[-1] * max(m, 1) + got_j[-1]
        cutoff = query.cutoff
        complete = query.complete
        res_parts = query.reserve_parts
        res_cutoff = query.reserve_cutoff
    # 4. union
    in_i, in_j = as_pairs(include, n, m)
    got_i.append(in_i)
    got_j.append(in_j)
    # (_union empties the part lists: they are list-sized, 5 M pairs at 100,000 x 30,000)
    gi, gj = _union(got_i, got_j, excluded_keys, m, sme_side or in_i.size > 0, in_i.size > 0)
    # 5. exact scores
    comb, stu, sme, okp = model.shortlist_scores(gi, gj)
    # 6. ask again
    if prices is not None and not okp.all():
        # The float32 ranking knows the TOPIK rule but not every acceptability
        # rule, so an unacceptable pair can take a top-k place and hide an
        # acceptable pair that prices above u + v. Column generation stops when
        # nothing is found, which would then be too early.
        again = np.unique(gi[~okp])
        shown = np.isin(gi, again)
        # (the pairs only here: as keys they are 8 bytes a pair, as pairs 16
        # more, and list growth excludes millions of listed pairs)
        ex_i, ex_j = np.divmod(excluded_keys, max(m, 1))
        more = candidates(
            model,
            k,
            by=by,
            exclude=np.column_stack(
                [np.concatenate([ex_i, gi[shown]]), np.concatenate([ex_j, gj[shown]])]
            ),
            students=again,
            sme_mask=sme_mask,
            prices=prices,
            chunk_size=chunk_size,
            max_block_bytes=max_block_bytes,
        )
        extra = sp.coo_array(more.combined)
        if extra.nnz:
            xi, xj = extra.row.astype(np.int64), extra.col.astype(np.int64)
            xc, xs, xm, xok = model.shortlist_scores(xi, xj)
            gi, gj = np.concatenate([gi, xi]), np.concatenate([gj, xj])
            comb, stu, sme = (np.concatenate(p) for p in ((comb, xc), (stu, xs), (sme, xm)))
            okp = np.concatenate([okp, xok])
            order = np.argsort(gi * max(m, 1) + gj, kind="stable")  # CSR wants row order
            gi, gj, okp = gi[order], gj[order], okp[order]
            comb, stu, sme = comb[order], stu[order], sme[order]
    # 7. assemble
    kept: Reserve | None = None
    if by == "student":
        below = stu < cutoff[gi]
        if sme_side and pool_keys.size:
            # The lists' near-ties below their k-th score are trimmed as
            # without the union (they are not an SME's top k); pooled
            # pairs stay.
            below &= ~np.isin(gi * max(m, 1) + gj, pool_keys)
        if reserve:  # near-ties of the k-th score below it belong to the reserve
            tie = okp & below
            kept = _reserve(n, res_parts, gi[tie], gj[tie], res_cutoff)
            del tie
        okp &= ~below
    if prices is not None:
        u = np.asarray(prices[0], dtype=np.float64)
        v = np.asarray(prices[1], dtype=np.float64)
        okp &= comb > u[gi] + v[gj] + 1e-9
    # one at a time, so that each array's old and new copies are not all held at once
    gi = gi[okp]
    gj = gj[okp]
    comb = comb[okp]
    stu = stu[okp]
    sme = sme[okp]
    del okp
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(gi, minlength=n), out=indptr[1:])

    def csr(values: FloatArray) -> sp.csr_array:
        # The three matrices share one (sorted, canonical) pattern.
        out = sp.csr_array((values, gj, indptr), shape=(n, m), copy=False)
        out.has_canonical_format = True
        return out

    return Candidates(
        csr(comb), csr(stu), csr(sme), k, by, complete if by == "student" else None, kept
    )


def _reserve(
    n: int,
    parts: list[tuple[int, npt.NDArray[np.int32], npt.NDArray[np.int32]]],
    tie_i: IntArray,
    tie_j: IntArray,
    cutoff: FloatArray,
) -> Reserve:
    """The reserve in CSR layout: each student's entries from the pass, then their near-ties.

    ``parts`` are the pass's chunks (first row, students, SMEs as int32),
    each in row order and over its own range of rows (the list is emptied); ``tie_i``/``tie_j``
    the near-ties of the k-th score below it, in row order. The same
    layout a stable sort by student of everything gives, without the sort
    and its int64 copies: at 100,000 x 30,000 the reserve is 10 M pairs,
    and pair arrays, their concatenation, the sort's order and the sorted
    copy were the first pass's memory peak (about 400 MB at once).
    """
    ordered = sorted(parts, key=lambda part: part[0])  # workers finish in any order
    parts.clear()  # (emptied: the pass's parts are freed as soon as they are joined)
    a_i = np.concatenate([p[1] for p in ordered]) if ordered else np.zeros(0, np.int32)
    a_j = np.concatenate([p[2] for p in ordered]) if ordered else np.zeros(0, np.int32)
    del ordered
    rptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(a_i, minlength=n) + np.bincount(tie_i, minlength=n), out=rptr[1:])
    if not tie_i.size:
        return Reserve(rptr, a_j, cutoff)
    # each near-tie goes after its student's entries of the pass (and its earlier near-ties)
    at = np.searchsorted(a_i, tie_i, side="right") + np.arange(tie_i.size)
    del a_i
    is_tie = np.zeros(rptr[-1], dtype=bool)
    is_tie[at] = True
    sme = np.empty(rptr[-1], dtype=np.int32)
    sme[at] = tie_j
    sme[~is_tie] = a_j
    return Reserve(rptr, sme, cutoff)


def _union(
    parts_i: list[IntArray],
    parts_j: list[IntArray],
    excluded_keys: IntArray,
    m: int,
    may_repeat: bool,
    drop_excluded: bool,
) -> tuple[IntArray, IntArray]:
    """Pairs of several parts, sorted by (student, SME); included pairs may be excluded ones.

    Empties ``parts_i`` and ``parts_j`` as soon as they are read, and holds one
    array of keys at a time (memory: this runs on every listed pair).
    """
    key = np.concatenate(parts_i).astype(np.int64, copy=False) if parts_i else np.zeros(0, np.int64)
    parts_i.clear()
    key *= max(m, 1)
    if parts_j:
        key += np.concatenate(parts_j)
    parts_j.clear()
    if may_repeat:
        key = np.unique(key)
    else:
        key.sort()
    if excluded_keys.size and key.size and drop_excluded:
        key = key[~np.isin(key, excluded_keys)]
    si, sj = np.divmod(key, max(m, 1))
    return si, sj


class TopKPass:
    """Step 3 of ``candidates``: per-student top k, chunk by chunk, on all cores.

    Parameters
    ----------
    model : MatchModel
        Fitted.
    k : int
        List length.
    by : {"combined", "student", "sme"}
        Ranking score.
    rows_all : ndarray of int
        Students asked about (sorted).
    cols : ndarray of int
        SMEs allowed (sorted).
    excluded_keys : ndarray of int
        Sorted ``student * SMEs + sme`` keys never returned.
    sme_side, sme_floor, prices, chunk_size, max_block_bytes
        As in ``candidates``.
    """

    def __init__(
        self,
        model: MatchModel,
        k: int,
        by: str,
        rows_all: IntArray,
        cols: IntArray,
        excluded_keys: IntArray,
        *,
        sme_side: bool,
        sme_floor: FloatArray | None,
        prices: tuple[FloatArray, FloatArray] | None,
        chunk_size: int | None,
        max_block_bytes: int,
        reserve: int = 0,
    ) -> None:
        m = model.n_smes_
        self.m = m
        self.rows_all, self.cols, self.excluded_keys = rows_all, cols, excluded_keys
        # The first pass's blocks hold the SMEs with the selection's sample
        # first (``sample_first_order``): block column p is ``cols[order[p]]``.
        # Everything read by block column (the SMEs' rows, their bits, their
        # groups, ``col_pos``) follows that order; the selection hands back
        # positions in ``cols``.
        self.order: IntArray | None = None
        # A query whose prices put every acceptable pair above the floor (optimal mode's
        # first lists, ranked by ``score - v0_j``: ``u_i + v_j`` below any score) is a
        # ranking, not a pricing query: its rows are as full as a first pass's, so it is
        # selected as the first pass is (``topk_ranking``), from a sample-first block
        # of at least ``FIRST_PASS_MIN_ROWS`` students. At 100,000 x 30,000 the
        # selection was 11.7 s of the first lists' ~31 s CPU (about 400 survivors a row
        # tested and ranked), 6.9 s so (issue 14, session 14).
        self.ranked_by_price = (
            prices is not None
            and rows_all.size > 0
            and cols.size > 0
            and float(np.max(np.asarray(prices[0])[rows_all]))
            + float(np.max(np.asarray(prices[1])[cols]))
            < RANKED_BELOW
        )
        if SAMPLE_FIRST and (reserve or self.ranked_by_price):
            self.order = sample_first_order(cols.size, min(k + reserve, cols.size))
        block_cols = cols if self.order is None else cols[self.order]
        self.col_pos = np.full(m, -1, dtype=np.int64)
        self.col_pos[block_cols] = np.arange(cols.size)
        x, yt = model.ranking_matrices(by)
        self.x = x
        # (SMEs, features). With every SME allowed (``cols`` is then 0..m-1)
        # the ranking matrix's own rows, not a copy: a copy of them (4.6 MB at
        # 10,000 SMEs) was most of a small growth pass's fixed cost, and list
        # growth makes a pass per growth level per call (17 at 20,000 x 10,000).
        every_sme = cols.size == m
        self.y = np.ascontiguousarray(
            yt.T if every_sme and self.order is None else yt.T[block_cols]
        )
        # With a floor, the SME's view screens students before the ranking product.
        self.x_floor: Float32Array | None = None
        self.y_floor: Float32Array | None = None
        self.floor = np.zeros(0, dtype=np.float32)
        # Only SMEs with a finite floor can refuse anyone: an SME with a free
        # seat (floor -inf) takes part in the ranking product only. After the
        # first round of deferred acceptance about half the SMEs of a skewed
        # cohort still have a free seat.
        self.floor_at = np.zeros(0, dtype=np.int64)  # positions in cols
        if sme_floor is not None:
            floor = np.asarray(sme_floor, dtype=np.float64)[cols]
            self.floor_at = np.flatnonzero(floor > -np.inf)
            self.x_floor, yt_floor = model.ranking_matrices("sme")
            self.y_floor = np.ascontiguousarray(yt_floor.T[cols[self.floor_at]])
            self.floor = floor[self.floor_at].astype(np.float32) - np.float32(NEAR_TIE)
        # List growth (a floor, student-ranked, no prices, SME side or
        # reserve) reads the student view only where the SMEs would accept:
        # a dense product for the SMEs with a free seat, single dot products
        # for the few full SMEs that do not refuse (``_growth_chunk``).
        self.free_at = np.zeros(0, dtype=np.int64)  # positions in cols
        self.y_free = np.zeros((0, self.y.shape[1]), dtype=np.float32)
        self.sparse_growth = (
            sme_floor is not None and by == "student" and prices is None and not sme_side
        ) and not reserve
        self.free_pos = self.col_pos  # each SME's column in the free SMEs' block
        if self.sparse_growth:
            floored = np.zeros(cols.size, bool)
            floored[self.floor_at] = True
            self.free_at = np.flatnonzero(~floored)
            self.y_free = np.ascontiguousarray(self.y[self.free_at])
            self.free_pos = np.full(m, -1, dtype=np.int64)
            self.free_pos[cols[self.free_at]] = np.arange(self.free_at.size)
        self.priced = prices is not None
        self.student_price = np.zeros(0, dtype=np.float32)
        self.sme_price = np.zeros(0, dtype=np.float32)
        if prices is not None:
            self.student_price = np.asarray(prices[0], dtype=np.float32)
            self.sme_price = np.asarray(prices[1], dtype=np.float64)[block_cols].astype(np.float32)
        self.workers = workers()
        # Each worker holds one block (plus temporaries), so the bound is
        # split between them; small blocks also stay closer to cache. With
        # the SME-side union, chunks are larger so that each chunk's per-SME
        # top k is selective (k of many students, not of a few).
        target = max_block_bytes if sme_side else BLOCK_TARGET_BYTES
        if reserve or self.ranked_by_price:
            target = max(target, FIRST_PASS_MIN_ROWS * 4 * cols.size)
        per_block = max(1, min(max_block_bytes // self.workers, target))
        self.step = chunk_size or max(1, min(rows_all.size, per_block // (4 * cols.size)))
        if not chunk_size and not sme_side and rows_all.size >= MIN_SPLIT_ROWS * self.workers:
            # A query that fits one block still uses every core (1,000 x
            # 3,000 is one 12 MB block: one core did all of it).
            self.step = min(self.step, -(-rows_all.size // self.workers))
        self.k = k
        self.list_length = min(k, cols.size)
        # With a reserve, one top-(k + reserve) pass; the first k (and
        # their near-ties) make the list, the rest the reserve.
        self.reserve_length = min(k + reserve, cols.size) if reserve else 0
        # (students, SMEs) per chunk; one append per chunk (workers run
        # chunks concurrently: two appends could interleave).
        self.reserve_parts: list[tuple[int, npt.NDArray[np.int32], npt.NDArray[np.int32]]] = []
        self.reserve_cutoff = np.full(model.n_students_, -np.inf)
        self.near_tie = NEAR_TIE if by == "student" else 0.0
        self.cutoff = np.full(model.n_students_, -np.inf)
        self.complete = np.zeros(model.n_students_, bool)
        # Pairs with no language and no market in common are unacceptable;
        # that is not linear, so a narrow second product (0/1 indicators of
        # languages and markets) masks them before the top k are chosen.
        self.bits_x = model.pair_bits_x_
        self.bits_y = np.ascontiguousarray(
            model.pair_bits_y_
            if every_sme and self.order is None
            else model.pair_bits_y_[block_cols]
        )
        self.blocked: tuple[IntArray, IntArray, npt.NDArray[np.bool_]] | None = None
        if model.blocked_table_.any() and not model.fold_blocked_:
            self.blocked = (
                model.student_group_,
                model.sme_group_[block_cols],
                model.blocked_table_,
            )
        self.pool: SmeTopK | None = SmeTopK(cols.size, k) if sme_side else None
        # List growth: per chunk, a bound on each full SME's view of the
        # chunk's students (``_full_sme_bounds``), the students grouped first.
        self.bounds: Float32Array | None = None
        # (not for a pass of one chunk: the order and the bounds' fixed cost,
        # 3-6 ms on the main thread at 20,000 x 10,000, is more than they save
        # in such a product. The test was ``rows >= step``, true for every
        # pass: 8 of 17 growth passes there had 1-29 students; issue 14,
        # session 11)
        if (
            PRUNE_FULL_SMES
            and self.floor_at.size
            and rows_all.size > self.step
            and not (reserve or sme_side or self.priced)
        ):
            self.rows_all, self.bounds = self._full_sme_bounds()

    def _full_sme_bounds(self) -> tuple[IntArray, Float32Array]:
        """The students in chunks of similar ones, and per chunk a bound on each full SME's view.

        A growth pass proves that full SMEs refuse its students by the SME
        view of every (student, full SME) pair, yet in a chunk of 139
        students at 100,000 x 30,000 only about a fifth of the full SMEs
        accept anyone (their cutoffs are their worst holders', and the
        students grown are the ones others displaced). For a chunk, ``x_i .
        y_j <= sum_c max(x_ic y_jc)`` over its students ``i`` is at most
        ``sum_c max(y_jc hi_c, y_jc lo_c)`` with ``hi``, ``lo`` the chunk's
        column maxima and minima (a "box" bound: one narrow product for
        all chunks); an SME whose bound is below its floor refuses the whole
        chunk and is left out of the chunk's product. The bound is loose when
        a chunk mixes students strong in different columns (a language, a
        market), so the students are first sorted by their strongest
        columns, weighted by the full SMEs' mean weight on them (the signed
        columns, the text embedding, do not count): the full SMEs left in
        a chunk's product fall from ~92 % (students in index order) to about
        half. Each chunk's students stay in index order; which chunk a
        student is in changes nothing of their result (a block product's
        rows do not depend on each other).

        Returns
        -------
        rows : ndarray of int
            ``rows_all`` reordered, chunk by chunk (``step`` long).
        bounds : ndarray of float32, shape (chunks, full SMEs)
        """
        assert self.x_floor is not None and self.y_floor is not None
        y = self.y_floor
        xr = self.x_floor[self.rows_all]
        # (reductions, not elementwise temporaries of the full SMEs' matrix:
        # this runs on the main thread once per pass)
        signed = y.min(axis=0) < 0
        weight = y.mean(axis=0)  # the other columns are >= 0
        weight[signed] = 0
        strength = xr * weight
        keys = []
        every = np.arange(xr.shape[0])
        for _ in range(min(GROUP_COLUMNS, xr.shape[1])):
            top = strength.argmax(axis=1)
            keys.append(top)
            strength[every, top] = -np.inf
        del strength
        # First of all by the penalties they carry (negative columns of the
        # students' side only: the TOPIK levels they fall short of), so that
        # an SME asking more Korean than anyone in a chunk has is refused by
        # its bound (the kept share at 100,000 x 30,000: 53 -> 47 %).
        keys.reverse()  # (``lexsort`` sorts by its last key first)
        penalised = np.flatnonzero((xr < 0).any(axis=0) & ~signed)[:62]
        if penalised.size:
            bit = np.int64(1) << np.arange(penalised.size, dtype=np.int64)
            keys.append((xr[:, penalised] < 0).astype(np.int64) @ bit)
        order = np.lexsort(keys) if keys else every
        rows = self.rows_all[order]
        xr = xr[order]
        starts = np.arange(0, rows.size, self.step)
        hi = np.maximum.reduceat(xr, starts, axis=0)
        lo = np.minimum.reduceat(xr, starts, axis=0)
        del xr
        bounds: Float32Array = hi @ y.T
        at = np.flatnonzero(signed)
        if at.size:
            bounds += (lo[:, at] - hi[:, at]) @ np.minimum(y[:, at], 0).T
        # each chunk's students in index order (excluded pairs are found by a search)
        rows = rows[np.lexsort((rows, every // self.step))]
        return rows, bounds

    def run(self) -> tuple[list[IntArray], list[IntArray]]:
        """Run every chunk; return the kept (students, SMEs) parts.

        Returns
        -------
        parts_i, parts_j : lists of ndarray of int
        """
        got_i: list[IntArray] = []
        got_j: list[IntArray] = []
        starts = range(0, self.rows_all.size, self.step)

        def collect(results: Iterable[tuple[IntArray, IntArray, PoolPart | None]]) -> None:
            # In chunk order, as results arrive: the SME-side pool's cutoffs
            # rise while later chunks are still being computed.
            for ri, rj, part in results:
                got_i.append(ri)
                got_j.append(rj)
                if self.pool is not None and part is not None:
                    self.pool.push(part)

        if self.workers > 1 and len(starts) > 1:
            # numpy and BLAS release the GIL: chunks run on all cores, BLAS
            # single-threaded inside each (the limit is the process's);
            # results come in order. The process's kept threads, not a pool
            # made per pass (its threads started 6-11 ms apart).
            with blas_single_thread():
                collect(ordered_map(self.chunk, starts, self.workers))
        else:
            # BLAS on one thread here too: OpenBLAS's own threads on the small
            # products of a pass of a few students (list growth's last passes)
            # cost several times the CPU of one thread (13 students x 8,200
            # SMEs: 8 ms against 1 ms, on a loaded machine).
            with blas_single_thread():
                collect(self.chunk(a0) for a0 in starts)
        if self.pool is not None:
            pool_i, pool_j = self.pool.result()
            got_i.append(pool_i)
            got_j.append(self.cols[pool_j])
        return got_i, got_j

    def chunk(self, start: int) -> tuple[IntArray, IntArray, PoolPart | None]:
        """Top k of the students ``rows_all[start : start + step]``.

        Parameters
        ----------
        start : int

        Returns
        -------
        students, smes : ndarray of int
            The kept pairs.
        part : PoolPart or None
            This chunk's per-SME top k (with ``sme_side``).
        """
        rows = self.rows_all[start : start + self.step]
        block: Float32Array
        if self.x_floor is not None and self.y_floor is not None and self.floor_at.size:
            # SME view first: students no SME would accept now are dropped
            # before the (student-view) product is made. The few pairs the
            # full SMEs accept (1-2 % in list growth) are read as flat
            # positions of one comparison: the refusal matrix, its negation
            # and a 2-D ``nonzero`` over it were 2 ns a pair, a fifth of
            # list growth's CPU at 100,000 x 30,000 (2.4 G pairs); a
            # refusal matrix is made only for a dense chunk below.
            width = self.floor_at.size
            y_floor, floor = self.y_floor, self.floor
            kept: IntArray | None = None  # the full SMEs not refusing the whole chunk by bound
            if self.bounds is not None:
                at = np.flatnonzero(self.bounds[start // self.step] >= floor - BOUND_MARGIN)
                if at.size < width:
                    kept = at
                    y_floor, floor = np.take(y_floor, at, axis=0), floor[at]
            view = self.x_floor[rows] @ y_floor.T
            flat = np.flatnonzero(view >= floor[None, :])
            acc_r = flat // max(view.shape[1], 1)
            acc_f = flat - acc_r * view.shape[1]
            del flat
            if kept is not None:
                acc_f = kept[acc_f]
            every = width == self.cols.size
            live: BoolArray | None = None
            if every:
                live = np.zeros(rows.size, bool)
                live[acc_r] = True
                if live.all():
                    live = None
                else:
                    self.complete[rows[~live]] = True  # nobody takes them now
                    rows = rows[live]
                    acc_r = (np.cumsum(live) - 1)[acc_r]
                if rows.size == 0:
                    return rows, rows, None
            if self.sparse_growth and SPARSE_GROWTH_SHARE * rows.size * width > acc_r.size:
                del view
                return self._growth_chunk(rows, acc_r, acc_f)
            del acc_r, acc_f
            refused = view < floor[None, :]
            del view
            if kept is not None:
                every_refuses = np.ones((refused.shape[0], width), bool)
                every_refuses[:, kept] = refused
                refused = every_refuses
                del every_refuses
            if live is not None:
                refused = refused[live]
            block = self.x[rows] @ self.y.T
            # Refusals are written into the block, not tested lazily like
            # the language/market mask: a student being grown is refused by
            # most of their best SMEs, so a lazy test would see nearly every
            # entry of their row (measured at 100,000 x 30,000: no gain in
            # CPU, a higher memory peak).
            if every:
                block[refused] = UNACCEPTABLE
            else:
                screened = block[:, self.floor_at]
                screened[refused] = UNACCEPTABLE
                block[:, self.floor_at] = screened
                del screened
            del refused
        else:
            block = self.x[rows] @ self.y.T
        mask: CommonMask | None = CommonMask(self.bits_x[rows], self.bits_y)
        self._mask_excluded(block, rows)
        if self.pool is not None and mask is not None:
            # The SME-side pool reads whole columns: mask the block itself.
            np.putmask(block, ~mask.rows(np.arange(rows.size)), UNACCEPTABLE)
            mask = None
        if self.blocked is not None:
            # Too many student groups to fold into the product: mask by group.
            s_group, m_group, table = self.blocked
            block[table[s_group[rows]][:, m_group]] = UNACCEPTABLE
        if self.priced:
            block -= self.student_price[rows][:, None]
            block -= self.sme_price[None, :]
        absent = -1e-4 if self.priced else UNACCEPTABLE / 2
        if self.reserve_length > self.list_length:
            return self._with_reserve(block, rows, absent, mask)
        if self.ranked_by_price:
            r_loc, c_loc = topk_ranking(block, self.list_length, absent, mask, self.order)
            return rows[r_loc], self.cols[c_loc], None
        if self.near_tie > 0:
            r_loc, c_loc, kth, v = topk_near_ties(
                block, self.list_length, absent, self.near_tie, mask
            )
            full = np.isfinite(kth)
            self.cutoff[rows[full]] = kth[full] - self.near_tie + FLOAT32_ERROR
            self.complete[rows[~full]] = True
            keep = v > absent
        else:
            r_loc, c_loc, kth = topk_rows(block, self.list_length, absent, 0.0, mask)
            keep = block[r_loc, c_loc] > absent  # with prices: a float32 screen, exact test later
        part = SmeTopK.part(block, rows, self.k, self.pool.tau) if self.pool is not None else None
        return rows[r_loc[keep]], self.cols[c_loc[keep]], part

    def _growth_chunk(
        self, rows: IntArray, lr: IntArray, lf: IntArray
    ) -> tuple[IntArray, IntArray, PoolPart | None]:
        """A list growth chunk where nearly every full SME refuses: the same result, sparsely.

        A student being grown is refused by nearly every full SME (99 % of
        the pairs of the growth passes at 33,000 x 10,000), yet the dense
        path computed, masked and scanned the student view of every pair.
        Here the student view is a dense product only against the SMEs with
        a free seat (their top k and near-ties, as ``topk_rows`` keeps
        them) and a single float32 dot product per pair a full SME does not
        refuse; the two are merged and each row's k-th value and near-ties
        read off the merged order. The kept set is the dense path's: every
        acceptable entry within ``near_tie`` of the row's k-th value, or the
        whole row when it has fewer than k (then the student is
        ``complete``).

        ``lr``, ``lf``: the pairs the full SMEs do not refuse, as positions
        in ``rows`` and in ``floor_at``, in row-major order.
        """
        absent = np.float32(UNACCEPTABLE / 2)
        nt = np.float32(self.near_tie)
        length = self.list_length
        # the full SMEs that would accept now: acceptable, not excluded
        lc = self.floor_at[lf]
        del lf
        ok = common(self.bits_x[rows[lr]], self.bits_y[lc])
        if self.excluded_keys.size:
            ok &= ~is_member(rows[lr] * self.m + self.cols[lc], self.excluded_keys)
        if self.blocked is not None:
            s_group, m_group, table = self.blocked
            ok &= ~table[s_group[rows[lr]], m_group[lc]]
        lr, lc = lr[ok], lc[ok]
        xr = self.x[rows]
        lv = row_dots(xr, lr, self.y, lc)
        keep = lv > absent
        parts_r, parts_c, parts_v = [lr[keep]], [lc[keep]], [lv[keep]]
        if self.free_at.size:
            block = xr @ self.y_free.T
            self._mask_excluded(block, rows, self.free_pos)
            if self.blocked is not None:
                s_group, m_group, table = self.blocked
                block[table[s_group[rows]][:, m_group[self.free_at]]] = UNACCEPTABLE
            mask = CommonMask(self.bits_x[rows], self.bits_y[self.free_at])
            fr, fc, _, fv = topk_near_ties(
                block, min(length, block.shape[1]), float(absent), self.near_tie, mask
            )
            keep = fv > absent
            parts_r.append(fr[keep])
            parts_c.append(self.free_at[fc[keep]])
            parts_v.append(fv[keep])
            del block
        # Sorted by row, best first: one packed-key sort (ties of equal value
        # may come in any order: only the k-th value and the kept set count)
        r, c, v = _sorted_by_row_descending(
            np.concatenate(parts_r),
            np.concatenate(parts_c),
            np.concatenate(parts_v),
            rows.size,
            self.cols.size,
        )
        count = np.bincount(r, minlength=rows.size)
        # as ``topk_rows``: with no more SMEs than the list is long, no k-th value
        big = count >= length if self.cols.size > length else np.zeros(rows.size, bool)
        start = np.cumsum(count) - count
        kth = np.full(rows.size, -np.inf, dtype=np.float32)
        kth[big] = v[start[big] + length - 1]
        keep = ~big[r] | (v >= kth[r] - nt)
        self.cutoff[rows[big]] = kth[big] - self.near_tie + FLOAT32_ERROR
        self.complete[rows[~big]] = True
        return rows[r[keep]], self.cols[c[keep]], None

    def _with_reserve(
        self, block: Float32Array, rows: IntArray, absent: float, mask: CommonMask | None
    ) -> tuple[IntArray, IntArray, PoolPart | None]:
        """The list and the reserve of a chunk from one top-(k + reserve) selection."""
        near_tie = np.float32(self.near_tie)
        r_loc, c_loc, kth, v = topk_near_ties(
            block, self.reserve_length, absent, self.near_tie, mask, self.order
        )
        ok = v > absent
        if not ok.all():  # (the selection keeps only entries above ``absent``)
            r_loc, c_loc, v = r_loc[ok], c_loc[ok], v[ok]
        full = np.isfinite(kth)
        self.reserve_cutoff[rows[full]] = kth[full] - self.near_tie + FLOAT32_ERROR
        # The k-th value of each row is among the survivors (they hold the
        # top k + reserve and their near-ties), which come sorted by row,
        # values descending.
        count = np.bincount(r_loc, minlength=rows.size)
        start = np.cumsum(count) - count
        has_k = count >= self.list_length
        kth_k = np.full(rows.size, -np.inf, dtype=np.float32)
        kth_k[has_k] = v[start[has_k] + self.list_length - 1]
        self.cutoff[rows[has_k]] = kth_k[has_k] - self.near_tie + FLOAT32_ERROR
        self.complete[rows[~has_k]] = True
        in_list = ~has_k[r_loc] | (v >= kth_k[r_loc] - near_tie)
        out = ~in_list
        # int32 (half the memory of a 10 M-pair reserve at 100,000 x 30,000),
        # tagged with the chunk's first row: workers finish in any order
        self.reserve_parts.append(
            (
                int(rows[0]) if rows.size else -1,
                rows[r_loc[out]].astype(np.int32),
                self.cols[c_loc[out]].astype(np.int32),
            )
        )
        return rows[r_loc[in_list]], self.cols[c_loc[in_list]], None

    def _mask_excluded(
        self, block: Float32Array, rows: IntArray, col_pos: IntArray | None = None
    ) -> None:
        """Excluded pairs of the block's rows become unacceptable.

        ``col_pos``: each SME's column in the block (-1: not in it); default
        the query's SMEs.
        """
        if col_pos is None:
            col_pos = self.col_pos
        keys = self.excluded_keys
        if not keys.size:
            return
        m = self.m
        # Each row's keys are one range of them. (Rows need not be neighbours:
        # a growth pass groups similar students into a chunk, whose first and
        # last rows then span nearly every student, and so every key.)
        lo = np.searchsorted(keys, rows * m)
        count = np.searchsorted(keys, (rows + 1) * m) - lo
        total = int(count.sum())
        if total == 0:
            return
        rpos = np.repeat(np.arange(rows.size), count)
        ec = keys[np.repeat(lo - (np.cumsum(count) - count), count) + np.arange(total)]
        ec -= rows[rpos] * m
        ok = col_pos[ec] >= 0
        block[rpos[ok], col_pos[ec[ok]]] = UNACCEPTABLE


#: Pairs gathered at a time by ``row_dots`` (the SMEs' rows: about 15 MB).
ROW_DOTS_STEP = 1 << 15
#: ... in pieces of whole runs starting within this many pairs of each other
#: (about 1 MB of SME rows at 115 features, plus the last run's): a piece is
#: gathered into one buffer, reused, that stays in the core's cache while its
#: runs are multiplied. The whole step's gathered rows (15 MB) went out to the
#: shared cache and were read back (issue 14, session 16: a growth pass at
#: 100,000 x 30,000, one core, ``row_dots`` 0.56-0.67 -> 0.37-0.39 s; the same
#: products on the same rows, so the same values).
ROW_DOTS_PIECE = 1 << 11


def row_dots(x: Float32Array, r: IntArray, y: Float32Array, c: IntArray) -> Float32Array:
    """``x[r[p]] . y[c[p]]`` for each pair ``p``, the pairs coming in runs of one row.

    List growth scores the few pairs a full SME does not refuse one by one
    (``TopKPass._growth_chunk``, ``pipeline._not_refused``), and they come
    student by student. So each run of a student's pairs is one BLAS
    matrix-vector product of the SMEs' gathered rows with the student's row:
    gathering the student's row again for every pair and summing the
    products with ``einsum`` took twice as long (measured on a growth pass
    at 100,000 x 30,000: 163 -> 76 ns a pair). Any order of pairs is
    correct; runs only make it fast. The sums round differently from an
    ``einsum``'s or the block product's, within ``FLOAT32_ERROR``.

    Parameters
    ----------
    x : ndarray of float32, shape (rows, features)
    r : ndarray of int
        Row of ``x`` of each pair.
    y : ndarray of float32, shape (columns, features), rows contiguous
    c : ndarray of int
        Row of ``y`` of each pair.

    Returns
    -------
    ndarray of float32, shape (pairs,)
    """
    out = np.empty(r.size, dtype=np.float32)
    buffer: Float32Array | None = None
    for a in range(0, r.size, ROW_DOTS_STEP):
        runs = r[a : a + ROW_DOTS_STEP]
        cols = c[a : a + ROW_DOTS_STEP]
        starts = np.flatnonzero(np.concatenate(([True], runs[1:] != runs[:-1])))
        ends = np.append(starts[1:], runs.size)
        # pieces: the runs starting in one window of ``ROW_DOTS_PIECE`` pairs
        first = np.flatnonzero(np.diff(starts // ROW_DOTS_PIECE, prepend=-1))
        last = np.append(first[1:], starts.size) - 1
        size = int((ends[last] - starts[first]).max())
        if buffer is None or buffer.shape[0] < size:
            buffer = np.empty((size, y.shape[1]), dtype=y.dtype)
        bounds = zip(starts.tolist(), ends.tolist(), strict=True)
        for p0, p1 in zip(starts[first].tolist(), ends[last].tolist(), strict=True):
            gathered = buffer[: p1 - p0]
            # ("clip": indices are valid; "raise" would gather into a temporary first)
            np.take(y, cols[p0:p1], axis=0, out=gathered, mode="clip")
            for start, end in bounds:
                np.matmul(
                    gathered[start - p0 : end - p0], x[runs[start]], out=out[a + start : a + end]
                )
                if end == p1:
                    break
    return out


def topk_rows(
    block: Float32Array,
    k: int,
    floor: float = -np.inf,
    near_tie: float = 0.0,
    mask: CommonMask | None = None,
) -> tuple[IntArray, IntArray, Float32Array]:
    """Top-k column positions per row; ties at the k-th value -> lower column.

    With ``near_tie > 0``, every entry within ``near_tie`` of the row's k-th
    value is kept instead (a superset of the top k that the caller trims
    with exact scores).

    A lower bound ``tau`` on each row's k-th largest value comes from a
    strided sample of the columns (the k-th largest of a subset can only be
    smaller), so one compare pass keeps a small superset (about ``k x
    stride`` per row). Rows with fewer than k entries above ``tau`` have
    ``tau`` as their k-th value; the others get their exact k-th value from a
    padded table of their survivors (or, for rare rows with very many, from a
    partition of the whole row). Then: everything above the k-th value, plus
    the lowest-index entries equal to it. Entries ``<= floor`` count as
    absent (a row may then return fewer than k): masked pairs are never tied
    through, which matters when most of a row is masked.

    With ``mask``, entries it rejects count as absent too; it is tested only
    on the sampled columns and on the entries above the sample's bound.
    With ``near_tie > 0`` the kept entries come sorted by row, largest value
    first (``_topk_near_ties``).

    Parameters
    ----------
    block : ndarray of float32, shape (rows, columns)
    k : int
    floor : float
    near_tie : float
    mask : CommonMask, optional

    Returns
    -------
    rows, columns : ndarray of int
        Positions of the kept entries.
    kth : ndarray of float32, shape (rows,)
        Each row's k-th value when the row has k entries above ``floor``,
        else ``-inf``.
    """
    r, col, kth, _ = _topk_rows(block, k, floor, near_tie, mask)
    return r, col, kth


def topk_ranking(
    block: Float32Array,
    k: int,
    floor: float,
    mask: CommonMask | None = None,
    order: IntArray | None = None,
) -> tuple[IntArray, IntArray]:
    """``topk_rows``' top k (``near_tie`` 0), by the near-tie selection, for full rows.

    The plain selection keeps every entry above its sample's bound (about ``k x
    stride`` a row: 400 of 30,000 at 100,000 x 30,000) and tests the mask and finds
    the k-th value among all of them; the near-tie selection proves a bound that
    about 1.5 k pass, can read a sample-first block (``order``, as
    ``topk_near_ties``) and returns each row's survivors sorted by value, best
    first, then by column. Whatever the near-tie (``RANKED_NEAR_TIE``: it only
    adds survivors below the k-th value), the first k of each row are exactly
    ``topk_rows``' (for values below 2**9 in magnitude): everything above
    the k-th value, then the lowest columns equal to it; entries at or below
    ``floor`` or masked never count. For rows full of acceptable entries (a ranking,
    not a pricing query: there most rows are thin and the near-tie selection masks
    them whole). Returns the kept entries' rows and columns (in the block's usual
    column order), sorted by row.
    """
    r, col, _, v = topk_near_ties(block, k, floor, RANKED_NEAR_TIE, mask, order)
    count = np.bincount(r, minlength=block.shape[0])
    rank = np.arange(r.size) - (np.cumsum(count) - count)[r]
    keep = (rank < k) & (v > block.dtype.type(floor))
    return r[keep], col[keep]


def topk_near_ties(
    block: Float32Array,
    k: int,
    floor: float,
    near_tie: float,
    mask: CommonMask | None = None,
    order: IntArray | None = None,
) -> tuple[IntArray, IntArray, Float32Array, Float32Array]:
    """``topk_rows`` with ``near_tie > 0``, plus the kept entries' values.

    The selection has each survivor's value in hand (it sorts by it), so the
    callers take it from here instead of gathering ``block[rows, columns]``
    again: a 2-D fancy index of every kept entry (about 3 M entries in the
    first pass at 20,000 x 10,000).

    ``order``: the block's columns are the columns ``order`` of the block
    the selection is about (``sample_first_order``: its sample first; the
    mask in the same order); the result is the one that block would give,
    in its columns.
    """
    if near_tie <= 0:
        raise ValueError("near_tie must be > 0")
    r, col, kth, v = _topk_rows(block, k, floor, near_tie, mask, order)
    assert v is not None
    return r, col, kth, v


def sample_stride(columns: int, k: int) -> int:
    """The selection's sample is every this many-th column of a block (``_topk_rows``)."""
    return max(1, min(8, columns // (4 * k))) if columns > k else 1


def sample_first_order(columns: int, k: int) -> IntArray | None:
    """Columns with the top-k selection's sample first: every ``stride``-th, then the rest.

    The selection's bounds are order statistics of a sample of every
    ``stride``-th column of each row; taking them from a block in the usual
    order copies that strided sample out of the whole block (every cache
    line of it: 3 of the 21 ms of a first-pass block's selection at 100,000
    x 30,000, issue 14, session 13). With the SMEs' rows multiplied in this
    order the sample is the block's first columns. A float32 product's
    entry does not depend on where its SME's row is when the block has a
    multiple of 4 rows (OpenBLAS's sgemm, checked bit for bit); with other
    row counts and an SME count that is not a multiple of 4, an entry in
    the block's last columns can differ by one ulp (session 14, fp14), so
    the values, the bounds and the lists are the same except where such an
    entry lies within an ulp of a bound. None when the selection takes no
    sample (stride 1).
    """
    stride = sample_stride(columns, k)
    if stride == 1:
        return None
    rest = np.ones(columns, dtype=bool)
    rest[::stride] = False
    return np.concatenate([np.arange(0, columns, stride), np.flatnonzero(rest)])


def _topk_rows(
    block: Float32Array,
    k: int,
    floor: float,
    near_tie: float,
    mask: CommonMask | None,
    order: IntArray | None = None,
) -> tuple[IntArray, IntArray, Float32Array, Float32Array | None]:
    """``topk_rows``; with ``near_tie > 0`` also the kept entries' values (else None).

    ``order``: as ``topk_near_ties``.
    """
    c, m = block.shape
    none = np.full(c, -np.inf, dtype=np.float32)
    if c == 0 or k <= 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, none, np.zeros(0, dtype=block.dtype) if near_tie > 0 else None
    floor32 = block.dtype.type(floor)
    stride = sample_stride(m, k)
    if order is not None:
        # (only a near-tie selection with a sample reads its block in that order)
        if near_tie <= 0 or stride == 1 or order.size != m:
            raise ValueError("a sample-first block needs near-ties and a sample")
        return _topk_near_ties(block, k, floor32, near_tie, mask, stride, order)
    if mask is not None and stride == 1:
        # The sample would be the whole block: mask it outright.
        np.putmask(block, ~mask.rows(np.arange(c)), block.dtype.type(-np.inf))
        mask = None
    if m <= k:
        flat = np.flatnonzero(block > floor32)
        r, col = np.divmod(flat.astype(np.int64), m)
        if near_tie > 0:  # sorted as ``_topk_near_ties`` returns them
            r, col, v = _sorted_by_row_descending(r, col, block.ravel()[flat], c, m)
            return r, col, none, v
        return r, col, none, None
    if near_tie > 0:
        # Student-ranked lists: a tighter bound than the sample's k-th value.
        return _topk_near_ties(block, k, floor32, near_tie, mask, stride)
    sub = block[:, ::stride] if stride > 1 else block
    if mask is not None:
        sub = np.where(mask.columns(stride), sub, block.dtype.type(-np.inf))
    ns = sub.shape[1]
    tau = np.partition(sub, ns - k, axis=1)[:, ns - k]
    if mask is not None:
        _mask_thin_rows(block, mask, _crowded_thin_rows(block, tau, floor32))
    np.maximum(tau, floor32, out=tau)
    flat = np.flatnonzero(block > tau[:, None])
    r = flat // m
    col = flat - r * m
    if mask is not None:
        ok = mask.at(r, col)
        flat, r, col = flat[ok], r[ok], col[ok]
    v = block.ravel()[flat]
    count = np.bincount(r, minlength=c)
    out_r: list[IntArray] = []
    out_c: list[IntArray] = []
    # Rows with fewer than k above tau: the k-th value is tau itself (ties
    # taken below), unless tau is the floor (the row simply has fewer).
    short = np.flatnonzero((count < k) & (tau > floor32))
    if short.size:
        need = k - count[short]
        er, ec = np.nonzero(block[short] == tau[short, None])
        if mask is not None:
            ok = mask.at(short[er], ec)
            er, ec = er[ok], ec[ok]
        first = np.searchsorted(er, er, side="left")
        take = (np.arange(er.size) - first) < need[er]
        out_r.append(short[er[take]].astype(np.int64))
        out_c.append(ec[take].astype(np.int64))
    big = count >= k
    if big.any():
        vk = _kth_values(block, k, r, v, count, big, mask)
        vkr = vk[r]
        above = v > vkr
        tie = v == vkr
        n_above = np.bincount(r[above], minlength=c)
        # rank of each tie within its row, in column order
        tie_idx = np.flatnonzero(tie)
        keep = above | ~big[r]
        if tie_idx.size:
            tr = r[tie_idx]
            first = np.searchsorted(tr, tr, side="left")
            rank = np.arange(tie_idx.size) - first
            ok = rank < (k - n_above[tr])
            keep[tie_idx[ok]] = True
        out_r.append(r[keep])
        out_c.append(col[keep])
    else:
        out_r.append(r)
        out_c.append(col)
    return np.concatenate(out_r), np.concatenate(out_c), none, None


def _topk_near_ties(
    block: Float32Array,
    k: int,
    floor32: np.float32,
    near_tie: float,
    mask: CommonMask | None,
    stride: int,
    order: IntArray | None = None,
) -> tuple[IntArray, IntArray, Float32Array, Float32Array]:
    """``topk_rows`` with ``near_tie > 0``: the top k of each row and their near-ties.

    The k-th value of a sample of ``1 / stride`` of the columns bounds the
    row's k-th value from below, but about ``k x stride`` entries of the row
    pass it, and every later step (the mask, the k-th value, the caller's
    sorting) pays for each. So a second, higher bound is taken from the same
    sample (about 1.5 k entries of the row pass it) and *checked*: a row with
    at least k acceptable entries at or above it has its k-th value there,
    so nothing it would keep lies below. Rows where the check fails (few)
    are read again with the first bound. The result is exactly the set of
    entries above the first bound within ``near_tie`` of the k-th value, as
    with the first bound alone.

    Returns the kept entries sorted by row, largest value first, and their values.
    With ``order`` (``topk_near_ties``), the block holds the sample first and
    the columns are mapped back before the sort.
    """
    c, m = block.shape
    nt = block.dtype.type(near_tie)
    hi_rank = max(1, (3 * k) // (2 * stride))
    tau, t_hi = _sample_bounds(block, k, hi_rank, stride, mask, order is not None)
    if mask is not None:
        _mask_thin_rows(block, mask, tau <= floor32)
    tau -= nt
    np.maximum(tau, floor32, out=tau)
    lo = np.maximum(t_hi - nt, tau)
    flat, v = _entries_at_least(block, lo)
    r = flat // m
    col = flat - r * m
    ok = v > tau[r]  # the first bound's survivors are strictly above it
    if mask is not None:
        ok &= mask.at(r, col)
    r, col, v = r[ok], col[ok], v[ok]
    # Rows whose higher bound is not proven (fewer than k acceptable entries
    # at or above it) are read again from the first bound.
    tightened = lo > tau
    proven = np.bincount(r[v >= t_hi[r]], minlength=c) >= k
    again = np.flatnonzero(tightened & ~proven)
    if again.size:
        drop = np.zeros(c, bool)
        drop[again] = True
        keep = ~drop[r]
        r, col, v = r[keep], col[keep], v[keep]
        sub_block = block[again]
        flat2 = np.flatnonzero(sub_block > tau[again][:, None])
        r2 = again[flat2 // m]
        col2 = flat2 % m
        v2 = sub_block.ravel()[flat2]
        if mask is not None:
            ok2 = mask.at(r2, col2)
            r2, col2, v2 = r2[ok2], col2[ok2], v2[ok2]
        # Not put back in row order: the sort below orders by row, and a row's
        # entries all come from one of the two parts, in column order, which
        # is all it asks (the stable sort of every survivor was about 6 % of
        # the selection at 20,000 x 10,000).
        r = np.concatenate([r, r2])
        col = np.concatenate([col, col2])
        v = np.concatenate([v, v2])
    if order is not None:
        # Back to the columns in their usual order before the sort, so that
        # equal values go to the lower column as without the order (the
        # stable fallback sort also wants each row's entries in that order).
        col = order[col]
        if max(1, (c - 1).bit_length()) + max(1, (m - 1).bit_length()) > 32:
            by_col = np.lexsort((col, r))
            r, col, v = r[by_col], col[by_col], v[by_col]
    # Survivors are few now: sort them by row, best first, and read each
    # row's k-th value off the sorted order.
    r, col, v = _sorted_by_row_descending(r, col, v, c, m)
    count = np.bincount(r, minlength=c)
    # Every row with k entries above the floor has k survivors.
    big = count >= k
    start = np.cumsum(count) - count
    kth = np.full(c, -np.inf, dtype=block.dtype)
    kth[big] = v[start[big] + k - 1]
    keep = ~big[r] | (v >= kth[r] - nt)
    return r[keep], col[keep], kth, v[keep]


def _entries_at_least(block: Float32Array, lo: Float32Array) -> tuple[IntArray, Float32Array]:
    """Flat positions (row-major) and values of the entries with ``block[i, j] >= lo[i]``.

    The same as ``np.flatnonzero(block >= lo[:, None])`` and those entries'
    values, read in slabs of rows of about ``SELECTION_SLAB_BYTES``: the
    whole block's comparison wrote a boolean matrix a quarter of the block
    (7.7 MB at 256 x 30,000) to memory and read it back, and the
    survivors' values were then read from all over the block (a cache miss
    each). A slab's comparison and its survivors' values are read while the
    slab is in cache: 9.3 -> 8.5 ms of a first-pass block's 256 x 30,000
    at 100,000 x 30,000, the block just written by its product (one thread;
    a block read cold from memory: 13.9 -> 7.0 ms; issue 14, session 14).
    """
    c, m = block.shape
    rows = max(1, SELECTION_SLAB_BYTES // max(1, block.itemsize * m))
    if rows >= c:
        flat = np.flatnonzero(block >= lo[:, None])
        return flat, block.ravel()[flat]
    mask = np.empty((rows, m), dtype=bool)
    flats: list[IntArray] = []
    values: list[Float32Array] = []
    for a in range(0, c, rows):
        b = min(a + rows, c)
        slab = block[a:b]
        at = np.flatnonzero(np.greater_equal(slab, lo[a:b, None], out=mask[: b - a]))
        values.append(slab.ravel()[at])
        at += a * m
        flats.append(at)
    return np.concatenate(flats), np.concatenate(values)


#: ``_sample_bounds`` finds the entries of the sample that can hold a row's
#: k acceptable best from every ``SUBSAMPLE``-th entry of the sample.
SUBSAMPLE = 4


def _sample_bounds(
    block: Float32Array,
    k: int,
    hi_rank: int,
    stride: int,
    mask: CommonMask | None,
    first: bool = False,
) -> tuple[Float32Array, Float32Array]:
    """The k-th and ``hi_rank``-th largest acceptable values of each row's sample of columns.

    The sample is every ``stride``-th column; entries ``mask`` rejects count
    as ``-inf`` (a row with fewer acceptable entries gets ``-inf``). Masking
    the whole sample and partitioning it were 44 % of the first pass's
    selection at 100,000 x 30,000 (a bit test and a select per sampled
    entry, then a partition of the masked copy; issue 14, session 11): only
    the sample's largest entries can be a row's k best, so the mask is
    tested there. A
    threshold from every ``SUBSAMPLE``-th entry of the sample leaves about
    1.5 k entries of each row at or above it; if at least k of them are
    acceptable, the row's k (and ``hi_rank``) largest acceptable values are
    among them (every entry outside is below all of them), so their values
    are the whole sample's, exactly. Rows where that fails (too few
    acceptable there, or too many entries: a row of ties) are masked and
    partitioned whole, as before (3 % of the rows there). The first pass at
    100,000 x 30,000: 21.5 -> 20.3 s of CPU (medians of four, alternated),
    the same lists and reserve. Returns ``(tau, t_hi)``, ``t_hi == tau``
    when ``hi_rank >= k``. ``first``: the sample is the block's first
    columns (``sample_first_order``) instead of every ``stride``-th (the
    mask's columns in the block's order).
    """
    c, m = block.shape
    neg = block.dtype.type(-np.inf)
    ns = -(-m // stride)
    # (the sample-first block's sample is a view: its entries are read through the block)
    sub = block[:, :ns] if first else np.ascontiguousarray(block[:, ::stride])
    step = 1 if first else stride  # a sampled entry's column in the block
    tau = np.full(c, neg, dtype=block.dtype)
    t_hi = np.full(c, neg, dtype=block.dtype)
    # the threshold's rank in the subsample: about 1.5 k entries of the sample at or above it
    want = -(-(3 * k) // (2 * SUBSAMPLE))
    whole = np.ones(c, dtype=bool)  # rows partitioned whole (masked first)
    if mask is not None and ns // SUBSAMPLE > want and ns > 4 * k:
        sub2 = sub[:, ::SUBSAMPLE]
        t0 = np.partition(sub2, sub2.shape[1] - want, axis=1)[:, sub2.shape[1] - want]
        flat = np.flatnonzero(sub >= t0[:, None])
        r = flat // ns
        ok = mask.at(r, (flat - r * ns) * step)
        r = r[ok]
        # (an entry of the sample-first block's sample: ``r * m + position``)
        v = block.ravel()[flat[ok] + r * (m - ns)] if first else sub.ravel()[flat[ok]]
        del flat, ok
        count = np.bincount(r, minlength=c)
        # (at most 4 k entries a row in the table: a row of equal values goes whole)
        good = (count >= k) & (count <= 4 * k)
        keep = good[r]
        r, v = r[keep], v[keep]
        rows = np.flatnonzero(good)
        if rows.size:
            whole[rows] = False
            width = int(count[rows].max())
            slot = np.zeros(c, dtype=np.int64)
            slot[rows] = np.arange(rows.size)
            table = np.full((rows.size, width), neg, dtype=block.dtype)
            good_start = np.cumsum(count * good) - count * good
            table[slot[r], np.arange(r.size) - good_start[r]] = v
            tau[rows], t_hi[rows] = _largest(table, k, hi_rank)
    rows = np.flatnonzero(whole)
    if rows.size:
        part = sub if rows.size == c else sub[rows]
        if mask is not None:
            bits_y = mask.bits_y[:ns] if first else mask.bits_y[::stride]
            sampled = common_block(mask.bits_x[rows], bits_y)
            part = np.where(sampled, part, neg)
        tau[rows], t_hi[rows] = _largest(part, k, hi_rank)
    return tau, t_hi


def _largest(values: Float32Array, k: int, hi_rank: int) -> tuple[Float32Array, Float32Array]:
    """Each row's k-th and ``hi_rank``-th largest value (the k-th again if ``hi_rank >= k``)."""
    w = values.shape[1]
    part = np.partition(values, w - k, axis=1)
    kth = part[:, w - k]
    if hi_rank >= k:
        return kth, kth
    # the hi_rank-th largest is among the k above the partition point
    return kth, np.partition(part[:, w - k :], k - hi_rank, axis=1)[:, k - hi_rank]


def _mask_thin_rows(block: Float32Array, mask: CommonMask, thin: BoolArray) -> None:
    """Mask outright the rows whose sample has fewer than k acceptable entries.

    Their bound is the floor, so every entry of the row would pass it and
    be tested one by one (a student with few acceptable SMEs - often the
    ones list growth asks about - would cost a whole row of survivors).
    """
    rows = np.flatnonzero(thin)
    if rows.size:
        part = block[rows]
        np.putmask(part, ~mask.rows(rows), block.dtype.type(-np.inf))
        block[rows] = part


def _sorted_by_row_descending(
    r: IntArray, col: IntArray, v: Float32Array, rows: int, cols: int
) -> tuple[IntArray, IntArray, Float32Array]:
    """Entries sorted by row, then value descending, then column.

    ``r < rows`` and ``col < cols``; within a row the entries must come in
    column order (the rows themselves in any order), so that this is the
    order ``_by_row_descending`` (stable) gives. When row and column numbers
    fit in 32 bits together (any block ``candidates`` makes: at most
    ``max_block_bytes / 4`` entries), the row, the order-preserving bits of
    the value and the column are packed into one unique 64-bit key, sorted
    in place with numpy's vectorised sort and unpacked (the value's bits are
    restored exactly): no permutation, no gathers, and numpy's default sort
    is several times faster than a stable argsort (measured: 0.07 s instead
    of 0.27-0.5 s for 2 million entries).
    """
    col_bits = max(1, (cols - 1).bit_length())
    if max(1, (rows - 1).bit_length()) + col_bits > 32:
        order = _by_row_descending(r, v)
        return r[order], col[order], v[order]
    descending = _descending_bits(v)
    shift = np.uint64(32 + col_bits)
    key = r.astype(np.uint64) << shift
    key |= descending.astype(np.uint64) << np.uint64(col_bits)
    key |= col.astype(np.uint64)
    key.sort()
    r_out = (key >> shift).astype(np.int64)
    col_out = (key & np.uint64((1 << col_bits) - 1)).astype(np.int64)
    u = ~((key >> np.uint64(col_bits)).astype(np.uint32))  # bits ^ flip
    restored = np.where(u >> np.uint32(31), u ^ np.uint32(0x80000000), ~u)
    return r_out, col_out, restored.view(np.float32)


def _crowded_thin_rows(block: Float32Array, tau: Float32Array, floor32: np.float32) -> BoolArray:
    """The thin rows (sample bound at the floor) worth masking outright: many entries above it.

    Masking a row costs a bit test per column; testing only the entries that
    pass the floor (``CommonMask.at``, later) costs one per survivor. With an
    unselective floor (plain lists: everything acceptable by TOPIK passes) a
    thin row's survivors are most of the row, so masking it outright pays.
    In a pricing pass the floor is ``u_i + v_j`` and once prices are good a
    row has a handful of entries above it: masking every such row outright
    was two thirds of a pricing pass at 20,000 x 10,000 (issue 14). Which
    rows are masked does not change the result, only where the test is made.
    """
    rows = np.flatnonzero(tau <= floor32)
    crowded = np.zeros(tau.size, dtype=bool)
    if rows.size:
        part = block if rows.size == block.shape[0] else block[rows]
        many = np.count_nonzero(part > floor32, axis=1) > block.shape[1] // 4
        crowded[rows[many]] = True
    return crowded


def _descending_bits(v: Float32Array) -> npt.NDArray[np.uint32]:
    """float32 values as unsigned integers in descending order of the values, exactly.

    The order-preserving map (flip the sign bit of a positive number, every
    bit of a negative one), then every bit flipped so that a larger value
    sorts first; ``_sorted_by_row_descending`` inverts it.
    """
    bits = np.ascontiguousarray(v, dtype=np.float32).view(np.uint32)
    flip = np.where(bits >> np.uint32(31), np.uint32(0xFFFFFFFF), np.uint32(0x80000000))
    return np.asarray(~(bits ^ flip), dtype=np.uint32)


def _by_row_descending(r: IntArray, v: Float32Array) -> IntArray:
    """Order of entries by row, then value descending (one integer sort).

    The float32 values become order-preserving unsigned integers (sign bit
    flipped for positives, every bit for negatives) packed below the row:
    exact, and several times faster than ``np.lexsort`` on two keys.
    """
    descending = _descending_bits(v)
    key = (r.astype(np.uint64) << np.uint64(32)) | descending.astype(np.uint64)
    order: IntArray = np.argsort(key, kind="stable")
    return order


def _kth_values(
    block: Float32Array,
    k: int,
    r: IntArray,
    v: Float32Array,
    count: IntArray,
    big: npt.NDArray[np.bool_],
    mask: CommonMask | None = None,
) -> Float32Array:
    """Exact k-th largest value of the rows with at least k survivors (others: inf)."""
    c, m = block.shape
    vk = np.full(c, np.inf, dtype=block.dtype)
    width_cap = 16 * k
    heavy = np.flatnonzero(count > width_cap)
    if heavy.size:
        rows = block[heavy]
        if mask is not None:
            np.putmask(rows, ~mask.rows(heavy), block.dtype.type(-np.inf))
        vk[heavy] = np.partition(rows, m - k, axis=1)[:, m - k]
    norm = big & (count <= width_cap)
    if norm.any():
        starts = np.cumsum(count) - count
        sel = norm[r]
        rs = r[sel]
        pos = np.arange(r.size, dtype=np.int64)[sel] - starts[rs]
        idx = np.flatnonzero(norm)
        rowpos = np.zeros(c, dtype=np.int64)
        rowpos[idx] = np.arange(idx.size)
        width = int(count[idx].max())
        table = np.full((idx.size, width), -np.inf, dtype=block.dtype)
        table[rowpos[rs], pos] = v[sel]
        vk[idx] = np.partition(table, width - k, axis=1)[:, width - k]
    return vk


class SmeTopK:
    """Running top-k students per SME over chunks of students.

    Later chunks hold higher student indices, so a score equal to an SME's
    current k-th best never enters (ties go to the lower index).

    Parameters
    ----------
    m : int
        Number of SMEs (columns of the chunks).
    k : int
        Students kept per SME.
    """

    def __init__(self, m: int, k: int) -> None:
        self.m, self.k = m, k
        self.tau = np.full(m, -np.inf, dtype=np.float32)
        self.v: list[Float32Array] = []
        self.i: list[IntArray] = []
        self.j: list[IntArray] = []
        self.size = 0

    @staticmethod
    def part(block: Float32Array, rows: IntArray, k: int, tau: Float32Array) -> PoolPart:
        """Column-wise top-k of one chunk (bounded: k per SME).

        ``tau`` is the pool's running k-th best per SME as read when the chunk
        started: it only rises, so dropping what does not beat it is safe.

        Parameters
        ----------
        block : ndarray of float32, shape (rows, SMEs)
        rows : ndarray of int
            The students of the block's rows.
        k : int
        tau : ndarray of float32
            The pool's current cutoffs.

        Returns
        -------
        PoolPart
        """
        kk = min(k, block.shape[0])
        c_loc, r_loc, _ = topk_rows(np.ascontiguousarray(block.T), kk, UNACCEPTABLE / 2)
        v = block[r_loc, c_loc]
        ok = (v > UNACCEPTABLE / 2) & (v > tau[c_loc])
        return v[ok], rows[r_loc[ok]], c_loc[ok]

    def push(self, part: PoolPart) -> None:
        """Merge one chunk's part; chunks must come in increasing student order.

        Parameters
        ----------
        part : PoolPart
        """
        v, i, j = part
        keep = v > self.tau[j]
        self.v.append(v[keep])
        self.i.append(i[keep])
        self.j.append(j[keep])
        self.size += int(keep.sum())
        if self.size > 2 * self.k * self.m + (1 << 16):
            self._compact()  # raises tau, which later chunks filter with

    def _compact(self) -> None:
        v = np.concatenate(self.v)
        i = np.concatenate(self.i)
        j = np.concatenate(self.j)
        order = np.lexsort((i, -v, j))
        v, i, j = v[order], i[order], j[order]
        start = np.searchsorted(j, j, side="left")
        keep = (np.arange(j.size) - start) < self.k
        v, i, j = v[keep], i[keep], j[keep]
        full = np.bincount(j, minlength=self.m) >= self.k
        last = np.searchsorted(j, np.arange(self.m), side="right") - 1
        kth = v[np.maximum(last, 0)] if v.size else -np.inf
        self.tau = np.where(full, kth, -np.inf).astype(np.float32)
        self.v, self.i, self.j = [v], [i], [j]
        self.size = v.size

    def result(self) -> tuple[IntArray, IntArray]:
        """The pooled (students, SME positions).

        Returns
        -------
        students, sme_positions : ndarray of int
        """
        if not self.v:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        self._compact()
        return self.i[0].astype(np.int64), self.j[0].astype(np.int64)
