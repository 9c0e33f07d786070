"""One matching cycle, from profiles to proposed pairs with reasons.

This is the entry point the app's cycle calls. It works with the profiles'
``id``s; indices are internal. Profiles are sorted by id first, so the result
does not depend on the order the app passes them in.

``run`` prepares the cycle (``_prepare``: indices, capacities, locked and
excluded pairs), fits the model, then takes one of two paths: ``_run_stable``
(deferred acceptance on shortlists that grow on demand) or ``_run_optimal``
(the optimum on shortlists, extended by column generation until no pair
outside them could raise the total); ``_finish`` scores, counts blocking pairs
and explains the new pairs.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from . import assign, learning, metrics
from .eligibility import RuleTable, blocked_params, load_rules
from .explanations import Reason
from .model import MatchModel
from .profiles import SMEProfile, StudentProfile
from .shortlists import Candidates

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
#: Column generation rounds at most (each adds the best violating pairs per student).
MAX_PRICING_ROUNDS = 50
#: Optimal mode's full pricing pass also lists the pairs within this much of their price (scores
#: are in [0, 1]), so that the next rounds need to re-price only what moved (``_run_optimal``).
PRICING_MARGIN = 0.01
#: Stable mode keeps the next ``RESERVE_FACTOR x k`` SMEs of every student
#: from the first pass, unscored, for the students who run out of their list
#: (two thirds at 100,000 x 30,000): their first growth needs no new pass.
RESERVE_FACTOR = 2


@dataclass(frozen=True)
class ProposedPair:
    """A new pair proposed by the cycle."""

    student_id: int
    sme_id: int
    score: float
    student_view: float
    sme_view: float
    reasons: list[Reason] = field(default_factory=list)


@dataclass
class MatchResult:
    """What a cycle produced.

    Attributes
    ----------
    pairs : list of ProposedPair
        New pairs only (locked pairs are not repeated), sorted by student id.
    total_score : float
        Sum of the combined scores of the new pairs.
    placed_share : float
        Share of the given students placed after the cycle (new or locked).
    blocking_pairs : int
        Blocking pairs among the shortlisted pairs (see
        ``matching.metrics.blocking_pairs``); locked pairs count as pairs
        nobody leaves.
    n_students, n_smes : int
    timings : dict
        Seconds spent in ``fit``, ``candidates``, ``assign``, ``grow``, ``explain``
        (in optimal mode ``grow`` is the pricing passes); optimal mode also
        counts ``pricing_rounds`` and ``full_pricing_passes``.
    criteria : dict
        ``{"sme_view": ndarray (pairs, factors), "student_view": ...}``: the
        unweighted criterion values of each new pair (``pairs`` order,
        ``FACTORS`` columns), what ``matching.learning`` learns weights from.
    """

    pairs: list[ProposedPair]
    total_score: float
    placed_share: float
    blocking_pairs: int
    n_students: int
    n_smes: int
    timings: dict[str, float]
    criteria: dict[str, FloatArray] = field(default_factory=dict)


@dataclass
class _Cycle:
    """A cycle's inputs in index form (profiles sorted by id)."""

    students: list[StudentProfile]
    smes: list[SMEProfile]
    priority: npt.NDArray[np.bool_]
    capacity: IntArray  # seats per SME, before locked pairs
    free_capacity: IntArray  # seats left for new pairs
    assignment: IntArray  # locked pairs' SME per student, -1 elsewhere
    active: npt.NDArray[np.bool_]  # students who take part in this cycle's assignment
    excluded: IntArray  # (p, 2) declined pairs
    timings: dict[str, float] = field(default_factory=dict)


def _index(ids: list[int], what: str) -> dict[int, int]:
    pos = {v: i for i, v in enumerate(ids)}
    if len(pos) != len(ids):
        raise ValueError(f"duplicate {what} ids")
    return pos


