"""The similarity model: profiles in, two-sided scores and reasons out.

Design in one paragraph (details in ``docs/engine.md``): every criterion is a
*linear* form ``x_i . y_j`` between a student feature row and an SME feature
row, so a whole score matrix is one dense matrix product of narrow matrices
(about 2 x (languages + markets) + 80 columns). The SME's view measures how
much of what the SME needs the student brings (means over the SME's needs);
the student's view measures how much of what the student offers and wants the
SME uses (shares of the student's own languages, markets and interests). The
combined score is their mean. Because everything is linear, a score splits
exactly into per-item contributions, which is what the reasons are.
"""

from __future__ import annotations

import gc
import math
import os
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from babel import Locale
from sklearn.base import BaseEstimator
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from threadpoolctl import threadpool_limits

from .profiles import SMEProfile, StudentProfile
from .taxonomy import (
    HOME_MARKET_WEIGHT,
    INDUSTRIES,
    INDUSTRY_RELATEDNESS,
    KNOWN_MARKET_WEIGHT,
    LANGUAGE_MARKET_FACTOR,
    LANGUAGE_MARKET_PREFERENCE_FACTOR,
    LEVEL_WEIGHTS,
    REGION_CLOSENESS,
    REGIONS,
    official_languages,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Stable factor names, in display order.
FACTORS: Final[tuple[str, ...]] = ("language", "market", "industry", "region", "korean", "text")
#: The criteria that make a pair acceptable: a pair scoring zero on all of
#: them has nothing to work on together.
MAIN_FACTORS: Final[tuple[str, ...]] = ("language", "market", "industry")
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
#: Added to ranking scores of unacceptable pairs (TOPIK below the minimum) so
#: they sort below every acceptable pair (scores are in [0, 1]).
_UNACCEPTABLE: Final[float] = -4.0
_EN: Final[Locale] = Locale("en")
#: Target size of one dense score block per worker: big enough for BLAS to
#: run at full speed, small enough that the passes over it stay near cache.
_BLOCK_TARGET_BYTES: Final[int] = 16 << 20
#: Documents the text model's SVD is fitted on at most.
_SVD_SAMPLE: Final[int] = 20000
_LangEntries = tuple["IntArray", list[str], "FloatArray"]
_PoolPart = tuple[npt.NDArray[np.float32], "IntArray", "IntArray"]


def _workers() -> int:
    """Threads for the candidate pass: the CPUs this process may use (at most 8)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus))


def _language_name(code: str) -> str:
    return str(_EN.languages.get(code, code))


def _country_name(code: str) -> str:
    return str(_EN.territories.get(code, code))


def _industry_name(code: str) -> str:
    return code.replace("_", " ")


@dataclass(frozen=True)
class Reason:
    """One part of a score, for people.

    Attributes
    ----------
    factor : str
        One of ``FACTORS`` or ``"priority"``.
    key : str
        Stable message key the app translates, e.g. ``"language.speaks_needed"``.
    params : dict
        Codes (not names) the message needs, e.g. ``{"language": "vi",
        "level": "native"}``.
    weight : float
        Contribution to the combined score; the weights of all reasons of a
        pair add up to its combined score.
    """

    factor: str
    key: str
    params: dict[str, str | int | float] = field(default_factory=dict)
    weight: float = 0.0

    @property
    def detail(self) -> str:
        """Plain English rendering for logs and the command line."""
        p = self.params
        lang = _language_name(str(p.get("language", "")))
        market = _country_name(str(p.get("market", "")))
        k = self.key
        if k == "language.speaks_needed":
            level = str(p.get("level", ""))
            how = "natively" if level == "native" else f"at {level} level"
            return f"speaks {lang} {how}; the SME needs {lang}"
        if k == "language.no_overlap":
            return "speaks none of the languages the SME needs"
        if k == "market.home":
            return f"comes from {market}; the SME targets {market}"
        if k == "market.known":
            return f"knows the {market} market; the SME targets {market}"
        if k == "market.language":
            return f"speaks {lang} ({p.get('level')}), spoken in {market}; the SME targets {market}"
        if k == "market.no_overlap":
            return "knows none of the SME's target markets"
        if k == "industry.same":
            return f"interested in {_industry_name(str(p.get('industry')))}, the SME's industry"
        if k == "industry.related":
            return (
                f"interested in {_industry_name(str(p.get('industry')))}, related to the SME's "
                f"{_industry_name(str(p.get('sme_industry')))}"
            )
        if k == "industry.no_overlap":
            return "interested in none of the SME's industries"
        if k == "region.same":
            return f"can work in {p.get('region')}, where the SME is"
        if k == "region.neighbour":
            return f"can work in {p.get('region')}, next to the SME's {p.get('sme_region')}"
        if k == "korean.meets_minimum":
            return f"TOPIK {p.get('topik')} meets the SME's minimum {p.get('min_topik')}"
        if k == "korean.below_minimum":
            return f"TOPIK {p.get('topik')} is below the SME's minimum {p.get('min_topik')}"
        if k == "text.similar":
            return f"self-introduction and SME description are similar ({p.get('similarity')})"
        if k == "priority.unmatched_last_cycle":
            return "was not matched in the last cycle (priority)"
        return k


class _LazyRank(dict[str, tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]]):
    """``{by: (X, Y^T)}`` built on first access."""

    def __init__(self, build: Callable[[str], tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]]) -> None:
        super().__init__()
        self._build = build

    def __missing__(self, by: str) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        if by not in ("combined", "student", "sme"):
            raise KeyError(by)
        value = self._build(by)
        self[by] = value
        return value


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
    """

    combined: sp.csr_array
    student_view: sp.csr_array
    sme_view: sp.csr_array
    k: int
    by: str


@dataclass
class _Block:
    """One criterion's features; ``x_*`` are student rows, ``y_*`` SME rows."""

    factor: str
    labels: list[str]
    x_sme: FloatArray
    y_sme: FloatArray
    x_stu: FloatArray
    y_stu: FloatArray
    shared_y: bool  # y_sme is y_stu: the combined matrix needs one copy


def _normalise_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    merged = dict(DEFAULT_WEIGHTS)
    if weights is not None:
        for key, value in weights.items():
            if key not in FACTORS:
                raise ValueError(f"unknown factor {key!r}; expected one of {FACTORS}")
            if not math.isfinite(float(value)) or float(value) < 0:
                raise ValueError(f"weight for {key!r} must be finite and >= 0")
            merged[key] = float(value)
    total = sum(merged.values())
    if sum(merged[f] for f in MAIN_FACTORS) <= 0:
        raise ValueError("at least one of language, market, industry needs a positive weight")
    # Normalising keeps every score in [0, 1] whatever the coordinators type.
    return {k: v / total for k, v in merged.items()}


def _as_pairs(pairs: Any, n: int, m: int) -> tuple[IntArray, IntArray]:
    """Turn an iterable of (i, j), an (p, 2) array or a sparse matrix into arrays."""
    if pairs is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if sp.issparse(pairs):
        coo = sp.coo_array(pairs)
        return coo.row.astype(np.int64), coo.col.astype(np.int64)
    arr = np.asarray(list(pairs) if not isinstance(pairs, np.ndarray) else pairs, dtype=np.int64)
    if arr.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    arr = arr.reshape(-1, 2)
    if (arr[:, 0] < 0).any() or (arr[:, 0] >= n).any() or (arr[:, 1] < 0).any() or (arr[:, 1] >= m).any():
        raise IndexError("pair index out of range")
    return arr[:, 0].copy(), arr[:, 1].copy()


class MatchModel(BaseEstimator):  # type: ignore[misc]
    """Two-sided student-SME similarity, scikit-learn style.

    Parameters
    ----------
    weights : Mapping[str, float], optional
        Criterion weights by factor name (``language``, ``market``,
        ``industry``, ``region``, ``korean``, ``text``); missing factors keep
        their default (``DEFAULT_WEIGHTS``); the result is normalised to sum 1.
    text_dims : int, default 24
        Dimensions of the latent-semantic text space (TF-IDF + truncated
        SVD). Free text is a tie-breaker; a small dense space keeps the score
        product narrow. Set 0 to ignore text.
    priority_bonus : float, default 0.05
        Share of the SME's view reserved for priority students (those left
        unmatched last cycle): their SME view is ``(1-b) * base + b``, everyone
        else's ``(1-b) * base``. This changes no SME's order among non-priority
        students and lifts priority students by ``b`` in every SME's ranking.
    random_state : int or None
        Seed of the randomized SVD (the only random step).

    Attributes
    ----------
    weights_ : dict
        Normalised weights used.
    n_students_, n_smes_ : int
    languages_, markets_ : list of str
        Vocabularies learnt in ``fit`` (from the SMEs' needs and targets).
    """

    def __init__(
        self,
        weights: Mapping[str, float] | None = None,
        text_dims: int = 24,
        priority_bonus: float = 0.05,
        random_state: int | None = None,
    ) -> None:
        self.weights = weights
        self.text_dims = text_dims
        self.priority_bonus = priority_bonus
        self.random_state = random_state

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
        with _gc_paused(), threadpool_limits(limits=1, user_api="blas"):
            return self._fit(students, smes, priority)

    def _fit(
        self, students: Sequence[StudentProfile], smes: Sequence[SMEProfile], priority: npt.ArrayLike | None
    ) -> MatchModel:
        self.weights_ = _normalise_weights(self.weights)
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

        needs = [self._needed_languages(s) for s in smes]
        self.sme_needs_ = needs
        self.languages_ = sorted({lang for nd in needs for lang in nd})
        self.markets_ = sorted({c for s in smes for c in s.markets})
        langs = self._student_languages(students)

        blocks = [
            self._language_block(students, needs, langs),
            self._market_block(students, smes, langs),
            self._industry_block(students, smes),
            self._region_block(students, smes),
            self._korean_block(students, smes),
            self._text_block(students, smes),
        ]
        if self.priority_bonus > 0 and pri.any():
            ones = np.ones((m, 1))
            blocks.append(
                _Block("priority", ["priority"], pri[:, None].astype(float), ones, np.zeros((n, 1)), ones, True)
            )
        self._blocks = blocks
        self._assemble()
        del self._blocks  # the per-criterion copies are not needed any more (memory)
        return self

    def _needed_languages(self, sme: SMEProfile) -> tuple[str, ...]:
        if sme.languages_needed:
            return tuple(dict.fromkeys(x for x in sme.languages_needed if x != "ko"))
        out: list[str] = []
        for c in sme.markets:
            for lang in official_languages(c):
                if lang != "ko" and lang not in out:
                    out.append(lang)
        return tuple(out)

    @staticmethod
    def _student_languages(students: Sequence[StudentProfile]) -> tuple[IntArray, list[str], FloatArray]:
        """All (student, language, level weight) entries except Korean, in one pass."""
        ent = [(i, c, LEVEL_WEIGHTS[v]) for i, s in enumerate(students) for c, v in s.languages.items() if c != "ko"]
        rows = np.fromiter((e[0] for e in ent), dtype=np.int64, count=len(ent))
        ws = np.fromiter((e[2] for e in ent), dtype=np.float64, count=len(ent))
        return rows, [e[1] for e in ent], ws

    def _language_block(
        self, students: Sequence[StudentProfile], needs: list[tuple[str, ...]], langs: _LangEntries
    ) -> _Block:
        L = len(self.languages_)
        col = {c: i for i, c in enumerate(self.languages_)}
        n, m = len(students), len(needs)
        rows, codes, ws = langs
        total = np.bincount(rows, weights=ws, minlength=n)
        j = np.fromiter((col.get(c, -1) for c in codes), dtype=np.int64, count=len(codes))
        ok = j >= 0
        lev = np.zeros((n, L))
        share = np.zeros((n, L))
        lev[rows[ok], j[ok]] = ws[ok]
        share[rows[ok], j[ok]] = ws[ok] / total[rows[ok]]  # share of the student's language skills
        nr = [(jj, col[c]) for jj, nd in enumerate(needs) for c in nd]
        need = np.zeros((m, L))
        if nr:
            need[tuple(np.array(nr, dtype=np.int64).T)] = 1.0
        cnt = need.sum(axis=1, keepdims=True)
        need_mean = np.divide(need, cnt, out=np.zeros_like(need), where=cnt > 0)
        return _Block("language", list(self.languages_), lev, need_mean, share, need, False)

    def _market_block(
        self, students: Sequence[StudentProfile], smes: Sequence[SMEProfile], langs: _LangEntries
    ) -> _Block:
        C = len(self.markets_)
        col = {c: i for i, c in enumerate(self.markets_)}
        # Which markets each language reaches (CLDR official/de facto).
        reach: dict[str, list[int]] = {}
        for c, j in col.items():
            for lang in official_languages(c):
                reach.setdefault(lang, []).append(j)
        n, m = len(students), len(smes)
        ability = np.zeros((n, C))
        pref = np.zeros((n, C))
        # Markets reached through a language: one vectorised step per language
        # (a student lists each language once, so no row repeats in a step).
        rows, codes, ws = langs
        by_lang: dict[str, list[int]] = {}
        for e, c in enumerate(codes):
            if c in reach:
                by_lang.setdefault(c, []).append(e)
        for lang, ents in by_lang.items():
            e_idx = np.asarray(ents, dtype=np.int64)
            r = rows[e_idx][:, None]
            js = np.asarray(reach[lang], dtype=np.int64)[None, :]
            w = ws[e_idx][:, None]
            ability[r, js] = np.maximum(ability[r, js], LANGUAGE_MARKET_FACTOR * w)
            pref[r, js] = np.maximum(pref[r, js], LANGUAGE_MARKET_PREFERENCE_FACTOR * w)
        # Markets the student knows (deduplicated per student); those no SME
        # targets still count in the student's interest mass ("outside").
        known = [(i, col.get(c, -1)) for i, s in enumerate(students) for c in dict.fromkeys(s.markets)]
        kr = np.fromiter((x[0] for x in known), dtype=np.int64, count=len(known))
        kj = np.fromiter((x[1] for x in known), dtype=np.int64, count=len(known))
        kin = kj >= 0
        outside = KNOWN_MARKET_WEIGHT * np.bincount(kr[~kin], minlength=n).astype(np.float64)
        ability[kr[kin], kj[kin]] = np.maximum(ability[kr[kin], kj[kin]], KNOWN_MARKET_WEIGHT)
        pref[kr[kin], kj[kin]] = np.maximum(pref[kr[kin], kj[kin]], KNOWN_MARKET_WEIGHT)
        jn = np.fromiter((col.get(s.nationality, -1) for s in students), dtype=np.int64, count=n)
        home_out = np.fromiter(
            (s.nationality not in col and s.nationality not in s.markets for s in students), dtype=bool, count=n
        )
        outside += np.where(home_out, HOME_MARKET_WEIGHT, 0.0)
        hi = np.flatnonzero(jn >= 0)
        ability[hi, jn[hi]] = HOME_MARKET_WEIGHT
        pref[hi, jn[hi]] = HOME_MARKET_WEIGHT
        total = pref.sum(axis=1) + outside
        pos = total > 0
        pref[pos] /= total[pos, None]  # share of the student's market interest
        tr = [(j, col[c]) for j, e in enumerate(smes) for c in e.markets]
        tgt = np.zeros((m, C))
        if tr:
            tgt[tuple(np.array(tr, dtype=np.int64).T)] = 1.0
        cnt = tgt.sum(axis=1, keepdims=True)
        tgt_mean = np.divide(tgt, cnt, out=np.zeros_like(tgt), where=cnt > 0)
        return _Block("market", list(self.markets_), ability, tgt_mean, pref, tgt, False)

    @staticmethod
    def _one_hot(lists: Iterable[Iterable[str]], col: Mapping[str, int], n: int) -> FloatArray:
        """0/1 matrix (n x len(col)) of the known codes in each list."""
        ent = [(i, col[c]) for i, lst in enumerate(lists) for c in lst if c in col]
        out = np.zeros((n, len(col)))
        if ent:
            out[tuple(np.array(ent, dtype=np.int64).T)] = 1.0
        return out

    @staticmethod
    def _best_of(x: FloatArray, table: FloatArray) -> FloatArray:
        """``out[i, b] = max_a x[i, a] * table[a, b]`` (x >= 0), one column at a time."""
        out = np.zeros((x.shape[0], table.shape[1]))
        for a in np.flatnonzero(x.any(axis=0)):
            np.maximum(out, x[:, a : a + 1] * table[a][None, :], out=out)
        return out

    def _industry_block(self, students: Sequence[StudentProfile], smes: Sequence[SMEProfile]) -> _Block:
        rel = np.array([[INDUSTRY_RELATEDNESS.get((a, b), 0.0) for b in INDUSTRIES] for a in INDUSTRIES])
        col = {c: i for i, c in enumerate(INDUSTRIES)}
        x = self._one_hot((s.industries for s in students), col, len(students))
        y = self._one_hot((e.industries for e in smes), col, len(smes))
        # reach[i, b] = best relatedness of any of i's industries to b
        x_reach = self._best_of(x, rel)
        y_reach = self._best_of(y, rel)
        xc = x.sum(axis=1, keepdims=True)
        yc = y.sum(axis=1, keepdims=True)
        x_share = np.divide(x, xc, out=np.zeros_like(x), where=xc > 0)
        y_mean = np.divide(y, yc, out=np.zeros_like(y), where=yc > 0)
        # SME view: mean over the SME's industries of the student's reach;
        # student view: share of the student's interests the SME reaches.
        return _Block("industry", list(INDUSTRIES), x_reach, y_mean, x_share, y_reach, False)

    def _region_block(self, students: Sequence[StudentProfile], smes: Sequence[SMEProfile]) -> _Block:
        col = {c: i for i, c in enumerate(REGIONS)}
        near = np.array([[REGION_CLOSENESS.get((a, b), 0.0) for b in REGIONS] for a in REGIONS])
        x = self._best_of(self._one_hot((s.regions for s in students), col, len(students)), near)
        y = self._one_hot(((e.region,) for e in smes), col, len(smes))
        return _Block("region", list(REGIONS), x, y, x, y, True)

    def _korean_block(self, students: Sequence[StudentProfile], smes: Sequence[SMEProfile]) -> _Block:
        levels = np.arange(7)
        t = self.topik_[:, None]
        ok = t >= levels[None, :]
        # SME view: more Korean is better (TOPIK/6); student view: the SME's
        # requirement is met (1). Below the minimum is unacceptable, handled by
        # _UNACCEPTABLE in ranking and by acceptable() elsewhere.
        x_sme = np.where(ok, t / 6.0, 0.0)
        x_stu = ok.astype(float)
        y = np.zeros((len(smes), 7))
        y[np.arange(len(smes)), self.min_topik_] = 1.0
        return _Block("korean", [str(v) for v in levels], x_sme, y, x_stu, y, True)

    def _text_block(self, students: Sequence[StudentProfile], smes: Sequence[SMEProfile]) -> _Block:
        texts = [s.text or "" for s in students] + [e.text or "" for e in smes]
        n = len(students)
        has = np.array([1.0 if t.strip() else 0.0 for t in texts])
        emb = np.zeros((len(texts), 0))
        if self.text_dims > 0 and has.sum() >= 2:
            try:
                tfidf = TfidfVectorizer(sublinear_tf=True, max_features=20000, dtype=np.float64)
                mat = tfidf.fit_transform(texts)
            except ValueError:  # empty vocabulary: only stop words / punctuation
                mat = None
            if mat is not None:
                if mat.shape[1] <= self.text_dims:
                    emb = mat.toarray()
                else:
                    svd = TruncatedSVD(n_components=self.text_dims, random_state=self.random_state)
                    rows_n = mat.shape[0]
                    if rows_n > _SVD_SAMPLE:
                        # The latent space is learnt from an evenly spaced
                        # sample (deterministic); projecting everyone is one
                        # sparse product. Keeps fit linear with a small slope.
                        svd.fit(mat[np.linspace(0, rows_n - 1, _SVD_SAMPLE).astype(np.int64)])
                        emb = svd.transform(mat)
                    else:
                        emb = svd.fit_transform(mat)
                norms = np.linalg.norm(emb, axis=1, keepdims=True)
                emb = np.divide(emb, norms, out=np.zeros_like(emb), where=norms > 0)
                has = has * (norms[:, 0] > 0)
        # text score = (has_i * has_j + cos(u_i, v_j)) / 2, in [0, 1] and 0
        # when either side wrote nothing; linear, so it fits the one product.
        feats = np.hstack([has[:, None], emb]) / math.sqrt(2.0)
        labels = ["has_text"] + [f"lsa{d}" for d in range(emb.shape[1])]
        return _Block("text", labels, feats[:n], feats[n:], feats[:n], feats[n:], True)

    # ------------------------------------------------------------ matrices
    def _assemble(self) -> None:
        """Build weighted view matrices and the float32 ranking matrices.

        Every output is allocated once and filled block by block (no
        intermediate stacks): at 100,000 students the copies cost more than
        the features themselves.
        """
        for cached in ("_groups", "_f32"):  # derived from the previous fit
            self.__dict__.pop(cached, None)
        w = self.weights_
        b = float(self.priority_bonus) if any(bl.factor == "priority" for bl in self._blocks) else 0.0
        n, m = self.n_students_, self.n_smes_
        widths = [bl.x_sme.shape[1] for bl in self._blocks]
        F = sum(widths)
        xs, xt = np.empty((n, F)), np.empty((n, F))
        ys, yt = np.empty((m, F)), np.empty((m, F))
        fs: list[str] = []
        off = 0
        for bl, width in zip(self._blocks, widths):
            if bl.factor == "priority":
                ws, wt = b, 0.0
            else:
                ws, wt = w[bl.factor] * (1.0 - b), w[bl.factor]
            sl = slice(off, off + width)
            off += width
            np.multiply(bl.x_sme, ws, out=xs[:, sl])
            np.multiply(bl.x_stu, wt, out=xt[:, sl])
            ys[:, sl] = bl.y_sme
            yt[:, sl] = bl.y_stu
            fs.extend([bl.factor] * width)
        self._xs, self._ys, self._xt, self._yt = xs, ys, xt, yt
        self._col_factor = np.array(fs, dtype=object).astype(str) if fs else np.zeros(0, dtype=str)
        self._col_label = [lab for bl in self._blocks for lab in bl.labels]
        self._main_cols = np.isin(self._col_factor, MAIN_FACTORS)
        # Unacceptable-by-TOPIK columns: a one-hot of the SME's minimum times
        # a large negative for levels above the student's.
        # Ranking matrices are built on first use (stable mode never needs
        # the combined one: 70 MB at 100,000 students).
        self._layout = [(bl.factor, width, bl.shared_y) for bl, width in zip(self._blocks, widths)]
        self._rank = _LazyRank(self._build_rank)

    def _build_rank(self, by: str) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Float32 ranking matrices ``(X, Y^T)`` for one score."""
        xs, xt, ys, yt = self._xs, self._xt, self._ys, self._yt
        n, m = self.n_students_, self.n_smes_
        pen = np.where(self.topik_[:, None] < np.arange(7)[None, :], _UNACCEPTABLE, 0.0)
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
        W = sum(px.shape[1] for px, _, _ in parts)
        # YT is the transpose *view* of a C-contiguous (SMEs x features)
        # matrix: BLAS multiplies X @ Y.T about twice as fast as with a
        # C-contiguous (features x SMEs) right-hand side here.
        X = np.empty((n, W), dtype=np.float32)
        Y = np.empty((m, W), dtype=np.float32)
        off = 0
        for px, f, py in parts:
            sl = slice(off, off + px.shape[1])
            off += px.shape[1]
            if f == 1.0:
                X[:, sl] = px
            else:
                np.multiply(px, f, out=X[:, sl], casting="same_kind")
            Y[:, sl] = py
        return X, Y.T

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
        si = np.asarray(student_idx, dtype=np.int64).ravel()
        sj = np.asarray(sme_idx, dtype=np.int64).ravel()
        if si.shape != sj.shape:
            raise ValueError("student_idx and sme_idx must have the same length")
        stu = np.empty(si.size)
        sme = np.empty(si.size)
        step = 1 << 16  # bounded temporaries: step x columns x 8 bytes
        for a in range(0, si.size, step):
            i, j = si[a : a + step], sj[a : a + step]
            stu[a : a + step] = np.einsum("ij,ij->i", self._xt[i], self._yt[j])
            sme[a : a + step] = np.einsum("ij,ij->i", self._xs[i], self._ys[j])
        # Clamp float noise so documented bounds hold exactly.
        np.clip(stu, 0.0, 1.0, out=stu)
        np.clip(sme, 0.0, 1.0, out=sme)
        return 0.5 * (stu + sme), stu, sme

    def _score_pairs32(
        self, si: IntArray, sj: IntArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_]]:
        """Float32 pair scores plus acceptability, for shortlists.

        Shortlist values only order pairs; computing them per pair (not from
        the block) makes the same pair get the same value in every query,
        which deferred acceptance relies on when lists grow.
        """
        if not hasattr(self, "_f32"):
            main = np.isin(self._col_factor, MAIN_FACTORS)
            self._f32 = tuple(
                np.ascontiguousarray(a[:, cols], dtype=np.float32)
                for cols in (main, ~main)
                for a in (self._xt, self._yt, self._xs, self._ys)
            )
        xtm, ytm, xsm, ysm, xtr, ytr, xsr, ysr = self._f32
        n = si.size
        stu, sme = np.empty(n), np.empty(n)
        ok = self.topik_[si] >= self.min_topik_[sj]
        step = 1 << 15
        for a in range(0, n, step):
            i, j = si[a : a + step], sj[a : a + step]
            mt = np.einsum("ij,ij->i", xtm[i], ytm[j])
            ms = np.einsum("ij,ij->i", xsm[i], ysm[j])
            ok[a : a + step] &= (mt + ms) > 1e-7
            stu[a : a + step] = mt + np.einsum("ij,ij->i", xtr[i], ytr[j])
            sme[a : a + step] = ms + np.einsum("ij,ij->i", xsr[i], ysr[j])
        np.clip(stu, 0.0, 1.0, out=stu)
        np.clip(sme, 0.0, 1.0, out=sme)
        return 0.5 * (stu + sme), stu, sme, ok

    def acceptable(self, student_idx: npt.ArrayLike, sme_idx: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Whether pairs are acceptable at all.

        A pair is unacceptable when the student's TOPIK is below the SME's
        ``min_topik`` or when it scores zero on every main criterion
        (language, market, industry) in both views.

        Parameters
        ----------
        student_idx, sme_idx : array-like of int

        Returns
        -------
        ndarray of bool
        """
        self._check_fitted()
        si = np.asarray(student_idx, dtype=np.int64).ravel()
        sj = np.asarray(sme_idx, dtype=np.int64).ravel()
        ok = self.topik_[si] >= self.min_topik_[sj]
        main = np.zeros(si.size)
        step = 1 << 16
        for a in range(0, si.size, step):
            i, j = si[a : a + step], sj[a : a + step]
            mc = self._main_cols
            main[a : a + step] = np.einsum("ij,ij->i", self._xt[i][:, mc], self._yt[j][:, mc]) + np.einsum(
                "ij,ij->i", self._xs[i][:, mc], self._ys[j][:, mc]
            )
        return ok & (main > 1e-12)

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
        out = []
        for v in (comb, stu, sme):
            v = np.where(ok, v, -np.inf)
            out.append(v.reshape(n, m))
        return out[0], out[1], out[2]

    # ----------------------------------------------------------- candidates
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
    ) -> Candidates:
        """Top-k acceptable SMEs per student, as sparse matrices.

        Scores are computed chunk by chunk of students as one float32 matrix
        product of narrow feature matrices; the top k per row are found with a
        sampled lower bound and a threshold pass (ties at the k-th score go
        to the lower SME index). Memory: the dense block is at most
        ``max_block_bytes`` (default 128 MiB; ``chunk_size`` rows x SMEs x 4
        bytes), plus about twice that for masks and temporaries, plus the
        output (about 3 x 16 bytes per kept pair). Nothing of size
        students x SMEs is ever held.

        Parameters
        ----------
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
            see ``pipeline.run``). Use with ``by="combined"``.
        chunk_size : int, optional
            Students per block; default from ``max_block_bytes``.
        max_block_bytes : int
            Memory bound for one dense block.

        Returns
        -------
        Candidates
        """
        self._check_fitted()
        if k < 1:
            raise ValueError("k must be >= 1")
        n, m = self.n_students_, self.n_smes_
        rows_all = np.arange(n, dtype=np.int64) if students is None else np.unique(np.asarray(students, dtype=np.int64))
        cols = np.arange(m, dtype=np.int64)
        if sme_mask is not None:
            cols = cols[np.asarray(sme_mask, dtype=bool)]
        ex_i, ex_j = _as_pairs(exclude, n, m)
        ex_sorted = _sorted_unique(ex_i * max(m, 1) + ex_j)
        col_pos = np.full(m, -1, dtype=np.int64)
        col_pos[cols] = np.arange(cols.size)
        got_i: list[IntArray] = []
        got_j: list[IntArray] = []
        if rows_all.size and cols.size:
            X, YT = self._rank[by]
            Y = np.ascontiguousarray(YT.T[cols])  # (SMEs, features); a view when all SMEs
            Yf: npt.NDArray[np.float32] | None = None
            Xf = X
            floor_v = np.zeros(0, dtype=np.float32)
            if sme_floor is not None:
                Xf, YTf = self._rank["sme"]
                Yf = np.ascontiguousarray(YTf.T[cols])
                floor_v = np.asarray(sme_floor, dtype=np.float64)[cols].astype(np.float32) - np.float32(1e-5)
            pu = np.zeros(0, dtype=np.float32)
            pv = np.zeros(0, dtype=np.float32)
            if prices is not None:
                pu = np.asarray(prices[0], dtype=np.float32)
                pv = np.asarray(prices[1], dtype=np.float64)[cols].astype(np.float32)
            mc = cols.size
            workers = _workers()
            # Each worker holds one block (plus temporaries), so the bound is
            # split between them; small blocks also stay closer to cache.
            # With the SME-side union, chunks are larger so that each chunk's
            # per-SME top k is selective (k of many students, not of a few).
            target = max_block_bytes if sme_side else _BLOCK_TARGET_BYTES
            per_block = max(1, min(max_block_bytes // workers, target))
            step = chunk_size or max(1, min(rows_all.size, per_block // (4 * mc)))
            kk = min(k, mc)
            pool: _SmeTopK | None = _SmeTopK(mc, k) if sme_side else None

            def work(a0: int) -> tuple[IntArray, IntArray, _PoolPart | None]:
                rows = rows_all[a0 : a0 + step]
                if Yf is not None:
                    # SME view first: students no SME would accept now are
                    # dropped before the (student-view) product is made.
                    fb = Xf[rows] @ Yf.T
                    bad = fb < floor_v[None, :]
                    del fb
                    live = ~bad.all(axis=1)
                    if not live.all():
                        rows, bad = rows[live], bad[live]
                    if rows.size == 0:
                        return rows, rows, None
                    block = X[rows] @ Y.T
                    block[bad] = _UNACCEPTABLE
                    del bad
                else:
                    block = X[rows] @ Y.T
                if ex_sorted.size:
                    lo = np.searchsorted(ex_sorted, rows[0] * m)
                    hi = np.searchsorted(ex_sorted, (rows[-1] + 1) * m)
                    if hi > lo:
                        e = ex_sorted[lo:hi]
                        er, ec = np.divmod(e, m)
                        rpos = np.searchsorted(rows, er)
                        okr = (rpos < rows.size) & (rows[np.minimum(rpos, rows.size - 1)] == er) & (col_pos[ec] >= 0)
                        block[rpos[okr], col_pos[ec[okr]]] = _UNACCEPTABLE
                if prices is not None:
                    block -= pu[rows][:, None]
                    block -= pv[None, :]
                r_loc, c_loc = _topk_rows(block, kk, -1e-4 if prices is not None else _UNACCEPTABLE / 2)
                if prices is not None:
                    keep = block[r_loc, c_loc] > -1e-4  # float32 screen; exact test below
                else:
                    keep = block[r_loc, c_loc] > _UNACCEPTABLE / 2
                part = _SmeTopK.part(block, rows, k, pool.tau) if pool is not None else None
                return rows[r_loc[keep]], cols[c_loc[keep]], part

            starts = range(0, rows_all.size, step)

            def collect(results: Iterable[tuple[IntArray, IntArray, _PoolPart | None]]) -> None:
                # In chunk order, as results arrive: the SME-side pool's
                # cutoffs rise while later chunks are still being computed.
                for ri, rj, part in results:
                    got_i.append(ri)
                    got_j.append(rj)
                    if pool is not None and part is not None:
                        pool.push(part)

            if workers > 1 and len(starts) > 1:
                # numpy and BLAS release the GIL: chunks run on all cores,
                # BLAS single-threaded inside each; results come in order.
                with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as ex:
                    collect(ex.map(work, starts))
            else:
                collect(work(a0) for a0 in starts)
            if pool is not None:
                pi, pj = pool.result()
                got_i.append(pi)
                got_j.append(cols[pj])
        in_i, in_j = _as_pairs(include, n, m)
        got_i.append(in_i)
        got_j.append(in_j)
        gi = np.concatenate(got_i) if got_i else np.zeros(0, np.int64)
        gj = np.concatenate(got_j) if got_j else np.zeros(0, np.int64)
        key = gi * max(m, 1) + gj
        if sme_side or in_i.size:
            key = np.unique(key)  # the unions may repeat pairs
        else:
            key = np.sort(key)
        if ex_sorted.size and key.size and in_i.size:
            key = key[~np.isin(key, ex_sorted, assume_unique=False)]
        gi, gj = np.divmod(key, max(m, 1))
        comb, stu, sme, okp = self._score_pairs32(gi, gj)
        if prices is not None and not okp.all():
            # The float32 ranking knows the TOPIK rule but not "zero on every main criterion",
            # so an unacceptable pair can take a top-k place and hide an acceptable pair that
            # prices above u + v. Column generation stops when nothing is found, which would
            # then be too early: ask again for those students, without what they were shown.
            again = np.unique(gi[~okp])
            shown = np.isin(gi, again)
            more = self.candidates(
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
                xc, xs, xm, xok = self._score_pairs32(xi, xj)
                gi, gj = np.concatenate([gi, xi]), np.concatenate([gj, xj])
                comb, stu, sme = (np.concatenate(p) for p in ((comb, xc), (stu, xs), (sme, xm)))
                okp = np.concatenate([okp, xok])
                order = np.argsort(gi * max(m, 1) + gj, kind="stable")  # CSR wants row order
                gi, gj, okp = gi[order], gj[order], okp[order]
                comb, stu, sme = comb[order], stu[order], sme[order]
        if prices is not None:
            okp &= comb > np.asarray(prices[0], dtype=np.float64)[gi] + np.asarray(prices[1], dtype=np.float64)[gj] + 1e-9
        gi, gj, comb, stu, sme = gi[okp], gj[okp], comb[okp], stu[okp], sme[okp]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(gi, minlength=n), out=indptr[1:])

        def mk(v: FloatArray) -> sp.csr_array:
            # The three matrices share one (sorted, canonical) pattern.
            out = sp.csr_array((v, gj, indptr), shape=(n, m), copy=False)
            out.has_canonical_format = True
            return out

        return Candidates(mk(comb), mk(stu), mk(sme), k, by)

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
            Sorted by weight, largest first; weights add up to the combined
            score of ``score_pairs`` (to rounding). Main criteria with no
            overlap get a zero-weight ``*.no_overlap`` reason; a TOPIK below
            the minimum gets ``korean.below_minimum``.
        """
        return self.explain_pairs([int(student_idx)], [int(sme_idx)])[0]

    def _reason_groups(self) -> tuple[list[tuple[str, str]], npt.NDArray[np.float64]]:
        """Reason groups (factor, label) and the column -> group 0/1 matrix.

        Each language, market, industry and region column is its own group;
        Korean, text and priority columns collapse into one group per factor.
        """
        if not hasattr(self, "_groups"):
            index: dict[tuple[str, str], int] = {}
            col_group = []
            for f, lab in zip(self._col_factor.tolist(), self._col_label):
                key = (f, "" if f in ("korean", "text", "priority") else lab)
                col_group.append(index.setdefault(key, len(index)))
            onehot = np.zeros((len(col_group), len(index)))
            onehot[np.arange(len(col_group)), col_group] = 1.0
            self._groups = (list(index), onehot)
        return self._groups

    def explain_pairs(self, student_idx: npt.ArrayLike, sme_idx: npt.ArrayLike) -> list[list[Reason]]:
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
        si = np.asarray(student_idx, dtype=np.int64).ravel()
        sj = np.asarray(sme_idx, dtype=np.int64).ravel()
        if si.shape != sj.shape:
            raise ValueError("student_idx and sme_idx must have the same length")
        with _gc_paused(), threadpool_limits(limits=1, user_api="blas"):
            return self._explain_pairs(si, sj)

    def _explain_pairs(self, si: IntArray, sj: IntArray) -> list[list[Reason]]:
        groups, onehot = self._reason_groups()
        out: list[list[Reason]] = []
        step = 4096  # bounded temporaries: step x columns x 8 bytes
        for a in range(0, si.size, step):
            i, j = si[a : a + step], sj[a : a + step]
            contrib = 0.5 * (self._xs[i] * self._ys[j] + self._xt[i] * self._yt[j])
            wsum = contrib @ onehot  # per (pair, group): summed contribution
            has = (contrib != 0.0) @ onehot > 0  # groups with a nonzero column
            pr, pg = np.nonzero(has)
            wv = wsum[pr, pg]
            # Per pair, largest weight first (the final order when weights
            # are distinct and positive; other pairs are sorted fully below).
            order = np.lexsort((pg, -wv, pr))
            pr, pg, wv = pr[order], pg[order], wv[order]
            tie = np.zeros(i.size, bool)
            same = (pr[1:] == pr[:-1]) & (wv[1:] == wv[:-1])
            tie[pr[1:][same]] = True
            tie[pr[wv <= 0.0]] = True
            bounds = np.searchsorted(pr, np.arange(i.size + 1)).tolist()
            wl, gl = wv.tolist(), pg.tolist()
            present = np.zeros((i.size, len(FACTORS) + 1), bool)
            fid = {f: q for q, f in enumerate(FACTORS)}
            gf = np.array([fid.get(f, len(FACTORS)) for f, _ in groups], dtype=np.int64)
            present[pr, gf[pg]] = True
            no_ind = (~present[:, fid["industry"]]).tolist()
            no_lang = (~present[:, fid["language"]]).tolist()
            no_mkt = (~present[:, fid["market"]]).tolist()
            below = (self.topik_[i] < self.min_topik_[j]).tolist()
            tie_l = tie.tolist()
            reason = self._reason
            for p, (ii, jj) in enumerate(zip(i.tolist(), j.tolist())):
                st, sm = self.students_[ii], self.smes_[jj]
                reasons = [reason(*groups[gl[q]], wl[q], st, sm) for q in range(bounds[p], bounds[p + 1])]
                # Zero-weight reasons, already in (factor, key) order.
                if no_ind[p]:
                    reasons.append(Reason("industry", "industry.no_overlap", {}, 0.0))
                if below[p]:
                    reasons.append(
                        Reason(
                            "korean", "korean.below_minimum", {"topik": st.topik_level, "min_topik": sm.min_topik}, 0.0
                        )
                    )
                if no_lang[p]:
                    reasons.append(Reason("language", "language.no_overlap", {}, 0.0))
                if no_mkt[p]:
                    reasons.append(Reason("market", "market.no_overlap", {}, 0.0))
                if tie_l[p]:
                    reasons.sort(key=_reason_order)
                out.append(reasons)
        return out

    def _reason(self, f: str, lab: str, wgt: float, st: StudentProfile, sm: SMEProfile) -> Reason:
        if f == "language":
            return Reason(f, "language.speaks_needed", {"language": lab, "level": st.languages.get(lab, "")}, wgt)
        if f == "market":
            if st.nationality == lab:
                return Reason(f, "market.home", {"market": lab}, wgt)
            if lab in st.markets:
                return Reason(f, "market.known", {"market": lab}, wgt)
            langs = [g for g in official_languages(lab) if g in st.languages]
            best = max(langs, key=lambda g: LEVEL_WEIGHTS[st.languages[g]]) if langs else ""
            return Reason(
                f, "market.language", {"market": lab, "language": best, "level": st.languages.get(best, "")}, wgt
            )
        if f == "industry":
            if lab in sm.industries and lab in st.industries:
                return Reason(f, "industry.same", {"industry": lab}, wgt)
            # The column is one industry; name the related pair behind it.
            a, b = lab, lab
            if lab not in st.industries:
                a = next((x for x in st.industries if INDUSTRY_RELATEDNESS.get((x, lab), 0) > 0), lab)
            if lab not in sm.industries:
                b = next((x for x in sm.industries if INDUSTRY_RELATEDNESS.get((x, lab), 0) > 0), lab)
            return Reason(f, "industry.related", {"industry": a, "sme_industry": b}, wgt)
        if f == "region":
            if lab == sm.region and lab in st.regions:
                return Reason(f, "region.same", {"region": lab}, wgt)
            mine = [r for r in st.regions if REGION_CLOSENESS.get((r, sm.region), 0) > 0]
            return Reason(f, "region.neighbour", {"region": mine[0] if mine else lab, "sme_region": sm.region}, wgt)
        if f == "korean":
            return Reason(f, "korean.meets_minimum", {"topik": st.topik_level, "min_topik": sm.min_topik}, wgt)
        if f == "text":
            return Reason(f, "text.similar", {"similarity": round(2 * wgt / max(self.weights_["text"], 1e-12) - 1, 3)}, wgt)
        return Reason(f, "priority.unmatched_last_cycle", {}, wgt)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small objects.

    Reasons, tuples and dicts made in bulk create no cycles, but each
    allocation burst triggers full collections that walk every live object
    (all the profiles): with 100,000 pairs that was most of the time.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _sorted_unique(keys: IntArray) -> IntArray:
    """``np.unique`` that is linear on (nearly) sorted input.

    List growth excludes every pair a student already lists: millions of keys
    that arrive sorted apart from a short run of declined pairs. A stable sort
    (timsort) merges such runs in linear time; ``np.unique``'s quicksort does
    not notice and took a quarter of the 100k x 30k run.
    """
    if keys.size == 0:
        return keys
    k = np.sort(keys, kind="stable")
    return k[np.r_[True, k[1:] != k[:-1]]]


def _reason_order(r: Reason) -> tuple[float, str, str, list[tuple[str, str | int | float]]]:
    return (-r.weight, r.factor, r.key, sorted(r.params.items()))


def _topk_rows(block: npt.NDArray[np.float32], k: int, floor: float = -np.inf) -> tuple[IntArray, IntArray]:
    """Top-k column positions per row; ties at the k-th value -> lower column.

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
    """
    c, m = block.shape
    if c == 0 or k <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if m <= k:
        flat = np.flatnonzero(block > block.dtype.type(floor))
        r, col = np.divmod(flat.astype(np.int64), m)
        return r, col
    stride = max(1, min(8, m // (4 * k)))
    sub = block[:, ::stride] if stride > 1 else block
    ns = sub.shape[1]
    tau = np.partition(sub, ns - k, axis=1)[:, ns - k]
    np.maximum(tau, block.dtype.type(floor), out=tau)
    flat = np.flatnonzero(block > tau[:, None])
    r = flat // m
    col = flat - r * m
    v = block.ravel()[flat]
    count = np.bincount(r, minlength=c)
    out_r: list[IntArray] = []
    out_c: list[IntArray] = []
    # Rows with fewer than k above tau: the k-th value is tau itself (ties
    # taken below), unless tau is the floor (the row simply has fewer).
    short = np.flatnonzero((count < k) & (tau > block.dtype.type(floor)))
    if short.size:
        need = k - count[short]
        er, ec = np.nonzero(block[short] == tau[short, None])
        first = np.searchsorted(er, er, side="left")
        take = (np.arange(er.size) - first) < need[er]
        out_r.append(short[er[take]].astype(np.int64))
        out_c.append(ec[take].astype(np.int64))
    big = count >= k
    if big.any():
        vk = np.full(c, np.inf, dtype=block.dtype)
        width_cap = 16 * k
        heavy = np.flatnonzero(count > width_cap)
        if heavy.size:
            vk[heavy] = np.partition(block[heavy], m - k, axis=1)[:, m - k]
        norm = big & (count <= width_cap)
        if norm.any():
            starts = np.cumsum(count) - count
            sel = norm[r]
            rs = r[sel]
            pos = np.arange(flat.size, dtype=np.int64)[sel] - starts[rs]
            idx = np.flatnonzero(norm)
            rowpos = np.zeros(c, dtype=np.int64)
            rowpos[idx] = np.arange(idx.size)
            width = int(count[idx].max())
            table = np.full((idx.size, width), -np.inf, dtype=block.dtype)
            table[rowpos[rs], pos] = v[sel]
            vk[idx] = np.partition(table, width - k, axis=1)[:, width - k]
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
    return np.concatenate(out_r), np.concatenate(out_c)


class _SmeTopK:
    """Running top-k students per SME over chunks of students.

    Later chunks hold higher student indices, so a score equal to an SME's
    current k-th best never enters (ties go to the lower index).
    """

    def __init__(self, m: int, k: int) -> None:
        self.m, self.k = m, k
        self.tau = np.full(m, -np.inf, dtype=np.float32)
        self.v: list[npt.NDArray[np.float32]] = []
        self.i: list[IntArray] = []
        self.j: list[IntArray] = []
        self.size = 0

    @staticmethod
    def part(block: npt.NDArray[np.float32], rows: IntArray, k: int, tau: npt.NDArray[np.float32]) -> _PoolPart:
        """Column-wise top-k of one chunk (bounded: k per SME).

        ``tau`` is the pool's running k-th best per SME as read when the chunk
        started: it only rises, so dropping what does not beat it is safe.
        """
        kk = min(k, block.shape[0])
        c_loc, r_loc = _topk_rows(np.ascontiguousarray(block.T), kk, _UNACCEPTABLE / 2)
        v = block[r_loc, c_loc]
        ok = (v > _UNACCEPTABLE / 2) & (v > tau[c_loc])
        return v[ok], rows[r_loc[ok]], c_loc[ok]

    def push(self, part: _PoolPart) -> None:
        """Merge one chunk's part; chunks must come in increasing student order."""
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
        self.tau = np.where(full, v[np.maximum(last, 0)] if v.size else -np.inf, -np.inf).astype(np.float32)
        self.v, self.i, self.j = [v], [i], [j]
        self.size = v.size

    def result(self) -> tuple[IntArray, IntArray]:
        if not self.v:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        self._compact()
        return self.i[0].astype(np.int64), self.j[0].astype(np.int64)
