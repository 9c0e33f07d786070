"""Learning the criterion weights from what people decide (two-sided).

Every proposal is a pair with one value per criterion in each view (the
unweighted criterion values the score is built from, ``criterion_values``).
Every answer is a label: the SME's accept/decline teaches the SME view, the
student's teaches the student view. One learner per side fits

    P(accept) = sigmoid(b + sum_f c_f * v_f),   c_f >= 0

a logistic regression whose coefficients are constrained non-negative
(``NonNegativeLogisticRegression``). Its decision function is an affine,
increasing function of ``sum_f w_f v_f`` with ``w = c / sum(c)`` - exactly the
engine's view score with weights ``w`` - so the learned model *is* a set of
criterion weights the engine already understands, and every explanation of a
score stays exact (``weights_from_coef``). Why not gradient boosting with
monotonic constraints: its ranking is not a weighted sum, so mapping it back to
weights would be an approximation, and a coordinator would adopt weights that
do not rank pairs the way the validated model did. See ``docs/engine.md``.

Validation is on time (``time_split``): train on older cycles, test on the
newest, and report ROC AUC, log loss, Brier score and reliability bins for the
learned weights *and* the current weights on the same held-out answers. The
current weights get the same chance: their score is turned into a probability
by a one-feature logistic fit on the same training answers (Platt scaling).
A side's suggestion is only claimed better when DeLong's paired test on the
held-out answers puts the AUC gain above zero (``better``); otherwise the
current weights stay the suggestion for that side.

Everything here is numbers in, numbers out: the report (``Report.to_dict``) is
plain JSON, never a pickle. ``simulate`` makes answers from hidden "true"
weights, for tests, benchmarks and the demo.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, check_X_y, validate_data
from threadpoolctl import threadpool_limits

from .compute import in_chunks
from .features import FACTORS, MAIN_FACTORS
from .model import SIDES, MatchModel, normalise_weights
from .model import side_weights as sided_weights
from .profiles import SMEProfile, StudentProfile

__all__ = [
    "DECLINE_REASON_USE",
    "SIDES",
    "Answers",
    "NonNegativeLogisticRegression",
    "Report",
    "SideReport",
    "Simulation",
    "answer_label",
    "auc",
    "auc_gain_lower_bound",
    "criterion_values",
    "learn",
    "learn_side",
    "pair_criteria",
    "sided_weights",
    "simulate",
    "time_split",
    "weights_from_coef",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: How each decline reason code (``app.services.decisions.DECLINE_REASONS``)
#: is used as a label. "fit": the person said the pair does not fit - a
#: negative example for their side (a "language", "market" or "location"
#: decline names the criterion, and the pair's own criterion values already
#: carry which one was weak: counting it twice would bias that weight up).
#: "ignore": the decline says nothing about the pair's fit (no time, hours do
#: not work), so it is not used at all - a negative would teach the model
#: that good pairs are bad.
DECLINE_REASON_USE: Final[Mapping[str, str]] = {
    "not_a_fit": "fit",
    "language": "fit",
    "market": "fit",
    "location": "fit",
    "other": "fit",
    "": "fit",
    "capacity": "ignore",
    "schedule": "ignore",
}
#: Outcomes that say the pair worked: that pair's accepts count twice. The
#: match's outcome (what the SME recorded at completion) counts for both sides;
#: a student's own outcome (a job offer, an E-7 visa) for the student's side.
GOOD_OUTCOMES: Final[frozenset[str]] = frozenset(
    {"market_research", "translation", "buyer_contacted", "trade_fair", "contract_signed",
     "market_entered", "job_offer", "e7_visa"}
)  # fmt: skip
#: A suggestion must beat the current weights' held-out AUC by at least this
#: much (and its one-sided 95 % lower bound must be above zero) to be claimed.
MIN_AUC_GAIN: Final[float] = 0.01
#: Pairs per chunk of ``criterion_values`` (chunks run on all cores). Each
#: chunk gathers step x columns x 8 bytes per view; 2^10 pairs (~1 MB, in
#: cache) took half the CPU of 2^12 (~4 MB) at 20,000 x 10,000: 0.032 against
#: 0.061 s for 19,486 pairs on one thread, and no page faults on two.
CRITERION_STEP: Final[int] = 1 << 10


# ---------------------------------------------------------------- features
def _factor_scales(model: MatchModel) -> dict[str, FloatArray]:
    """How much the fitted model multiplied each factor's columns, per view."""
    w = model.side_weights_
    # The SME view always reserves the priority share (scores do not depend
    # on whether anyone in the pool has priority; issue 9).
    b = float(model.priority_bonus)
    return {
        "sme_view": np.array([w["sme_view"][f] * (1.0 - b) for f in FACTORS]),
        "student_view": np.array([w["student_view"][f] for f in FACTORS]),
    }


