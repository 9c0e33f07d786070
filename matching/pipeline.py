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

import multiprocessing
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from . import assign, learning, metrics, shortlists
from .compute import (
    blas_single_thread,
    chunks_inline,
    gc_paused,
    in_chunks,
    is_member,
    release_free_heap,
    settle_heap,
    small_pages,
    sorted_unique,
    workers,
)
from .eligibility import RuleTable, blocked_params, load_rules
from .explanations import EXPLAIN_STEP, Reason
from .model import MatchModel
from .profiles import SMEProfile, StudentProfile
from .shortlists import NEAR_TIE, Candidates, row_dots

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
#: Column generation rounds at most (each adds the best violating pairs per student).
MAX_PRICING_ROUNDS = 50
#: Optimal mode's full pricing pass also lists the pairs within this much of their price (scores
#: are in [0, 1]), so that the next rounds need to re-price only what moved (``_run_optimal``).
PRICING_MARGIN = 0.01
#: Optimal mode's re-solves get only the listed pairs within this much of their price at the
#: previous round's prices (sifting, ``_run_optimal``); pairs left out are checked afterwards.
#: 0.03, not 0.05 (issue 14, session 15): at 100,000 x 30,000 the second solve gets 1.18 instead
#: of 2.16 million arcs, still without a put-back (0.015 needs one), 5.7 instead of 7.3 s CPU
#: (three alternated pairs, same assignment); 20,000 x 10,000 keeps its 5 solves.
SIFT_MARGIN = 0.03
#: ... when a round added fewer pairs than this share of the lists (after a large addition the
#: old prices say little about the new optimum, and sifting would only solve twice). A fifth:
#: at 100,000 x 30,000 the fourth round adds 2.8 million pairs to 14.3 million (16 %), and two
#: sifted solves on 4.3 and 4.8 million arcs cost 16.6 s CPU against 25.0 s for one on all 17.1
#: million (same rounds and total); at 20,000 x 10,000 no round lies between 10 % and 20 %.
SIFT_BELOW = 0.2
#: After a round that added fewer pairs than this share of the lists, the solver first gets only
#: the sifted pairs within ``NEAR_MARGIN`` of the last prices; the result is checked against all
#: of them exactly (``assign.optimal_with_prices``' ``near``). Measured at 20,000 x 10,000: one
#: solve on 48,000 pairs instead of 335,000 in the last round; after a round adding 74,000 pairs
#: the old prices were too far off (7 solves instead of 2), hence only small additions.
NEAR_BELOW = 0.001
NEAR_MARGIN = 0.005
#: Optimal mode's pricing queries go in this many groups of students (by how many SMEs are cheap
#: enough for them to matter); more groups skip more of the product but repeat per-query work.
PRICING_GROUPS = 6
#: After a full pricing pass, later passes price only the pairs its proof no longer covers
#: (``_run_optimal``; the same pairs found, from a fraction of the products). False: the
#: students and SMEs whose price moved, against everyone (for tests that compare the two).
PRUNE_BY_LAST_PASS = True
#: Optimal mode on cohorts of at least this many students x SMEs, given no start prices, first
#: finds some: students and SMEs are dealt into ``START_PARTS`` parts by id order, each part is
#: solved on its own (a cohort with the same ratio of seats to students), and their SME prices
#: start the whole (``_prices_from_parts``). 100,000 x 30,000 is 3e9; 20,000 x 10,000 is 2e8,
#: where since the parts stop before their near solves (``PART_STOP_BELOW``) they cost about
#: the CPU they save the whole (7.5-8 s for four, the whole 7.3-7.8 s instead of 15-17 s, loaded)
#: but run on both cores, so the longest path is about two thirds as long (issue 14, session
#: 14). 1,000 x 3,000 (3e6) is far below. A part never splits into parts of its own (a part
#: of 100,000 x 30,000 is 1.875e8; one of 120,000 x 30,000 would be 2.25e8).
PARTS_FROM = 2e8
START_PARTS = 4
#: The parts run in this many forked processes at a time, each held to one CPU (a part's
#: solves are single-threaded); 1: one after another in this process.
PARTS_AT_ONCE = 2
#: A part (``_part_prices``) stops column generation once a round adds fewer pairs than this share
#: of its lists (``NEAR_BELOW``: where the near solves would start): its prices are then its last
#: solve's, the optimum over all but those few pairs, and only a start for the whole, which is
#: solved to its own optimum anyway. At 100,000 x 30,000 a part then makes 4 solves and 3
#: rounds instead of 9-11 and 6, and the whole the same 3 solves, 3 rounds and 1 full pass
#: (issue 14, session 13); stopping at a fifth (before the sifted solves) left the whole 12
#: solves and 3 full passes (125 s CPU against 56). 0: to the end.
PART_STOP_BELOW = 0.001
#: ... and a part whose round added fewer pairs than this share of its lists (a round small
#: enough to sift, ``SIFT_BELOW``) solves them in and stops on that solve, without pricing again:
#: at 100,000 x 30,000 a part's second round adds 7-10 % (its first 46 %) and the third pass
#: found 0.03 %, below ``PART_STOP_BELOW``, so the part's prices are the same and its third full
#: pass (~1.5 s CPU a part) is saved (issue 14, session 15). 0: the parts price after every solve.
PART_LAST_BELOW = 0.2
#: Added to a student's lowest listed score for the bound on every unlisted pair's score (the
#: float32 ranking is within ``shortlists.FLOAT32_ERROR`` of the exact score, twice over).
CEILING_SLACK = 1e-4
#: Stable mode keeps the next ``RESERVE_FACTOR x k`` SMEs of every student
#: from the first pass, unscored, for the students who run out of their list
#: (two thirds at 100,000 x 30,000): their first growth needs no new pass.
#: 1, not 2 (issue 14, session 10, alternated, same outputs): a smaller reserve
#: makes the first pass's selection cheaper, and the students it no longer
#: serves cost less in the growth passes than that saves. Process CPU at
#: 100,000 x 30,000 44.0-45.6 against 44.8-45.8 s (each of 3 pairs 0.3-1.6 s
#: less), peak 1,332-1,361 against 1,436-1,443 MiB, the same 15 growth calls;
#: at 20,000 x 10,000 4.81 against 4.96 s (mean of 8 pairs, load 2.5-7; 8
#: growth calls instead of 7).
RESERVE_FACTOR = 1
#: What one list-growth call may hand to deferred acceptance, in pairs: its
#: reserved pairs screened plus the list lengths it asks the passes for (one
#: student more when none fits). Students beyond it are deferred to the next
#: call, after deferred acceptance has run on what this one returned: each
#: pair a call returns is held several times over until deferred acceptance
#: has it (about 100 bytes), and at 100,000 x 30,000 the first two calls
#: returned 4.4 and 5.1 M pairs, the peak of the cycle (issue 14).
GROW_PAIRS = 1 << 20
#: A student's g-th growth pass asks for ``L x 2^g`` SMEs, ``L = 2k`` with
#: ``GROW_FULL_SMES`` SMEs or more, proportionally fewer with fewer SMEs (at
#: least one): a pass's product costs in proportion to the SMEs per student,
#: while the pairs it returns (exact scores, deferred acceptance's sort) cost
#: the same at any size, and most are never read. 2k was tuned at 100,000 x
#: 30,000 and stays there; at 20,000 x 10,000 (L = 33 instead of 100) the
#: passes return 0.4 M pairs instead of 0.97 M for ~10 % more pass rows
#: (issue 14, session 11; the same pairs: lists stay prefixes of each
#: student's order). Half of 2k at 30,000 SMEs took 27 % more pass rows and
#: ~1.6 s more growth CPU (one run each).
GROW_FULL_SMES = 30_000
#: Stable mode gives the C heap's free pages back (``release_free_heap``) after
#: the first pass, at each growth call and before the reasons only on cohorts
#: of at least this many students x SMEs. Each give-back is paid again as
#: page faults when the heap is reused (the next call's pass, deferred
#: acceptance): at 1,000 x 3,000 the three trims gave back 12-19 MiB each for
#: ~3,300 faults; at 20,000 x 10,000 dropping them took ~80,000 minor faults
#: and ~0.15 s of system CPU off a cycle (issue 14, session 14) for a peak
#: ~40-60 MiB higher (470 -> ~510 MiB). At 100,000 x 30,000 (3e9) each growth
#: call gives back 40-285 MiB of a 1.3 GiB peak: kept there.
TRIM_FROM = 1e9
#: Stable mode builds the reasons of the pairs deferred acceptance holds while
#: list growth's passes run (``_ReasonsBeside``), in pieces of this many pairs:
#: between pieces the thread checks that growth still runs (a piece is ~30 ms).
#: Not fewer: the reasons' weights come from a matrix product whose BLAS takes
#: another path, summing in another order, for small matrices (with the
#: synthetic model's 128 columns and 82 reason groups, below ~100 pairs: the
#: last bit of most text weights differed at 64 pairs); ``explain_pairs``
#: works in chunks of ``EXPLAIN_STEP`` (4,096), and pieces of 100 to 4,095
#: pairs gave the same weights as those (issue 14, session 12).
BESIDE_PIECE = 1024
#: ... of the pairs held at this many growth calls in a row. Measured on the
#: synthetic cohorts (pairs handed over, of them final): at 20,000 x 10,000
#: 1: 26,038 / 19,484; 2: 20,375 / 19,475; 3: 19,541 / 19,373 (of 19,486
#: placed); at 100,000 x 30,000, where seats run out and held students are
#: displaced until the last calls, 1: 185,073; 2: 111,623; 3: 87,878
#: (69,784 final of 69,799).
BESIDE_HELD_CALLS = 2
#: The interpreter's switch interval (seconds) while reasons are built beside
#: growth: the reasons' Python holds the GIL, and each numpy call of the
#: passes' threads needs it for a moment; at the default 5 ms they waited.
BESIDE_SWITCH_INTERVAL = 0.0005


