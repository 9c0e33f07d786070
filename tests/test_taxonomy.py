"""The codes used everywhere: ISO tables from pycountry, names from CLDR (Babel), our own lists."""

from __future__ import annotations

import re

import pycountry
import pytest

from app import taxonomy
from matching import taxonomy as engine

HANGUL = re.compile(r"[\uac00-\ud7a3]")

OWN = {
    "industries": taxonomy.INDUSTRIES,
    "regions": taxonomy.REGIONS,
    "visa_types": taxonomy.VISA_TYPES,
    "levels": taxonomy.LEVELS,
    "degree_levels": taxonomy.DEGREE_LEVELS,
}


def by_code(kind: str) -> dict[str, taxonomy.Term]:
    return {term.code: term for term in taxonomy.TABLES[kind]()}


def test_languages_are_every_iso_639_1_code() -> None:
    iso = {lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2")}
    codes = [term.code for term in taxonomy.languages()]
    assert len(iso) > 150
    assert set(codes) == iso
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"[a-z]{2}", code) for code in codes)


def test_countries_are_every_iso_3166_alpha_2_code() -> None:
    iso = {country.alpha_2 for country in pycountry.countries}
    codes = [term.code for term in taxonomy.countries()]
    assert len(iso) >= 249
    assert set(codes) == iso
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"[A-Z]{2}", code) for code in codes)


@pytest.mark.parametrize(
    ("kind", "code", "en", "ko"),
    [
        ("languages", "vi", "Vietnamese", "베트남어"),
        ("languages", "en", "English", "영어"),
        ("languages", "ko", "Korean", "한국어"),
        ("languages", "zh", "Chinese", "중국어"),
        ("languages", "id", "Indonesian", "인도네시아어"),
        ("countries", "VN", "Vietnam", "베트남"),
        ("countries", "US", "United States", "미국"),
        ("countries", "CN", "China", "중국"),
        ("countries", "UZ", "Uzbekistan", "우즈베키스탄"),
    ],
)
def test_names_in_english_and_korean(kind: str, code: str, en: str, ko: str) -> None:
    term = by_code(kind)[code]
    assert (term.name_en, term.name_ko) == (en, ko)
    assert taxonomy.name(kind, code, "en") == en
    assert taxonomy.name(kind, code, "ko") == ko
    assert taxonomy.name(kind, code, "ko_KR") == ko


@pytest.mark.parametrize("kind", ["languages", "countries"])
def test_every_iso_entry_has_both_names(kind: str) -> None:
    for term in taxonomy.TABLES[kind]():
        assert term.name_en.strip() and term.name_ko.strip(), term
    # CLDR's Korean names are in Hangul for (nearly) all of them: not English copied over.
    korean = [term for term in taxonomy.TABLES[kind]() if HANGUL.search(term.name_ko)]
    assert len(korean) >= 0.9 * len(taxonomy.TABLES[kind]())


def test_seventeen_regions_of_korea() -> None:
    codes = [term.code for term in taxonomy.REGIONS]
    assert len(codes) == 17
    assert {"seoul", "busan", "gyeonggi", "jeju", "sejong", "gangwon"} <= set(codes)
    assert by_code("regions")["seoul"].name_ko == "서울특별시"


def test_industries() -> None:
    codes = [term.code for term in taxonomy.INDUSTRIES]
    assert 20 <= len(codes) <= 25
    assert {"cosmetics", "processed_food", "machinery", "software_it"} <= set(codes)


def test_nine_visa_types_without_any_identity_number() -> None:
    codes = [term.code for term in taxonomy.VISA_TYPES]
    assert len(codes) == 9
    assert {"d2", "d4", "d10", "e7", "f2", "f4", "f5", "f6", "other"} == set(codes)


def test_levels() -> None:
    assert [t.code for t in taxonomy.LEVELS] == [
        "native",
        "fluent",
        "business",
        "conversational",
        "basic",
    ]


@pytest.mark.parametrize("kind", sorted(OWN))
def test_own_codes_are_lowercase_unique_and_named_twice(kind: str) -> None:
    terms = OWN[kind]
    codes = [term.code for term in terms]
    assert len(codes) == len(set(codes)), "a code appears twice"
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", code) for code in codes), codes
    names_en = [term.name_en for term in terms]
    names_ko = [term.name_ko for term in terms]
    assert len(set(names_en)) == len(names_en) and len(set(names_ko)) == len(names_ko)
    assert all(HANGUL.search(name) for name in names_ko), names_ko
    assert all(name.isascii() for name in names_en), names_en
    assert taxonomy.codes(kind) == frozenset(codes)


def test_is_valid_is_exact() -> None:
    assert taxonomy.is_valid("languages", "vi")
    assert not taxonomy.is_valid("languages", "VI")  # normalising is the schemas' job
    assert taxonomy.is_valid("countries", "VN")
    assert not taxonomy.is_valid("countries", "vn")
    assert not taxonomy.is_valid("industries", "")
    assert not taxonomy.is_valid("regions", "Seoul")


def test_unknown_codes_are_shown_as_themselves() -> None:
    assert taxonomy.name("industries", "retired_code", "ko") == "retired_code"


def test_choices_are_sorted_by_the_name_the_reader_sees() -> None:
    en = taxonomy.choices("countries", "en")
    ko = taxonomy.choices("countries", "ko")
    assert [name for _, name in en] == sorted(name for _, name in en)
    assert [name for _, name in ko] == sorted(name for _, name in ko)
    assert dict(ko)["VN"] == "베트남"
    assert [code for code, _ in taxonomy.choices("regions", "en", sort=False)][0] == "seoul"


def test_json_shape_for_the_api() -> None:
    data = taxonomy.as_json()
    assert set(data) == {
        "languages",
        "levels",
        "countries",
        "industries",
        "regions",
        "visa_types",
        "degree_levels",
        "ksic_sections",
    }
    for terms in data.values():
        for term in terms:
            assert set(term) == {"code", "name_en", "name_ko"}
    assert {"code": "vi", "name_en": "Vietnamese", "name_ko": "베트남어"} in data["languages"]


def test_degree_levels() -> None:
    assert [t.code for t in taxonomy.DEGREE_LEVELS] == [
        "language",
        "associate",
        "bachelor",
        "master",
        "doctorate",
    ]


def test_ksic_sections_are_the_21_official_letters_named_twice() -> None:
    sections = by_code("ksic_sections")
    assert list(sections) == [chr(c) for c in range(ord("A"), ord("U") + 1)]
    assert sections["C"].name_ko == "C. 제조업" and sections["C"].name_en == "C. Manufacturing"
    assert sections["F"].name_ko == "F. 건설업"
    assert all(HANGUL.search(t.name_ko) and t.name_en.isascii() for t in sections.values())
    assert len({t.name_ko for t in sections.values()}) == 21


def test_levels_industries_and_regions_are_the_engines_codes_in_its_order() -> None:
    """One source (issue 16): the engine says which codes exist, the app only names them."""
    assert [t.code for t in taxonomy.INDUSTRIES] == list(engine.INDUSTRIES)
    assert [t.code for t in taxonomy.REGIONS] == list(engine.REGIONS)
    assert [t.code for t in taxonomy.LEVELS] == list(engine.LEVEL_WEIGHTS)


def test_a_code_without_a_name_fails_at_import() -> None:
    with pytest.raises(RuntimeError, match="unnamed"):
        taxonomy._named(("a", "b"), {"a": ("A", "에이")})
    with pytest.raises(RuntimeError, match="unknown"):
        taxonomy._named(("a",), {"a": ("A", "에이"), "b": ("B", "비")})
