"""Shortcuts in a cycle's fixed costs give exactly what the plain code gave (issue 14)."""

from __future__ import annotations

import re
import zlib

import numpy as np
import scipy.sparse as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

from matching import MatchModel, eligibility, explanations, learning
from matching.explanations import Reason, group_reason, reason_order
from matching.features import (
    TEXT_DIMS,
    Block,
    _hash_signs,
    best_of,
    distinct,
    industry_block,
    language_block,
    market_block,
    needed_languages,
    one_hot,
    region_block,
    student_languages,
    text_embedding,
    text_tokens,
)
from matching.profiles import SMEProfile, StudentProfile
from matching.synthetic import population
from matching.synthetic import with_visa_fields as eligibility_fields
from matching.taxonomy import (
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

_WORDS = re.compile(r"(?u)\b\w\w+\b")

# ASCII word and non-word characters (punctuation, control characters, the
# separators ``bytes.split`` would not split on) and non-ASCII letters, digits,
# spaces and case pairs whose lower case is not one character.
_ALPHABET = (
    "aZz09_ -.,;:!?'\"()/\\@#\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x00\x7f"
    "éÉß한국어日本İıſKΣς٣\u00a0\u2003\u200b\u0301"
)
_texts = st.text(alphabet=_ALPHABET, max_size=40)


def _reference_embedding(texts: list[str], dims: int = TEXT_DIMS) -> np.ndarray:
    """``text_embedding`` as it was: the regular expression per text, str words."""
    vocab: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for d, text in enumerate(texts):
        tokens = _WORDS.findall((text or "").lower())
        ids = [vocab.setdefault(t, len(vocab)) for t in tokens]
        cols.extend(ids)
        rows.extend([d] * len(ids))
    out = np.zeros((len(texts), dims))
    if not cols:
        return out
    n_words = len(vocab)
    key = np.asarray(rows, dtype=np.int64) * n_words + np.asarray(cols, dtype=np.int64)
    uniq, counts = np.unique(key, return_counts=True)
    doc, word = np.divmod(uniq, n_words)
    hashes = np.fromiter((zlib.crc32(t.encode("utf-8")) for t in vocab), np.uint64, n_words)
    counts_matrix = sp.csr_array((1.0 + np.log(counts), (doc, word)), shape=(len(texts), n_words))
    out = np.asarray(counts_matrix @ _hash_signs(hashes, dims))
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


@settings(max_examples=300, deadline=None)
@given(_texts)
@example("Export-ready: K-beauty & B2B, e.g. ÉCOLE 한국어 ab_c x1 a")
@example("A\x1cB\x1fcd\x00ef")
@example("")
def test_text_tokens_are_the_regular_expressions_words(text: str) -> None:
    # The ASCII fast path (bytes translated and split) must find exactly the
    # maximal runs of two or more word characters, lower-cased.
    assert text_tokens(text) == [w.encode("utf-8") for w in _WORDS.findall(text.lower())]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(_texts, st.none()), max_size=12))
@example(["Ab ab AB", "ab", "", None, "한국어 ab", "x"])
def test_text_embedding_is_bit_identical_to_the_plain_tokeniser(texts: list[str]) -> None:
    # Same words, same word numbering (first appearance), so the same sums in
    # the same order: bit-identical vectors, not merely close ones.
    got = text_embedding(texts)  # type: ignore[arg-type]
    want = _reference_embedding(texts)
    assert got.shape == want.shape
    assert got.tobytes() == want.tobytes()


def test_text_embedding_of_the_synthetic_cohort_is_unchanged() -> None:
    students, smes = population(300, 200, seed=3)
    texts = [s.text or "" for s in students] + [e.text or "" for e in smes]
    assert text_embedding(texts).tobytes() == _reference_embedding(texts).tobytes()