def _merge(a: sp.csr_array, b: sp.csr_array) -> sp.csr_array:
    """Union of two CSR matrices with disjoint patterns, keeping stored zeros."""
    ca, cb = sp.coo_array(a), sp.coo_array(b)
    rows = np.concatenate([ca.row, cb.row]).astype(np.int64)
    cols = np.concatenate([ca.col, cb.col]).astype(np.int64)
    vals = np.concatenate([ca.data, cb.data])
    order = np.lexsort((cols, rows))
    indptr = np.zeros(a.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=a.shape[0]), out=indptr[1:])
    return sp.csr_array((vals[order], cols[order], indptr), shape=a.shape)


def _csr(rows: IntArray, cols: IntArray, vals: FloatArray, shape: tuple[int, int]) -> sp.csr_array:
    """CSR from entries in (row, column) order, explicit zeros kept."""
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    out = sp.csr_array((vals, cols, indptr), shape=shape)
    out.has_canonical_format = True
    return out


def run(
    students: Sequence[StudentProfile],
    smes: Sequence[SMEProfile],
    *,
    mode: Literal["stable", "optimal"] = "stable",
    weights: Mapping[str, Any] | None = None,
    k: int = 50,
    locked: Iterable[tuple[int, int]] = (),
    excluded: Iterable[tuple[int, int]] = (),
    priority: Iterable[int] = (),
    capacity_override: Mapping[int, int] | None = None,
    explain: bool = True,
    random_state: int = 0,
    rules: RuleTable | None = None,
) -> MatchResult:
    """Run one matching cycle.

    Parameters
    ----------
    students, smes : sequences of profiles
        Everyone taking part; order does not matter (sorted by id).
    mode : {"stable", "optimal"}
        ``"stable"``: student-proposing deferred acceptance, students rank
        SMEs by the student's view, SMEs rank students by the SME's view; no
        blocking pairs. ``"optimal"``: maximum total combined score.
    weights : mapping, optional
        Criterion weights (see ``MatchModel``): flat, or two-sided
        ``{"sme_view": {...}, "student_view": {...}}``.
    k : int
        Shortlist length per student. Lists grow for students left unmatched
        while an acceptable seat is free, so ``k`` trades speed, not quality,
        in stable mode.
    locked : iterable of (student_id, sme_id)
        Approved pairs: kept and using capacity. A locked pair whose student
        is not in ``students`` still uses its SME's capacity.
    excluded : iterable of (student_id, sme_id)
        Declined pairs: never proposed.
    priority : iterable of student_id
        Students unmatched last cycle: their SME view gets the model's
        ``priority_bonus`` (default 0.05 of the SME view), so SMEs rank them
        higher, in both modes.
    capacity_override : mapping sme_id -> int, optional
        Replaces ``SMEProfile.capacity`` (e.g. free seats left).
    explain : bool
        Build reasons for every new pair (the slowest part per pair).
    random_state : int
        Kept for compatibility (nothing is random).
    rules : RuleTable, optional
        Visa rules (``matching.eligibility.load_rules``); None = the table in
        force today. A pair they block is unacceptable: never proposed.

    Returns
    -------
    MatchResult
    """
    if mode not in ("stable", "optimal"):
        raise ValueError("mode must be 'stable' or 'optimal'")
    if k < 1:
        raise ValueError("k must be >= 1")
    cycle = _prepare(students, smes, locked, excluded, priority, capacity_override)
    t0 = time.perf_counter()
    model = MatchModel(weights=weights, random_state=random_state, rules=rules).fit(
        cycle.students, cycle.smes, priority=cycle.priority
    )
    cycle.timings["fit"] = time.perf_counter() - t0
    if mode == "stable":
        new, lists = _run_stable(model, cycle, k)
    else:
        new, lists = _run_optimal(model, cycle, k)
    return _finish(model, cycle, new, lists, explain)


