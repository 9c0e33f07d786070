"""The similarity model: profiles in, two-sided scores and acceptability out.

Design in one paragraph (details in ``docs/engine.md``): every criterion is a
*linear* form ``x_i . y_j`` between a student feature row and an SME feature
row (``matching.features``), so a whole score matrix is one dense matrix
product of narrow matrices (about 2 x (languages + markets) + 80 columns). The
SME's view measures how much of what the SME needs the student brings; the
student's view how much of what the student offers and wants the SME uses.
The combined score is their mean. Because everything is linear, a score
splits exactly into per-item contributions (``matching.explanations``);
shortlists come from ``matching.shortlists``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from . import explanations, shortlists
from .compute import UNACCEPTABLE, blas_single_thread, gc_paused, in_chunks, workers
from .eligibility import RuleTable, group_table, load_rules, sme_arrays, student_arrays
from .explanations import Reason
from .features import (
    ALL_FACTORS,
    FACTORS,
    MAIN_FACTORS,
    PAIRING_FACTORS,
    TEXT_DIMS,
    Block,
    availability_block,
    industry_block,
    korean_block,
    language_block,
    market_block,
    needed_languages,
    region_block,
    student_languages,
    text_block,
)
from .profiles import SMEProfile, StudentProfile
from .shortlists import Candidates, pack_bits

__all__ = [
    "DEFAULT_AVAILABILITY_WEIGHT",
    "DEFAULT_WEIGHTS",
    "FACTORS",
    "MAIN_FACTORS",
    "MatchModel",
    "Reason",
    "SIDES",
    "normalise_weights",
    "side_weights",
]

FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

#: Default weights (sum 1). Language and market are what the programme is
#: about; industry decides whether the student can talk about the product;
#: region, Korean and free text only break near-ties.
DEFAULT_WEIGHTS: Final[Mapping[str, float]] = {
    "language": 0.30,
    "market": 0.30,
    "industry": 0.25,
    "region": 0.07,
    "korean": 0.05,
    "text": 0.03,
}
#: Weight of ``availability`` when the weights given do not name it (the
#: settings page does not show it yet); normalised with the others.
DEFAULT_AVAILABILITY_WEIGHT: Final[float] = 0.05
#: Scores are rounded to this many decimals, so pairs whose scores are equal
#: in exact arithmetic compare equal and the lower index wins (not float noise).
SCORE_DECIMALS: Final[int] = 9
#: Student groups (by visa limits and availability) folded into the ranking
#: product as columns at most; with more, blocked pairs are masked per chunk.
MAX_FOLDED_GROUPS: Final[int] = 64
#: Pairs per chunk of exact scores. The chunks run on all cores
#: (``compute.in_chunks``); a pair's value does not depend on its chunk, and
#: the chunks are the same whatever the number of threads.
EXACT_STEP: Final[int] = 1 << 13
#: Rows per chunk when ``fit`` fills the view matrices (chunks on all cores;
#: fewer rows when that is what gives every core a chunk: at 1,000 x 3,000 the
#: 4,000 rows were one chunk, on one core, while the other was idle).
FILL_ROWS: Final[int] = 1 << 12


def normalise_weights(weights: Mapping[str, Any] | None) -> dict[str, float]:
    """Defaults overridden by ``weights``, normalised to sum 1.

    Parameters
    ----------
    weights : mapping factor -> weight, optional
        Factors of ``ALL_FACTORS``; ``availability`` defaults to
        ``DEFAULT_AVAILABILITY_WEIGHT``.

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        Unknown factor, negative or non-finite weight, or no positive weight
        on the main criteria.
    """
    merged = dict(DEFAULT_WEIGHTS)
    merged["availability"] = DEFAULT_AVAILABILITY_WEIGHT
    if weights is not None:
        for key, value in weights.items():
            if key not in ALL_FACTORS:
                raise ValueError(f"unknown factor {key!r}; expected one of {ALL_FACTORS}")
            if not math.isfinite(float(value)) or float(value) < 0:
                raise ValueError(f"weight for {key!r} must be finite and >= 0")
            merged[key] = float(value)
    total = sum(merged.values())
    if sum(merged[f] for f in MAIN_FACTORS) <= 0:
        raise ValueError("at least one of language, market, industry needs a positive weight")
    # Normalising keeps every score in [0, 1] whatever the coordinators type.
    return {k: v / total for k, v in merged.items()}


#: The two views a pair is scored from.
SIDES: Final[tuple[str, str]] = ("sme_view", "student_view")


def side_weights(weights: Mapping[str, Any] | None) -> dict[str, dict[str, float]]:
    """Flat or two-sided weights as two complete, normalised weight sets.

    Parameters
    ----------
    weights : mapping, optional
        ``{factor: w}`` (the same for both views) or
        ``{"sme_view": {factor: w}, "student_view": {factor: w}}`` (each side
        its own; a missing side or factor takes the defaults).

    Returns
    -------
    dict
        ``{"sme_view": {...}, "student_view": {...}}``, each normalised by
        ``normalise_weights``.

    Raises
    ------
    ValueError
        As ``normalise_weights``, or a two-sided mapping with other keys.
    """
    if weights is not None and any(k in SIDES for k in weights):
        extra = set(weights) - set(SIDES)
        if extra:
            raise ValueError(f"two-sided weights take only {SIDES}; got {sorted(extra)}")
        return {s: normalise_weights(weights.get(s)) for s in SIDES}
    flat = normalise_weights(weights)
    return {s: dict(flat) for s in SIDES}


class _LazyRank(dict[str, tuple[Float32Array, Float32Array]]):
    """``{by: (X, Y^T)}`` built on first access."""

    def __init__(self, build: Callable[[str], tuple[Float32Array, Float32Array]]) -> None:
        super().__init__()
        self._build = build
        # A matrix may be built ahead in another thread (``MatchModel.build_ahead``):
        # a caller asking for it meanwhile waits for that build, not a second one.
        self._lock = threading.Lock()

    def __missing__(self, by: str) -> tuple[Float32Array, Float32Array]:
        if by not in ("combined", "student", "sme"):
            raise KeyError(by)
        with self._lock:
            if by in self:  # built by another thread while this one waited
                return dict.__getitem__(self, by)
            value = self._build(by)
            self[by] = value
            return value


class MatchModel(BaseEstimator):  # type: ignore[misc]
    """Two-sided student-SME similarity, scikit-learn style.

    Parameters
    ----------
    weights : Mapping, optional
        Criterion weights by factor name (``language``, ``market``,
        ``industry``, ``region``, ``korean``, ``text``); missing factors keep
        their default (``DEFAULT_WEIGHTS``); the result is normalised to sum 1.
        Or two-sided, ``{"sme_view": {...}, "student_view": {...}}``: each
        view scored with its own weights (``side_weights``).
    text_dims : int, default 32
        Dimensions of the fixed text embedding (``features.text_embedding``:
        hashed words, nothing learnt from the cohort). Free text is a
        tie-breaker; a small dense space keeps the score product narrow. Set 0
        to ignore text.
    priority_bonus : float, default 0.05
        Share of the SME's view reserved for priority students (those left
        unmatched last cycle): their SME view is ``(1-b) * base + b``, everyone
        else's ``(1-b) * base``. This changes no SME's order among non-priority
        students and lifts priority students by ``b`` in every SME's ranking.
    random_state : int or None
        Kept for compatibility: nothing in the model is random any more.
    rules : RuleTable, optional
        Visa rules (``matching.eligibility``); None = the table in force today.

    Attributes
    ----------
    weights_ : dict
        Normalised weights of the combined score (the mean of the two views'
        weights; with flat weights, those weights).
    side_weights_ : dict
        ``{"sme_view": {...}, "student_view": {...}}``, normalised.
    view_weights_ : (dict, dict)
        The same as a pair ``(sme_view, student_view)``.
    rules_ : RuleTable
        The visa rules applied.
    n_students_, n_smes_ : int
    students_, smes_ : list of profiles
    languages_, markets_ : list of str
        Vocabularies learnt in ``fit`` (from the SMEs' needs and targets).
    topik_, min_topik_, capacity_, priority_ : ndarray
        Per-student TOPIK and priority flags; per-SME minimum TOPIK and capacity.
    x_sme_, y_sme_, x_stu_, y_stu_ : ndarray of float64
        Weighted feature matrices: the SME's view of pair ``(i, j)`` is
        ``x_sme_[i] . y_sme_[j]``, the student's view ``x_stu_[i] . y_stu_[j]``.
    col_factor_ : ndarray of str
        The factor of each feature column.
    col_label_ : list of str
        The code behind each feature column.
    reason_groups_ : (list of (factor, label), ndarray)
        Columns grouped into reasons (see ``matching.explanations``).
    pair_x_, pair_y_ : ndarray of float32
        0/1 indicators of the language and market columns: a pair has a
        language or market in common iff ``pair_x_[i] . pair_y_[j] > 0``.
    pair_bits_x_, pair_bits_y_ : ndarray of uint64, shape (rows, words)
        The same indicators as bits: a pair has something in common iff
        ``(pair_bits_x_[i] & pair_bits_y_[j]).any()`` (``shortlists.common``).
    student_group_, sme_group_, blocked_table_ : ndarray
        Visa and period rules by group: pair ``(i, j)`` is blocked iff
        ``blocked_table_[student_group_[i], sme_group_[j]]``.
    """

    def __init__(
        self,
        weights: Mapping[str, float] | None = None,
        text_dims: int = TEXT_DIMS,
        priority_bonus: float = 0.05,
        random_state: int | None = None,
        rules: RuleTable | None = None,
    ) -> None:
        self.weights = weights
        self.text_dims = text_dims
        self.priority_bonus = priority_bonus
        self.random_state = random_state
        self.rules = rules

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        students: Sequence[StudentProfile],
        smes: Sequence[SMEProfile],
        priority: npt.ArrayLike | None = None,
    ) -> MatchModel:
        """Learn vocabularies and build feature matrices.

        Parameters
        ----------
        students : sequence of StudentProfile
        smes : sequence of SMEProfile
        priority : array-like of bool, optional
            One flag per student; flagged students get ``priority_bonus``.

        Returns
        -------
        MatchModel
            ``self``.
        """
        # Single-threaded BLAS: fit's dense operations are small (the SVD's
        # QR/LU on tall, narrow matrices), and BLAS threads only add overhead
        # there, a lot when other processes compete for the cores.
        with gc_paused(), blas_single_thread():
            return self._fit(students, smes, priority)

    def _fit(
        self,
        students: Sequence[StudentProfile],
        smes: Sequence[SMEProfile],
        priority: npt.ArrayLike | None,
    ) -> MatchModel:
        self.side_weights_ = side_weights(self.weights)
        ws, wt = self.side_weights_["sme_view"], self.side_weights_["student_view"]
        self.view_weights_ = (ws, wt)
        self.weights_ = {f: 0.5 * (ws[f] + wt[f]) for f in ALL_FACTORS}
        self.rules_ = self.rules if self.rules is not None else load_rules()
        if not 0.0 <= float(self.priority_bonus) < 1.0:
            raise ValueError("priority_bonus must be in [0, 1)")
        n, m = len(students), len(smes)
        self.n_students_, self.n_smes_ = n, m
        self.students_ = list(students)
        self.smes_ = list(smes)
        self.min_topik_ = np.array([s.min_topik for s in smes], dtype=np.int64)
        self.topik_ = np.array([s.topik_level for s in students], dtype=np.int64)
        self.capacity_ = np.array([s.capacity for s in smes], dtype=np.int64)
        pri = np.zeros(n, bool) if priority is None else np.asarray(priority, dtype=bool)
        if pri.shape != (n,):
            raise ValueError("priority must have one flag per student")
        self.priority_ = pri

        # Once per distinct (languages needed, markets): what the list depends
        # on (a few hundred among 10,000 SMEs; 2 us an SME otherwise).
        needs_of: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[str, ...]] = {}
        needs = []
        for s in smes:
            key = (s.languages_needed, s.markets)
            nd = needs_of.get(key)
            if nd is None:
                nd = needs_of[key] = needed_languages(s)
            needs.append(nd)
        self.sme_needs_ = needs
        self.languages_ = sorted({lang for nd in needs for lang in nd})
        self.markets_ = sorted({c for s in smes for c in s.markets})
        langs = student_languages(students)
        blocks = [
            language_block(students, needs, langs, self.languages_),
            market_block(students, smes, langs, self.markets_),
            industry_block(students, smes),
            region_block(students, smes),
            korean_block(self.topik_, self.min_topik_),
            text_block(students, smes, self.text_dims),
            availability_block(students, smes),
        ]
        # Something in common: unweighted indicators of the language and
        # market columns (acceptability must not depend on the weights).
        pair_blocks = [b for b in blocks if b.factor in PAIRING_FACTORS]
        self.pair_x_ = np.ascontiguousarray(
            np.hstack([b.x_sme > 0 for b in pair_blocks]), dtype=np.float32
        )
        self.pair_y_ = np.ascontiguousarray(
            np.hstack([b.y_sme > 0 for b in pair_blocks]), dtype=np.float32
        )
        # The same indicators packed into 64-bit words: "something in common"
        # is one AND per pair, cheap enough to test only the pairs a top-k
        # pass keeps instead of a product over every pair.
        self.pair_bits_x_ = pack_bits(self.pair_x_)
        self.pair_bits_y_ = pack_bits(self.pair_y_)
        gs, gm, table = group_table(student_arrays(students, self.rules_), sme_arrays(smes))
        self.student_group_, self.sme_group_, self.blocked_table_ = gs, gm, table
        self.fold_blocked_ = bool(table.any()) and table.shape[0] <= MAX_FOLDED_GROUPS
        if self.priority_bonus > 0 and pri.any():
            ones = np.ones((m, 1))
            flags = pri[:, None].astype(float)
            blocks.append(
                Block("priority", ["priority"], flags, ones, np.zeros((n, 1)), ones, True)
            )
        self._assemble(blocks)
        return self

    # ------------------------------------------------------------ matrices
    def _assemble(self, blocks: list[Block]) -> None:
        """Build weighted view matrices; ranking matrices are built on first use.

        Every output is allocated once and filled block by block (no
        intermediate stacks): at 100,000 students the copies cost more than
        the features themselves.
        """
        w_sme, w_stu = self.view_weights_
        # The SME view always reserves the priority share (even when nobody
        # has priority), so a pair's score does not depend on the pool.
        b = float(self.priority_bonus)
        n, m = self.n_students_, self.n_smes_
        widths = [bl.x_sme.shape[1] for bl in blocks]
        n_cols = sum(widths)
        xs, xt = np.empty((n, n_cols)), np.empty((n, n_cols))
        ys, yt = np.empty((m, n_cols)), np.empty((m, n_cols))
        fs: list[str] = []
        plan: list[tuple[Block, float, float, slice]] = []
        off = 0
        for bl, width in zip(blocks, widths, strict=True):
            if bl.factor == "priority":
                ws, wt = b, 0.0
            else:
                ws, wt = w_sme[bl.factor] * (1.0 - b), w_stu[bl.factor]
            plan.append((bl, ws, wt, slice(off, off + width)))
            off += width
            fs.extend([bl.factor] * width)

        def fill(a: int, z: int) -> None:
            # rows a:z of the students followed by the SMEs, on all cores
            # (elementwise: the same values whatever the rows per chunk; the
            # matrices' fresh pages are faulted in by both threads)
            i0, i1, j0, j1 = min(a, n), min(z, n), max(a - n, 0), max(z - n, 0)
            for bl, ws, wt, sl in plan:
                if i1 > i0:
                    np.multiply(bl.x_sme[i0:i1], ws, out=xs[i0:i1, sl])
                    np.multiply(bl.x_stu[i0:i1], wt, out=xt[i0:i1, sl])
                if j1 > j0:
                    ys[j0:j1, sl] = bl.y_sme[j0:j1]
                    yt[j0:j1, sl] = bl.y_stu[j0:j1]

        in_chunks(fill, n + m, max(1, min(FILL_ROWS, -(-(n + m) // workers()))))
        self.x_sme_, self.y_sme_, self.x_stu_, self.y_stu_ = xs, ys, xt, yt
        self.col_factor_ = np.array(fs, dtype=object).astype(str) if fs else np.zeros(0, dtype=str)
        self.col_label_ = [lab for bl in blocks for lab in bl.labels]
        self.reason_groups_ = explanations.reason_groups(self)
        # The exact scorer's tables are built on first use, or ahead in a
        # thread (``build_ahead("exact")``: stable mode builds them beside the
        # first pass's ranking matrices, numpy beside numpy; issue 14,
        # session 13). ``fit`` no longer waits for them.
        self._priority_share = b
        self._exact_scorer: _ExactScorer | None = None
        self._exact_lock = threading.Lock()
        # Ranking matrices are built on first use (stable mode never needs
        # the combined one: 70 MB at 100,000 students).
        self._layout = [
            (bl.factor, width, bl.shared_y) for bl, width in zip(blocks, widths, strict=True)
        ]
        self._rank = _LazyRank(self._build_rank)

    def build_ahead(self, *ranking: str) -> None:
        """Build the ``ranking`` matrices (or the exact scorer's tables) now, if not built yet.

        They are numpy work (it releases the GIL) that otherwise runs on the
        caller's thread when first asked for; a caller with a core to spare
        runs this in another thread beforehand (stable mode: the SME view's,
        beside deferred acceptance's first rounds, before list growth asks
        for them; the exact scorer's, beside the first pass's ranking
        matrices). Safe beside any other use of the model: a caller asking
        for a matrix while it is being built waits for this build.

        Parameters
        ----------
        *ranking : {"combined", "student", "sme", "exact"}
        """
        self._check_fitted()
        for by in ranking:
            if by == "exact":
                self._exact  # noqa: B018 (built on access)
            else:
                self._rank[by]  # noqa: B018 (built on access)

    @property
    def _exact(self) -> _ExactScorer:
        """The exact scorer, built on first access (one build, whichever thread asks)."""
        scorer = self._exact_scorer
        if scorer is None:
            with self._exact_lock:
                scorer = self._exact_scorer
                if scorer is None:
                    scorer = self._exact_scorer = _ExactScorer(self, self._priority_share)
        return scorer

    def ranking_matrices(self, by: str) -> tuple[Float32Array, Float32Array]:
        """Float32 ranking matrices ``(X, Y^T)``: ``X @ Y^T`` ranks pairs by one score.

        Pairs with a TOPIK below the SME's minimum rank below every other
        (``UNACCEPTABLE`` is folded into the Korean columns).

        Parameters
        ----------
        by : {"combined", "student", "sme"}

        Returns
        -------
        X : ndarray of float32, shape (students, width)
        YT : ndarray of float32, shape (width, SMEs)
            A transposed view.
        """
        self._check_fitted()
        return self._rank[by]

    def _build_rank(self, by: str) -> tuple[Float32Array, Float32Array]:
        xs, xt, ys, yt = self.x_sme_, self.x_stu_, self.y_sme_, self.y_stu_
        n, m = self.n_students_, self.n_smes_
        pen = np.where(self.topik_[:, None] < np.arange(7)[None, :], UNACCEPTABLE, 0.0)
        # Blocks whose SME side is the same in both views are merged so the
        # product stays narrow.
        parts: list[tuple[FloatArray, float, FloatArray]] = []  # (x, factor, y)
        off = 0
        kor_at = -1
        for factor, width, shared_y in self._layout:
            sl = slice(off, off + width)
            off += width
            if factor == "korean":
                kor_at = len(parts)
            if by == "student":
                parts.append((xt[:, sl], 1.0, yt[:, sl]))
            elif by == "sme":
                parts.append((xs[:, sl], 1.0, ys[:, sl]))
            elif shared_y:
                parts.append((xs[:, sl] + xt[:, sl], 0.5, ys[:, sl]))
            else:
                parts.extend([(xs[:, sl], 0.5, ys[:, sl]), (xt[:, sl], 0.5, yt[:, sl])])
        # The TOPIK penalty multiplies the same one-hot of the SME's minimum
        # as the Korean criterion: fold it into those columns (7 fewer
        # columns in every product).
        kx, kf, ky = parts[kor_at]
        parts[kor_at] = (kx * kf + pen, 1.0, ky)
        if self.fold_blocked_:
            # Blocked (student group, SME group) pairs: a one-hot of the
            # student's group times UNACCEPTABLE where the SME's group is
            # blocked for it; a few columns instead of a pass per chunk.
            groups = self.blocked_table_.shape[0]
            onehot = np.zeros((n, groups))
            onehot[np.arange(n), self.student_group_] = 1.0
            pen_y = np.where(self.blocked_table_[:, self.sme_group_].T, UNACCEPTABLE, 0.0)
            parts.append((onehot, 1.0, pen_y))
        # A column that is zero for every student or for every SME adds an
        # exact 0 to every pair's product (a language no SME needs, a market
        # nobody knows, a TOPIK level no SME asks for...): it is left out, so
        # every ranking product (the first pass, each growth pass, each
        # pricing pass) multiplies fewer columns. 13 of 128 at 20,000 x
        # 10,000, about a tenth of the product's time.
        used = [_product_columns(px, py) for px, _, py in parts]
        width_all = sum(u.size for u in used)
        # YT is the transpose *view* of a C-contiguous (SMEs x features)
        # matrix: BLAS multiplies X @ Y.T about twice as fast as with a
        # C-contiguous (features x SMEs) right-hand side here.
        x_rank = np.empty((n, width_all), dtype=np.float32)
        y_rank = np.empty((m, width_all), dtype=np.float32)
        off = 0
        for (px, f, py), u in zip(parts, used, strict=True):
            sl = slice(off, off + u.size)
            off += u.size
            if u.size < px.shape[1]:
                px, py = px[:, u], py[:, u]
            if f == 1.0:
                x_rank[:, sl] = px
            else:
                np.multiply(px, f, out=x_rank[:, sl], casting="same_kind")
            y_rank[:, sl] = py
        return x_rank, y_rank.T

    def _check_fitted(self) -> None:
        if not hasattr(self, "weights_"):
            raise RuntimeError("MatchModel is not fitted; call fit(students, smes) first")

    # -------------------------------------------------------------- scoring
    def score_pairs(
        self, student_idx: npt.ArrayLike, sme_idx: npt.ArrayLike
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Score arbitrary (student, SME) index pairs exactly (float64).

        Parameters
        ----------
        student_idx, sme_idx : array-like of int
            Same length; pair ``p`` is ``(student_idx[p], sme_idx[p])``.

        Returns
        -------
        combined, student_view, sme_view : ndarray of float64
            Each in [0, 1]. Unacceptable pairs still get their (low) scores;
            see ``acceptable``.
        """
        self._check_fitted()
        si, sj = _pair_indices(student_idx, sme_idx)
        comb, stu, sme, _ = self._exact_scores(si, sj, acceptability=False)
        return comb, stu, sme

    def shortlist_scores(
        self, student_idx: IntArray, sme_idx: IntArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_]]:
        """Exact pair scores (as ``score_pairs``) plus acceptability.

        Computed per pair (not from a float32 block), so the same pair gets
        the same value in every query, which deferred acceptance relies on
        when lists grow, and equal scores are equal (ties go to the lower
        index, not to float32 rounding).

        Parameters
        ----------
        student_idx, sme_idx : ndarray of int

        Returns
        -------
        combined, student_view, sme_view : ndarray of float64
        acceptable : ndarray of bool
        """
        return self._exact_scores(student_idx, sme_idx, acceptability=True)

    def _exact_scores(
        self, si: IntArray, sj: IntArray, *, acceptability: bool
    ) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_]]:
        """Exact scores (and acceptability) chunk by chunk, on all cores.

        Every step is per pair (gathers, the exact views, clipping and
        rounding), so each chunk fills its own slice and the result is the
        same for any number of threads. A million pairs (a first candidate
        pass at 20,000 x 10,000) were 0.3 s on one core.
        """
        comb, stu, sme = np.empty(si.size), np.zeros(si.size), np.zeros(si.size)
        ok = np.ones(si.size if acceptability else 0, dtype=bool)

        def chunk(a: int, b: int) -> None:
            if acceptability:
                i, j = si[a:b], sj[a:b]
                here = self.topik_[i] >= self.min_topik_[j]
                here &= ~self.blocked_table_[self.student_group_[i], self.sme_group_[j]]
                here &= self._exact.common(i, j)
                ok[a:b] = here
            self._exact.views_into(si, sj, a, b, stu, sme)
            _quantised(stu[a:b], sme[a:b], comb[a:b])

        in_chunks(chunk, si.size, EXACT_STEP)
        return comb, stu, sme, ok

    def acceptable(
        self, student_idx: npt.ArrayLike, sme_idx: npt.ArrayLike
    ) -> npt.NDArray[np.bool_]:
        """Whether pairs are acceptable at all.

        A pair is unacceptable when the student's TOPIK is below the SME's
        ``min_topik``, when it has no language and no market in common
        (industry alone does not make a pair), or when a visa or period rule
        blocks it (``matching.eligibility``).

        Parameters
        ----------
        student_idx, sme_idx : array-like of int

        Returns
        -------
        ndarray of bool
        """
        self._check_fitted()
        si, sj = _pair_indices(student_idx, sme_idx)
        return self.shortlist_scores(si, sj)[3]

    def score_matrix(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Dense (students x SMEs) score matrices; for small problems and tests.

        Returns
        -------
        combined, student_view, sme_view : ndarray of float64
            Unacceptable pairs are ``-inf`` in all three.
        """
        self._check_fitted()
        n, m = self.n_students_, self.n_smes_
        i, j = np.divmod(np.arange(n * m, dtype=np.int64), max(m, 1))
        comb, stu, sme = self.score_pairs(i, j)
        ok = self.acceptable(i, j)
        out = [np.where(ok, v, -np.inf).reshape(n, m) for v in (comb, stu, sme)]
        return out[0], out[1], out[2]

    # ----------------------------------------------------------- shortlists
    def candidates(
        self,
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
        """Top-k acceptable SMEs per student: ``matching.shortlists.candidates``.

        Parameters
        ----------
        k : int
        by, exclude, include, students, sme_mask, sme_side, sme_floor, prices,
        chunk_size, max_block_bytes, reserve, exclude_keys
            See ``matching.shortlists.candidates``.

        Returns
        -------
        Candidates
        """
        self._check_fitted()
        return shortlists.candidates(
            self,
            k,
            by=by,
            exclude=exclude,
            include=include,
            students=students,
            sme_mask=sme_mask,
            sme_side=sme_side,
            sme_floor=sme_floor,
            prices=prices,
            chunk_size=chunk_size,
            max_block_bytes=max_block_bytes,
            reserve=reserve,
            exclude_keys=exclude_keys,
        )

    # ------------------------------------------------------------- explain
    def explain(self, student_idx: int, sme_idx: int) -> list[Reason]:
        """Split a pair's combined score into reasons.

        Parameters
        ----------
        student_idx, sme_idx : int
            Indices into the fitted students and SMEs.

        Returns
        -------
        list of Reason
            See ``matching.explanations.explain_pairs``.
        """
        return self.explain_pairs([int(student_idx)], [int(sme_idx)])[0]

    def explain_pairs(
        self, student_idx: npt.ArrayLike, sme_idx: npt.ArrayLike
    ) -> list[list[Reason]]:
        """``explain`` for many pairs at once (contributions computed in bulk).

        Parameters
        ----------
        student_idx, sme_idx : array-like of int
            Same length; pair ``p`` is ``(student_idx[p], sme_idx[p])``.

        Returns
        -------
        list of list of Reason
            One list per pair, as ``explain`` returns it.
        """
        self._check_fitted()
        si, sj = _pair_indices(student_idx, sme_idx)
        return explanations.explain_pairs(self, si, sj)


class _ExactScorer:
    """Exact pair scores without gathering whole feature rows.

    SME rows are sparse (a few needed languages, markets, industries, one
    region, one TOPIK level, a few hour steps): the non-text part of a view
    is a sum over the SME's nonzero columns of ``x[i, f] * y[j, f]`` in
    float64, summed in the same order for every pair, so a pair always gets
    the same value and pairs equal in exact arithmetic come out equal after
    rounding. The text part (dense, continuous) is a float32 dot product of
    the unweighted embedding, shared by both views.
    """

    def __init__(self, model: MatchModel, priority_share: float) -> None:
        text = model.col_factor_ == "text"
        rest = np.flatnonzero(~text)
        self.x_sme, self.x_stu = model.x_sme_, model.x_stu_
        self.width = model.x_sme_.shape[1]
        self.y_pattern, self.y_sme, self.y_stu = _union_csr(model.y_sme_, model.y_stu_, rest)
        # (the pattern's rows read as plain arrays: ``_sparse_dots_into``)
        self.y_indptr = self.y_pattern.indptr.astype(np.int64)
        self.y_cols = self.y_pattern.indices.astype(np.int64)
        w_sme, w_stu = model.view_weights_
        self.text_sme = w_sme["text"] * (1.0 - priority_share)
        self.text_stu = w_stu["text"]
        # unweighted text features (the y side is unweighted already)
        self.y_text = np.ascontiguousarray(model.y_stu_[:, text], dtype=np.float32)
        scale = self.text_stu if self.text_stu > 0 else self.text_sme
        x_text = model.x_stu_[:, text] if self.text_stu > 0 else model.x_sme_[:, text]
        self.x_text = np.ascontiguousarray(
            x_text / scale if scale > 0 else np.zeros_like(x_text), dtype=np.float32
        )
        self.pair_bits_x, self.pair_bits_y = model.pair_bits_x_, model.pair_bits_y_

    def views(self, si: IntArray, sj: IntArray) -> tuple[FloatArray, FloatArray]:
        """(student view, SME view) of pairs, before clipping and rounding."""
        stu, sme = np.zeros(si.size), np.zeros(si.size)
        in_chunks(lambda a, b: self.views_into(si, sj, a, b, stu, sme), si.size, EXACT_STEP)
        return stu, sme

    def views_into(
        self, si: IntArray, sj: IntArray, a: int, b: int, stu: FloatArray, sme: FloatArray
    ) -> None:
        """``views`` of the pairs ``a:b`` into ``stu[a:b]`` and ``sme[a:b]`` (zeros there).

        Each pair's value depends only on the pair: the sparse part sums its
        own terms in column order, the text part is its own float32 dot
        product (``test_exact_views_do_not_depend_on_the_step``).
        """
        i, j = si[a:b], sj[a:b]
        _sparse_dots_into(
            (self.x_stu, self.x_sme),
            self.width,
            (self.y_indptr, self.y_cols),
            (self.y_stu, self.y_sme),
            i,
            j,
            (stu[a:b], sme[a:b]),
        )
        if self.x_text.shape[1] and (self.text_stu > 0 or self.text_sme > 0):
            # float32 dot products, widened before they are weighted (as one
            # float64 array: the weights multiply in float64)
            dot = np.einsum("ij,ij->i", self.x_text[i], self.y_text[j]).astype(np.float64)
            stu[a:b] += self.text_stu * dot
            sme[a:b] += self.text_sme * dot

    def common(self, si: IntArray, sj: IntArray) -> npt.NDArray[np.bool_]:
        """Whether pairs have a language or market in common."""
        return shortlists.common(self.pair_bits_x[si], self.pair_bits_y[sj])


def _product_columns(x: FloatArray, y: FloatArray) -> IntArray:
    """Columns that can add to some pair's ``x[i] . y[j]``: nonzero for a student and an SME."""
    used: IntArray = np.flatnonzero((x != 0).any(axis=0) & (y != 0).any(axis=0))
    return used


def _union_csr(
    y_a: FloatArray, y_b: FloatArray, cols: IntArray
) -> tuple[sp.csr_array, FloatArray, FloatArray]:
    """One CSR pattern for ``y_a[:, cols]`` and ``y_b[:, cols]`` (their nonzeros' union).

    Returns the pattern (its values number the stored entries: 0, 1, ...,
    as floats) and each matrix's values on it (0 where only the other has
    an entry). Columns keep ``y``'s numbering and come sorted in each row
    (``cols`` ascending).
    """
    # The nonzeros of the whole matrices, the other columns masked out: the
    # same entries in the same (row-major) order as those of ``y[:, cols]``
    # (``cols`` ascending), without copying the columns out first (a gather
    # along rows: 4 of fit's 60 ms at 1,000 x 3,000; issue 14, session 12).
    keep = np.zeros(y_a.shape[1], dtype=bool)
    keep[cols] = True
    nonzero = (y_a != 0) | (y_b != 0)
    nonzero &= keep
    r, c = np.nonzero(nonzero)
    indptr = np.zeros(y_a.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=y_a.shape[0]), out=indptr[1:])
    entry = np.arange(r.size, dtype=np.float64)  # explicit, even entry 0.0
    pattern = sp.csr_array((entry, c.astype(np.int64), indptr), shape=y_a.shape)
    # Sorted, no duplicates (``nonzero`` is row-major): said once here, so that
    # the threads gathering its rows never check or fix it (``in_chunks``).
    pattern.has_canonical_format = True
    return pattern, y_a[r, c].astype(np.float64), y_b[r, c].astype(np.float64)