@dataclass(frozen=True)
class ProposedPair:
    """A new pair proposed by the cycle."""

    student_id: int
    sme_id: int
    score: float
    student_view: float
    sme_view: float
    reasons: list[Reason] = field(default_factory=list)


def _proposed_pair(
    student_id: int,
    sme_id: int,
    score: float,
    student_view: float,
    sme_view: float,
    reasons: list[Reason],
) -> ProposedPair:
    """``ProposedPair(...)``, built the way unpickling builds it (as ``explanations._reason``).

    A frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__``; filling the new instance's ``__dict__`` gives the
    same object (fields, equality, repr) in ~0.4 of the time: 19,486 pairs
    at 20,000 x 10,000, 0.020 -> 0.008 s on the calling thread. No
    ``__post_init__`` to skip (``test_fast_pairs_equal_constructed_ones``).
    """
    out = object.__new__(ProposedPair)
    fields = out.__dict__
    fields["student_id"] = student_id
    fields["sme_id"] = sme_id
    fields["score"] = score
    fields["student_view"] = student_view
    fields["sme_view"] = sme_view
    fields["reasons"] = reasons
    return out


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
        (in optimal mode ``assign`` is the solves and their prices, ``grow``
        the pricing passes); optimal mode also gives ``solve``, ``prices``,
        ``full_pricing`` and ``restricted_pricing`` seconds and counts
        ``solves``, ``pricing_rounds``, ``full_pricing_passes`` and
        ``listed_pairs`` (pairs in the final lists), and on large cohorts
        ``start_parts``, the seconds spent finding start prices on parts
        (``PARTS_FROM``).
    sme_prices : dict
        Optimal mode: the SMEs' dual prices that prove the result optimal,
        by SME id (what a seat at each SME was worth at the margin). The next
        cycle can start from them (``run``'s ``start_prices``). Empty in
        stable mode.
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
    sme_prices: dict[int, float] = field(default_factory=dict)


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
    start_prices: FloatArray | None = None  # optimal mode's first SME prices, by SME index


def _index(ids: list[int], what: str) -> dict[int, int]:
    pos = {v: i for i, v in enumerate(ids)}
    if len(pos) != len(ids):
        raise ValueError(f"duplicate {what} ids")
    return pos


def _csr(rows: IntArray, cols: IntArray, vals: FloatArray, shape: tuple[int, int]) -> sp.csr_array:
    """CSR from entries in (row, column) order, explicit zeros kept."""
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    out = sp.csr_array((vals, cols, indptr), shape=shape)
    out.has_canonical_format = True
    return out


@small_pages()
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
    start_prices: Mapping[int, float] | None = None,
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
    start_prices : mapping sme_id -> float, optional
        Optimal mode: SME prices to start from, typically the previous
        cycle's ``MatchResult.sme_prices``. The first lists are then each
        student's top ``k`` by score minus price instead of by score; near
        the final prices that leaves one solve and one pricing pass. They
        only choose where column generation starts: the result is the same
        optimum whatever they are (SMEs not given start at 0). Without them
        a cohort of ``PARTS_FROM`` students x SMEs or more finds its own on
        smaller parts first (``_prices_from_parts``). Ignored in stable mode.

    Returns
    -------
    MatchResult
    """
    if mode not in ("stable", "optimal"):
        raise ValueError("mode must be 'stable' or 'optimal'")
    if k < 1:
        raise ValueError("k must be >= 1")
    locked, excluded, priority = list(locked), list(excluded), list(priority)  # (read twice)
    cycle = _prepare(students, smes, locked, excluded, priority, capacity_override)
    if mode == "stable":
        # (once per process, before the cycle's threads take heap arenas; not
        # asked for by optimal mode, whose parts' processes it was not measured on)
        settle_heap()
        model = _fit(cycle, weights, random_state, rules)
        beside = _ReasonsBeside(model, len(cycle.smes)) if explain else None
        # The collector stays paused until the pairs are built: with the
        # reasons built beside growth, each piece's objects were new when the
        # thread's ``explain_pairs`` switched it back on, and the young
        # collections that followed (and the older ones they led to, one of
        # them over every object) held the GIL for ~1.1 s at 100,000 x 30,000
        # beside growth's passes (load 10; issue 14, session 13). Paused, one
        # young collection walks the reasons once, after the cycle, as it did
        # when ``_finish`` built them all. The cycle's numpy work makes no
        # reference cycles.
        with gc_paused():
            new, lists = _run_stable(model, cycle, k, beside)
            return _finish(model, cycle, new, lists, explain, beside.done if beside else None)
    model, new, lists, v = _solve_optimal(
        cycle,
        start_prices,
        weights=weights,
        k=k,
        locked=locked,
        excluded=excluded,
        priority=priority,
        capacity_override=capacity_override,
        rules=rules,
        random_state=random_state,
    )
    result = _finish(model, cycle, new, lists, explain)
    result.sme_prices = _prices_by_id(cycle, v)
    return result


def _fit(
    cycle: _Cycle, weights: Mapping[str, Any] | None, random_state: int, rules: RuleTable | None
) -> MatchModel:
    """The cycle's model, fitted (its seconds in ``timings["fit"]``)."""
    t0 = time.perf_counter()
    model = MatchModel(weights=weights, random_state=random_state, rules=rules).fit(
        cycle.students, cycle.smes, priority=cycle.priority
    )
    cycle.timings["fit"] = time.perf_counter() - t0
    return model


def _solve_optimal(
    cycle: _Cycle,
    start_prices: Mapping[int, float] | None,
    *,
    random_state: int = 0,
    part: bool = False,
    **given: Any,
) -> tuple[MatchModel, IntArray, Candidates, FloatArray]:
    """Optimal mode up to its assignment, lists and SME prices (``run`` and the parts).

    ``given``: ``run``'s weights, k, locked, excluded, priority, capacity override and
    rules (locked, excluded and priority as lists). A large cohort without start prices
    finds some on parts first (``_prices_from_parts``); its own model is fitted, and its
    combined ranking matrices and exact scorer built, in this process meanwhile, while the
    parts run in their workers.
    """
    weights, rules = given["weights"], given["rules"]
    fitted: list[MatchModel] = []
    if (
        not start_prices
        and not part  # a part never splits again: its prices are only a start
        and START_PARTS > 1
        and len(cycle.students) * len(cycle.smes) >= PARTS_FROM
        and min(len(cycle.students), len(cycle.smes)) >= 2 * START_PARTS
    ):
        t0 = time.perf_counter()

        def fit_ahead() -> None:
            # The whole's model and what its first pass and rescoring build first (the
            # combined ranking matrices, the exact scorer's tables): none needs prices.
            whole = _fit(cycle, weights, random_state, rules)
            whole.build_ahead("combined", "exact")
            fitted.append(whole)

        start_prices = _prices_from_parts(cycle, beside=fit_ahead, **given)
        cycle.timings["start_parts"] = time.perf_counter() - t0
    if start_prices:
        cycle.start_prices = _start_prices(cycle.smes, start_prices)
    model = fitted[0] if fitted else _fit(cycle, weights, random_state, rules)
    new, lists, v = _run_optimal(
        model,
        cycle,
        given["k"],
        stop_below=PART_STOP_BELOW if part else 0.0,
        last_below=PART_LAST_BELOW if part else 0.0,
    )
    return model, new, lists, v


def _prices_from_parts(
    cycle: _Cycle, beside: Callable[[], object] | None = None, **given: Any
) -> dict[int, float]:
    """SME prices for a large cohort, from ``START_PARTS`` smaller ones solved on their own.

    Students and SMEs (in id order) are dealt into parts, student ``i`` and SME ``j`` to part
    ``i % parts`` and ``j % parts``: each part has about the same ratio of seats to students
    as the whole, so its SMEs' prices are about what they are in the whole, and its pricing
    passes cost ``1 / parts**2`` of the whole's. Each part is a cycle of its own (its own
    model, the same weights, rules, locked, declined and priority students and seat
    overrides, which apply to the profiles it holds), solved to its optimum for its prices
    alone (``_part_prices``). Only a start: the whole is then solved to its own optimum from
    these prices (``run``'s ``start_prices``). ``beside`` runs in this process while the
    workers solve the parts (the whole's fit, ranking matrices and exact scorer: they need
    no prices).
    """
    parts = START_PARTS
    locked = list(given.pop("locked"))
    excluded = list(given.pop("excluded"))
    priority = list(given.pop("priority"))
    options = dict(given, locked=locked, excluded=excluded, priority=priority)
    jobs = [(h, cycle.students[h::parts], cycle.smes[h::parts]) for h in range(parts)]
    at_once = min(PARTS_AT_ONCE, workers(), parts)
    prices: dict[int, float] = {}
    if at_once > 1 and "fork" in multiprocessing.get_all_start_methods():
        # The workers are forked and get the parts through their initializer: with "fork" its
        # arguments are inherited, not pickled (profiles and rules do not all pickle), and
        # this process's own state is untouched (two runs at once stay apart). Only the
        # prices come back. Each worker holds itself to a CPU of its own (by the order the
        # workers start, not by part: a worker that finished part 1 and took part 2 while
        # part 0 still ran used to join it on part 0's CPU).
        context = multiprocessing.get_context("fork")
        started = context.Value("i", 0)
        with ProcessPoolExecutor(
            at_once,
            mp_context=context,
            initializer=_receive_parts,
            initargs=((jobs, options), started),
        ) as pool:
            # (``map`` submits every part at once, and with "fork" the pool starts all its
            # workers at the first submit: ``beside`` runs after the forks, so no thread of
            # it is ever forked)
            done = pool.map(_part_prices, range(parts))
            if beside is not None:
                beside()
            for got in done:
                prices.update(got)
        return prices
    for h in range(parts):
        prices.update(_part_prices(h, (jobs, options)))
    if beside is not None:
        beside()
    return prices


_Parts = tuple[list[tuple[int, list[StudentProfile], list[SMEProfile]]], dict[str, Any]]

#: The parts a forked worker of ``_prices_from_parts`` solves (set by its initializer, in the
#: worker only).
_PARTS: _Parts | None = None


def _receive_parts(parts: _Parts, started: Any = None) -> None:
    """A forked worker's initializer: the parts, and (``started``: a shared count of the
    workers started) one CPU of its own, so that its passes run on one thread."""
    global _PARTS
    _PARTS = parts
    if started is not None and hasattr(os, "sched_setaffinity"):
        with started.get_lock():
            index = started.value
            started.value += 1
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[index % len(cpus)]})