def test_criterion_values_across_chunks_equal_one_pair_at_a_time() -> None:
    # criterion_values works through a few thousand pairs at a time; pairs on
    # both sides of each chunk boundary must get their own values.
    students, smes = population(40, 30, seed=5)
    model = MatchModel(random_state=0).fit(students, smes)
    rng = np.random.default_rng(0)
    n = 9_000
    si = rng.integers(0, len(students), n)
    sj = rng.integers(0, len(smes), n)
    bulk = learning.criterion_values(model, si, sj)
    for p in (0, 1, 4095, 4096, 4097, 8191, 8192, 8193, n - 1, *rng.integers(0, n, 20).tolist()):
        one = learning.criterion_values(model, [si[p]], [sj[p]])
        for side in learning.SIDES:
            np.testing.assert_allclose(bulk[side][p], one[side][0], rtol=0, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 30), st.integers(1, 20), st.integers(0, 10_000), st.booleans())
@example(60, 40, 1, True)
def test_bulk_reasons_come_in_reason_order(n: int, m: int, seed: int, equal: bool) -> None:
    # explain_pairs orders each pair's reasons in numpy (weight, then factor
    # name) and sorts in Python only pairs with equal weights within a factor
    # or weights <= 0; every pair must come out exactly as a full sort by
    # reason_order puts it. Equal weights make ties across factors common.
    students, smes = population(n, m, seed=seed)
    pri = np.random.default_rng(seed).random(n) < 0.3
    weights = dict.fromkeys(("language", "market", "industry", "region"), 1.0) if equal else None
    model = MatchModel(weights=weights, random_state=0).fit(students, smes, priority=pri)
    i, j = np.divmod(np.arange(n * m), m)
    bulk = model.explain_pairs(i, j)
    for reasons in bulk:
        assert reasons == sorted(reasons, key=reason_order)


def _reasons_pair_by_pair(model, groups, part, i, j):  # type: ignore[no-untyped-def]
    """The reasons of one chunk as ``_explain_pairs`` built them until session 12:
    one ``group_reason`` per entry, pair by pair (the reference for ``_by_factor``)."""
    out = []
    bounds, wl, gl = part.bounds.tolist(), part.weights.tolist(), part.groups.tolist()
    cos = part.similarity.tolist()
    for p, (ii, jj) in enumerate(zip(i.tolist(), j.tolist(), strict=True)):
        stu, sme = model.students_[ii], model.smes_[jj]
        reasons = [
            group_reason(*groups[gl[q]], wl[q], stu, sme, cos[p])
            for q in range(bounds[p], bounds[p + 1])
        ]
        if part.no_industry[p]:
            reasons.append(Reason("industry", "industry.no_overlap", {}, 0.0))
        if part.below[p]:
            params = {"topik": stu.topik_level, "min_topik": sme.min_topik}
            reasons.append(Reason("korean", "korean.below_minimum", params, 0.0))
        if part.no_language[p]:
            reasons.append(Reason("language", "language.no_overlap", {}, 0.0))
        if part.no_market[p]:
            reasons.append(Reason("market", "market.no_overlap", {}, 0.0))
        if part.whole[p]:
            reasons.sort(key=reason_order)
        out.append(reasons)
    runs = zip(part.run_pair.tolist(), part.run_from.tolist(), part.run_to.tolist(), strict=True)
    for p, a0, a1 in runs:
        out[p][a0:a1] = sorted(out[p][a0:a1], key=reason_order)
    return out


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 40), st.integers(1, 25), st.integers(0, 10_000), st.booleans())
@example(60, 40, 1, True)
@example(60, 40, 2, False)
def test_reasons_built_by_factor_are_those_built_pair_by_pair(
    n: int, m: int, seed: int, equal: bool
) -> None:
    # Issue 14, session 12: the reasons are built a factor at a time, and
    # equal reasons (same factor, key, params and weight) are one shared
    # object. Every pair's list must be what one ``group_reason`` per entry
    # gave: the same reasons (values, types, repr) in the same order.
    students, smes = population(n, m, seed=seed)
    rng = np.random.default_rng(seed)
    pri = rng.random(n) < 0.3
    weights = dict.fromkeys(("language", "market", "industry", "region"), 1.0) if equal else None
    model = MatchModel(weights=weights, random_state=0).fit(students, smes, priority=pri)
    i, j = np.divmod(np.arange(n * m), m)
    pick = rng.permutation(n * m)[: max(1, n * m // 2)]  # pairs in any order, some twice
    i, j = np.concatenate([i, i[pick]]), np.concatenate([j, j[pick]])
    got = explanations._explain_pairs(model, i, j)
    want = explanations._explain_pairs(model, i, j, _reasons_pair_by_pair)
    assert got == want
    assert repr(got) == repr(want)
    assert all(type(r) is Reason for reasons in got for r in reasons)
    for reasons, pair_want in zip(got, want, strict=True):
        for r, w in zip(reasons, pair_want, strict=True):
            assert type(r.weight) is type(w.weight) and type(r.params) is type(w.params)
            assert [type(v) for v in r.params.values()] == [type(v) for v in w.params.values()]


_int64 = st.one_of(st.integers(-3, 3), st.sampled_from([-(2**63), 2**63 - 1, 2**62, -(2**62)]))


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6).flatmap(lambda w: st.lists(st.lists(_int64, min_size=w, max_size=w))))
@example([[1, 2], [1, 2], [0, 5], [1, -2]])
def test_rule_groups_are_numpys_unique_rows(rows: list[list[int]]) -> None:
    # The visa-rule groups number distinct rows by their lexicographic rank,
    # as np.unique(axis=0) did; the same numbers keep the blocked table's
    # layout (and every cycle's output) as it was.
    keys = np.array(rows, dtype=np.int64).reshape(len(rows), -1 if rows else 3)
    got_rows, got_inv = eligibility._unique_rows(keys)
    if not rows:
        assert got_rows.shape[0] == 0 and got_inv.size == 0
        return
    want_rows, want_inv = np.unique(keys, axis=0, return_inverse=True)
    assert np.array_equal(got_rows, want_rows)
    assert np.array_equal(got_inv, np.asarray(want_inv).ravel())
    assert got_rows.dtype == np.int64 and got_inv.dtype == np.int64