def criterion_values(
    model: MatchModel, student_idx: npt.ArrayLike, sme_idx: npt.ArrayLike
) -> dict[str, FloatArray]:
    """Unweighted per-criterion values of pairs, per view.

    A view's score is ``sum_f w_f * v_f`` (up to the priority bonus); these are
    the ``v_f``, each in [0, 1], in ``FACTORS`` order.

    Parameters
    ----------
    model : MatchModel
        Fitted.
    student_idx, sme_idx : array-like of int
        Same length; indices into the fitted profiles.

    Returns
    -------
    dict
        ``{"sme_view": ndarray (pairs, factors), "student_view": ...}``.
    """
    si = np.asarray(student_idx, dtype=np.int64).ravel()
    sj = np.asarray(sme_idx, dtype=np.int64).ravel()
    if si.shape != sj.shape:
        raise ValueError("student_idx and sme_idx must have the same length")
    scales = _factor_scales(model)
    if any((s <= 0).any() for s in scales.values()):
        # A zero weight erased its factor's columns: read the values from a
        # model fitted with every weight positive on the same profiles (the
        # same random_state gives the same text space).
        plain = MatchModel(
            weights=dict.fromkeys(FACTORS, 1.0),
            text_dims=model.text_dims,
            priority_bonus=0.0,
            random_state=model.random_state,
        ).fit(model.students_, model.smes_)
        return criterion_values(plain, si, sj)
    views = {
        "sme_view": (model.x_sme_, model.y_sme_),
        "student_view": (model.x_stu_, model.y_stu_),
    }
    cols = [np.flatnonzero(model.col_factor_ == f) for f in FACTORS]
    vals = {side: np.zeros((si.size, len(FACTORS))) for side in views}

    def chunk(a: int, b: int) -> None:
        i, j = si[a:b], sj[a:b]
        got = i.size
        if got == 1:
            # einsum sums a lone row in another order than a row among
            # others (a last-bit difference): a pair's values must not
            # depend on how many pairs came with it (a cycle's last
            # step, one pair explained alone), so it goes as two rows.
            # The pair is repeated before the gather, not its gathered
            # rows after: einsum's order also follows the operands'
            # memory layout, which must be the batch's (a C-ordered copy
            # of the gathered columns differed again).
            i, j = np.repeat(i, 2), np.repeat(j, 2)
        for side, (x, y) in views.items():
            # The pairs' rows gathered once per chunk, not once per criterion
            # (seven whole-row gathers per view were most of this function).
            xi, yj = x[i], y[j]
            for f, c in enumerate(cols):
                if c.size:
                    vals[side][a:b, f] = np.einsum("ij,ij->i", xi[:, c], yj[:, c])[:got]

    # Bounded temporaries (``CRITERION_STEP``): 2^15 pairs made ~20 MB
    # gathers at 20,000 x 10,000, fresh pages on a cycle's one call: 0.6 s
    # of CPU instead of 0.045 s. The chunks run on all cores, each filling
    # its own rows (a pair's values do not depend on its chunk).
    in_chunks(chunk, si.size, CRITERION_STEP)
    out: dict[str, FloatArray] = {}
    for side, v in vals.items():
        v /= scales[side][None, :]
        out[side] = np.clip(v, 0.0, 1.0)
    return out