def _sparse_dots_into(
    xs: tuple[npt.NDArray[np.floating[Any]], ...],
    width: int,
    pattern: tuple[IntArray, IntArray],
    ys: tuple[FloatArray, ...],
    i: IntArray,
    j: IntArray,
    outs: tuple[FloatArray, ...],
) -> None:
    """``x[i[p]] . y[j[p]]`` for each ``(x, y)`` of ``zip(xs, ys)`` over ``pattern``, into ``outs``.

    ``pattern``: the (indptr, columns) of the SMEs' rows' stored entries
    (``_union_csr``), whose values are ``ys``. The pairs' entries are read
    as positions in it, and turned into one sparse matrix per view whose
    entry ``(p, i * width + f)`` is ``y[j, f]``: its product with the flat
    ``x`` sums each pair's terms in one compiled loop, in column order from
    0.0, so every pair gets exactly the value the per-term gather and
    ``np.bincount`` gave (the union pattern adds terms ``x * 0.0``, which
    leave a sum unchanged). Measured at 20,000 x 10,000 on a million pairs:
    0.12 s of CPU per view instead of 0.27 s. ``outs`` hold zeros (a pair
    with no entries keeps 0.0). (Until issue 14's sixteenth session the
    pairs' rows were gathered with scipy's CSR row indexing, whose Python
    checks and index-type choices were most of a step's fixed cost, and
    whose values, the entries' positions as floats, were converted back.)

    Callers go ``EXACT_STEP`` pairs at a time: the temporaries are step x
    entries per row x ~24 bytes, and 2^16 pairs made ~70 MB of them per
    step at 20,000 x 10,000: above glibc's largest mmap threshold, so each
    step mapped fresh pages and faulted every one in (~28,000 minor faults
    per million pairs, every call). 2^13 pairs keep them to a few MB, reused
    from the heap: a million pairs' first call 1.06-1.23 -> 0.60-0.70 s of
    CPU (issue 14, session 5).
    """
    indptr, cols = pattern
    start = indptr[j]
    count = indptr[j + 1] - start
    row_ptr = np.zeros(i.size + 1, dtype=np.int64)
    np.cumsum(count, out=row_ptr[1:])
    total = int(row_ptr[-1])
    if total == 0:
        return
    flats = [x.reshape(-1) for x in xs]
    # each stored entry's position in the pattern, pair by pair
    start -= row_ptr[:-1]
    entry = np.repeat(start, count)
    entry += np.arange(total, dtype=np.int64)
    flat_col = cols[entry]
    flat_col += np.repeat(i * width, count)
    for out, flat, y in zip(outs, flats, ys, strict=True):
        terms = sp.csr_array((y[entry], flat_col, row_ptr), shape=(i.size, flat.size), copy=False)
        out[:] = terms @ flat


def _quantised(stu: FloatArray, sme: FloatArray, comb: FloatArray) -> None:
    """Clamp into [0, 1] and round to ``SCORE_DECIMALS`` in place; their mean into ``comb``."""
    np.clip(stu, 0.0, 1.0, out=stu)
    np.clip(sme, 0.0, 1.0, out=sme)
    np.round(stu, SCORE_DECIMALS, out=stu)
    np.round(sme, SCORE_DECIMALS, out=sme)
    np.add(stu, sme, out=comb)
    comb *= 0.5


def _pair_indices(student_idx: npt.ArrayLike, sme_idx: npt.ArrayLike) -> tuple[IntArray, IntArray]:
    si = np.asarray(student_idx, dtype=np.int64).ravel()
    sj = np.asarray(sme_idx, dtype=np.int64).ravel()
    if si.shape != sj.shape:
        raise ValueError("student_idx and sme_idx must have the same length")
    return si, sj
