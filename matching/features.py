"""The criterion blocks: profiles in, one pair of feature matrices per criterion out.

Every criterion is a *linear* form ``x_i . y_j`` between a student feature
row and an SME feature row, seen from two sides: the SME's view (``x_sme .
y_sme``: how much of what the SME needs the student brings) and the student's
view (``x_stu . y_stu``: how much of what the student offers and wants the SME
uses). ``matching.model`` weights and stacks the blocks; because everything is
linear, a score splits exactly into per-column contributions (the reasons).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

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

#: Stable factor names, in display order.
FACTORS: Final[tuple[str, ...]] = ("language", "market", "industry", "region", "korean", "text")
#: The criteria that make a pair acceptable: a pair scoring zero on all of
#: them has nothing to work on together.
MAIN_FACTORS: Final[tuple[str, ...]] = ("language", "market", "industry")

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
#: (student row, language code, level weight) of every student language but Korean.
LanguageEntries = tuple[IntArray, list[str], FloatArray]
#: Documents the text model's SVD is fitted on at most.
SVD_SAMPLE = 20000


@dataclass
class Block:
    """One criterion's features; ``x_*`` are student rows, ``y_*`` SME rows.

    Attributes
    ----------
    factor : str
        Criterion name (``language``, ``market``, ...).
    labels : list of str
        One label per column (a language, market, industry, region code...).
    x_sme, y_sme : ndarray
        The SME's view is ``x_sme[i] . y_sme[j]``.
    x_stu, y_stu : ndarray
        The student's view is ``x_stu[i] . y_stu[j]``.
    shared_y : bool
        ``y_sme`` is ``y_stu``: the combined ranking matrix needs one copy.
    """

    factor: str
    labels: list[str]
    x_sme: FloatArray
    y_sme: FloatArray
    x_stu: FloatArray
    y_stu: FloatArray
    shared_y: bool


def needed_languages(sme: SMEProfile) -> tuple[str, ...]:
    """Languages an SME needs (Korean aside).

    Parameters
    ----------
    sme : SMEProfile

    Returns
    -------
    tuple of str
        ``languages_needed`` when given, else the official languages of the
        SME's markets.
    """
    if sme.languages_needed:
        return tuple(dict.fromkeys(x for x in sme.languages_needed if x != "ko"))
    out: list[str] = []
    for c in sme.markets:
        for lang in official_languages(c):
            if lang != "ko" and lang not in out:
                out.append(lang)
    return tuple(out)


def student_languages(students: Sequence[StudentProfile]) -> LanguageEntries:
    """All (student, language, level weight) entries except Korean, in one pass.

    Parameters
    ----------
    students : sequence of StudentProfile

    Returns
    -------
    rows : ndarray of int
    codes : list of str
    weights : ndarray of float
    """
    ent = [
        (i, c, LEVEL_WEIGHTS[v])
        for i, s in enumerate(students)
        for c, v in s.languages.items()
        if c != "ko"
    ]
    rows = np.fromiter((e[0] for e in ent), dtype=np.int64, count=len(ent))
    ws = np.fromiter((e[2] for e in ent), dtype=np.float64, count=len(ent))
    return rows, [e[1] for e in ent], ws


def one_hot(lists: Iterable[Iterable[str]], col: Mapping[str, int], n: int) -> FloatArray:
    """0/1 matrix (n x len(col)) of the known codes in each list.

    Parameters
    ----------
    lists : iterable of iterables of str
    col : mapping code -> column
    n : int
        Number of rows.

    Returns
    -------
    ndarray of float64
    """
    ent = [(i, col[c]) for i, lst in enumerate(lists) for c in lst if c in col]
    out = np.zeros((n, len(col)))
    if ent:
        out[tuple(np.array(ent, dtype=np.int64).T)] = 1.0
    return out


def best_of(x: FloatArray, table: FloatArray) -> FloatArray:
    """``out[i, b] = max_a x[i, a] * table[a, b]`` (x >= 0), one column at a time.

    Parameters
    ----------
    x : ndarray, shape (n, a)
    table : ndarray, shape (a, b)

    Returns
    -------
    ndarray, shape (n, b)
    """
    out = np.zeros((x.shape[0], table.shape[1]))
    for a in np.flatnonzero(x.any(axis=0)):
        np.maximum(out, x[:, a : a + 1] * table[a][None, :], out=out)
    return out


def language_block(
    students: Sequence[StudentProfile],
    needs: list[tuple[str, ...]],
    langs: LanguageEntries,
    languages: list[str],
) -> Block:
    """Languages: the SME's view is the mean level over its needed languages.

    Parameters
    ----------
    students : sequence of StudentProfile
    needs : list of tuple of str
        Needed languages per SME (``needed_languages``).
    langs : LanguageEntries
        From ``student_languages``.
    languages : list of str
        The column vocabulary.

    Returns
    -------
    Block
    """
    n_lang = len(languages)
    col = {c: i for i, c in enumerate(languages)}
    n, m = len(students), len(needs)
    rows, codes, ws = langs
    total = np.bincount(rows, weights=ws, minlength=n)
    j = np.fromiter((col.get(c, -1) for c in codes), dtype=np.int64, count=len(codes))
    ok = j >= 0
    lev = np.zeros((n, n_lang))
    share = np.zeros((n, n_lang))
    lev[rows[ok], j[ok]] = ws[ok]
    share[rows[ok], j[ok]] = ws[ok] / total[rows[ok]]  # share of the student's language skills
    nr = [(jj, col[c]) for jj, nd in enumerate(needs) for c in nd]
    need = np.zeros((m, n_lang))
    if nr:
        need[tuple(np.array(nr, dtype=np.int64).T)] = 1.0
    cnt = need.sum(axis=1, keepdims=True)
    need_mean = np.divide(need, cnt, out=np.zeros_like(need), where=cnt > 0)
    return Block("language", list(languages), lev, need_mean, share, need, False)


def market_block(
    students: Sequence[StudentProfile],
    smes: Sequence[SMEProfile],
    langs: LanguageEntries,
    markets: list[str],
) -> Block:
    """Markets: home, known, or reached through a language spoken there.

    Parameters
    ----------
    students : sequence of StudentProfile
    smes : sequence of SMEProfile
    langs : LanguageEntries
    markets : list of str
        The column vocabulary.

    Returns
    -------
    Block
    """
    n_mkt = len(markets)
    col = {c: i for i, c in enumerate(markets)}
    # Which markets each language reaches (CLDR official/de facto).
    reach: dict[str, list[int]] = {}
    for c, j in col.items():
        for lang in official_languages(c):
            reach.setdefault(lang, []).append(j)
    n, m = len(students), len(smes)
    ability = np.zeros((n, n_mkt))
    pref = np.zeros((n, n_mkt))
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
        (s.nationality not in col and s.nationality not in s.markets for s in students),
        dtype=bool,
        count=n,
    )
    outside += np.where(home_out, HOME_MARKET_WEIGHT, 0.0)
    hi = np.flatnonzero(jn >= 0)
    ability[hi, jn[hi]] = HOME_MARKET_WEIGHT
    pref[hi, jn[hi]] = HOME_MARKET_WEIGHT
    total = pref.sum(axis=1) + outside
    pos = total > 0
    pref[pos] /= total[pos, None]  # share of the student's market interest
    tr = [(j, col[c]) for j, e in enumerate(smes) for c in e.markets]
    tgt = np.zeros((m, n_mkt))
    if tr:
        tgt[tuple(np.array(tr, dtype=np.int64).T)] = 1.0
    cnt = tgt.sum(axis=1, keepdims=True)
    tgt_mean = np.divide(tgt, cnt, out=np.zeros_like(tgt), where=cnt > 0)
    return Block("market", list(markets), ability, tgt_mean, pref, tgt, False)


def industry_block(students: Sequence[StudentProfile], smes: Sequence[SMEProfile]) -> Block:
    """Industries: same counts 1, related (``INDUSTRY_RELATEDNESS``) partly.

    Parameters
    ----------
    students : sequence of StudentProfile
    smes : sequence of SMEProfile

    Returns
    -------
    Block
    """
    rel = np.array(
        [[INDUSTRY_RELATEDNESS.get((a, b), 0.0) for b in INDUSTRIES] for a in INDUSTRIES]
    )
    col = {c: i for i, c in enumerate(INDUSTRIES)}
    x = one_hot((s.industries for s in students), col, len(students))
    y = one_hot((e.industries for e in smes), col, len(smes))
    # reach[i, b] = best relatedness of any of i's industries to b
    x_reach = best_of(x, rel)
    y_reach = best_of(y, rel)
    xc = x.sum(axis=1, keepdims=True)
    yc = y.sum(axis=1, keepdims=True)
    x_share = np.divide(x, xc, out=np.zeros_like(x), where=xc > 0)
    y_mean = np.divide(y, yc, out=np.zeros_like(y), where=yc > 0)
    # SME view: mean over the SME's industries of the student's reach;
    # student view: share of the student's interests the SME reaches.
    return Block("industry", list(INDUSTRIES), x_reach, y_mean, x_share, y_reach, False)


def region_block(students: Sequence[StudentProfile], smes: Sequence[SMEProfile]) -> Block:
    """Regions: the SME's region, or a neighbouring one (``REGION_CLOSENESS``).

    Parameters
    ----------
    students : sequence of StudentProfile
    smes : sequence of SMEProfile

    Returns
    -------
    Block
    """
    col = {c: i for i, c in enumerate(REGIONS)}
    near = np.array([[REGION_CLOSENESS.get((a, b), 0.0) for b in REGIONS] for a in REGIONS])
    x = best_of(one_hot((s.regions for s in students), col, len(students)), near)
    y = one_hot(((e.region,) for e in smes), col, len(smes))
    return Block("region", list(REGIONS), x, y, x, y, True)


def korean_block(topik: IntArray, min_topik: IntArray) -> Block:
    """Korean: the SME's view TOPIK / 6, the student's view 1 (minimum met).

    Parameters
    ----------
    topik : ndarray of int
        Students' TOPIK levels.
    min_topik : ndarray of int
        SMEs' minimum TOPIK levels.

    Returns
    -------
    Block
        Below the minimum is unacceptable: handled by the model's ranking
        penalty and ``acceptable``, not here.
    """
    levels = np.arange(7)
    t = topik[:, None]
    ok = t >= levels[None, :]
    x_sme = np.where(ok, t / 6.0, 0.0)
    x_stu = ok.astype(float)
    y = np.zeros((min_topik.size, 7))
    y[np.arange(min_topik.size), min_topik] = 1.0
    return Block("korean", [str(v) for v in levels], x_sme, y, x_stu, y, True)


def text_block(
    students: Sequence[StudentProfile],
    smes: Sequence[SMEProfile],
    text_dims: int,
    random_state: int | None,
) -> Block:
    """Free text: ``(both wrote something + cosine of LSA vectors) / 2``.

    Parameters
    ----------
    students : sequence of StudentProfile
    smes : sequence of SMEProfile
    text_dims : int
        Dimensions of the latent-semantic space (0 ignores text).
    random_state : int or None
        Seed of the randomized SVD.

    Returns
    -------
    Block
    """
    texts = [s.text or "" for s in students] + [e.text or "" for e in smes]
    n = len(students)
    has = np.array([1.0 if t.strip() else 0.0 for t in texts])
    emb = np.zeros((len(texts), 0))
    if text_dims > 0 and has.sum() >= 2:
        try:
            tfidf = TfidfVectorizer(sublinear_tf=True, max_features=20000, dtype=np.float64)
            mat = tfidf.fit_transform(texts)
        except ValueError:  # empty vocabulary: only stop words / punctuation
            mat = None
        if mat is not None:
            if mat.shape[1] <= text_dims:
                emb = mat.toarray()
            else:
                svd = TruncatedSVD(n_components=text_dims, random_state=random_state)
                rows_n = mat.shape[0]
                if rows_n > SVD_SAMPLE:
                    # The latent space is learnt from an evenly spaced
                    # sample (deterministic); projecting everyone is one
                    # sparse product. Keeps fit linear with a small slope.
                    svd.fit(mat[np.linspace(0, rows_n - 1, SVD_SAMPLE).astype(np.int64)])
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
    return Block("text", labels, feats[:n], feats[n:], feats[:n], feats[n:], True)