def pair_criteria(
    student: StudentProfile, sme: SMEProfile, weights: Mapping[str, Any] | None = None
) -> dict[str, dict[str, float]]:
    """One pair's criterion values, e.g. for a pair made by hand.

    As with ``matching.explain_pair``, the text value is computed on these
    two texts alone.

    Returns
    -------
    dict
        ``{"sme_view": {factor: value}, "student_view": {...}}``.
    """
    model = MatchModel(weights=weights, random_state=0).fit([student], [sme])
    vals = criterion_values(model, [0], [0])
    return {s: as_mapping(vals[s][0]) for s in SIDES}


def as_mapping(row: npt.ArrayLike) -> dict[str, float]:
    """A row in ``FACTORS`` order as ``{factor: value}`` (rounded for storage)."""
    arr = np.asarray(row, dtype=float).ravel()
    return {f: round(float(v), 6) for f, v in zip(FACTORS, arr, strict=True)}


def as_matrix(rows: Sequence[Mapping[str, float]]) -> FloatArray:
    """``{factor: value}`` rows as a matrix in ``FACTORS`` order (missing: 0)."""
    return np.array([[float(r.get(f, 0.0)) for f in FACTORS] for r in rows]).reshape(
        -1, len(FACTORS)
    )


# ------------------------------------------------------------------ labels
def answer_label(
    decision: str | None, reason: str | None = None, outcome: str | None = None
) -> tuple[int, float] | None:
    """One side's answer as a training label.

    Parameters
    ----------
    decision : {"accept", "decline"} or None
    reason : str, optional
        The decline's reason code (see ``DECLINE_REASON_USE``; unknown codes
        count as "fit").
    outcome : str, optional
        The pair's outcome once completed; a good one doubles an accept.

    Returns
    -------
    (label, sample weight) or None
        None when the answer is no evidence about fit.
    """
    if decision == "accept":
        return 1, 2.0 if outcome in GOOD_OUTCOMES else 1.0
    if decision == "decline":
        if DECLINE_REASON_USE.get(reason or "", "fit") == "ignore":
            return None
        return 0, 1.0
    return None


@dataclass
class Answers:
    """One side's labelled examples.

    Attributes
    ----------
    X : ndarray (n, factors)
        Criterion values of the side's view, ``FACTORS`` order.
    y : ndarray of int
        1 accepted, 0 declined.
    group : ndarray of int
        Time order (e.g. the cycle): larger is newer.
    sample_weight : ndarray of float
    """

    X: FloatArray
    y: IntArray
    group: IntArray
    sample_weight: FloatArray

    def __post_init__(self) -> None:
        self.X = np.asarray(self.X, dtype=float).reshape(-1, len(FACTORS))
        n = self.X.shape[0]
        self.y = np.asarray(self.y, dtype=np.int64).reshape(n)
        self.group = np.asarray(self.group, dtype=np.int64).reshape(n)
        self.sample_weight = np.asarray(self.sample_weight, dtype=float).reshape(n)

    def __len__(self) -> int:
        return int(self.y.size)