def _part_prices(h: int, parts: _Parts | None = None) -> dict[int, float]:
    """Part ``h``'s SME prices (``_prices_from_parts``).

    Only the prices: the part's pairs are not scored, explained or counted for blocking
    pairs (``_finish``), which cost about a second a part at 100,000 x 30,000 for nothing
    the whole uses.
    """
    jobs, options = parts if parts is not None else _PARTS  # type: ignore[misc]
    _, students, smes = jobs[h]
    given = dict(options)
    cycle = _prepare(
        students,
        smes,
        given["locked"],
        given["excluded"],
        given["priority"],
        given["capacity_override"],
    )
    _, _, _, v = _solve_optimal(cycle, None, part=True, **given)
    return _prices_by_id(cycle, v)


def _prices_by_id(cycle: _Cycle, v: FloatArray) -> dict[int, float]:
    """SME prices by SME index, as a mapping sme_id -> price (``MatchResult.sme_prices``)."""
    return dict(zip((s.id for s in cycle.smes), v.tolist(), strict=True))


def _start_prices(smes: list[SMEProfile], given: Mapping[int, float]) -> FloatArray:
    """``run``'s ``start_prices`` by SME index (0 for SMEs not given).

    Clipped to [0, 1], where every price of scores in [0, 1] lies: the first
    pass ranks ``score - v0_j`` in float32, whose error the score ceilings
    allow for only at that magnitude.
    """
    v0 = np.array([float(given.get(s.id, 0.0)) for s in smes], dtype=np.float64)
    if not np.isfinite(v0).all():
        raise ValueError("start_prices must be finite")
    return np.clip(v0, 0.0, 1.0)


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