def _prepare(
    students: Sequence[StudentProfile],
    smes: Sequence[SMEProfile],
    locked: Iterable[tuple[int, int]],
    excluded: Iterable[tuple[int, int]],
    priority: Iterable[int],
    capacity_override: Mapping[int, int] | None,
) -> _Cycle:
    """Sort by id, turn ids into indices, apply capacities and locked pairs."""
    st = sorted(students, key=lambda s: s.id)
    sm = sorted(smes, key=lambda s: s.id)
    sidx = _index([s.id for s in st], "student")
    midx = _index([s.id for s in sm], "SME")
    n = len(st)
    pri = np.zeros(n, bool)
    for sid in priority:
        if sid in sidx:
            pri[sidx[sid]] = True
    cap = np.array([s.capacity for s in sm], dtype=np.int64)
    if capacity_override:
        for mid, c in capacity_override.items():
            if mid in midx:
                cap[midx[mid]] = int(c)
    if (cap < 0).any():
        raise ValueError("capacity must be >= 0")
    locked_idx: list[tuple[int, int]] = []
    for sid, mid in locked:
        if mid not in midx:
            continue
        if sid in sidx:
            locked_idx.append((sidx[sid], midx[mid]))
        else:
            cap[midx[mid]] = max(cap[midx[mid]] - 1, 0)  # seat taken by someone not listed
    ex = [(sidx[a], midx[b]) for a, b in excluded if a in sidx and b in midx]
    assignment = np.full(n, -1, dtype=np.int64)
    free_cap = cap.copy()
    active = np.ones(n, bool)
    for i, j in locked_idx:
        if assignment[i] >= 0:
            raise ValueError("a student appears in more than one locked pair")
        assignment[i] = j
        free_cap[j] = max(free_cap[j] - 1, 0)
        active[i] = False
    ex_arr = np.asarray(ex, dtype=np.int64).reshape(-1, 2)
    return _Cycle(st, sm, pri, cap, free_cap, assignment, active, ex_arr)


def _run_stable(model: MatchModel, cycle: _Cycle, k: int) -> tuple[IntArray, Candidates]:
    """Deferred acceptance on student-ranked shortlists that grow on demand.

    Returns the new assignment and the initial lists (blocking pairs are
    counted on them).
    """
    timings, free_cap = cycle.timings, cycle.free_capacity
    t0 = time.perf_counter()
    lists = model.candidates(
        k,
        by="student",
        exclude=cycle.excluded,
        students=np.flatnonzero(cycle.active),
        sme_mask=free_cap > 0,
        reserve=RESERVE_FACTOR * k,
    )
    timings["candidates"] = time.perf_counter() - t0
    reserve = lists.reserve
    reserve_left = np.ones(len(cycle.students), dtype=bool)
    t0 = time.perf_counter()
    grown = np.zeros(len(cycle.students), dtype=np.int64)
    # A student whose last query returned every SME that passed its screens
    # (fewer than asked for) has nothing more to gain from a new query:
    # cutoffs only rise. Growing them anyway cost a pass over all SMEs per
    # student who cannot be placed, to prove what the last one showed.
    complete = (
        lists.complete.copy()
        if lists.complete is not None
        else np.zeros(len(cycle.students), dtype=bool)
    )
    grow_time = 0.0
    n_smes = max(len(cycle.smes), 1)
    n_students = len(cycle.students)

    def grow(
        who: IntArray, cutoff: FloatArray, listed_rows: IntArray, listed_cols: IntArray
    ) -> tuple[sp.csr_array, sp.csr_array]:
        # Geometric growth: a student's g-th extension has 2^g x 2k SMEs,
        # so a student rejected often needs few passes over all SMEs.
        nonlocal grow_time
        g0 = time.perf_counter()
        who = who[~complete[who]]
        out_s: sp.csr_array | None = None
        out_m: sp.csr_array | None = None
        if reserve is not None and who.size:
            # A student's first growth is their reserve: scored now, without
            # the SMEs that refuse them now (cutoffs only rise). Only if none
            # is left do they get a pass over all SMEs, below.
            first = who[reserve_left[who]]
            reserve_left[first] = False
            ri, rj = reserve.of(first)
            _, rs, rm, ok = model.shortlist_scores(ri, rj)
            ok &= (rs >= reserve.cutoff[ri]) & (rm >= cutoff[rj])
            ri, rj, rs, rm = ri[ok], rj[ok], rs[ok], rm[ok]
            # every acceptable SME is in list or reserve: nothing more to ask for
            complete[first[np.isneginf(reserve.cutoff[first])]] = True
            served = np.zeros(n_students, dtype=bool)
            served[ri] = True
            who = who[~served[who] & ~complete[who]]
            order = np.argsort(ri * max(n_smes, 1) + rj, kind="stable")
            ri, rj, rs, rm = ri[order], rj[order], rs[order], rm[order]
            out_s = _csr(ri, rj, rs, (n_students, len(cycle.smes)))
            out_m = _csr(ri, rj, rm, (n_students, len(cycle.smes)))
        if who.size == 0:
            grow_time += time.perf_counter() - g0
            if out_s is None or out_m is None:
                empty = sp.csr_array((n_students, len(cycle.smes)))
                return empty, empty
            return out_s, out_m
        skip = np.vstack([cycle.excluded, np.column_stack([listed_rows, listed_cols])])
        level = grown[who]
        for g in np.unique(level).tolist():
            length = min(k << min(g + 1, 30), n_smes)
            more = model.candidates(
                length,
                by="student",
                exclude=skip,
                students=who[level == g],
                sme_mask=free_cap > 0,
                sme_floor=cutoff,
            )
            if more.complete is not None:
                np.logical_or(complete, more.complete, out=complete)
            if out_s is None or out_m is None:
                out_s, out_m = more.student_view, more.sme_view
            else:
                out_s, out_m = _merge(out_s, more.student_view), _merge(out_m, more.sme_view)
        grown[who] += 1
        grow_time += time.perf_counter() - g0
        assert out_s is not None and out_m is not None
        return out_s, out_m

    new = assign.stable(
        lists.student_view, lists.sme_view, free_cap, active_students=cycle.active, grow=grow
    )
    timings["assign"] = time.perf_counter() - t0 - grow_time
    timings["grow"] = grow_time
    return new, lists