# ----------------------------------------------------------------- learner
class NonNegativeLogisticRegression(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Binary logistic regression with non-negative coefficients.

    scikit-learn's ``LogisticRegression`` cannot constrain signs; this fits
    the same L2-penalised log loss with L-BFGS-B and bounds ``coef >= 0``
    (the intercept is free), following scikit-learn's conventions.

    Parameters
    ----------
    C : float, default 1.0
        Inverse L2 strength, as in ``LogisticRegression`` (the penalty is
        ``0.5 * ||coef||^2`` against ``C`` times the summed log loss).
    max_iter : int, default 500
    tol : float, default 1e-8

    Attributes
    ----------
    coef_ : ndarray (1, n_features)
    intercept_ : ndarray (1,)
    classes_ : ndarray
    n_features_in_ : int
    n_iter_ : int
    """

    def __init__(self, C: float = 1.0, max_iter: int = 500, tol: float = 1e-8) -> None:
        self.C = C
        self.max_iter = max_iter
        self.tol = tol

    def fit(
        self, X: npt.ArrayLike, y: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None
    ) -> NonNegativeLogisticRegression:
        """Fit on ``X`` (n, features) and binary ``y``; returns ``self``."""
        if not (self.C > 0 and math.isfinite(self.C)):
            raise ValueError("C must be a positive number")
        Xa, ya = check_X_y(X, y, dtype=np.float64)
        Xm: FloatArray = np.asarray(Xa, dtype=np.float64)
        self.n_features_in_ = Xm.shape[1]
        self.classes_, yi = np.unique(ya, return_inverse=True)
        if self.classes_.size != 2:
            raise ValueError("need answers of both kinds (accepted and declined)")
        t = yi.astype(np.float64)
        sw = np.ones(t.size) if sample_weight is None else np.asarray(sample_weight, float)
        if sw.shape != t.shape or (sw < 0).any():
            raise ValueError("sample_weight must be non-negative, one per answer")
        C, d = float(self.C), Xm.shape[1]

        def loss(theta: FloatArray) -> tuple[float, FloatArray]:
            coef, b = theta[:d], theta[d]
            z = Xm @ coef + b
            # log(1 + e^z) - t z, written with log_expit so large |z| is exact
            nll = sw * (-log_expit(z) + (1.0 - t) * z)
            r = sw * (expit(z) - t)
            grad = np.empty(d + 1)
            grad[:d] = C * (Xm.T @ r) + coef
            grad[d] = C * r.sum()
            return float(C * nll.sum() + 0.5 * coef @ coef), grad

        bounds = [(0.0, None)] * d + [(None, None)]
        # One BLAS thread: L-BFGS-B's LAPACK calls are on 7 x 7 matrices, and
        # a threaded BLAS spends far longer waking threads than computing
        # (seconds instead of milliseconds on a busy machine).
        with threadpool_limits(limits=1, user_api="blas"):
            res = minimize(
                loss,
                np.zeros(d + 1),
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": int(self.max_iter), "ftol": float(self.tol), "gtol": 1e-9},
            )
        self.coef_ = np.maximum(res.x[:d], 0.0)[None, :]
        self.intercept_ = np.array([res.x[d]])
        self.n_iter_ = int(res.nit)
        return self

    def decision_function(self, X: npt.ArrayLike) -> FloatArray:
        """``X @ coef + intercept``."""
        check_is_fitted(self)
        Xm = np.asarray(validate_data(self, X, dtype=np.float64, reset=False), dtype=np.float64)
        out: FloatArray = Xm @ self.coef_[0] + self.intercept_[0]
        return out

    def predict_proba(self, X: npt.ArrayLike) -> FloatArray:
        """Probabilities of the two classes, columns in ``classes_`` order."""
        p = expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[Any]:
        """The more likely class."""
        out: npt.NDArray[Any] = self.classes_[(self.decision_function(X) > 0).astype(int)]
        return out


def weights_from_coef(coef: npt.ArrayLike) -> dict[str, float] | None:
    """Learned coefficients as criterion weights: non-negative, summing to 1.

    Parameters
    ----------
    coef : array-like, one per factor in ``FACTORS`` order

    Returns
    -------
    dict or None
        ``{factor: weight}``; None when the coefficients carry no usable
        signal (all zero, or none on the main criteria, which the engine
        refuses).
    """
    c = np.maximum(np.asarray(coef, dtype=float).ravel(), 0.0)
    if c.size != len(FACTORS) or not np.isfinite(c).all():
        raise ValueError(f"need one finite coefficient per factor {FACTORS}")
    total = float(c.sum())
    if total <= 0:
        return None
    w = c / total
    out = {f: float(v) for f, v in zip(FACTORS, w, strict=True)}
    if sum(out[f] for f in MAIN_FACTORS) <= 0:
        return None
    return out


# -------------------------------------------------------------- validation
def time_split(group: npt.ArrayLike, test_share: float = 0.25) -> npt.NDArray[np.bool_]:
    """Which answers are held out: the newest groups holding ``test_share``.

    Whole groups (cycles) go to the test set, newest first, until it holds at
    least ``test_share`` of the answers, while at least one older group is
    left to train on. With a single group, the newest answers by position.

    Returns
    -------
    ndarray of bool
        True for the held-out answers.
    """
    g = np.asarray(group, dtype=np.int64).ravel()
    n = g.size
    test = np.zeros(n, bool)
    if n == 0:
        return test
    levels = np.unique(g)[::-1]
    if levels.size < 2:
        test[n - max(1, int(round(n * test_share))) :] = True
        return test
    for lv in levels[:-1]:
        test |= g == lv
        if test.sum() >= test_share * n:
            break
    return test


def auc(y: npt.ArrayLike, score: npt.ArrayLike, weight: npt.ArrayLike | None = None) -> float:
    """ROC AUC (ties count half); NaN when only one class is present."""
    yv = np.asarray(y).ravel().astype(bool)
    s = np.asarray(score, dtype=float).ravel()
    if weight is not None:
        from sklearn.metrics import roc_auc_score

        if yv.all() or not yv.any():
            return math.nan
        return float(roc_auc_score(yv, s, sample_weight=np.asarray(weight, float)))
    n1 = int(yv.sum())
    n0 = yv.size - n1
    if n1 == 0 or n0 == 0:
        return math.nan
    ranks = rankdata(s)
    return float((ranks[yv].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def auc_gain_lower_bound(y: npt.ArrayLike, s_new: npt.ArrayLike, s_old: npt.ArrayLike) -> float:
    """One-sided 95 % lower bound of ``AUC(s_new) - AUC(s_old)`` on the same answers.

    DeLong's paired variance (with midranks, Sun and Xu's fast form): exact
    for the empirical AUCs and ``O(n log n)``, where a bootstrap would cost
    hundreds of AUCs.
    """
    yv = np.asarray(y).ravel().astype(bool)
    m, n = int(yv.sum()), int((~yv).sum())
    if m < 2 or n < 2:
        return -math.inf
    v01, v10, aucs = [], [], []
    for s in (np.asarray(s_new, float).ravel(), np.asarray(s_old, float).ravel()):
        pos, neg = s[yv], s[~yv]
        tz = rankdata(np.concatenate([pos, neg]))
        tx, ty = rankdata(pos), rankdata(neg)
        aucs.append(tz[:m].sum() / (m * n) - (m + 1) / (2.0 * n))
        v01.append((tz[:m] - tx) / n)
        v10.append(1.0 - (tz[m:] - ty) / m)
    s01, s10 = np.cov(np.vstack(v01)), np.cov(np.vstack(v10))
    cov = s01 / m + s10 / n
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    diff = float(aucs[0] - aucs[1])
    return diff - 1.6448536269514722 * math.sqrt(max(var, 0.0))


def _log_loss(y: IntArray, p: FloatArray, w: FloatArray) -> float:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-(w * (y * np.log(p) + (1 - y) * np.log1p(-p))).sum() / w.sum())


def _brier(y: IntArray, p: FloatArray, w: FloatArray) -> float:
    return float((w * (p - y) ** 2).sum() / w.sum())


def calibration_bins(
    y: npt.ArrayLike, p: npt.ArrayLike, n_bins: int = 10
) -> list[dict[str, float | int]]:
    """Reliability table: per probability bin, the mean prediction and the accept share.

    Returns
    -------
    list of dict
        ``{"lo", "hi", "n", "predicted", "observed"}`` for each non-empty bin.
    """
    yv = np.asarray(y, dtype=float).ravel()
    pv = np.asarray(p, dtype=float).ravel()
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(pv, edges[1:-1]), 0, n_bins - 1)
    out: list[dict[str, float | int]] = []
    for b in range(n_bins):
        m = which == b
        if m.any():
            out.append(
                {
                    "lo": round(float(edges[b]), 3),
                    "hi": round(float(edges[b + 1]), 3),
                    "n": int(m.sum()),
                    "predicted": round(float(pv[m].mean()), 4),
                    "observed": round(float(yv[m].mean()), 4),
                }
            )
    return out


@dataclass
class SideReport:
    """One side's training result, as plain numbers.

    Attributes
    ----------
    current, learned : dict
        Weights (sum 1). ``learned`` is None when there was no usable signal.
    suggested : dict
        ``learned`` when ``better``, else ``current``.
    better : bool
        The learned weights rank the held-out answers better than the
        current ones (DeLong lower bound of the AUC gain above zero, and a
        gain of at least ``MIN_AUC_GAIN``).
    n_answers, n_train, n_test, n_accepted : int
    metrics : dict
        ``{"current": {...}, "learned": {...}}`` with ``auc``, ``log_loss``,
        ``brier`` and ``calibration`` on the held-out answers.
    auc_gain_low : float
        One-sided 95 % lower bound of the AUC gain (``auc_gain_lower_bound``).
    """

    current: dict[str, float]
    learned: dict[str, float] | None
    suggested: dict[str, float]
    better: bool
    n_answers: int
    n_train: int
    n_test: int
    n_accepted: int
    metrics: dict[str, dict[str, Any]]
    auc_gain_low: float
    coef: list[float] = field(default_factory=list)
    intercept: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready numbers."""
        return {
            "current": _rounded(self.current),
            "learned": _rounded(self.learned) if self.learned is not None else None,
            "suggested": _rounded(self.suggested),
            "better": self.better,
            "n_answers": self.n_answers,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "n_accepted": self.n_accepted,
            "metrics": self.metrics,
            "auc_gain_low": _finite_or_none(self.auc_gain_low),
            "coef": [round(c, 6) for c in self.coef],
            "intercept": round(self.intercept, 6),
        }


