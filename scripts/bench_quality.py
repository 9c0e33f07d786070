"""Measure the quality of the engine's proposals on a realistic synthetic cohort.

Run from the repository root (a script, not a test; a few seconds per seed)::

    python scripts/bench_quality.py                    # seeds 0 1 2, markdown table
    python scripts/bench_quality.py --seeds 0 1 2 3 4 --json

The cohort (``cohort``): 1,000 students x 300 SMEs. Nationalities as Korea's
international students (Vietnam and China about two thirds, then Uzbekistan,
Mongolia, Nepal, ...) with the languages people of each country commonly speak
(Russian across Central Asia, English in South Asia, ...); SME markets as
Korean SMEs' export destinations (China, the US, Vietnam, Japan, Hong Kong,
...); seats for everyone. Planted: 60 "obvious" pairs (a specialist SME with
one market, one seat, and a student from that market who speaks its
language natively, in the same industry and region, writing about the same
products) and 120 hard negatives (a student with the SME's industry, region
and enough TOPIK, but no language and no market in common with it).

Ground truth is a transparent rule, not the model: a proposal is GOOD when the
student knows one of the SME's target markets (nationality or a market they
list) and speaks a business language of it (CLDR's official languages plus
``matching/data/business_languages.json``) at native, fluent or business
level. The rule and the "language or market in common" test are written here,
independently of the engine, so the script also measures older engines.

Methods, each on the same cohort and the same capacities: the engine in stable
mode (and optimal mode); a plain TF-IDF cosine of the profiles written as text
(nationality, languages, markets, industries, region, free text) with the same
deferred-acceptance assignment (``matching.assign.stable``, both sides ranking
by the cosine); random scores with the same assignment.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from babel import Locale
from babel.languages import get_official_languages
from sklearn.feature_extraction.text import TfidfVectorizer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matching import SMEProfile, StudentProfile, assign, run  # noqa: E402
from matching.taxonomy import REGIONS  # noqa: E402

N_STUDENTS, N_SMES, N_PLANTED, N_HARD = 1000, 300, 60, 120
GOOD_LEVELS = {"native", "fluent", "business"}
_EN = Locale("en")

# nationality: (share, [(language, level or choices, probability)])
NATIONS: dict[str, tuple[float, list[tuple[str, tuple[str, ...], float]]]] = {
    "VN": (0.38, [("vi", ("native",), 1.0), ("en", ("business", "conversational", "basic"), 0.6)]),
    "CN": (0.29, [("zh", ("native",), 1.0), ("en", ("business", "conversational", "basic"), 0.5)]),
    "UZ": (
        0.07,
        [
            ("uz", ("native",), 1.0),
            ("ru", ("native", "fluent"), 0.8),
            ("en", ("conversational", "basic"), 0.4),
        ],
    ),
    "MN": (
        0.05,
        [
            ("mn", ("native",), 1.0),
            ("ru", ("conversational", "basic"), 0.3),
            ("en", ("business", "conversational"), 0.5),
        ],
    ),
    "NP": (
        0.04,
        [
            ("ne", ("native",), 1.0),
            ("en", ("fluent", "business"), 0.8),
            ("hi", ("conversational",), 0.4),
        ],
    ),
    "JP": (0.02, [("ja", ("native",), 1.0), ("en", ("business", "conversational"), 0.5)]),
    "ID": (0.02, [("id", ("native",), 1.0), ("en", ("business", "conversational"), 0.6)]),
    "US": (0.015, [("en", ("native",), 1.0), ("es", ("conversational", "basic"), 0.3)]),
    "MY": (0.015, [("ms", ("native",), 1.0), ("en", ("fluent",), 0.9), ("zh", ("native",), 0.3)]),
    "KZ": (0.015, [("kk", ("native",), 1.0), ("ru", ("native",), 0.95)]),
    "IN": (0.015, [("hi", ("native",), 1.0), ("en", ("fluent",), 0.9)]),
    "PK": (0.01, [("ur", ("native",), 1.0), ("en", ("fluent", "business"), 0.8)]),
    "BD": (0.01, [("bn", ("native",), 1.0), ("en", ("business", "conversational"), 0.7)]),
    "RU": (0.01, [("ru", ("native",), 1.0), ("en", ("business", "conversational"), 0.5)]),
    "TH": (0.01, [("th", ("native",), 1.0), ("en", ("conversational", "basic"), 0.5)]),
    "FR": (0.005, [("fr", ("native",), 1.0), ("en", ("fluent",), 0.8)]),
    "DE": (0.005, [("de", ("native",), 1.0), ("en", ("fluent",), 0.9)]),
    "PH": (0.01, [("en", ("fluent",), 1.0), ("tl", ("native",), 1.0)]),
    "MX": (0.005, [("es", ("native",), 1.0), ("en", ("business", "conversational"), 0.5)]),
}
# Korean SMEs' export destinations, rough shares.
MARKETS: dict[str, float] = {
    "CN": 0.19, "US": 0.16, "VN": 0.11, "JP": 0.09, "HK": 0.05, "TW": 0.04, "ID": 0.03,
    "TH": 0.03, "MY": 0.03, "IN": 0.03, "PH": 0.02, "SG": 0.02, "DE": 0.02, "MX": 0.02,
    "AE": 0.02, "RU": 0.02, "UZ": 0.015, "MN": 0.01, "KZ": 0.015, "AU": 0.015, "CA": 0.01,
    "GB": 0.01, "FR": 0.01, "SA": 0.01,
}  # fmt: skip
INDUSTRY_SHARE: dict[str, float] = {
    "cosmetics": 0.15, "processed_food": 0.13, "machinery": 0.11, "electronics": 0.09,
    "auto_parts": 0.08, "software_it": 0.06, "fashion_textiles": 0.05, "medical_devices": 0.05,
    "household_goods": 0.04, "chemicals": 0.04, "plastics_rubber": 0.03, "content_games": 0.03,
    "agri_fishery": 0.03, "pharma_bio": 0.03, "metals": 0.02, "semiconductors": 0.02,
    "energy_environment": 0.01, "furniture_interior": 0.01, "construction_materials": 0.01,
    "shipbuilding_marine": 0.005, "logistics_services": 0.005,
}  # fmt: skip
WORDS: dict[str, str] = {
    "cosmetics": "skincare serum cream beauty cosmetic toner",
    "processed_food": "snack noodle sauce beverage kimchi food",
    "machinery": "machine tool cnc equipment pump industrial",
    "electronics": "electronic sensor display appliance circuit",
    "auto_parts": "automotive brake engine parts vehicle",
    "software_it": "software app cloud platform saas",
    "fashion_textiles": "fashion apparel fabric textile clothing",
    "medical_devices": "medical device diagnostic hospital clinic",
    "household_goods": "kitchen household cleaning living goods",
    "chemicals": "chemical coating resin industrial",
    "plastics_rubber": "plastic rubber packaging mould",
    "content_games": "game webtoon content animation",
    "agri_fishery": "seafood fruit ginseng agriculture",
    "pharma_bio": "pharmaceutical bio supplement health",
    "metals": "steel aluminium metal alloy",
    "semiconductors": "semiconductor chip wafer",
    "energy_environment": "solar battery energy recycling",
    "furniture_interior": "furniture interior lighting",
    "construction_materials": "tile cement building materials",
    "shipbuilding_marine": "marine ship vessel",
    "logistics_services": "logistics shipping warehouse",
    "education_services": "education course training",
}
REGION_SHARE = np.array([0.25, 0.06, 0.04, 0.06, 0.03, 0.04, 0.02, 0.01, 0.28, 0.02,
                         0.03, 0.04, 0.02, 0.02, 0.03, 0.04, 0.01])  # fmt: skip


# ----------------------------------------------------------- the transparent rule
def _business_table() -> dict[str, list[str]]:
    data = json.loads((ROOT / "matching" / "data" / "business_languages.json").read_text())
    return {m: list(v["languages"]) for m, v in data["markets"].items()}


_TABLE = _business_table()


def business_languages(market: str) -> set[str]:
    """CLDR official (and de facto) languages of a market plus the sourced table's."""
    out = {c.split("_")[0] for c in get_official_languages(market, de_facto=True)}
    return out | set(_TABLE.get(market, ()))