def _run_optimal(model: MatchModel, cycle: _Cycle, k: int) -> tuple[IntArray, Candidates]:
    """The optimum on combined-score shortlists, extended by column generation.

    Prices ``(u, v)`` prove the assignment optimal on the lists; any pair
    outside them scoring above ``u_i + v_j`` could raise the total, so such
    pairs join the lists and the optimum is re-solved (from scratch: OR-tools'
    solver gains nothing from the previous prices, see
    ``assign._solve_min_cost_flow``). When none is left the assignment is
    optimal over *all* acceptable pairs. (An unmatched student next to a free
    seat is such a pair: u = v = 0.)

    Most rounds do not look at every pair again. A *full* pricing pass (all
    students x all open SMEs) also adds the pairs within ``PRICING_MARGIN``
    of their price, so afterwards every pair still outside the lists scores
    at most ``u_i + v_j - PRICING_MARGIN`` at that pass's prices, except for
    the students who had ``k`` or more such pairs (*unbounded*). Prices move
    little between rounds: a pair (i, j) can only come to violate if ``u_i``
    or ``v_j`` fell by more than ``0.4 x PRICING_MARGIN`` since that pass (or
    i is unbounded). So the next rounds price only those students against
    all SMEs and all students against those SMEs; if neither finds a pair,
    the assignment is optimal over all pairs, by the same weak-duality
    argument. When more than a quarter of the students or SMEs moved, the
    round makes a full pass again.
    """
    timings, free_cap, active = cycle.timings, cycle.free_capacity, cycle.active
    todo = np.flatnonzero(active)
    open_smes = free_cap > 0
    t0 = time.perf_counter()
    lists = model.candidates(
        k,
        by="combined",
        exclude=cycle.excluded,
        students=todo,
        sme_mask=open_smes,
        sme_side=True,
    )
    timings["candidates"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    pricing_time = 0.0
    new = assign.optimal(lists.combined, free_cap, active_students=active)
    # the last full pass: its prices, and the students it could not bound
    ref: tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]] | None = None
    moved = 0.4 * PRICING_MARGIN
    rounds = full = 0
    for _ in range(MAX_PRICING_ROUNDS):
        u, v = assign.optimal_prices(lists.combined, free_cap, new, active_students=active)
        g0 = time.perf_counter()
        listed = sp.coo_array(lists.combined)
        skip = np.vstack([cycle.excluded, np.column_stack([listed.row, listed.col])])
        found: list[Candidates] = []
        if ref is not None:
            ref_u, ref_v, unbounded = ref
            fell_students = np.flatnonzero(active & ((u < ref_u - moved) | unbounded))
            fell_smes = open_smes & (v < ref_v - moved)
            if 4 * fell_students.size > todo.size or 4 * fell_smes.sum() > open_smes.sum():
                ref = None  # prices moved too much: price everything again
            else:
                if fell_students.size:
                    found.append(
                        model.candidates(
                            k,
                            by="combined",
                            exclude=skip,
                            students=fell_students,
                            sme_mask=open_smes,
                            prices=(u, v),
                        )
                    )
                if fell_smes.any():
                    found.append(
                        model.candidates(
                            k,
                            by="combined",
                            exclude=skip,
                            students=todo,
                            sme_mask=fell_smes,
                            prices=(u, v),
                        )
                    )
        if ref is None:
            full += 1
            near = model.candidates(
                k,
                by="combined",
                exclude=skip,
                students=todo,
                sme_mask=open_smes,
                prices=(u - PRICING_MARGIN, v),
            )
            ref = (u, v, np.diff(near.combined.indptr) >= k)
            hit = sp.coo_array(near.combined)
            if not (hit.data > u[hit.row] + v[hit.col] + 1e-9).any():
                found = []  # nothing beats its price: optimal over all pairs
            else:
                found = [near]  # the violating pairs, and the near ones that may soon be
        pricing_time += time.perf_counter() - g0
        rounds += 1
        more = [c for c in found if c.combined.nnz]
        if not more:
            break
        if len(more) == 2:  # the two restricted passes may find the same pair
            more = [_union_candidates(more[0], more[1])]
        lists = Candidates(
            _merge(lists.combined, more[0].combined),
            _merge(lists.student_view, more[0].student_view),
            _merge(lists.sme_view, more[0].sme_view),
            k,
            lists.by,
        )
        new = assign.optimal(lists.combined, free_cap, active_students=active)
    timings["assign"] = time.perf_counter() - t0 - pricing_time
    timings["grow"] = pricing_time
    timings["pricing_rounds"] = rounds
    timings["full_pricing_passes"] = full
    return new, lists