def _plain_industry_block(students: list, smes: list) -> Block:
    """``industry_block`` as it was: every row computed, none gathered."""
    rel = np.array(
        [[INDUSTRY_RELATEDNESS.get((a, b), 0.0) for b in INDUSTRIES] for a in INDUSTRIES]
    )
    col = {c: i for i, c in enumerate(INDUSTRIES)}
    x = one_hot((s.industries for s in students), col, len(students))
    y = one_hot((e.industries for e in smes), col, len(smes))
    x_reach, y_reach = best_of(x, rel), best_of(y, rel)
    xc, yc = x.sum(axis=1, keepdims=True), y.sum(axis=1, keepdims=True)
    x_share = np.divide(x, xc, out=np.zeros_like(x), where=xc > 0)
    y_mean = np.divide(y, yc, out=np.zeros_like(y), where=yc > 0)
    return Block("industry", list(INDUSTRIES), x_reach, y_mean, x_share, y_reach, False)


def _plain_region_block(students: list, smes: list) -> Block:
    """``region_block`` as it was: every row computed, none gathered."""
    col = {c: i for i, c in enumerate(REGIONS)}
    near = np.array([[REGION_CLOSENESS.get((a, b), 0.0) for b in REGIONS] for a in REGIONS])
    x = best_of(one_hot((s.regions for s in students), col, len(students)), near)
    y = one_hot(((e.region,) for e in smes), col, len(smes))
    return Block("region", list(REGIONS), x, y, x, y, True)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 80), st.integers(0, 50), st.integers(0, 10_000))
