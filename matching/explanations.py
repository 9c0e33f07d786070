"""Reasons: a pair's combined score split into stable keys with parameters.

Every criterion is linear in the features, so a score splits exactly into
per-column contributions; columns are grouped into reasons (one per language,
market, industry and region; one for Korean, text and priority). A reason is
``Reason(factor, key, params, weight)``: the app words ``key`` in its
languages from the codes in ``params``; ``weight`` is the contribution to the
combined score, and a pair's weights add up to its score. ``REASON_KEYS``
lists every key the engine can emit with its parameter names.
``Reason.detail`` is the engine's only wording: plain English for logs and the
command line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
from babel import Locale

from .compute import blas_single_thread, chunks_done, gc_paused
from .features import ALL_FACTORS, FLEXIBLE_HOURS
from .profiles import SMEProfile, StudentProfile
from .taxonomy import INDUSTRY_RELATEDNESS, LEVEL_WEIGHTS, REGION_CLOSENESS, market_languages

if TYPE_CHECKING:
    from .model import MatchModel

IntArray = npt.NDArray[np.int64]

#: Every reason key the engine emits -> the names of its ``params``.
REASON_KEYS: Final[Mapping[str, tuple[str, ...]]] = {
    "language.speaks_needed": ("language", "level"),
    "language.no_overlap": (),
    "market.home": ("market",),
    "market.known": ("market",),
    "market.language": ("market", "language", "level"),
    "market.no_overlap": (),
    "industry.same": ("industry",),
    "industry.related": ("industry", "sme_industry"),
    "industry.no_overlap": (),
    "region.same": ("region",),
    "region.neighbour": ("region", "sme_region"),
    "korean.meets_minimum": ("topik", "min_topik"),
    "korean.below_minimum": ("topik", "min_topik"),
    "text.similar": ("similarity",),
    "text.not_similar": ("similarity",),
    "availability.hours": ("hours", "hours_needed"),
    "priority.unmatched_last_cycle": (),
}
#: Factors whose columns collapse into one reason each.
_ONE_REASON_FACTORS: Final[frozenset[str]] = frozenset(
    {"korean", "text", "priority", "availability"}
)
#: Texts count as similar from this similarity on (about two standard errors
#: of the embedding's noise for unrelated texts): below it the text part of
#: the score (both wrote something) is reported as ``text.not_similar``.
TEXT_SIMILAR_THRESHOLD: Final[float] = 0.35
_EN: Final[Locale] = Locale("en")
#: Pairs per chunk of ``explain_pairs``' bulk numbers (chunks run on all cores).
EXPLAIN_STEP: Final[int] = 4096
#: ``_by_factor``'s loop per factor (any other factor goes through ``group_reason``).
_LANGUAGE, _MARKET, _INDUSTRY, _REGION, _KOREAN, _TEXT, _AVAILABILITY, _OTHER = range(8)
_KINDS: Final[Mapping[str, int]] = {
    "language": _LANGUAGE,
    "market": _MARKET,
    "industry": _INDUSTRY,
    "region": _REGION,
    "korean": _KOREAN,
    "text": _TEXT,
    "availability": _AVAILABILITY,
}


@dataclass(frozen=True)
class Reason:
    """One part of a score, for people.

    Attributes
    ----------
    factor : str
        One of ``FACTORS`` or ``"priority"``.
    key : str
        Stable message key the app translates (``REASON_KEYS``), e.g.
        ``"language.speaks_needed"``.
    params : dict
        Codes (not names) the message needs, e.g. ``{"language": "vi",
        "level": "native"}``.
    weight : float
        Contribution to the combined score; the weights of all reasons of a
        pair add up to its combined score.

    Equal reasons of one ``explain_pairs`` call may be one object (frozen;
    treat ``params`` as read-only).
    """

    factor: str
    key: str
    params: dict[str, str | int | float] = field(default_factory=dict)
    weight: float = 0.0

    @property
    def detail(self) -> str:
        """Plain English rendering for logs and the command line (the app words keys itself)."""
        return english(self.key, self.params)


class _Fields:
    """A plain object that becomes a ``Reason`` once its fields are set (``_reason``)."""

    factor: str
    key: str
    params: dict[str, str | int | float]
    weight: float


def _reason(factor: str, key: str, params: dict[str, str | int | float], weight: float) -> Reason:
    """``Reason(factor, key, params, weight)``, built without the frozen ``__init__``.

    A frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__``. Here the fields are set as ordinary attributes of
    a plain object of the same layout, which then takes ``Reason`` as its
    class (``__class__`` assignment: same fields, equality, repr, pickling,
    and frozen from then on). A cycle builds several reasons per proposed
    pair (about 168,000 at 20,000 x 10,000): ~1.9x as fast as ``__init__``,
    ~1.3x as filling the new instance's ``__dict__`` (what this did before;
    issue 14, session 12). Reason has no ``__post_init__`` to skip
    (``test_fast_reasons_equal_constructed_ones`` checks both stay equal).
    """
    out = _Fields()
    out.factor = factor
    out.key = key
    out.params = params
    out.weight = weight
    out.__class__ = Reason  # type: ignore[assignment]
    return out  # type: ignore[return-value]


def english(key: str, params: Mapping[str, str | int | float]) -> str:
    """Plain English for a reason key; the engine's only wording.

    Parameters
    ----------
    key : str
        A key of ``REASON_KEYS``.
    params : mapping
        The reason's parameters.

    Returns
    -------
    str
        The key itself when it has no sentence here.
    """
    p = {name: str(value) for name, value in params.items()}
    lang = str(_EN.languages.get(p.get("language", ""), p.get("language", "")))
    market = str(_EN.territories.get(p.get("market", ""), p.get("market", "")))
    industry = p.get("industry", "").replace("_", " ")
    level = p.get("level", "")
    how = "natively" if level == "native" else f"at {level} level"
    sentences = {
        "language.speaks_needed": f"speaks {lang} {how}; the SME needs {lang}",
        "language.no_overlap": "speaks none of the languages the SME needs",
        "market.home": f"comes from {market}; the SME targets {market}",
        "market.known": f"knows the {market} market; the SME targets {market}",
        "market.language": f"speaks {lang} ({level}), spoken in {market}; the SME targets {market}",
        "market.no_overlap": "knows none of the SME's target markets",
        "industry.same": f"interested in {industry}, the SME's industry",
        "industry.related": f"interested in {industry}, related to the SME's "
        f"{p.get('sme_industry', '').replace('_', ' ')}",
        "industry.no_overlap": "interested in none of the SME's industries",
        "region.same": f"can work in {p.get('region')}, where the SME is",
        "region.neighbour": f"can work in {p.get('region')}, next to the SME's "
        f"{p.get('sme_region')}",
        "korean.meets_minimum": f"TOPIK {p.get('topik')} meets the SME's minimum "
        f"{p.get('min_topik')}",
        "korean.below_minimum": f"TOPIK {p.get('topik')} is below the SME's minimum "
        f"{p.get('min_topik')}",
        "text.similar": "self-introduction and SME description are similar "
        f"({p.get('similarity')})",
        "text.not_similar": "self-introduction and SME description have little in common "
        f"({p.get('similarity')})",
        "availability.hours": f"can work {p.get('hours')} h a week; the SME needs "
        f"{p.get('hours_needed')} h",
        "priority.unmatched_last_cycle": "was not matched in the last cycle (priority)",
    }
    return sentences.get(key, key)


def reason_order(r: Reason) -> tuple[float, str, str, list[tuple[str, str | int | float]]]:
    """Sort key of reasons: largest weight first, then factor, key and params.

    Parameters
    ----------
    r : Reason

    Returns
    -------
    tuple
    """
    return (-r.weight, r.factor, r.key, sorted(r.params.items()))


def reason_groups(model: MatchModel) -> tuple[list[tuple[str, str]], npt.NDArray[np.float64]]:
    """Reason groups (factor, label) and the column -> group 0/1 matrix.

    Each language, market, industry and region column is its own group;
    Korean, text and priority columns collapse into one group per factor.

    Parameters
    ----------
    model : MatchModel
        Fitted.

    Returns
    -------
    groups : list of (factor, label)
    onehot : ndarray, shape (columns, groups)
    """
    index: dict[tuple[str, str], int] = {}
    col_group = []
    for f, lab in zip(model.col_factor_.tolist(), model.col_label_, strict=True):
        key = (f, "" if f in _ONE_REASON_FACTORS else lab)
        col_group.append(index.setdefault(key, len(index)))
    onehot = np.zeros((len(col_group), len(index)))
    onehot[np.arange(len(col_group)), col_group] = 1.0
    return list(index), onehot


def explain_pairs(
    model: MatchModel, student_idx: IntArray, sme_idx: IntArray
) -> list[list[Reason]]:
    """Reasons of many pairs at once (contributions computed in bulk).

    Parameters
    ----------
    model : MatchModel
        Fitted.
    student_idx, sme_idx : ndarray of int
        Same length; pair ``p`` is ``(student_idx[p], sme_idx[p])``.

    Returns
    -------
    list of list of Reason
        Per pair, sorted by weight, largest first; weights add up to the
        combined score of ``score_pairs`` (to rounding). Main criteria with no
        overlap get a zero-weight ``*.no_overlap`` reason; a TOPIK below the
        minimum gets ``korean.below_minimum``.
    """
    with gc_paused(), blas_single_thread():
        return _explain_pairs(model, student_idx, sme_idx)


def _explain_pairs(
    model: MatchModel, si: IntArray, sj: IntArray, build: _Builder | None = None
) -> list[list[Reason]]:
    """``explain_pairs``; ``build`` turns one chunk's numbers into its reasons (``_by_factor``)."""
    if build is None:
        build = _by_factor
    groups, onehot = model.reason_groups_
    factors = ALL_FACTORS
    fid = {f: q for q, f in enumerate(factors)}
    gf = np.array([fid.get(f, len(factors)) for f, _ in groups], dtype=np.int64)
    # Each group's place when groups are sorted by factor name (stable): the
    # order ``reason_order`` gives reasons of equal weight and different
    # factors, so only equal weights within one factor need the full sort.
    by_name = sorted(range(len(groups)), key=lambda q: groups[q][0])
    name_rank = np.zeros(len(groups), dtype=np.int64)
    name_rank[by_name] = np.arange(len(groups))
    xs, ys, xt, yt = model.x_sme_, model.y_sme_, model.x_stu_, model.y_stu_
    # Text similarity straight from the embeddings (not inferred from a
    # weight, which the priority share and the view weights change).
    text_cols = model.col_factor_ == "text"
    w_stu = model.view_weights_[1]["text"]
    w_sme = model.view_weights_[0]["text"] * (1.0 - float(model.priority_bonus))
    scale = w_stu if w_stu > 0 else w_sme
    step = EXPLAIN_STEP  # bounded temporaries: step x columns x 8 bytes
    bulk: list[_Bulk | None] = [None] * -(-si.size // step)

    def contributions(a: int, b: int) -> None:
        i, j = si[a:b], sj[a:b]
        xs_i, ys_j, xt_i, yt_j = xs[i], ys[j], xt[i], yt[j]
        contrib = 0.5 * (xs_i * ys_j + xt_i * yt_j)
        wsum = contrib @ onehot  # per (pair, group): summed contribution
        has = (contrib != 0.0) @ onehot > 0  # groups with a nonzero column
        pr, pg = np.nonzero(has)
        wv = wsum[pr, pg]
        # Per pair, largest weight first, equal weights by factor name: the
        # final order when the weights are positive and no two of one factor
        # are equal (nine pairs in ten have equal weights, nearly all of
        # different factors); the rest is sorted in Python below.
        order = np.lexsort((name_rank[pg], -wv, pr))
        pr, pg, wv = pr[order], pg[order], wv[order]
        # Entries tied with the next one (same pair, weight and factor): only
        # these runs can be out of ``reason_order``, so only they are sorted
        # (a full sort of every such pair's reasons was a sixth of the time).
        # A pair with a weight <= 0 is sorted whole: the zero-weight reasons
        # added below must fall in among its weighted ones.
        same = (pr[1:] == pr[:-1]) & (wv[1:] == wv[:-1]) & (gf[pg[1:]] == gf[pg[:-1]])
        whole = np.zeros(i.size, bool)
        whole[pr[wv <= 0.0]] = True
        same &= ~whole[pr[1:]]
        # Runs [start, stop) of tied entries, as positions in their pair's list.
        edge = np.diff(np.concatenate(([False], same, [False])).astype(np.int8))
        run_start, run_stop = np.flatnonzero(edge == 1), np.flatnonzero(edge == -1) + 1
        bounds = np.searchsorted(pr, np.arange(i.size + 1))
        run_pair = pr[run_start]
        present = np.zeros((i.size, len(factors) + 1), bool)
        present[pr, gf[pg]] = True
        # The rows gathered above (each view's x and y are ``x_stu_``/``x_sme_`` rows).
        tx_all, ty_all = (xt_i, yt_j) if w_stu > 0 else (xs_i, ys_j)
        tx, ty = tx_all[:, text_cols], ty_all[:, text_cols]
        # columns are scale * [has, emb] / sqrt 2: the sum is scale * (has_i has_j + cos) / 2
        both = (tx[:, 0] * ty[:, 0]) > 0 if tx.shape[1] else np.zeros(i.size, bool)
        sims = np.einsum("ij,ij->i", tx, ty)
        cos = 2.0 * sims / scale - both if scale > 0 else np.zeros(i.size)
        bulk[a // step] = _Bulk(
            bounds=bounds,
            weights=wv,
            groups=pg,
            run_pair=run_pair,
            run_from=run_start - bounds[run_pair],
            run_to=run_stop - bounds[run_pair],
            no_industry=~present[:, fid["industry"]],
            no_language=~present[:, fid["language"]],
            no_market=~present[:, fid["market"]],
            below=model.topik_[i] < model.min_topik_[j],
            whole=whole,
            # + 0.0: a similarity that rounds to zero from below is 0.0, not -0.0
            # (a product of another shape may land a hair either side of zero).
            similarity=np.round(cos, 3) + 0.0,
        )

    # The numbers chunk by chunk on the worker threads (numpy and BLAS release
    # the GIL; each chunk is computed as before, so the same values); the
    # reasons, Python objects, on this thread, each chunk's as soon as its
    # numbers are in, while the workers compute the next (waiting for every
    # chunk first held this thread ~0.1 s at 20,000 x 10,000; issue 14,
    # session 10).
    out: list[list[Reason]] = []
    for a in chunks_done(contributions, si.size, step):
        c = a // step
        part = bulk[c]
        assert part is not None
        bulk[c] = None  # (each chunk's arrays go as soon as its reasons are built)
        i, j = si[c * step : (c + 1) * step], sj[c * step : (c + 1) * step]
        out.extend(build(model, groups, part, i, j))
    return out


def _as_objects(items: list[Any]) -> npt.NDArray[np.object_]:
    """``items`` as a numpy array of objects (gathered by index arrays in C)."""
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _by_factor(
    model: MatchModel, groups: list[tuple[str, str]], part: _Bulk, i: IntArray, j: IntArray
) -> list[list[Reason]]:
    """One chunk's reasons from its numbers (``_Bulk``), built factor by factor.

    The reasons ``group_reason`` gives, in the same order, but built one
    factor at a time over all the chunk's entries (a loop per factor, no
    dispatch per reason, the profiles gathered in numpy) into one flat list
    that each pair's list is a slice of. Equal reasons are one object: a
    reason depends on a few codes of its pair and its weight, which takes
    few values outside the text factor (about 1,200 distinct reasons among
    the 149,000 others at 20,000 x 10,000), so each is built once per chunk
    and shared (``Reason``: frozen, its params read-only). Issue 14, session 12.
    """
    bounds = part.bounds
    entry_pair = np.repeat(np.arange(i.size), np.diff(bounds))
    pair_students = _as_objects([model.students_[x] for x in i.tolist()])
    pair_smes = _as_objects([model.smes_[x] for x in j.tolist()])
    factor_of = np.array([f for f, _ in groups] + [""], dtype=object)
    label_of = np.array([lab for _, lab in groups] + [""], dtype=object)
    kinds = np.array([_KINDS.get(f, _OTHER) for f, _ in groups] + [_OTHER], dtype=np.int64)
    kind = kinds[part.groups]
    flat: list[Reason | None] = [None] * kind.size
    # Reasons built so far, by what they depend on (their weight last). Only
    # positive weights are kept: 0.0 and -0.0 are equal keys, not equal reprs.
    shared: dict[tuple[Any, ...], Reason] = {}

    def reuse(
        key: tuple[Any, ...], f: str, lab: str, w: float, st: StudentProfile, sm: SMEProfile
    ) -> Reason:
        got = group_reason(f, lab, w, st, sm, 0.0)
        if w > 0.0:
            shared[key] = got
        return got

    for code in np.unique(kind).tolist():
        at = np.flatnonzero(kind == code)
        g, pair = part.groups[at], entry_pair[at]
        e_l: list[int] = at.tolist()
        w_l: list[float] = part.weights[at].tolist()
        if code == _TEXT:  # (a similarity per pair: nothing to share)
            sim_l: list[float] = part.similarity[pair].tolist()
            for e, sim, w in zip(e_l, sim_l, w_l, strict=True):
                key = "text.similar" if sim >= TEXT_SIMILAR_THRESHOLD else "text.not_similar"
                flat[e] = _reason("text", key, {"similarity": sim}, w)
            continue
        f_l: list[str] = factor_of[g].tolist()
        lab_l: list[str] = label_of[g].tolist()
        st_l: list[StudentProfile] = pair_students[pair].tolist()
        sm_l: list[SMEProfile] = pair_smes[pair].tolist()
        rows = zip(e_l, f_l, lab_l, st_l, sm_l, w_l, strict=True)
        get = shared.get
        k: tuple[Any, ...]
        # One loop per factor, each keyed by what ``group_reason`` reads.
        if code == _LANGUAGE:
            for e, f, lab, st, sm, w in rows:
                k = (code, lab, st.languages.get(lab, ""), w)
                flat[e] = get(k) or reuse(k, f, lab, w, st, sm)
        elif code == _MARKET:
            for e, f, lab, st, sm, w in rows:
                if st.nationality == lab or lab in st.markets:
                    k = (code, lab, st.nationality == lab, w)
                else:  # reached through the student's best language of that market
                    k = (code, lab, tuple(st.languages.items()), w)
                flat[e] = get(k) or reuse(k, f, lab, w, st, sm)
        elif code == _INDUSTRY:
            for e, f, lab, st, sm, w in rows:
                if lab in sm.industries and lab in st.industries:  # (the same industry)
                    k = (code, lab, w)
                else:
                    k = (code, lab, st.industries, sm.industries, w)
                flat[e] = get(k) or reuse(k, f, lab, w, st, sm)
        elif code == _REGION:
            for e, f, lab, st, sm, w in rows:
                if lab == sm.region and lab in st.regions:  # (the same region)
                    k = (code, lab, w)
                else:
                    k = (code, lab, st.regions, sm.region, w)
                flat[e] = get(k) or reuse(k, f, lab, w, st, sm)
        elif code == _KOREAN:
            for e, f, lab, st, sm, w in rows:
                k = (code, st.topik_level, sm.min_topik, w)
                flat[e] = get(k) or reuse(k, f, lab, w, st, sm)
        elif code == _AVAILABILITY:
            for e, f, lab, st, sm, w in rows:
                k = (code, st.hours_per_week, sm.hours_needed, w)
                flat[e] = get(k) or reuse(k, f, lab, w, st, sm)
        else:  # (priority: nothing but the factor)
            for e, f, lab, st, sm, w in rows:
                k = (code, f, w)
                flat[e] = get(k) or reuse(k, f, lab, w, st, sm)
    b: list[int] = bounds.tolist()
    out: list[list[Reason]] = [flat[a:z] for a, z in zip(b[:-1], b[1:], strict=True)]  # type: ignore[misc]
    # Zero-weight reasons, already in (factor, key) order, after the weighted ones.
    no_ind, below, no_lang, no_mkt = part.no_industry, part.below, part.no_language, part.no_market
    for p in np.flatnonzero(no_ind | below | no_lang | no_mkt).tolist():
        reasons = out[p]
        if no_ind[p]:
            reasons.append(_reason("industry", "industry.no_overlap", {}, 0.0))
        if below[p]:
            st, sm = model.students_[int(i[p])], model.smes_[int(j[p])]
            params: dict[str, str | int | float] = {
                "topik": st.topik_level,
                "min_topik": sm.min_topik,
            }
            reasons.append(_reason("korean", "korean.below_minimum", params, 0.0))
        if no_lang[p]:
            reasons.append(_reason("language", "language.no_overlap", {}, 0.0))
        if no_mkt[p]:
            reasons.append(_reason("market", "market.no_overlap", {}, 0.0))
    for p in np.flatnonzero(part.whole).tolist():
        out[p].sort(key=reason_order)
    runs = zip(part.run_pair.tolist(), part.run_from.tolist(), part.run_to.tolist(), strict=True)
    for p, a0, a1 in runs:
        reasons = out[p]
        reasons[a0:a1] = sorted(reasons[a0:a1], key=reason_order)
    return out


@dataclass(frozen=True)
class _Bulk:
    """One chunk of pairs' numbers for their reasons (``_explain_pairs``)."""

    bounds: IntArray  # pair p's entries are [bounds[p], bounds[p + 1])
    weights: npt.NDArray[np.float64]  # per entry: its group's contribution
    groups: IntArray  # per entry: its reason group
    run_pair: IntArray  # per tied run: its pair, and its place in the pair's list
    run_from: IntArray
    run_to: IntArray
    no_industry: npt.NDArray[np.bool_]
    no_language: npt.NDArray[np.bool_]
    no_market: npt.NDArray[np.bool_]
    below: npt.NDArray[np.bool_]  # TOPIK below the SME's minimum
    whole: npt.NDArray[np.bool_]  # a weight <= 0: the whole list is sorted
    similarity: npt.NDArray[np.float64]  # text similarity, rounded


#: Builds one chunk's reasons: (model, groups, numbers, its students, its SMEs) -> per pair.
_Builder = Callable[
    ["MatchModel", list[tuple[str, str]], _Bulk, IntArray, IntArray], list[list[Reason]]
]


def group_reason(
    factor: str,
    label: str,
    weight: float,
    st: StudentProfile,
    sm: SMEProfile,
    similarity: float,
) -> Reason:
    """The reason for one group of columns of one pair.

    Parameters
    ----------
    factor, label : str
        The group (``label`` is a code, or ``""`` for one-reason factors).
    weight : float
        The group's contribution to the combined score.
    st : StudentProfile
    sm : SMEProfile
    similarity : float
        The pair's text similarity (rounded).

    Returns
    -------
    Reason
    """
    f, lab, wgt = factor, label, weight
    if f == "language":
        params: dict[str, str | int | float] = {
            "language": lab,
            "level": st.languages.get(lab, ""),
        }
        return _reason(f, "language.speaks_needed", params, wgt)
    if f == "market":
        if st.nationality == lab:
            return _reason(f, "market.home", {"market": lab}, wgt)
        if lab in st.markets:
            return _reason(f, "market.known", {"market": lab}, wgt)
        langs = [g for g in market_languages(lab) if g in st.languages]
        best = max(langs, key=lambda g: LEVEL_WEIGHTS[st.languages[g]]) if langs else ""
        params = {"market": lab, "language": best, "level": st.languages.get(best, "")}
        return _reason(f, "market.language", params, wgt)
    if f == "industry":
        if lab in sm.industries and lab in st.industries:
            return _reason(f, "industry.same", {"industry": lab}, wgt)
        # The column is one industry; name the related pair behind it.
        a, b = lab, lab
        if lab not in st.industries:
            a = next((x for x in st.industries if INDUSTRY_RELATEDNESS.get((x, lab), 0) > 0), lab)
        if lab not in sm.industries:
            b = next((x for x in sm.industries if INDUSTRY_RELATEDNESS.get((x, lab), 0) > 0), lab)
        return _reason(f, "industry.related", {"industry": a, "sme_industry": b}, wgt)
    if f == "region":
        if lab == sm.region and lab in st.regions:
            return _reason(f, "region.same", {"region": lab}, wgt)
        mine = [r for r in st.regions if REGION_CLOSENESS.get((r, sm.region), 0) > 0]
        params = {"region": mine[0] if mine else lab, "sme_region": sm.region}
        return _reason(f, "region.neighbour", params, wgt)
    if f == "korean":
        params = {"topik": st.topik_level, "min_topik": sm.min_topik}
        return _reason(f, "korean.meets_minimum", params, wgt)
    if f == "text":
        key = "text.similar" if similarity >= TEXT_SIMILAR_THRESHOLD else "text.not_similar"
        return _reason(f, key, {"similarity": similarity}, wgt)
    if f == "availability":
        need = sm.hours_needed or FLEXIBLE_HOURS
        params = {"hours": st.hours_per_week, "hours_needed": need}
        return _reason(f, "availability.hours", params, wgt)
    return _reason(f, "priority.unmatched_last_cycle", {}, wgt)