def _union_candidates(a: Candidates, b: Candidates) -> Candidates:
    """Pairs of either, once (both come from the same model, so shared pairs have equal values)."""
    ka = sp.coo_array(a.combined)
    kb = sp.coo_array(b.combined)
    m = a.combined.shape[1]
    keys_a = ka.row.astype(np.int64) * m + ka.col
    keys_b = kb.row.astype(np.int64) * m + kb.col
    only_b = ~np.isin(keys_b, keys_a)
    if only_b.all():
        pick: Any = slice(None)
    else:
        pick = only_b

    def part(x: sp.csr_array, y: sp.csr_array) -> sp.csr_array:
        yc = sp.coo_array(y)
        rows, cols, vals = yc.row[pick], yc.col[pick], yc.data[pick]
        extra = sp.csr_array((vals, (rows, cols)), shape=y.shape)
        return _merge(x, extra) if rows.size else x

    return Candidates(
        part(a.combined, b.combined),
        part(a.student_view, b.student_view),
        part(a.sme_view, b.sme_view),
        a.k,
        a.by,
    )


def _finish(
    model: MatchModel, cycle: _Cycle, new: IntArray, lists: Candidates, explain: bool
) -> MatchResult:
    """Score the new pairs, count blocking pairs, build reasons."""
    placed = np.flatnonzero(new >= 0)
    comb, stu, smev = model.score_pairs(placed, new[placed])
    full = cycle.assignment.copy()
    full[placed] = new[placed]
    # Count blocking pairs and let the lists go before the reasons are built
    # (memory: at 100k students the lists and the reasons are each ~10^8 bytes).
    bp = metrics.blocking_pairs(lists.student_view, lists.sme_view, cycle.capacity, full)
    del lists
    t0 = time.perf_counter()
    reasons = (
        model.explain_pairs(placed, new[placed]) if explain else [[] for _ in range(placed.size)]
    )
    st, sm = cycle.students, cycle.smes
    pairs = [
        ProposedPair(st[i].id, sm[j].id, c, a, b, r)
        for i, j, c, a, b, r in zip(
            placed.tolist(),
            new[placed].tolist(),
            comb.tolist(),
            stu.tolist(),
            smev.tolist(),
            reasons,
            strict=True,
        )
    ]
    cycle.timings["explain"] = time.perf_counter() - t0
    criteria = learning.criterion_values(model, placed, new[placed])
    return MatchResult(
        pairs=pairs,
        total_score=float(comb.sum()),
        placed_share=metrics.placed_share(full),
        blocking_pairs=bp,
        n_students=len(st),
        n_smes=len(sm),
        timings=cycle.timings,
        criteria=criteria,
    )