@example(300, 200, 3)
def test_blocks_built_once_per_distinct_list_equal_the_row_by_row_ones(
    n: int, m: int, seed: int
) -> None:
    # industry_block and region_block compute one row per distinct list of
    # codes and gather it; every row must be bit-identical to the row the
    # plain computation gives it (and so every score of every cycle).
    students, smes = population(max(n, 1), max(m, 1), seed=seed)
    students, smes = students[:n], smes[:m]
    for got, want in (
        (industry_block(students, smes), _plain_industry_block(students, smes)),
        (region_block(students, smes), _plain_region_block(students, smes)),
    ):
        assert got.labels == want.labels and got.shared_y == want.shared_y
        for part in ("x_sme", "y_sme", "x_stu", "y_stu"):
            a, b = getattr(got, part), getattr(want, part)
            assert a.shape == b.shape and a.dtype == b.dtype
            assert a.tobytes() == b.tobytes(), part


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from("abc"), max_size=3).map(tuple), max_size=30))
def test_distinct_keys_map_back_in_first_appearance_order(keys: list[tuple[str, ...]]) -> None:
    firsts, places = distinct(keys)
    assert [firsts[p] for p in places.tolist()] == keys
    assert firsts == list(dict.fromkeys(keys))
    assert places.dtype == np.int64 and places.shape == (len(keys),)


_ascii_texts = st.text(
    alphabet="aZz09_ -.,;:!?'\"()/\\@#\t\n\r\x0b\x0c\x1c\x1f\x00\x01\x02\x7f", max_size=40
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_ascii_texts, st.none()), max_size=12))
@example(["ab\x01\x01cd ab", "x", None, "", "AB"])
@example(["ab cd", "cd ef", "ab"])
@example(["one"])
def test_ascii_texts_tokenised_in_one_pass_are_bit_identical(texts: list[str | None]) -> None:
    # All-ASCII cohorts are joined with a separator token and tokenised in
    # one pass (texts holding the separator's byte go text by text): the
    # same tokens and word numbering, so bit-identical vectors.
    got = text_embedding(texts)  # type: ignore[arg-type]
    want = _reference_embedding(texts)  # type: ignore[arg-type]
    assert got.shape == want.shape
    assert got.tobytes() == want.tobytes()


def _plain_language_and_market_blocks(
    students: list[StudentProfile], smes: list[SMEProfile], languages: list[str], markets: list[str]
) -> tuple[Block, Block]:
    """``language_block`` and ``market_block`` as they were: a Python step per entry and row."""
    ent = [
        (i, c, LEVEL_WEIGHTS[v])
        for i, s in enumerate(students)
        for c, v in s.languages.items()
        if c != "ko"
    ]
    rows = np.fromiter((e[0] for e in ent), dtype=np.int64, count=len(ent))
    ws = np.fromiter((e[2] for e in ent), dtype=np.float64, count=len(ent))
    codes = [e[1] for e in ent]
    n, m = len(students), len(smes)
    needs = [needed_languages(e) for e in smes]
    col = {c: i for i, c in enumerate(languages)}
    j = np.fromiter((col.get(c, -1) for c in codes), dtype=np.int64, count=len(codes))
    lev = np.zeros((n, len(languages)))
    lev[rows[j >= 0], j[j >= 0]] = ws[j >= 0]
    nr = [(jj, col[c]) for jj, nd in enumerate(needs) for c in nd]
    need = np.zeros((m, len(languages)))
    if nr:
        need[tuple(np.array(nr, dtype=np.int64).T)] = 1.0
    cnt = need.sum(axis=1, keepdims=True)
    need_mean = np.divide(need, cnt, out=np.zeros_like(need), where=cnt > 0)
    language = Block("language", list(languages), lev, need_mean, lev, need_mean, True)
    col = {c: i for i, c in enumerate(markets)}
    reach: dict[str, list[int]] = {}
    for c, jm in col.items():
        for lang in market_languages(c):
            reach.setdefault(lang, []).append(jm)
    ability, pref = np.zeros((n, len(markets))), np.zeros((n, len(markets)))
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
    known = [(i, col.get(c, -1)) for i, s in enumerate(students) for c in dict.fromkeys(s.markets)]
    kr = np.fromiter((x[0] for x in known), dtype=np.int64, count=len(known))
    kj = np.fromiter((x[1] for x in known), dtype=np.int64, count=len(known))
    kin = kj >= 0
    ability[kr[kin], kj[kin]] = np.maximum(ability[kr[kin], kj[kin]], KNOWN_MARKET_WEIGHT)
    pref[kr[kin], kj[kin]] = np.maximum(pref[kr[kin], kj[kin]], KNOWN_MARKET_WEIGHT)
    jn = np.fromiter((col.get(s.nationality, -1) for s in students), dtype=np.int64, count=n)
    hi = np.flatnonzero(jn >= 0)
    ability[hi, jn[hi]] = HOME_MARKET_WEIGHT
    pref[hi, jn[hi]] = HOME_MARKET_WEIGHT
    tr = [(jj, col[c]) for jj, e in enumerate(smes) for c in e.markets]
    tgt = np.zeros((m, len(markets)))
    if tr:
        tgt[tuple(np.array(tr, dtype=np.int64).T)] = 1.0
    cnt = tgt.sum(axis=1, keepdims=True)
    tgt_mean = np.divide(tgt, cnt, out=np.zeros_like(tgt), where=cnt > 0)
    market = Block("market", list(markets), ability, tgt_mean, pref, tgt_mean, True)
    return language, market


