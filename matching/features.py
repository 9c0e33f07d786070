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
import re
import zlib
from array import array
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, count, repeat
from typing import Final, TypeVar

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

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
    market_languages,
)

#: Stable names of the factors coordinators weigh, in display order.
FACTORS: Final[tuple[str, ...]] = ("language", "market", "industry", "region", "korean", "text")
#: Every scored factor: ``FACTORS`` plus ``availability`` (weekly hours against
#: the SME's need), which has a default weight until the settings show it.
ALL_FACTORS: Final[tuple[str, ...]] = (*FACTORS, "availability")
#: At least one of these needs a positive weight (something to pair on).
MAIN_FACTORS: Final[tuple[str, ...]] = ("language", "market", "industry")
#: A pair needs something in common on one of these to be acceptable
#: (``no_common_language_or_market``): industry alone does not make a pair.
PAIRING_FACTORS: Final[tuple[str, ...]] = ("language", "market")
#: Weekly hours are scored in steps of this many hours, up to ``HOURS_STEPS`` steps.
HOURS_STEP: Final[int] = 5
HOURS_STEPS: Final[int] = 9
#: An SME that needs no particular hours ("flexible") is scored as needing this many:
#: any student with a few hours a week fits it fully.
FLEXIBLE_HOURS: Final[int] = 5
#: TOPIK level from which Korean counts fully in the SME's view.
KOREAN_SATURATION: Final[int] = 4
#: Dimensions of the fixed text embedding (random indexing of hashed words).
TEXT_DIMS: Final[int] = 32

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
#: Every student language but Korean: (student row, the code's number, level
#: weight) per entry, and the codes by number (``codes[number]``).
LanguageEntries = tuple[IntArray, IntArray, list[str], FloatArray]
_Key = TypeVar("_Key", bound=Hashable)


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
        ``languages_needed`` first, then the languages of the SME's markets
        (CLDR's official ones and the business-language table's): an explicit
        list adds to the markets' languages, it does not replace them.
    """
    out = [x for x in dict.fromkeys(sme.languages_needed) if x != "ko"]
    for c in sme.markets:
        for lang in market_languages(c):
            if lang != "ko" and lang not in out:
                out.append(lang)
    return tuple(out)


def student_languages(students: Sequence[StudentProfile]) -> LanguageEntries:
    """All (student, language, level weight) entries except Korean, in one pass.

    Codes come numbered (in order of first appearance), so the blocks map
    each distinct code to its column once instead of once per entry (issue
    14, session 13).

    Parameters
    ----------
    students : sequence of StudentProfile

    Returns
    -------
    rows : ndarray of int
        Non-decreasing.
    numbers : ndarray of int
        Each entry's code, as its place in ``codes``.
    codes : list of str
    weights : ndarray of float
    """
    numbered: defaultdict[str, int] = defaultdict(count().__next__)
    ent = [
        (i, numbered[c], LEVEL_WEIGHTS[v])
        for i, s in enumerate(students)
        for c, v in s.languages.items()
        if c != "ko"
    ]
    # one C pass over the entries' numbers (row and code numbers are exact
    # in float64), not one generator per column
    flat = np.fromiter(chain.from_iterable(ent), dtype=np.float64, count=3 * len(ent))
    flat = flat.reshape(-1, 3)
    rows = flat[:, 0].astype(np.int64)
    numbers = flat[:, 1].astype(np.int64)
    ws = np.ascontiguousarray(flat[:, 2])
    codes = list(numbered)
    return rows, numbers, codes, ws


def _code_columns(codes: Sequence[str], col: Mapping[str, int]) -> IntArray:
    """Each code's column in ``col``, -1 for a code not there."""
    return np.fromiter(map(col.get, codes, repeat(-1)), dtype=np.int64, count=len(codes))


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