@dataclass(frozen=True)
class PairCheck:
    """Everything about one pair, proposed or not.

    Attributes
    ----------
    acceptable : bool
        Whether a cycle could propose it (no block code).
    score, student_view, sme_view : float
        As a cycle scores it (the same value: scores do not depend on the pool).
    reasons : tuple of Reason
        As a cycle's reasons for it.
    blocked : tuple of str
        Codes of ``BLOCK_CODES`` that make it unacceptable, sorted.
    blocked_params : mapping
        Code -> its parameters (e.g. ``{"visa.hours": {"hours_needed": 20,
        "max_hours": 10}}``).
    rules_version : str
        The visa rule table applied.
    """

    acceptable: bool
    score: float
    student_view: float
    sme_view: float
    reasons: tuple[Reason, ...]
    blocked: tuple[str, ...]
    blocked_params: Mapping[str, Mapping[str, Any]]
    rules_version: str


def check_pair(
    student: StudentProfile,
    sme: SMEProfile,
    *,
    weights: Mapping[str, Any] | None = None,
    rules: RuleTable | None = None,
    declined_before: bool = False,
    priority: bool = False,
) -> PairCheck:
    """Score, explain and check one pair ("why not?" for coordinators).

    Parameters
    ----------
    student : StudentProfile
    sme : SMEProfile
    weights : mapping, optional
        As for ``run``.
    rules : RuleTable, optional
        None = the table in force today.
    declined_before : bool
        One side declined this pair (adds ``declined_before``).
    priority : bool
        The student was unmatched last cycle (as ``run``'s ``priority``).

    Returns
    -------
    PairCheck
        ``acceptable`` agrees with ``run`` (a pair is proposable iff nothing
        blocks it) and ``score`` equals the cycle's score for the pair.
    """
    table = rules if rules is not None else load_rules()
    model = MatchModel(weights=weights, rules=table).fit(
        [student], [sme], priority=np.array([priority])
    )
    comb, stu, smev, ok = model.shortlist_scores(np.zeros(1, np.int64), np.zeros(1, np.int64))
    codes = blocked_params(student, sme, table)
    if declined_before:
        codes["declined_before"] = {}
    codes = dict(sorted(codes.items()))
    if bool(ok[0]) != (not (codes.keys() - {"declined_before"})):
        raise AssertionError("eligibility and the model disagree about a pair")  # a bug, not input
    return PairCheck(
        acceptable=not codes,
        score=float(comb[0]),
        student_view=float(stu[0]),
        sme_view=float(smev[0]),
        reasons=tuple(model.explain(0, 0)),
        blocked=tuple(codes),
        blocked_params=MappingProxyType({k: MappingProxyType(v) for k, v in codes.items()}),
        rules_version=table.version,
    )


def explain_pair(
    student: StudentProfile, sme: SMEProfile, weights: Mapping[str, Any] | None = None
) -> tuple[float, float, float, list[Reason]]:
    """Score and explain one pair, e.g. for a coordinator's manual pairing.

    Scores do not depend on the pool (text included: the text embedding is
    fixed), so this is the pair's score in any cycle. ``check_pair`` also
    says whether the pair is acceptable and why not.

    Parameters
    ----------
    student : StudentProfile
    sme : SMEProfile
    weights : mapping, optional

    Returns
    -------
    score, student_view, sme_view : float
    reasons : list of Reason
    """
    model = MatchModel(weights=weights, random_state=0).fit([student], [sme])
    c, a, b = model.score_pairs([0], [0])
    return float(c[0]), float(a[0]), float(b[0]), model.explain(0, 0)