def _rounded(w: Mapping[str, float]) -> dict[str, float]:
    return {k: round(float(v), 6) for k, v in w.items()}


def _finite_or_none(x: float) -> float | None:
    return round(float(x), 6) if math.isfinite(x) else None


def _metrics(y: IntArray, score: FloatArray, p: FloatArray, w: FloatArray) -> dict[str, Any]:
    return {
        "auc": _finite_or_none(auc(y, score)),
        "log_loss": round(_log_loss(y, p, w), 6),
        "brier": round(_brier(y, p, w), 6),
        "calibration": calibration_bins(y, p),
    }


def learn_side(
    answers: Answers,
    current: Mapping[str, float] | None = None,
    *,
    test_share: float = 0.25,
    C: float = 1.0,
) -> SideReport:
    """Fit one side's weights and validate them on the newest answers.

    Parameters
    ----------
    answers : Answers
    current : mapping, optional
        The side's weights in force (flat ``{factor: w}``; defaults if None).
    test_share : float
        Share of answers held out (whole newest cycles).
    C : float
        Inverse L2 strength of the learner.

    Returns
    -------
    SideReport

    Raises
    ------
    ValueError
        When the training or the held-out answers lack accepts or declines.
    """
    cur = normalise_weights(current)
    w_cur = np.array([cur[f] for f in FACTORS])
    test = time_split(answers.group, test_share)
    X, y, sw = answers.X, answers.y, answers.sample_weight
    tr = ~test
    for name, m in (("training", tr), ("held-out", test)):
        if np.unique(y[m]).size < 2:
            raise ValueError(f"the {name} answers need both accepts and declines")
    learner = NonNegativeLogisticRegression(C=C).fit(X[tr], y[tr], sample_weight=sw[tr])
    learned = weights_from_coef(learner.coef_[0])
    # The current weights get their own probability scale from the same
    # training answers (one-feature logistic fit on their score).
    s_cur_tr = (X[tr] @ w_cur)[:, None]
    platt = NonNegativeLogisticRegression(C=1e6).fit(s_cur_tr, y[tr], sample_weight=sw[tr])
    yt, wt = y[test], sw[test]
    s_cur = X[test] @ w_cur
    p_cur = platt.predict_proba(s_cur[:, None])[:, 1]
    metrics = {"current": _metrics(yt, s_cur, p_cur, wt)}
    gain_low = -math.inf
    better = False
    if learned is not None:
        s_new = learner.decision_function(X[test])
        p_new = learner.predict_proba(X[test])[:, 1]
        metrics["learned"] = _metrics(yt, s_new, p_new, wt)
        gain_low = auc_gain_lower_bound(yt, s_new, s_cur)
        gain = (metrics["learned"]["auc"] or 0.0) - (metrics["current"]["auc"] or 0.0)
        better = gain_low > 0 and gain >= MIN_AUC_GAIN
    return SideReport(
        current=cur,
        learned=learned,
        suggested=dict(learned) if better and learned is not None else dict(cur),
        better=better,
        n_answers=len(answers),
        n_train=int(tr.sum()),
        n_test=int(test.sum()),
        n_accepted=int(y.sum()),
        metrics=metrics,
        auc_gain_low=gain_low,
        coef=[float(c) for c in learner.coef_[0]],
        intercept=float(learner.intercept_[0]),
    )


