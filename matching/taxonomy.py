"""Static data the engine scores with: industries, regions, language levels.

Everything here is data, not code, so coordinators' questions ("why does
cosmetics count half for pharma_bio?") are answered by reading one table.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Final

from babel.core import get_global
from babel.languages import get_official_languages

#: Industry codes used by the app (stable lowercase).
INDUSTRIES: Final[tuple[str, ...]] = (
    "cosmetics",
    "processed_food",
    "agri_fishery",
    "machinery",
    "auto_parts",
    "electronics",
    "semiconductors",
    "medical_devices",
    "pharma_bio",
    "software_it",
    "content_games",
    "fashion_textiles",
    "chemicals",
    "plastics_rubber",
    "metals",
    "shipbuilding_marine",
    "energy_environment",
    "household_goods",
    "furniture_interior",
    "construction_materials",
    "logistics_services",
    "education_services",
)

#: Korean regions (17 시·도).
REGIONS: Final[tuple[str, ...]] = (
    "seoul",
    "busan",
    "daegu",
    "incheon",
    "gwangju",
    "daejeon",
    "ulsan",
    "sejong",
    "gyeonggi",
    "gangwon",
    "chungbuk",
    "chungnam",
    "jeonbuk",
    "jeonnam",
    "gyeongbuk",
    "gyeongnam",
    "jeju",
)

#: How much a language level counts (1.0 = native). Business Korean-style
#: scales put "business" clearly above "conversational"; "basic" still counts
#: a little because a basic reader can follow a buyer's e-mail with tools.
LEVEL_WEIGHTS: Final[dict[str, float]] = {
    "native": 1.0,
    "fluent": 0.85,
    "business": 0.7,
    "conversational": 0.45,
    "basic": 0.2,
}

#: Related industries count partly (the value); the table is symmetric and an
#: industry is fully related to itself. Pairs not listed count zero.
RELATED_INDUSTRY_WEIGHT: Final[float] = 0.5
_RELATED_GROUPS: Final[tuple[tuple[str, ...], ...]] = (
    ("cosmetics", "pharma_bio", "household_goods"),
    ("electronics", "semiconductors", "machinery"),
    ("software_it", "content_games", "education_services"),
    ("auto_parts", "machinery", "metals"),
    ("processed_food", "agri_fishery"),
    ("chemicals", "plastics_rubber", "cosmetics"),
    ("fashion_textiles", "household_goods"),
    ("medical_devices", "pharma_bio", "electronics"),
    ("furniture_interior", "household_goods", "construction_materials"),
    ("shipbuilding_marine", "metals", "machinery"),
    ("energy_environment", "chemicals", "construction_materials"),
    ("logistics_services", "processed_food"),
)

#: Neighbouring regions count partly (commuting or relocating is plausible).
NEIGHBOUR_REGION_WEIGHT: Final[float] = 0.5
_NEIGHBOURS: Final[tuple[tuple[str, str], ...]] = (
    ("seoul", "gyeonggi"),
    ("seoul", "incheon"),
    ("incheon", "gyeonggi"),
    ("gyeonggi", "gangwon"),
    ("gyeonggi", "chungbuk"),
    ("gyeonggi", "chungnam"),
    ("daejeon", "sejong"),
    ("daejeon", "chungnam"),
    ("daejeon", "chungbuk"),
    ("sejong", "chungnam"),
    ("sejong", "chungbuk"),
    ("gwangju", "jeonnam"),
    ("jeonbuk", "jeonnam"),
    ("jeonbuk", "chungnam"),
    ("daegu", "gyeongbuk"),
    ("busan", "gyeongnam"),
    ("busan", "ulsan"),
    ("ulsan", "gyeongnam"),
    ("ulsan", "gyeongbuk"),
    ("daegu", "gyeongnam"),
)


def _pairs_table(
    codes: tuple[str, ...], pairs: list[tuple[str, str]], weight: float
) -> dict[tuple[str, str], float]:
    table: dict[tuple[str, str], float] = {(c, c): 1.0 for c in codes}
    for a, b in pairs:
        if a != b:
            table[(a, b)] = weight
            table[(b, a)] = weight
    return table


def _group_pairs(groups: tuple[tuple[str, ...], ...]) -> list[tuple[str, str]]:
    return [(a, b) for g in groups for a in g for b in g if a != b]


#: (industry, industry) -> relatedness in [0, 1]; symmetric.
INDUSTRY_RELATEDNESS: Final[dict[tuple[str, str], float]] = _pairs_table(
    INDUSTRIES, _group_pairs(_RELATED_GROUPS), RELATED_INDUSTRY_WEIGHT
)
#: (region, region) -> closeness in [0, 1]; symmetric.
REGION_CLOSENESS: Final[dict[tuple[str, str], float]] = _pairs_table(
    REGIONS, list(_NEIGHBOURS), NEIGHBOUR_REGION_WEIGHT
)

#: A student counts for a market they only know through its language at this
#: fraction of their level (a native Spanish speaker counts 0.8 for Mexico);
#: nationality counts 1.0 and a market the student says they know 0.8.
HOME_MARKET_WEIGHT: Final[float] = 1.0
KNOWN_MARKET_WEIGHT: Final[float] = 0.8
LANGUAGE_MARKET_FACTOR: Final[float] = 0.8
#: In the student's own view, markets reached only through a language are a
#: weak preference: a Vietnamese student who is fluent in English mostly wants
#: to work on Vietnam, not on the 50 English-speaking markets.
LANGUAGE_MARKET_PREFERENCE_FACTOR: Final[float] = 0.15


def load_cldr() -> None:
    """Load Babel's CLDR territory data now (about 7 ms, once per process).

    ``official_languages`` needs it on first use; ``matching`` calls this at
    import so that a process's first cycle does not pay it (issue 14: the
    app imports ``matching`` at start-up and runs every cycle in the same
    long-lived process, so the cost is the same, paid before the first
    cycle instead of inside it).
    """
    get_global("territory_languages")


@lru_cache(maxsize=512)
def official_languages(territory: str) -> tuple[str, ...]:
    """Return the ISO 639-1 official (and de facto) languages of a territory.

    Parameters
    ----------
    territory : str
        ISO 3166-1 alpha-2 country code, any case.

    Returns
    -------
    tuple of str
        Two-letter language codes from CLDR (via Babel), most spoken first,
        script variants folded (``zh_Hant`` -> ``zh``); languages without an
        ISO 639-1 code (``fil``, ``nan``) are dropped because the app's
        language codes are ISO 639-1.
    """
    out: list[str] = []
    for code in get_official_languages(territory.upper(), de_facto=True):
        base = code.split("_", 1)[0].lower()
        if len(base) == 2 and base not in out:
            out.append(base)
    return tuple(out)


_BUSINESS_LANGUAGES_FILE: Final[Path] = Path(__file__).with_name("data") / "business_languages.json"


@lru_cache(maxsize=1)
def business_languages() -> dict[str, tuple[str, ...]]:
    """The sourced business-language table: market -> languages used in trade there.

    Returns
    -------
    dict
        Alpha-2 market -> ISO 639-1 codes, from
        ``matching/data/business_languages.json`` (sources are in the file).
    """
    data = json.loads(_BUSINESS_LANGUAGES_FILE.read_text(encoding="utf-8"))
    return {
        str(market).upper(): tuple(str(x).lower() for x in entry["languages"])
        for market, entry in data["markets"].items()
    }


@lru_cache(maxsize=512)
def market_languages(territory: str) -> tuple[str, ...]:
    """Languages that reach a market: CLDR's official ones, then the business table's.

    Parameters
    ----------
    territory : str
        ISO 3166-1 alpha-2 country code, any case.

    Returns
    -------
    tuple of str
        ``official_languages(territory)`` followed by the languages of
        ``business_languages()`` for it that CLDR does not list (Russian in
        Uzbekistan, English in the Gulf, Chinese in Malaysia, ...).
    """
    out = list(official_languages(territory))
    for lang in business_languages().get(territory.upper(), ()):
        if lang not in out:
            out.append(lang)
    return tuple(out)