def distinct(keys: Sequence[_Key]) -> tuple[list[_Key], IntArray]:
    """Distinct keys in order of first appearance, and each key's place among them.

    A block whose rows depend only on a profile's list of codes is computed
    once per distinct list and gathered with ``out[places]`` (issue 14).

    Parameters
    ----------
    keys : sequence of hashable

    Returns
    -------
    firsts : list
        ``firsts[places[r]] == keys[r]``.
    places : ndarray of int
    """
    index: dict[_Key, int] = {}
    places = np.fromiter(
        (index.setdefault(k, len(index)) for k in keys), dtype=np.int64, count=len(keys)
    )
    return list(index), places


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
    """Languages: both views are the mean level over the SME's needed languages.

    The student's view used to be the share of the student's languages the
    SME needs, which rewards an SME for needing many languages (breadth);
    the mean does not: needing ten languages of which the student speaks one
    counts a tenth of needing only that one.

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
    n = len(students)
    rows, numbers, codes, ws = langs
    j = _code_columns(codes, col)[numbers]
    ok = j >= 0
    lev = np.zeros((n, n_lang))
    lev[rows[ok], j[ok]] = ws[ok]
    # Once per distinct list of needed languages, then gathered (as
    # ``industry_block``): a few hundred among 10,000 SMEs.
    lists, of = distinct(needs)
    need = one_hot(lists, col, len(lists))
    cnt = need.sum(axis=1, keepdims=True)
    need_mean = np.divide(need, cnt, out=np.zeros_like(need), where=cnt > 0)[of]
    return Block("language", list(languages), lev, need_mean, lev, need_mean, True)


def market_block(
    students: Sequence[StudentProfile],
    smes: Sequence[SMEProfile],
    langs: LanguageEntries,
    markets: list[str],
) -> Block:
    """Markets: home, known, or reached through a language spoken there.

    Both views are means over the SME's target markets: the SME's view of
    the student's ability there (home 1, known 0.8, a language of the market
    0.8 x level), the student's view of the student's interest there (home 1,
    known 0.8, a language only 0.15 x level). Nothing is normalised by what
    other SMEs target, so a pair's score does not depend on the pool, and an
    SME gains nothing in the student's view by listing more markets.

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
    n = len(students)
    rows, numbers, codes, ws = langs
    # Which markets each language reaches (CLDR official/de facto).
    reach: dict[str, list[int]] = {}
    for c, j in col.items():
        for lang in market_languages(c):
            reach.setdefault(lang, []).append(j)
    ability = np.zeros((n, n_mkt))
    pref = np.zeros((n, n_mkt))
    # Markets reached through a language: one vectorised step per language
    # (a student lists each language once, so no row repeats in a step);
    # each language's entries found by its code's number, in entry order.
    by_code = np.argsort(numbers, kind="stable")
    bounds = np.searchsorted(numbers[by_code], np.arange(len(codes) + 1))
    for number, lang in enumerate(codes):
        if lang not in reach or bounds[number] == bounds[number + 1]:
            continue
        e_idx = by_code[bounds[number] : bounds[number + 1]]
        r = rows[e_idx][:, None]
        js = np.asarray(reach[lang], dtype=np.int64)[None, :]
        w = ws[e_idx][:, None]
        ability[r, js] = np.maximum(ability[r, js], LANGUAGE_MARKET_FACTOR * w)
        pref[r, js] = np.maximum(pref[r, js], LANGUAGE_MARKET_PREFERENCE_FACTOR * w)
    # Markets the student knows: once per distinct list (2,327 among 20,000
    # synthetic students), then gathered.
    k_lists, k_of = distinct([s.markets for s in students])
    known = one_hot(k_lists, col, len(k_lists))[k_of] > 0
    np.maximum(ability, KNOWN_MARKET_WEIGHT, out=ability, where=known)
    np.maximum(pref, KNOWN_MARKET_WEIGHT, out=pref, where=known)
    del known
    jn = _code_columns([s.nationality for s in students], col)
    hi = np.flatnonzero(jn >= 0)
    ability[hi, jn[hi]] = HOME_MARKET_WEIGHT
    pref[hi, jn[hi]] = HOME_MARKET_WEIGHT
    t_lists, t_of = distinct([e.markets for e in smes])
    tgt = one_hot(t_lists, col, len(t_lists))[t_of]
    cnt = tgt.sum(axis=1, keepdims=True)
    tgt_mean = np.divide(tgt, cnt, out=np.zeros_like(tgt), where=cnt > 0)
    return Block("market", list(markets), ability, tgt_mean, pref, tgt_mean, True)


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
    # Rows are computed once per distinct list of industries (3,113 among
    # 20,000 students, 435 among 10,000 SMEs in the synthetic cohort) and
    # gathered: each row is computed exactly as it would be alone.
    x_lists, x_of = distinct([s.industries for s in students])
    y_lists, y_of = distinct([e.industries for e in smes])
    x = one_hot(x_lists, col, len(x_lists))
    y = one_hot(y_lists, col, len(y_lists))
    # reach[i, b] = best relatedness of any of i's industries to b
    x_reach = best_of(x, rel)
    y_reach = best_of(y, rel)
    xc = x.sum(axis=1, keepdims=True)
    yc = y.sum(axis=1, keepdims=True)
    x_share = np.divide(x, xc, out=np.zeros_like(x), where=xc > 0)
    y_mean = np.divide(y, yc, out=np.zeros_like(y), where=yc > 0)
    # SME view: mean over the SME's industries of the student's reach;
    # student view: share of the student's interests the SME reaches.
    return Block(
        "industry",
        list(INDUSTRIES),
        x_reach[x_of],
        y_mean[y_of],
        x_share[x_of],
        y_reach[y_of],
        False,
    )


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
    # Once per distinct list of regions, then gathered (as ``industry_block``).
    x_lists, x_of = distinct([s.regions for s in students])
    y_lists, y_of = distinct([(e.region,) for e in smes])
    x = best_of(one_hot(x_lists, col, len(x_lists)), near)[x_of]
    y = one_hot(y_lists, col, len(y_lists))[y_of]
    return Block("region", list(REGIONS), x, y, x, y, True)