_codes = st.sampled_from(["KR", "CN", "VN", "US", "DE", "MY", "RU", "KZ", "XX"])
_students = st.builds(
    lambda i, nat, langs, mkts: StudentProfile(i, nat, langs, tuple(mkts), (), (), 0, 10),
    st.just(0),
    _codes,
    st.dictionaries(
        st.sampled_from(["ko", "en", "zh", "vi", "ru", "de", "ms", "xx"]),
        st.sampled_from(sorted(LEVEL_WEIGHTS)),
        max_size=4,
    ),
    st.lists(_codes, max_size=4),  # repeats and unknown markets included
)
_smes = st.builds(
    lambda mkts, langs: SMEProfile(0, (), tuple(mkts), tuple(langs)),
    st.lists(_codes.filter(lambda c: c != "XX"), max_size=3),
    st.lists(st.sampled_from(["en", "ja", "ko", "vi"]), max_size=2),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_students, max_size=25), st.lists(_smes, max_size=12), st.integers(0, 10_000))
@example([], [], 0)
def test_language_and_market_blocks_equal_the_entry_by_entry_ones(
    made: list[StudentProfile], made_smes: list[SMEProfile], seed: int
) -> None:
    # The language and market blocks number each student language's code
    # once and build rows per distinct list of codes (issue 14, session 13):
    # every value must be bit-identical to the old entry-by-entry code, for
    # hand-made profiles (Korean among the languages, repeated and unknown
    # markets, no languages at all) and a synthetic cohort.
    cohort, cohort_smes = population(30, 20, seed=seed)
    for students, smes in ((made, made_smes), (cohort, cohort_smes)):
        needs = [needed_languages(e) for e in smes]
        languages = sorted({lang for nd in needs for lang in nd})
        markets = sorted({c for e in smes for c in e.markets})
        langs = student_languages(students)
        got = (
            language_block(students, needs, langs, languages),
            market_block(students, smes, langs, markets),
        )
        want = _plain_language_and_market_blocks(students, smes, languages, markets)
        for a, b in zip(got, want, strict=True):
            assert a.labels == b.labels and a.shared_y == b.shared_y
            for part in ("x_sme", "y_sme", "x_stu", "y_stu"):
                x, y = getattr(a, part), getattr(b, part)
                assert x.shape == y.shape and x.dtype == y.dtype, part
                assert x.tobytes() == y.tobytes(), part


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 60))
@example(3, 0)
def test_rule_arrays_gathered_by_key_equal_each_students_own(seed: int, n: int) -> None:
    # ``student_arrays`` computes one row per distinct rule key and gathers it
    # (issue 14, session 13): every student's row must be what the student
    # alone gets, visas, degrees and availability dates included.
    students, smes = population(max(n, 1), 5, seed=seed)
    students, _ = eligibility_fields(students[:n], smes, seed=seed)
    rules = eligibility.load_rules()
    got = eligibility.student_arrays(students, rules)
    for part in ("max_hours", "forbidden_bits", "whole_row", "available_from", "available_until"):
        values = getattr(got, part)
        assert values.shape == (n,)
        alone = [getattr(eligibility.student_arrays([s], rules), part)[0] for s in students]
        assert values.tolist() == [v.item() for v in alone], part
        assert values.dtype == (bool if part == "whole_row" else np.int64)