class _ReasonsBeside:
    """The reasons of pairs deferred acceptance holds, built while list growth's passes run.

    A growth call's passes are numpy work on the pool's threads, which leaves
    this thread waiting and a core partly idle; the reasons are Python work
    that depends only on the pair (``explain_pairs``), and most pairs held
    when a growth call starts are final. So before each growth call the pairs
    held then and at the last call, not handed over yet, go to a thread that
    explains them only while the call runs (beside deferred acceptance's
    rounds it would only take their GIL). ``_finish`` takes the final pairs'
    reasons from ``done`` and builds the rest as before (issue 14, session 12).

    Memory: ``done`` keeps only pairs held at the last growth call. A pair
    deferred acceptance no longer holds is never held again (the student was
    refused, and an SME's cutoff only rises), so its reasons are dropped: the
    reasons kept are at most one list per seat, those the result needs anyway
    (issue 14, session 13; at 100,000 x 30,000 about 110,000 pairs are handed
    over, 69,799 are final).
    """

    def __init__(self, model: MatchModel, m: int) -> None:
        self.model, self.m = model, max(m, 1)
        #: key (student * m + SME) -> the pair's reasons (pairs held at the last call only)
        self.done: dict[int, list[Reason]] = {}
        self._kept = np.zeros(0, dtype=np.int64)  # sorted keys of ``done``
        self._sent = np.zeros(0, dtype=np.int64)  # sorted keys handed to the thread
        self._held = np.zeros(0, dtype=np.int64)  # keys held at the last call
        self._streak = np.zeros(0, dtype=np.int64)  # ... at how many calls in a row
        self._todo: deque[IntArray] = deque()
        self._cond = threading.Condition()
        self._growing = self._closing = False
        self._failed: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._switch = sys.getswitchinterval()
        self._stack = ExitStack()

    def held(self, match: IntArray) -> None:
        """Hand over the pairs held now and at the last call (before a growth call, main thread)."""
        i = np.flatnonzero(match >= 0)
        keys = i * self.m + match[i]  # sorted: i rises, SMEs < m
        # Only pairs held at ``BESIDE_HELD_CALLS`` growth calls in a row:
        # explaining pairs later displaced is CPU taken from the passes.
        streak = np.ones(keys.size, dtype=np.int64)
        if self._held.size:
            at = np.minimum(np.searchsorted(self._held, keys), self._held.size - 1)
            again = self._held[at] == keys
            streak[again] += self._streak[at[again]]
        steady = keys[streak >= BESIDE_HELD_CALLS]
        steady = steady[~is_member(steady, self._sent)]
        # whole pieces only (see ``BESIDE_PIECE``); the rest go at a later call
        steady = steady[: steady.size - steady.size % BESIDE_PIECE]
        with self._cond:
            self._held, self._streak = keys, streak
            # the reasons of pairs displaced since the last call (never final)
            still = is_member(self._kept, keys)
            for key in self._kept[~still].tolist():
                del self.done[key]
            self._kept = self._kept[still]
        if steady.size == 0:
            return
        self._sent = sorted_unique(np.concatenate((self._sent, steady)))
        if self._thread is None:
            # One BLAS limit for the whole phase, entered here on the main
            # thread: the passes' own limits nest inside it on this thread, and
            # the reasons' (entered on the other) then restore 1, never
            # another thread's setting.
            self._stack.enter_context(blas_single_thread())
            self._thread = threading.Thread(target=self._work, name="matching-reasons")
            self._thread.start()
        with self._cond:
            self._todo.extend(
                steady[a : a + BESIDE_PIECE] for a in range(0, steady.size, BESIDE_PIECE)
            )

    def growing(self, on: bool) -> None:
        """Growth's passes start (True) or end (False): let the thread work, or pause it."""
        if self._thread is None:
            return
        sys.setswitchinterval(BESIDE_SWITCH_INTERVAL if on else self._switch)
        with self._cond:
            self._growing = on
            self._cond.notify()

    def close(self) -> None:
        """Stop the thread (after its current piece) and end the phase."""
        if self._thread is not None:
            with self._cond:
                self._closing = True
                self._cond.notify()
            self._thread.join()
            sys.setswitchinterval(self._switch)
        self._stack.close()
        if self._failed is not None:
            raise self._failed

    def _work(self) -> None:
        chunks_inline()  # the passes own the pool
        m = self.m
        try:
            while True:
                with self._cond:
                    while not self._closing and not (self._growing and self._todo):
                        self._cond.wait()
                    if self._closing:
                        return
                    keys = self._todo.popleft()
                    if not is_member(keys, self._held).any():
                        continue  # every pair displaced while it waited
                reasons = self.model.explain_pairs(keys // m, keys % m)
                with self._cond:
                    # (the whole piece is built, for its weights; only pairs
                    # still held are kept)
                    keep = is_member(keys, self._held)
                    self.done.update(
                        (key, r)
                        for key, r, k in zip(keys.tolist(), reasons, keep.tolist(), strict=True)
                        if k
                    )
                    self._kept = sorted_unique(np.concatenate((self._kept, keys[keep])))
        except BaseException as e:  # raised on the main thread by ``close``
            self._failed = e


def _run_stable(
    model: MatchModel, cycle: _Cycle, k: int, beside: _ReasonsBeside | None = None
) -> tuple[IntArray, Candidates]:
    """Deferred acceptance on student-ranked shortlists that grow on demand.

    Returns the new assignment and the initial lists (blocking pairs are
    counted on them). ``beside``: reasons built during the growth calls.
    """
    timings, free_cap = cycle.timings, cycle.free_capacity
    # (see ``TRIM_FROM``)
    trim = len(cycle.students) * len(cycle.smes) >= TRIM_FROM
    t0 = time.perf_counter()
    # The exact scorer's tables (numpy: ~6 ms at 1,000 x 3,000, ~30 ms at
    # 20,000 x 10,000) are built in a thread while this one builds the first
    # pass's ranking matrices (numpy too); the pass's exact scores wait for
    # them if need be. They were the end of ``fit``, on one core.
    exact = threading.Thread(target=model.build_ahead, args=("exact",), name="matching-exact")
    exact.start()
    lists = model.candidates(
        k,
        by="student",
        exclude=cycle.excluded,
        students=np.flatnonzero(cycle.active),
        sme_mask=free_cap > 0,
        reserve=RESERVE_FACTOR * k,
    )
    exact.join()  # (done: the pass's exact scores needed it)
    # Memory: the pass's blocks and survivors are freed, mostly into its
    # threads' heap arenas; give them back before deferred acceptance (see
    # ``release_free_heap``). Likewise after each growth call's pass. Only
    # on large cohorts (``TRIM_FROM``).
    if trim:
        release_free_heap()
    # The SME view's ranking matrices (list growth's screens) are numpy work
    # that ran on this thread at the first growth call: built beside
    # deferred acceptance's first rounds instead, on the core they leave idle
    # (issue 14, session 10). Not beside the first pass: at 100,000 x 30,000
    # that raised the cycle's memory peak by ~110 MiB.
    ahead = threading.Thread(target=model.build_ahead, args=("sme",), name="matching-ahead")
    ahead.start()
    timings["candidates"] = time.perf_counter() - t0
    reserve = lists.reserve
    # Memory: stable mode never reads the combined scores (8 bytes a listed
    # pair, held through growth and reasons otherwise); the reserve is ``reserve``.
    lists = replace(lists, combined=sp.csr_array(lists.combined.shape), reserve=None)
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
    # a student's first growth pass asks for this many SMEs (``GROW_FULL_SMES``)
    first_len = max(1, min(2 * k, 2 * k * n_smes // GROW_FULL_SMES))

    def grow(
        who: IntArray, cutoff: FloatArray, listed_of: Callable[[IntArray], IntArray]
    ) -> tuple[sp.csr_array, sp.csr_array, IntArray]:
        # Geometric growth: a student's g-th extension has 2^g x L SMEs
        # (``GROW_FULL_SMES``), so a student rejected often needs few passes
        # over all SMEs.
        # At most ``GROW_PAIRS`` pairs a call (the rest deferred to the next).
        nonlocal grow_time
        g0 = time.perf_counter()
        if beside is not None:
            beside.growing(True)
            try:
                return grow_passes(who, cutoff, listed_of)
            finally:
                beside.growing(False)
                grow_time += time.perf_counter() - g0
        out = grow_passes(who, cutoff, listed_of)
        grow_time += time.perf_counter() - g0
        return out

    def grow_passes(
        who: IntArray, cutoff: FloatArray, listed_of: Callable[[IntArray], IntArray]
    ) -> tuple[sp.csr_array, sp.csr_array, IntArray]:
        if trim:
            release_free_heap()  # the last call's pass and deferred acceptance's run
        who = who[~complete[who]]
        budget = GROW_PAIRS
        deferred: list[IntArray] = []
        # What this call adds, in parts for disjoint sets of students (the
        # reserve's, then one per growth level), put in row order once: merging
        # the CSR matrices part by part copied everything added so far each time.
        parts: list[tuple[IntArray, IntArray, FloatArray, FloatArray]] = []
        if reserve is not None and who.size:
            # A student's first growth is their reserve: scored now, without
            # the SMEs that refuse them now (cutoffs only rise). Only if none
            # is left do they get a pass over all SMEs, below.
            first = who[reserve_left[who]]
            take = _within(reserve.indptr[first + 1] - reserve.indptr[first], budget)
            deferred.append(first[take:])
            first = first[:take]
            reserve_left[first] = False
            ri, rj = reserve.of(first)
            ri, rj = _not_refused(model, ri, rj, cutoff)
            _, rs, rm, ok = model.shortlist_scores(ri, rj)
            ok &= (rs >= reserve.cutoff[ri]) & (rm >= cutoff[rj])
            ri, rj, rs, rm = ri[ok], rj[ok], rs[ok], rm[ok]
            budget -= ri.size
            # every acceptable SME is in list or reserve: nothing more to ask for
            complete[first[np.isneginf(reserve.cutoff[first])]] = True
            served = np.zeros(n_students, dtype=bool)
            served[ri] = True
            served[deferred[0]] = True  # not this call's
            who = who[~served[who] & ~complete[who]]
            parts.append((ri, rj, rs, rm))
        # the rest get a pass, lowest growth level first, as far as the budget goes
        who = who[np.argsort(grown[who], kind="stable")]
        take = _within(np.minimum(first_len << np.minimum(grown[who], 30), n_smes), budget)
        deferred.append(who[take:])
        who = np.sort(who[:take])
        later = np.concatenate(deferred)
        if who.size == 0:
            return (*assemble(parts), later)
        # listed pairs come as sorted unique keys: the exclusion as it is (a
        # stack of pair arrays and its copies were 40 bytes a listed pair),
        # asked for the students of each pass only
        level = grown[who]
        for g in np.unique(level).tolist():
            length = min(first_len << min(g, 30), n_smes)
            passed = who[level == g]
            more = model.candidates(
                length,
                by="student",
                exclude=cycle.excluded,
                exclude_keys=listed_of(passed),
                students=passed,
                sme_mask=free_cap > 0,
                sme_floor=cutoff,
            )
            if more.complete is not None:
                np.logical_or(complete, more.complete, out=complete)
            sv = more.student_view  # the three matrices share one pattern
            rows = np.repeat(np.arange(n_students, dtype=np.int64), np.diff(sv.indptr))
            parts.append((rows, sv.indices.astype(np.int64), sv.data, more.sme_view.data))
            del more, sv
        grown[who] += 1
        return (*assemble(parts), later)

    def assemble(
        parts: list[tuple[IntArray, IntArray, FloatArray, FloatArray]],
    ) -> tuple[sp.csr_array, sp.csr_array]:
        shape = (n_students, len(cycle.smes))
        if not parts:
            empty = sp.csr_array(shape)
            return empty, empty
        ri, rj, rs, rm = (np.concatenate([p[f] for p in parts]) for f in range(4))
        parts.clear()
        # one sort by (student, SME); the passes' parts come in that order already
        order = np.argsort(ri * n_smes + rj, kind="stable")
        ri, rj = ri[order], rj[order]
        return _csr(ri, rj, rs[order], shape), _csr(ri, rj, rm[order], shape)

    try:
        new = assign.stable(
            lists.student_view,
            lists.sme_view,
            free_cap,
            active_students=cycle.active,
            grow=grow,
            grow_listed="lookup",
            before_grow=beside.held if beside is not None else None,
        )
    finally:
        if beside is not None:
            beside.close()
    ahead.join()  # (done long before, when any list grew)
    if trim:
        release_free_heap()  # the pool and the growth keys, before the reasons
    timings["assign"] = time.perf_counter() - t0 - grow_time
    timings["grow"] = grow_time
    return new, lists


def _within(costs: IntArray, budget: int) -> int:
    """How many of the first ``costs`` fit in ``budget`` (at least one, if any)."""
    if costs.size == 0:
        return 0
    return max(int(np.searchsorted(np.cumsum(costs), budget, side="right")), 1)


def _not_refused(
    model: MatchModel, ri: IntArray, rj: IntArray, cutoff: FloatArray
) -> tuple[IntArray, IntArray]:
    """The pairs whose SME may accept the student now, screened by the float32 SME view.

    A reserve is scored exactly only if it survives: at 100,000 x 30,000 the
    first growth scored 6.8 M reserved pairs (about 1 us each) and kept about
    4 % of them; most students who run out are refused by the SMEs that
    follow their list. The screen is the growth passes' own (the SME-view
    ranking product against the cutoff, lenient by ``NEAR_TIE``), so it
    drops only pairs the exact test below would drop too.
    """
    full = np.flatnonzero(np.isfinite(cutoff[rj]))  # a free seat refuses nobody
    if full.size == 0:
        return ri, rj
    x, yt = model.ranking_matrices("sme")
    fi, fj = ri[full], rj[full]
    approx = np.empty(full.size, dtype=np.float32)

    def chunk(a: int, b: int) -> None:
        # (SMEs, features), rows contiguous; a reserve comes student by student
        approx[a:b] = row_dots(x, fi[a:b], yt.T, fj[a:b])

    # On all cores: the first growth call screens most of the reserve (864,000
    # pairs at 20,000 x 10,000, 0.12 s on one core). ``row_dots`` goes
    # ``ROW_DOTS_STEP`` pairs at a time itself, so chunks of that length give
    # each pair the value one call over all of them gave.
    in_chunks(chunk, full.size, shortlists.ROW_DOTS_STEP)
    keep = np.ones(ri.size, dtype=bool)
    keep[full[approx < cutoff[fj] - NEAR_TIE]] = False
    return ri[keep], rj[keep]


def _run_optimal(
    model: MatchModel,
    cycle: _Cycle,
    k: int,
    stop_below: float = 0.0,
    last_below: float = 0.0,
) -> tuple[IntArray, Candidates, FloatArray]:
    """The optimum on combined-score shortlists, extended by column generation.

    Prices ``(u, v)`` prove the assignment optimal on the lists; any pair
    outside them scoring above ``u_i + v_j`` could raise the total, so such
    pairs join the lists and the optimum is re-solved (from scratch: OR-tools'
    solver gains nothing from the previous prices, see
    ``assign._solve_min_cost_flow``). When none is left the assignment is
    optimal over *all* acceptable pairs. (An unmatched student next to a free
    seat is such a pair: u = v = 0.) A part (``stop_below``, ``last_below``:
    ``PART_STOP_BELOW``, ``PART_LAST_BELOW``; 0 for the whole) stops earlier:
    its prices are only a start.

    The first lists are each student's top ``k`` only. Each SME's top ``k``
    students were added too until issue 14; column generation finds the pairs
    that matter anyway, and that per-SME selection cost three times the
    students' own pass (10 of 38 s CPU at 20,000 x 10,000).

    Most rounds do not look at every pair again. A *full* pricing pass (all
    students x all open SMEs) also finds the pairs within ``PRICING_MARGIN``
    of their price. Those that beat their price join the lists; the others
    wait in a *pool*, priced exactly every round (one vector operation) and
    moved to the lists when they come to beat their price, so the solver
    never carries them while they cannot help. Afterwards every pair outside
    lists and pool scores at most ``u_i + v_j - PRICING_MARGIN`` at that
    pass's prices, except for the students who had ``k`` or more such pairs
    (*unbounded*). Prices move little between rounds: a pair (i, j) can only
    come to violate if ``u_i`` or ``v_j`` fell by more than ``0.4 x
    PRICING_MARGIN`` since that pass (or i is unbounded). So the next rounds
    price only those students against all SMEs and all students against those
    SMEs; if neither they nor the pool find a pair, the assignment is optimal
    over all pairs, by the same weak-duality argument. When more than a
    quarter of the students or SMEs moved, the round makes a full pass again.
    Both kinds of pass price only the pairs the last full pass's proof no
    longer covers: an unlisted, unpooled pair scores at most ``u_i + v_j -
    gap_i`` at that pass's prices (``_proven_gap``: the margin, or less for
    an unbounded student), so it can beat its price now only if ``u_i`` and
    ``v_j`` together fell by more than ``gap_i`` (for a full pass: more than
    ``gap_i`` minus the margin); the same pairs are found from smaller products.

    Re-solves are *sifted*: after a round that added few pairs, the solver
    gets only the listed pairs within ``SIFT_MARGIN`` of their price at the
    last prices (a fifth of the lists or less late in a run); listed pairs
    left out that beat the new prices are put back and the subset solved
    again (``solve``), so every round still ends with the optimum over all
    listed pairs and prices that prove it.

    With start prices ``v0`` (``run``'s ``start_prices``) the first lists are
    each student's top ``k`` by ``score - v0_j``: started from the final
    prices, the first solve is the optimum and one pricing pass proves it
    (session 8: 34 instead of 187 s CPU at 100,000 x 30,000). The score
    ceilings then bound ``score - v0_j`` instead of the score, and the
    pricing queries order the SMEs by ``v_j - v0_j`` instead of ``v_j``.

    Returns the assignment, the final lists and the SME prices.
    """
    timings, free_cap, active = cycle.timings, cycle.free_capacity, cycle.active
    n, m = len(cycle.students), len(cycle.smes)
    todo = np.flatnonzero(active)
    open_smes = free_cap > 0
    v0 = cycle.start_prices
    t0 = time.perf_counter()
    lists = model.candidates(
        k,
        by="combined",
        exclude=cycle.excluded,
        students=todo,
        sme_mask=open_smes,
        # ranked by score - v0_j, every pair above the floor (scores below -1 never pay)
        prices=None if v0 is None else (np.full(n, -2.0 - np.abs(v0).max(initial=0.0)), v0),
    )
    # The pass's blocks and survivors are freed into its threads' heap arenas: given back
    # before the solves, whose graph is the run's memory peak (``release_free_heap``; since
    # session 14 the pass's blocks are the first pass's, 256 students, not 139: the peak at
    # 100,000 x 30,000 was 38 MiB higher without this).
    release_free_heap()
    timings["candidates"] = time.perf_counter() - t0
    clock = {"solve": 0.0, "prices": 0.0, "full": 0.0, "restricted": 0.0, "solves": 0}

    def solve(
        scores: sp.csr_array, prev: tuple[FloatArray, FloatArray] | None, near: bool = False
    ) -> tuple[IntArray, FloatArray, FloatArray]:
        """The optimum on ``scores`` and its prices, solving only what can matter (sifting).

        With the previous round's prices, the solver gets only the listed
        pairs within ``SIFT_MARGIN`` of their price (the assigned ones and
        the new ones included); a listed pair left out that beats the new
        prices is put back and the subset solved again, so the result is
        the optimum on every listed pair, with prices that prove it. With
        ``near``, each solve starts on the pairs within ``NEAR_MARGIN`` of
        the last prices (the same optimum and prices, found on fewer arcs).
        """
        data = scores.data
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(scores.indptr))
        cols = scores.indices
        work = np.ones(data.size, dtype=bool)
        if prev is not None:
            work = data - prev[0][rows] - prev[1][cols] >= -SIFT_MARGIN
        while True:
            s0 = time.perf_counter()
            subset = scores if work.all() else _csr(rows[work], cols[work], data[work], (n, m))
            clock["solve"] += time.perf_counter() - s0
            # one integer graph for the solve and its prices (adds to clock's entries)
            out, u, v = assign.optimal_with_prices(
                subset,
                free_cap,
                active_students=active,
                timings=clock,
                near=(prev[0], prev[1], NEAR_MARGIN) if near and prev is not None else None,
            )
            left_out = ~work & (data > u[rows] + v[cols] + 1e-9)
            if not left_out.any():
                return out, u, v
            work |= left_out | (data - u[rows] - v[cols] >= -SIFT_MARGIN)
            prev = (u, v)

    # Every pair outside a student's first lists scores at most their lowest listed score
    # (the lists are a top k by the float32 ranking, rescored exactly; the slack covers float32
    # error): a student's pricing query needs only the SMEs cheap enough for such a pair to
    # reach the floor (issue 14; ``price``). Students with fewer than k listed: no bound.
    ceiling = _score_ceilings(lists.combined, k, v0)

    def price(
        students: IntArray,
        smes: npt.NDArray[np.bool_],
        floor_u: FloatArray,
        skip: tuple[IntArray, IntArray],
        fell: tuple[FloatArray, FloatArray] | None = None,
    ) -> _Pairs:
        """Pairs of ``students`` x ``smes`` above ``floor_u + v`` (the top k per student).

        A student is asked only about the SMEs with ``v_j < ceiling_i - floor_u_i``: any
        other pair scores at most the ceiling, so it cannot pass the floor. With ``fell =
        (drop, least)``, also only about the SMEs with ``drop_j > least_i`` (the pairs the
        last full pass's proof no longer covers, see the rounds below). Students go in
        groups by how many SMEs that leaves (fewest first), each group against the SMEs
        the neediest of them can reach, so the products skip most of what cannot pass.
        ``skip``: the pairs never to return, as sorted unique keys ``i * m + j`` and the
        student of each; a group's query gets its students' keys, still sorted and unique.
        """
        reach = ceiling[students] - floor_u[students]
        cols = np.flatnonzero(smes)
        if students.size == 0 or cols.size == 0:
            return _Pairs.empty()
        # (with start prices the ceilings bound score - v0_j: a pair can pass only if
        # v_j - v0_j < ceiling_i - floor_i)
        key = v if v0 is None else v - v0
        prices = np.sort(key[cols])
        need = np.searchsorted(prices, reach, side="left")  # SMEs each student can reach
        live = need > 0
        drop, least = fell if fell is not None else (np.zeros(m), np.full(n, -np.inf))
        if fell is not None:
            drops = np.sort(drop[cols])
            need_fell = drops.size - np.searchsorted(drops, least[students], side="right")
            live &= need_fell > 0
            need_fell = need_fell[live]
        students, need = students[live], need[live]
        if students.size == 0:
            return _Pairs.empty()

        def grouped(by: IntArray, bounds: IntArray | None = None) -> tuple[list[IntArray], int]:
            """Groups of students in order of ``by`` (equal sizes unless ``bounds`` are
            given), and the products they cost: each group against the SMEs its
            neediest member can reach and, after a full pass, whose fall it needs."""
            order = np.argsort(by, kind="stable")
            if bounds is None:
                bounds = np.linspace(0, students.size, PRICING_GROUPS + 1).astype(np.int64)
            cuts = zip(bounds[:-1], bounds[1:], strict=True)
            groups = [np.sort(students[order[a:b]]) for a, b in cuts if b > a]
            cost = sum(g.size * int(np.count_nonzero(reachable(g))) for g in groups)
            return groups, cost

        def reachable(group: IntArray) -> npt.NDArray[np.bool_]:
            top = prices[int(np.searchsorted(prices, reach_of[group].max(), side="left")) - 1]
            mask: npt.NDArray[np.bool_] = smes & (key <= top) & (drop > least[group].min())
            return mask

        reach_of = np.full(n, -np.inf)
        reach_of[students] = reach[live]
        groups, cost = grouped(need)
        if fell is not None:
            # After a full pass the fall is often the more selective bound: groups whose
            # needs differ by at most a factor of two (a few students who need every SME,
            # e.g. unbounded ones, would otherwise make their whole group ask about every
            # SME); whichever grouping costs the smaller products.
            halvings = np.log2(cols.size / need_fell)
            bucket = np.minimum(halvings.astype(np.int64), PRICING_GROUPS - 1)
            sizes = np.bincount(bucket, minlength=PRICING_GROUPS)
            by_fall, fall_cost = grouped(bucket, np.concatenate([[0], np.cumsum(sizes)]))
            if fall_cost < cost:
                groups = by_fall
        in_group = np.zeros(n, bool)
        skip_keys, skip_student = skip
        parts = []
        for group in groups:
            in_group[group] = True
            parts.append(
                _Pairs.of(
                    model.candidates(
                        k,
                        by="combined",
                        exclude_keys=skip_keys[in_group[skip_student]],
                        students=group,
                        sme_mask=reachable(group),
                        prices=(floor_u, v),
                    )
                )
            )
            in_group[group] = False
        return _Pairs.concat(parts)

    new, u, v = solve(lists.combined, None)
    pool = _Pairs.empty()  # near pairs of full passes, not (yet) in the lists
    # the last full pass: its prices, and per student how far below them it proved every pair
    # it left out (``_proven_gap``)
    ref: tuple[FloatArray, FloatArray, FloatArray] | None = None
    moved = 0.4 * PRICING_MARGIN
    mm = max(m, 1)
    excluded_keys = cycle.excluded[:, 0] * mm + cycle.excluded[:, 1]
    rounds = full = 0
    for _ in range(MAX_PRICING_ROUNDS):
        g0 = time.perf_counter()
        beats = pool.comb > u[pool.i] + v[pool.j] + 1e-9
        found = [pool.take(beats)]
        pool = pool.take(~beats)
        # Pairs no query may return: excluded, listed, pooled; as sorted unique keys built once
        # a round, so a group's query takes its students' keys by one mask, already sorted.
        # The (pairs, 2) array this was had to be stacked, filtered, range-checked and sorted
        # again for every query: 0.11 -> 0.035 s CPU a pricing query at 1.7 million listed
        # pairs (issue 14, session 6).
        listed = lists.combined
        listed_keys = np.repeat(np.arange(n, dtype=np.int64) * mm, np.diff(listed.indptr))
        listed_keys += listed.indices
        skip_keys = sorted_unique(
            np.concatenate([listed_keys, pool.i * mm + pool.j, excluded_keys])
        )
        skip = (skip_keys, skip_keys // mm)
        fell: tuple[FloatArray, FloatArray] | None = None
        if ref is not None:
            ref_u, ref_v, gap = ref
            unbounded = gap < PRICING_MARGIN
            fell_students = np.flatnonzero(active & ((u < ref_u - moved) | unbounded))
            fell_smes = open_smes & (v < ref_v - moved)
            # Every pair outside lists and pool scores at most ref_u_i + ref_v_j - gap_i, so
            # it can beat its price now only if u_i and v_j together fell by more than gap_i:
            # per student, only the SMEs whose fall exceeds gap_i minus the student's own
            # fall. Pricing just those pairs returns what pricing the students and SMEs that
            # moved returned (the pairs beating their price; a full pass: those within the
            # margin, so against a floor the margin lower), from a fraction of the products.
            drop = np.where(open_smes, ref_v - v, -np.inf)
            least = gap - (ref_u - u) - 1e-12  # (lenient by far more than float64 rounding)
            if 4 * fell_students.size > todo.size or 4 * fell_smes.sum() > open_smes.sum():
                ref = None  # prices moved too much: a full pass, where the last one's proof fails
                fell = (drop, least - PRICING_MARGIN) if PRUNE_BY_LAST_PASS else None
            elif PRUNE_BY_LAST_PASS:
                found.append(price(todo, open_smes, u, skip, (drop, least)))
                clock["restricted"] += time.perf_counter() - g0
            else:
                # the students whose price fell against every open SME, and every
                # student against the SMEs whose price fell
                for students, smes in ((fell_students, open_smes), (todo, fell_smes)):
                    found.append(price(students, smes, u, skip))
                clock["restricted"] += time.perf_counter() - g0
        if ref is None:
            f0 = time.perf_counter()
            full += 1
            got = price(todo, open_smes, u - PRICING_MARGIN, skip, fell)
            ref = (u, v, _proven_gap(got, u, v, n, k))
            beats = got.comb > u[got.i] + v[got.j] + 1e-9
            found.append(got.take(beats))  # the violating pairs; the near ones may soon be
            pool = _Pairs.concat([pool, got.take(~beats)])
            clock["full"] += time.perf_counter() - f0
        rounds += 1
        more = _Pairs.concat(found).unique(m)
        if more.i.size == 0:
            break  # nothing beats its price: optimal over all pairs
        if more.i.size < stop_below * lists.combined.nnz:
            break  # (a part: near enough for a start, ``PART_STOP_BELOW``)
        lists = more.added_to(lists, n, m)
        # Prices from before a large addition say little about the new optimum.
        sift = more.i.size < SIFT_BELOW * lists.combined.nnz
        near = more.i.size < NEAR_BELOW * lists.combined.nnz
        new, u, v = solve(lists.combined, (u, v) if sift else None, near)
        if more.i.size < last_below * lists.combined.nnz:
            break  # (a part: this solve's prices are its start, ``PART_LAST_BELOW``)
    timings["assign"] = clock["solve"] + clock["prices"]
    timings["grow"] = clock["full"] + clock["restricted"]
    timings["solve"] = clock["solve"]
    timings["prices"] = clock["prices"]
    timings["full_pricing"] = clock["full"]
    timings["restricted_pricing"] = clock["restricted"]
    timings["solves"] = clock["solves"]
    timings["pricing_rounds"] = rounds
    timings["full_pricing_passes"] = full
    timings["listed_pairs"] = lists.combined.nnz
    return new, lists, v


def _proven_gap(got: _Pairs, u: FloatArray, v: FloatArray, n: int, k: int) -> FloatArray:
    """Per student, how far below ``u_i + v_j`` a full pass proved every pair it did not return.

    ``got`` holds the pass's pairs: per student the top k by ``score - u - v`` above
    ``-PRICING_MARGIN`` (lists, pool and declined pairs aside). A student with fewer than k
    has every other pair at least the margin below their price. One with k or more
    (*unbounded*) has every other pair ranked at most as high as the lowest returned one,
    so at most that pair's ``score - u - v`` plus the float32 ranking's error (the
    argument of ``_score_ceilings``): a gap below the margin, negative when that pair beats
    its price. Unbounded students used to count as unproven altogether, so every round
    after a full pass priced them against every SME (issue 14, session 8).
    """
    gap = np.full(n, PRICING_MARGIN)
    unbounded = np.bincount(got.i, minlength=n) >= k
    if unbounded.any():
        lowest = np.full(n, np.inf)
        reduced = got.comb - u[got.i]  # (millions of pairs early on: one temporary at a time)
        reduced -= v[got.j]
        np.minimum.at(lowest, got.i, reduced)
        gap[unbounded] = np.minimum(PRICING_MARGIN, -lowest[unbounded] - CEILING_SLACK)
    return gap


def _score_ceilings(first: sp.csr_array, k: int, v0: FloatArray | None = None) -> FloatArray:
    """Per student, a bound on the combined score of every pair outside their first lists.

    ``first`` holds each student's top ``k`` by the float32 ranking, rescored
    exactly: a pair left out ranks at or below each listed one, so it scores
    at most the lowest listed score plus the float32 error (twice, both
    sides: ``CEILING_SLACK``). Students with fewer than ``k`` listed (their
    list holds everything, or unacceptable pairs took places) get no bound.
    With start prices ``v0`` the lists rank ``score - v0_j`` and the bound is
    on that: a pair left out has ``score - v0_j`` at most the ceiling.
    """
    n = first.shape[0]
    ceiling = np.full(n, np.inf)
    count = np.diff(first.indptr)
    some = count > 0
    if some.any():
        keys = first.data if v0 is None else first.data - v0[first.indices]
        lowest = np.minimum.reduceat(keys, first.indptr[:-1][some])
        ceiling[some] = np.where(count[some] >= k, lowest + CEILING_SLACK, np.inf)
    return ceiling


@dataclass(frozen=True)
class _Pairs:
    """Scored (student, SME) pairs as flat arrays: a pricing pass's finds or the pool."""

    i: IntArray
    j: IntArray
    comb: FloatArray
    stu: FloatArray
    sme: FloatArray

    @staticmethod
    def empty() -> _Pairs:
        z = np.zeros(0, dtype=np.int64)
        f = np.zeros(0, dtype=np.float64)
        return _Pairs(z, z, f, f, f)

    @staticmethod
    def of(c: Candidates) -> _Pairs:
        coo = sp.coo_array(c.combined)
        return _Pairs(
            coo.row.astype(np.int64),
            coo.col.astype(np.int64),
            np.asarray(c.combined.data, dtype=np.float64),
            np.asarray(c.student_view.data, dtype=np.float64),
            np.asarray(c.sme_view.data, dtype=np.float64),
        )

    @staticmethod
    def concat(parts: Sequence[_Pairs]) -> _Pairs:
        if not parts:
            return _Pairs.empty()
        return _Pairs(
            *(
                np.concatenate([getattr(p, f) for p in parts])
                for f in ("i", "j", "comb", "stu", "sme")
            )
        )

    def take(self, pick: npt.NDArray[np.bool_] | IntArray) -> _Pairs:
        return _Pairs(self.i[pick], self.j[pick], self.comb[pick], self.stu[pick], self.sme[pick])

    def unique(self, m: int) -> _Pairs:
        """Each pair once, in (student, SME) order (two passes may find the same pair)."""
        _, first = np.unique(self.i * max(m, 1) + self.j, return_index=True)
        return self.take(first)

    def added_to(self, lists: Candidates, n: int, m: int) -> Candidates:
        """``lists`` with these pairs (sorted, none of them listed yet) added.

        One linear merge of two sorted key sequences for all three matrices
        (a lexsort per matrix took a fifth of optimal mode's time).
        """
        old = lists.combined
        counts = np.diff(old.indptr)
        keys = np.repeat(np.arange(n, dtype=np.int64), counts) * max(m, 1) + old.indices
        # final position of each new pair: its rank among the old keys plus its own index
        at = np.searchsorted(keys, self.i * max(m, 1) + self.j) + np.arange(self.i.size)
        is_new = np.zeros(keys.size + self.i.size, dtype=bool)
        is_new[at] = True
        indices = np.empty(is_new.size, dtype=np.int64)
        indices[at] = self.j
        indices[~is_new] = old.indices
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts + np.bincount(self.i, minlength=n), out=indptr[1:])

        def merged(before: sp.csr_array, added: FloatArray) -> sp.csr_array:
            data = np.empty(is_new.size, dtype=np.float64)
            data[at] = added
            data[~is_new] = before.data
            out = sp.csr_array((data, indices, indptr), shape=(n, m), copy=False)
            out.has_canonical_format = True
            return out

        return Candidates(
            merged(lists.combined, self.comb),
            merged(lists.student_view, self.stu),
            merged(lists.sme_view, self.sme),
            lists.k,
            lists.by,
        )


def _finish(
    model: MatchModel,
    cycle: _Cycle,
    new: IntArray,
    lists: Candidates,
    explain: bool,
    explained: Mapping[int, list[Reason]] | None = None,
) -> MatchResult:
    """Score the new pairs, count blocking pairs, build reasons.

    ``explained``: reasons built already, by key (student * SMEs + SME); only
    the other pairs' are built here.
    """
    placed = np.flatnonzero(new >= 0)
    placed_at = new[placed]
    full = cycle.assignment.copy()
    full[placed] = placed_at
    # The reasons are Python objects, built on one core holding the GIL; the
    # pairs' exact scores, their criterion values and the blocking pairs are
    # numpy work that releases it, so they are done beside them (0.05-0.08 s
    # of wall at 20,000 x 10,000 that ran before and after the reasons; issue
    # 14, session 10), the count on a second thread: once the reasons are
    # built beside growth (100,000 x 30,000) the three were the stage's wall,
    # one after the other (session 13). The count's temporaries are bounded
    # (``metrics.BLOCKING_STEP``), so the lists may be held while reasons are
    # built; before session 13 the lists were freed first at 100,000 x 30,000.
    count = (lists.student_view, lists.sme_view, cycle.capacity, full)
    with ThreadPoolExecutor(2) as beside:
        scored = beside.submit(model.score_pairs, placed, placed_at)

        def count_after_scores(*lists_and_places: Any) -> int:
            # started once the scores are in: the pairs (this thread) wait for
            # those, and the count would take the cores from them
            scored.exception()
            return metrics.blocking_pairs(*lists_and_places)

        blocking = beside.submit(count_after_scores, *count)
        criteria_job = beside.submit(learning.criterion_values, model, placed, placed_at)
        del lists, count  # (the count holds the lists until it is done)
        t0 = time.perf_counter()
        st, sm = cycle.students, cycle.smes
        # The collector stays paused until the pairs are built too: the
        # reasons' objects (a list and ~8 reasons a pair) are all new when it
        # is switched back on, and the pairs' allocations then ran a
        # young-generation collection every 700 objects and a middle one every
        # tenth, each walking every reason (0.07 s of this thread at 20,000 x
        # 10,000; issue 14, session 12). They make no cycles.
        with gc_paused():
            reasons = (
                _reasons(model, placed, placed_at, explained, len(cycle.smes))
                if explain
                else [[] for _ in range(placed.size)]
            )
            comb, stu, smev = scored.result()
            pairs = [
                _proposed_pair(st[i].id, sm[j].id, c, a, b, r)
                for i, j, c, a, b, r in zip(
                    placed.tolist(),
                    placed_at.tolist(),
                    comb.tolist(),
                    stu.tolist(),
                    smev.tolist(),
                    reasons,
                    strict=True,
                )
            ]
        cycle.timings["explain"] = time.perf_counter() - t0
        criteria = criteria_job.result()
    bp = blocking.result()
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


def _reasons(
    model: MatchModel,
    placed: IntArray,
    placed_at: IntArray,
    explained: Mapping[int, list[Reason]] | None,
    m: int,
) -> list[list[Reason]]:
    """Each placed pair's reasons: from ``explained`` where built already, else built now.

    The same as ``explain_pairs`` of all of them: every pair built here or
    beside goes through ``explain_pairs`` with at least ``BESIDE_PIECE``
    pairs (the weights' BLAS takes another path for fewer), except the last
    chunk of ``EXPLAIN_STEP``, which is built as it always was when shorter
    than that.
    """
    n = placed.size
    short = n % EXPLAIN_STEP
    tail = n - short if 0 < short < BESIDE_PIECE else n
    if not explained or tail == 0:
        return model.explain_pairs(placed, placed_at)
    got = [explained.get(key) for key in (placed[:tail] * max(m, 1) + placed_at[:tail]).tolist()]
    missing = np.array([p for p, r in enumerate(got) if r is None], dtype=np.int64)
    if 0 < missing.size < BESIDE_PIECE:  # built again with some already built (the same)
        again = np.ones(tail, dtype=bool)
        again[missing] = False
        missing = np.sort(
            np.concatenate((missing, np.flatnonzero(again)[: BESIDE_PIECE - missing.size]))
        )
    for p, r in zip(
        missing.tolist(), model.explain_pairs(placed[missing], placed_at[missing]), strict=True
    ):
        got[p] = r
    if tail < n:
        got.extend(model.explain_pairs(placed[tail:], placed_at[tail:]))
    return got  # type: ignore[return-value]  # (every None filled)


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