def good(s: StudentProfile, e: SMEProfile) -> bool:
    """The student knows one of the SME's markets and speaks a business language of it well."""
    for c in e.markets:
        knows = c == s.nationality or c in s.markets
        if knows and any(
            lvl in GOOD_LEVELS and lang in business_languages(c)
            for lang, lvl in s.languages.items()
        ):
            return True
    return False


def shares_language_or_market(s: StudentProfile, e: SMEProfile) -> bool:
    """Any language in common (the SME's listed ones or its markets'), or a market in common."""
    spoken = {c for c in s.languages if c != "ko"}
    needed = set(e.languages_needed)
    for c in e.markets:
        needed |= business_languages(c)
        if c == s.nationality or c in s.markets or spoken & business_languages(c):
            return True
    return bool(spoken & (needed - {"ko"}))


# ----------------------------------------------------------------- the cohort
@dataclass
class Cohort:
    students: list[StudentProfile]
    smes: list[SMEProfile]
    planted: list[tuple[int, int]]
    hard: list[tuple[int, int]]


def _pick(rng: np.random.Generator, table: dict[str, float], size: int = 1) -> list[str]:
    keys = list(table)
    p = np.array([table[k] for k in keys], dtype=float)
    return [keys[int(i)] for i in rng.choice(len(keys), size=size, p=p / p.sum())]