def korean_block(topik: IntArray, min_topik: IntArray) -> Block:
    """Korean: the SME's view min(TOPIK, 4) / 4, the student's view 1 (minimum met).

    TOPIK 4 is the level Korean workplaces (and the visa rules) treat as
    working Korean; an export project is done in the market's language, so
    Korean beyond it does not make a student a better fit.

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
    x_sme = np.where(ok, np.minimum(t, KOREAN_SATURATION) / KOREAN_SATURATION, 0.0)
    x_stu = ok.astype(float)
    y = np.zeros((min_topik.size, 7))
    y[np.arange(min_topik.size), min_topik] = 1.0
    return Block("korean", [str(v) for v in levels], x_sme, y, x_stu, y, True)


def availability_block(students: Sequence[StudentProfile], smes: Sequence[SMEProfile]) -> Block:
    """Weekly hours against the SME's need: about ``min(hours, need) / need``.

    Linear in steps of ``HOURS_STEP`` hours: step ``t`` of the student is the
    part of ``[5t, 5t + 5)`` the student can work, of the SME the part it
    needs divided by the need; their product summed over steps is
    ``min(hours, need) / need`` when either is a multiple of 5. An SME with no
    stated need counts as needing ``FLEXIBLE_HOURS``. Both views alike.

    Parameters
    ----------
    students : sequence of StudentProfile
    smes : sequence of SMEProfile

    Returns
    -------
    Block
    """
    steps = np.arange(HOURS_STEPS, dtype=np.float64) * HOURS_STEP
    hours = np.array([s.hours_per_week for s in students], dtype=np.float64)
    need = np.array([e.hours_needed or FLEXIBLE_HOURS for e in smes], dtype=np.float64)
    need = np.minimum(need, HOURS_STEP * HOURS_STEPS)
    x = np.clip(hours[:, None] - steps[None, :], 0.0, HOURS_STEP) / HOURS_STEP
    y = np.clip(need[:, None] - steps[None, :], 0.0, HOURS_STEP) / need[:, None]
    labels = [f"hours{int(v)}" for v in steps]
    return Block("availability", labels, x, y, x, y, True)


_TOKEN = re.compile(r"(?u)\b\w\w+\b")
#: ASCII bytes -> themselves for word characters (``\w``: letters, digits,
#: ``_``; upper case folded to lower), a space for every other ASCII byte.
_ASCII_WORDS: Final[bytes] = bytes(
    c + 32 if 65 <= c <= 90 else c if (48 <= c <= 57 or 97 <= c <= 122 or c == 95) else 32
    for c in range(256)
)


def text_tokens(text: str) -> list[bytes]:
    r"""The words of a text as ``_TOKEN`` finds them in it lower-cased, UTF-8 encoded.

    ``\b\w\w+\b`` finds exactly the maximal runs of two or more word
    characters. For an ASCII text (nearly all of them) those are the
    space-separated parts, of two bytes or more, of its bytes with every
    non-word byte made a space and upper case folded (one C pass each):
    a third of the regular expression's time, which was most of ``fit``'s
    text block. Other texts go through the expression itself.
    """
    if text.isascii():
        return [w for w in text.encode("ascii").translate(_ASCII_WORDS).split() if len(w) > 1]
    return [w.encode("utf-8") for w in _TOKEN.findall(text.lower())]


#: Put between texts joined for one pass: a token of its own (spaces around
#: it, two bytes so it passes the two-character rule) that no text can make
#: (``_ASCII_WORDS`` maps every \x01 of a text to a space).
_TEXT_SEPARATOR: Final[str] = " \x01\x01 "
#: ``_ASCII_WORDS`` keeping \x01, so the separator survives the translation.
_ASCII_WORDS_KEEP_SEPARATOR: Final[bytes] = _ASCII_WORDS[:1] + b"\x01" + _ASCII_WORDS[2:]


def _token_ids(texts: Sequence[str | None]) -> tuple[dict[bytes, int], IntArray, IntArray]:
    """Every token of the texts as (text, word id), word ids in order of first appearance.

    Returns the vocabulary (word -> id), and per token its text's index and
    its word's id, in text order. When every text is ASCII (no \x01 among
    them), the texts are joined with ``_TEXT_SEPARATOR`` and tokenised in one
    translation and one split instead of one each per text, and the
    separator tokens then give each token's text: the same tokens, in the
    same order, so the same ids (issue 14: 75 -> ~35 ms for 30,000 texts).
    Otherwise text by text (``text_tokens``).
    """
    strs = [t or "" for t in texts]
    joined = _TEXT_SEPARATOR.join(strs)
    if joined.isascii() and joined.count("\x01") == 2 * (len(strs) - 1):
        tokens = joined.encode("ascii").translate(_ASCII_WORDS_KEEP_SEPARATOR).split()
        # The separator takes id 0, so every word's id is one more than in
        # the text-by-text numbering: the same order.
        numbered: defaultdict[bytes, int] = defaultdict(count().__next__)
        numbered[b"\x01\x01"]  # id 0
        ids = np.fromiter(map(numbered.__getitem__, tokens), dtype=np.int64, count=len(tokens))
        # Words of one character are numbered too and dropped by id here
        # (``len`` per distinct word, not per token: a tenth of the text
        # block at 20,000 x 10,000). The kept words' ids are their ranks
        # among the kept: the numbering the filtered tokens would get.
        words = list(numbered)  # (in id order)
        kept = np.fromiter(map(len, words), dtype=np.int64, count=len(words)) > 1
        if not kept.all():
            ids = (np.cumsum(kept) - 1)[ids[kept[ids]]]
            words = [w for w, k in zip(words, kept.tolist(), strict=True) if k]
        sep = ids == 0
        rows = np.cumsum(sep)[~sep]
        vocab = {w: i for i, w in enumerate(words[1:])}
        return vocab, rows, ids[~sep] - 1
    # Word ids in order of first appearance, each token's id appended in C
    # (``map`` over a dict whose missing keys take the next number) into a
    # flat int64 buffer; only the per-text token counts are Python ints.
    by_text: defaultdict[bytes, int] = defaultdict(count().__next__)
    cols = array("q")
    lengths: list[int] = []
    for text in strs:
        toks = text_tokens(text)
        cols.extend(map(by_text.__getitem__, toks))
        lengths.append(len(toks))
    rows = np.repeat(np.arange(len(strs), dtype=np.int64), lengths)
    return dict(by_text), rows, np.frombuffer(cols, dtype=np.int64).copy()


def text_embedding(texts: Sequence[str], dims: int = TEXT_DIMS) -> FloatArray:
    """Fixed, pool-independent unit vectors of texts (random indexing).

    Each word (lower-cased, two characters or more) gets a fixed +-1 vector
    derived from a hash of the word (no vocabulary, nothing learnt from the
    cohort); a text is the sum of its words' vectors weighted by
    ``1 + log(count)``, normalised to length 1. The dot product of two such
    vectors approximates the cosine of the texts' word counts (standard
    error about ``1 / sqrt(dims)`` for unrelated texts), and the same two
    texts give the same value alone and in any cohort.

    Parameters
    ----------
    texts : sequence of str
    dims : int

    Returns
    -------
    ndarray, shape (len(texts), dims)
        Zero rows for texts without words.
    """
    vocab, rows, word = _token_ids(texts)
    out = np.zeros((len(texts), dims))
    if not word.size:
        return out
    n_words = len(vocab)
    key = rows * n_words + word
    uniq, counts = np.unique(key, return_counts=True)
    doc, word = np.divmod(uniq, n_words)
    # The ids above only index this call's words; each word's vector comes
    # from a hash of the word itself, so it is the same in every call.
    hashes = np.fromiter(map(zlib.crc32, vocab), np.uint64, n_words)  # of the UTF-8 words
    counts_matrix = sp.csr_array((1.0 + np.log(counts), (doc, word)), shape=(len(texts), n_words))
    out = np.asarray(counts_matrix @ _hash_signs(hashes, dims))
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    unit: FloatArray = np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
    return unit


def _hash_signs(keys: npt.NDArray[np.uint64], dims: int) -> FloatArray:
    """+-1 per (key, dimension) from splitmix64: deterministic on every platform."""
    with np.errstate(over="ignore"):
        z = keys[:, None] * np.uint64(dims) + np.arange(dims, dtype=np.uint64)[None, :]
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return np.where((z >> np.uint64(63)) == 1, 1.0, -1.0)


def text_block(students: Sequence[StudentProfile], smes: Sequence[SMEProfile], dims: int) -> Block:
    """Free text: ``(both wrote something + similarity) / 2``, pool-independent.

    The similarity is the dot product of ``text_embedding`` vectors, so it
    does not depend on who else is in the cohort: a pair scores the same in
    a cycle and alone.

    Parameters
    ----------
    students : sequence of StudentProfile
    smes : sequence of SMEProfile
    dims : int
        Embedding dimensions (0 ignores text).

    Returns
    -------
    Block
        Column 0 is ``has_text``; the others the embedding (all divided by
        sqrt 2, so the product is the score).
    """
    texts = [s.text or "" for s in students] + [e.text or "" for e in smes]
    n = len(students)
    emb = text_embedding(texts, dims) if dims > 0 else np.zeros((len(texts), 0))
    has = (np.abs(emb).sum(axis=1) > 0).astype(np.float64) if dims > 0 else np.zeros(len(texts))
    # text score = (has_i * has_j + cos(u_i, v_j)) / 2, in [0, 1] and 0
    # when either side wrote nothing; linear, so it fits the one product.
    feats = np.hstack([has[:, None], emb]) / math.sqrt(2.0)
    labels = ["has_text"] + [f"emb{d}" for d in range(emb.shape[1])]
    return Block("text", labels, feats[:n], feats[n:], feats[:n], feats[n:], True)