@dataclass
class Report:
    """Both sides' results; ``to_dict`` is what the app stores."""

    sides: dict[str, SideReport]

    @property
    def suggested(self) -> dict[str, dict[str, float]]:
        return {s: dict(r.suggested) for s, r in self.sides.items()}

    @property
    def better(self) -> bool:
        return any(r.better for r in self.sides.values())

    @property
    def n_answers(self) -> int:
        return sum(r.n_answers for r in self.sides.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "sides": {s: r.to_dict() for s, r in self.sides.items()},
            "n_answers": self.n_answers,
            "better": self.better,
        }


def learn(
    answers: Mapping[str, Answers],
    current: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> Report:
    """``learn_side`` for both views.

    Parameters
    ----------
    answers : mapping side -> Answers
        ``"sme_view"`` (the SMEs' answers) and ``"student_view"``.
    current : mapping, optional
        Weights in force, flat or two-sided.
    **kwargs
        Passed to ``learn_side``.

    Returns
    -------
    Report
    """
    cur = sided_weights(current)
    return Report({s: learn_side(answers[s], cur[s], **kwargs) for s in SIDES})


# --------------------------------------------------------------- simulator
@dataclass
class Simulation:
    """Simulated answers from hidden true weights.

    Attributes
    ----------
    answers : dict side -> Answers
        Labels as the app would build them (ignored declines dropped).
    true_weights : dict side -> dict
    reasons : dict side -> list of str
        The reason code of every decline ("" for accepts), before dropping.
    """

    answers: dict[str, Answers]
    true_weights: dict[str, dict[str, float]]
    reasons: dict[str, list[str]]

    def auc_of(self, side: str, weights: Mapping[str, float], held_out: bool = True) -> float:
        """AUC of ranking one side's (held-out) answers by a weight set."""
        a = self.answers[side]
        m = time_split(a.group) if held_out else np.ones(len(a), bool)
        w = normalise_weights(weights)
        return auc(a.y[m], a.X[m] @ np.array([w[f] for f in FACTORS]))


#: Hidden preferences for tests and the demo: SMEs care about the market and
#: the student's Korean more than the defaults assume (and about industry
#: less), students about the region.
TRUE_WEIGHTS: Final[Mapping[str, Mapping[str, float]]] = {
    "sme_view": {
        "language": 0.10, "market": 0.50, "industry": 0.05,
        "region": 0.05, "korean": 0.28, "text": 0.02,
    },
    "student_view": {
        "language": 0.10, "market": 0.10, "industry": 0.25,
        "region": 0.45, "korean": 0.05, "text": 0.05,
    },
}  # fmt: skip
_REASON_OF_FACTOR = {"language": "language", "market": "market", "region": "location"}


def simulate(
    students: Sequence[StudentProfile],
    smes: Sequence[SMEProfile],
    *,
    true_weights: Mapping[str, Mapping[str, float]] | None = None,
    current: Mapping[str, Any] | None = None,
    n_cycles: int = 4,
    per_student: int = 3,
    sharpness: float = 15.0,
    unrelated_share: float = 0.1,
    signal: bool = True,
    seed: int = 0,
) -> Simulation:
    """Answers to proposals, drawn from hidden true weights.

    Each cycle, every student gets ``per_student`` proposals drawn from their
    top shortlist under the ``current`` weights (so, as in the platform, the
    answers only cover pairs the current weights liked). Each side accepts
    with probability ``sigmoid(sharpness * (s_true - centre))`` where
    ``s_true`` is its view score under ``true_weights`` and ``centre`` the
    median of those scores (about half accepted). A fit decline names the
    criterion that fell shortest (``language``, ``market``, ``location``) or
    ``not_a_fit``; ``unrelated_share`` of answers are declines for capacity or
    schedule, unrelated to the pair. With ``signal=False`` every answer is a
    coin toss.

    Returns
    -------
    Simulation
    """
    rng = np.random.default_rng(seed)
    true = sided_weights(true_weights if true_weights is not None else TRUE_WEIGHTS)
    model = MatchModel(weights=sided_weights(current)["sme_view"], random_state=seed)
    # A flat model is enough: criterion values do not depend on the weights.
    model.fit(students, smes)
    k = max(per_student * 3, per_student)
    pairs_i: list[IntArray] = []
    pairs_j: list[IntArray] = []
    groups: list[IntArray] = []
    n = len(students)
    for c in range(n_cycles):
        who = np.sort(rng.permutation(n)[: max(1, n * 3 // 4)])
        cand = model.candidates(k, by="combined", students=who)
        coo = cand.combined.tocoo()
        rows, cols = np.asarray(coo.row, np.int64), np.asarray(coo.col, np.int64)
        pick = np.zeros(rows.size, bool)
        order = rng.permutation(rows.size)
        taken: dict[int, int] = {}
        for p in order.tolist():
            r = int(rows[p])
            if taken.get(r, 0) < per_student:
                taken[r] = taken.get(r, 0) + 1
                pick[p] = True
        pairs_i.append(rows[pick])
        pairs_j.append(cols[pick])
        groups.append(np.full(int(pick.sum()), c, dtype=np.int64))
    si, sj, grp = np.concatenate(pairs_i), np.concatenate(pairs_j), np.concatenate(groups)
    vals = criterion_values(model, si, sj)
    answers: dict[str, Answers] = {}
    reasons: dict[str, list[str]] = {}
    for side in SIDES:
        X = vals[side]
        wt = np.array([true[side][f] for f in FACTORS])
        s = X @ wt
        if signal:
            p = expit(sharpness * (s - np.median(s)))
        else:
            p = np.full(s.size, 0.5)
        accept = rng.random(s.size) < p
        unrelated = rng.random(s.size) < unrelated_share
        shortfall = (1.0 - X) * wt[None, :]
        worst = [FACTORS[f] for f in shortfall.argmax(axis=1).tolist()]
        codes: list[str] = []
        for a, u, wf in zip(accept.tolist(), unrelated.tolist(), worst, strict=True):
            if u:
                codes.append("capacity" if rng.random() < 0.5 else "schedule")
            elif a:
                codes.append("")
            else:
                codes.append(_REASON_OF_FACTOR.get(wf, "not_a_fit"))
        labels = [
            answer_label("decline" if (u or not a) else "accept", code)
            for a, u, code in zip(accept.tolist(), unrelated.tolist(), codes, strict=True)
        ]
        keep = np.array([lab is not None for lab in labels], bool)
        y = np.array([lab[0] if lab else 0 for lab in labels], dtype=np.int64)
        w = np.array([lab[1] if lab else 0.0 for lab in labels])
        answers[side] = Answers(X[keep], y[keep], grp[keep], w[keep])
        reasons[side] = codes
    return Simulation(answers, true, reasons)