def _languages(rng: np.random.Generator, nation: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for lang, levels, prob in NATIONS[nation][1]:
        if rng.random() < prob:
            out[lang] = levels[int(rng.integers(len(levels)))]
    return out


def _country(code: str) -> str:
    return str(_EN.territories.get(code, code))


def _student_text(rng: np.random.Generator, nation: str, inds: Sequence[str]) -> str:
    words = " ".join(rng.choice(" ".join(WORDS[i] for i in inds).split(), 4))
    return f"Student from {_country(nation)} interested in {words} and export marketing"


def cohort(seed: int) -> Cohort:
    """The cohort of this script (deterministic per seed)."""
    rng = np.random.default_rng(seed)
    nations = {k: v[0] for k, v in NATIONS.items()}
    smes: list[SMEProfile] = []
    # Regular SMEs: 1-4 markets, 1-2 industries, 3-6 seats.
    for j in range(N_SMES - N_PLANTED):
        markets = tuple(dict.fromkeys(_pick(rng, MARKETS, int(rng.integers(1, 5)))))
        inds = tuple(dict.fromkeys(_pick(rng, INDUSTRY_SHARE, int(rng.integers(1, 3)))))
        needed = ("en",) if rng.random() < 0.15 else ()
        region = REGIONS[int(rng.choice(17, p=REGION_SHARE / REGION_SHARE.sum()))]
        text = " ".join(WORDS[i] for i in inds) + " export " + " ".join(map(_country, markets))
        smes.append(
            SMEProfile(
                j + 1,
                inds,
                markets,
                needed,
                region,
                int(rng.integers(3, 7)),
                int(rng.choice([0, 0, 0, 2, 3, 4])),
                text,
            )  # fmt: skip
        )
    students: list[StudentProfile] = []
    planted: list[tuple[int, int]] = []
    hard: list[tuple[int, int]] = []

    def add_student(nation: str, langs: dict[str, str], markets: tuple[str, ...],
                    inds: tuple[str, ...], regions: tuple[str, ...], topik: int,
                    text: str) -> int:  # fmt: skip
        sid = len(students) + 1
        students.append(StudentProfile(sid, nation, langs, markets, inds, regions, topik,
                                       int(rng.integers(8, 30)), text))  # fmt: skip
        return sid

    # Planted: a specialist SME and the obvious student for it.
    for _ in range(N_PLANTED):
        nation = _pick(rng, {k: v for k, v in nations.items() if k in MARKETS})[0]
        ind = _pick(rng, INDUSTRY_SHARE)[0]
        region = REGIONS[int(rng.choice(17, p=REGION_SHARE / REGION_SHARE.sum()))]
        jid = len(smes) + 1
        words = WORDS[ind]
        smes.append(SMEProfile(jid, (ind,), (nation,), (), region, 1, 0,
                               f"{words} export {_country(nation)}"))  # fmt: skip
        langs = _languages(rng, nation)
        langs[NATIONS[nation][1][0][0]] = "native"
        sid = add_student(nation, langs, (nation,), (ind,), (region,), int(rng.integers(4, 7)),
                          f"Student from {_country(nation)}: {words} export")  # fmt: skip
        planted.append((sid, jid))
    # Hard negatives: industry, region and TOPIK of an SME, nothing else in common.
    regular = smes[: N_SMES - N_PLANTED]
    while len(hard) < N_HARD:
        e = regular[int(rng.integers(len(regular)))]
        nation = _pick(rng, nations)[0]
        langs = _languages(rng, nation)
        cand = StudentProfile(0, nation, langs, (), e.industries[:1], (e.region,), 6, 20)
        if nation in e.markets or shares_language_or_market(cand, e):
            continue
        topik = max(e.min_topik, int(rng.integers(0, 7)))
        sid = add_student(nation, langs, (), e.industries[:1], (e.region,), topik,
                          _student_text(rng, nation, e.industries[:1]))  # fmt: skip
        hard.append((sid, e.id))
    # Everyone else.
    while len(students) < N_STUDENTS:
        nation = _pick(rng, nations)[0]
        langs = _languages(rng, nation)
        extra = tuple(m for m in _pick(rng, MARKETS, int(rng.integers(0, 3))) if m != nation)
        inds = tuple(dict.fromkeys(_pick(rng, INDUSTRY_SHARE, int(rng.integers(1, 4)))))
        regions = tuple(
            dict.fromkeys(
                REGIONS[int(x)]
                for x in rng.choice(
                    17, int(rng.integers(1, 3)), p=REGION_SHARE / REGION_SHARE.sum()
                )
            )
        )
        add_student(nation, langs, (nation, *extra), inds, regions, int(rng.integers(0, 7)),
                    _student_text(rng, nation, inds))  # fmt: skip
    return Cohort(students, smes, planted, hard)


# ----------------------------------------------------------------- methods
def engine(mode: str) -> Callable[[Cohort], list[tuple[int, int]]]:
    def method(c: Cohort) -> list[tuple[int, int]]:
        res = run(c.students, c.smes, mode=mode, explain=False)  # type: ignore[arg-type]
        return [(p.student_id, p.sme_id) for p in res.pairs]

    return method


def _profile_text(p: StudentProfile | SMEProfile) -> str:
    if isinstance(p, StudentProfile):
        parts = [_country(p.nationality), *p.languages, *map(_country, p.markets), *p.industries,
                 *p.regions, p.text]  # fmt: skip
    else:
        parts = [*map(_country, p.markets), *p.languages_needed, *p.industries, p.region, p.text]
    return " ".join(parts)


def _assign(c: Cohort, scores: np.ndarray) -> list[tuple[int, int]]:
    cap = np.array([e.capacity for e in c.smes])
    a = assign.stable(scores, scores, cap)
    return [(c.students[i].id, c.smes[int(j)].id) for i, j in enumerate(a) if j >= 0]


def tfidf(c: Cohort) -> list[tuple[int, int]]:
    docs = [_profile_text(s) for s in c.students] + [_profile_text(e) for e in c.smes]
    mat = TfidfVectorizer(sublinear_tf=True).fit_transform(docs)
    n = len(c.students)
    sims = (mat[:n] @ mat[n:].T).toarray()
    return _assign(c, sims)


def random_scores(seed: int) -> Callable[[Cohort], list[tuple[int, int]]]:
    def method(c: Cohort) -> list[tuple[int, int]]:
        rng = np.random.default_rng(seed + 1000)
        return _assign(c, rng.random((len(c.students), len(c.smes))))

    return method


# ----------------------------------------------------------------- measures
def measure(c: Cohort, pairs: list[tuple[int, int]]) -> dict[str, Any]:
    st = {s.id: s for s in c.students}
    sm = {e.id: e for e in c.smes}
    got = set(pairs)
    n = max(len(pairs), 1)
    placed = Counter(st[s].nationality for s, _ in pairs)
    everyone = Counter(s.nationality for s in c.students)
    return {
        "proposals": len(pairs),
        "precision": sum(good(st[s], sm[e]) for s, e in pairs) / n,
        "no_common": sum(not shares_language_or_market(st[s], sm[e]) for s, e in pairs) / n,
        "planted": sum(p in got for p in c.planted) / len(c.planted),
        "hard_negatives": sum(p in got for p in c.hard),
        "placed_by_nationality": {k: placed[k] / v for k, v in everyone.most_common(8)},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--json", action="store_true", help="print one JSON line per seed and method")
    ap.add_argument("--no-optimal", action="store_true", help="skip the engine's optimal mode")
    args = ap.parse_args()
    rows: dict[str, list[dict[str, Any]]] = {}
    for seed in args.seeds:
        c = cohort(seed)
        methods: dict[str, Callable[[Cohort], list[tuple[int, int]]]] = {
            "engine stable": engine("stable"),
            "engine optimal": engine("optimal"),
            "TF-IDF cosine + same assignment": tfidf,
            "random + same assignment": random_scores(seed),
        }
        if args.no_optimal:
            del methods["engine optimal"]
        for name, method in methods.items():
            m = measure(c, method(c))
            rows.setdefault(name, []).append(m)
            if args.json:
                print(json.dumps({"seed": seed, "method": name, **m}))

    def span(name: str, key: str, fmt: str) -> str:
        vals = [r[key] for r in rows[name]]
        lo, hi, mid = min(vals), max(vals), statistics.mean(vals)
        return (
            fmt.format(mid)
            if lo == hi
            else f"{fmt.format(mid)} ({fmt.format(lo)}–{fmt.format(hi)})"
        )

    names = list(rows)
    print(f"Seeds {args.seeds}: mean (min–max)\n")
    print("| measure | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    lines = [
        ("precision of proposals (GOOD)", "precision", "{:.3f}"),
        ("proposals sharing no language and no market", "no_common", "{:.1%}"),
        ("planted pairs in the final assignment", "planted", "{:.3f}"),
        (f"hard negatives proposed (of {N_HARD})", "hard_negatives", "{:.1f}"),
        ("proposals", "proposals", "{:.0f}"),
    ]
    for label, key, fmt in lines:
        print(f"| {label} | " + " | ".join(span(n, key, fmt) for n in names) + " |")
    nat = list(rows[names[0]][0]["placed_by_nationality"])
    for k in nat:
        cells = []
        for n in names:
            vals = [r["placed_by_nationality"].get(k, 0.0) for r in rows[n]]
            cells.append(f"{statistics.mean(vals):.0%}")
        print(f"| placed, {k} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
