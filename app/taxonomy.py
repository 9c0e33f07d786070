"""The codes used everywhere (forms, API, CSV), with English and Korean names.

Languages (ISO 639-1) and countries (ISO 3166-1 alpha-2) come from pycountry's ISO tables, and
their names from Babel's CLDR data, so nothing here is typed by hand that a maintained library
already knows. Industries, regions, visa types and degree levels are the programme's own taxonomy:
the codes are stable and lowercase because they are stored and exchanged; the names may change
freely. KSIC sections keep Statistics Korea's own upper-case letters (A-U).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import pycountry
from babel import Locale

from matching import taxonomy as engine

LOCALES = ("en", "ko")


@dataclass(frozen=True)
class Term:
    code: str
    name_en: str
    name_ko: str

    def name(self, locale: str) -> str:
        return self.name_ko if str(locale).startswith("ko") else self.name_en

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "name_en": self.name_en, "name_ko": self.name_ko}


def _named(codes: tuple[str, ...], names: dict[str, tuple[str, str]]) -> tuple[Term, ...]:
    """The engine's codes, in the engine's order, with their English and Korean names.

    The engine (matching.taxonomy) is the one source of which levels, industries and regions
    exist; this module only names them. A code without a name, or a name without a code, fails
    here at import, so the two lists cannot drift apart."""
    if set(codes) != set(names) or len(codes) != len(set(codes)):
        unnamed, unknown = set(codes) - set(names), set(names) - set(codes)
        raise RuntimeError(f"taxonomy out of step: unnamed {unnamed}, unknown {unknown}")
    return tuple(Term(code, *names[code]) for code in codes)


LEVELS: tuple[Term, ...] = _named(
    tuple(engine.LEVEL_WEIGHTS),
    {
        "native": ("Native", "원어민"),
        "fluent": ("Fluent", "유창함"),
        "business": ("Business", "업무 가능"),
        "conversational": ("Conversational", "일상 회화"),
        "basic": ("Basic", "기초"),
    },
)

# Export-relevant sectors of Korean SMEs. The engine keeps which sectors are related.
INDUSTRIES: tuple[Term, ...] = _named(
    engine.INDUSTRIES,
    {
        "cosmetics": ("Cosmetics and beauty", "화장품·뷰티"),
        "processed_food": ("Processed food and beverages", "가공식품·음료"),
        "agri_fishery": ("Agricultural and fishery products", "농수산물"),
        "machinery": ("Machinery and equipment", "기계·장비"),
        "auto_parts": ("Auto parts", "자동차 부품"),
        "electronics": ("Electronics", "전자제품"),
        "semiconductors": ("Semiconductors and displays", "반도체·디스플레이"),
        "medical_devices": ("Medical devices", "의료기기"),
        "pharma_bio": ("Pharmaceuticals and biotech", "제약·바이오"),
        "software_it": ("Software and IT services", "소프트웨어·IT 서비스"),
        "content_games": ("Content and games", "콘텐츠·게임"),
        "fashion_textiles": ("Fashion and textiles", "패션·섬유"),
        "chemicals": ("Chemicals", "화학"),
        "plastics_rubber": ("Plastics and rubber", "플라스틱·고무"),
        "metals": ("Metals and metal products", "금속·금속가공"),
        "shipbuilding_marine": ("Shipbuilding and marine equipment", "조선·해양기자재"),
        "energy_environment": ("Energy and environment", "에너지·환경"),
        "household_goods": ("Household goods", "생활용품"),
        "furniture_interior": ("Furniture and interior", "가구·인테리어"),
        "construction_materials": ("Construction materials", "건축자재"),
        "logistics_services": ("Logistics and trade services", "물류·무역 서비스"),
        "education_services": ("Education services", "교육 서비스"),
    },
)

# The 17 first-level divisions of Korea (시·도).
REGIONS: tuple[Term, ...] = _named(
    engine.REGIONS,
    {
        "seoul": ("Seoul", "서울특별시"),
        "busan": ("Busan", "부산광역시"),
        "daegu": ("Daegu", "대구광역시"),
        "incheon": ("Incheon", "인천광역시"),
        "gwangju": ("Gwangju", "광주광역시"),
        "daejeon": ("Daejeon", "대전광역시"),
        "ulsan": ("Ulsan", "울산광역시"),
        "sejong": ("Sejong", "세종특별자치시"),
        "gyeonggi": ("Gyeonggi-do", "경기도"),
        "gangwon": ("Gangwon", "강원특별자치도"),
        "chungbuk": ("Chungcheongbuk-do", "충청북도"),
        "chungnam": ("Chungcheongnam-do", "충청남도"),
        "jeonbuk": ("Jeonbuk", "전북특별자치도"),
        "jeonnam": ("Jeollanam-do", "전라남도"),
        "gyeongbuk": ("Gyeongsangbuk-do", "경상북도"),
        "gyeongnam": ("Gyeongsangnam-do", "경상남도"),
        "jeju": ("Jeju", "제주특별자치도"),
    },
)

VISA_TYPES: tuple[Term, ...] = (
    Term("d2", "D-2 (student)", "D-2 (유학)"),
    Term("d4", "D-4 (language trainee)", "D-4 (어학연수)"),
    Term("d10", "D-10 (job seeker)", "D-10 (구직)"),
    Term("e7", "E-7 (specific activities)", "E-7 (특정활동)"),
    Term("f2", "F-2 (resident)", "F-2 (거주)"),
    Term("f4", "F-4 (overseas Korean)", "F-4 (재외동포)"),
    Term("f5", "F-5 (permanent resident)", "F-5 (영주)"),
    Term("f6", "F-6 (marriage migrant)", "F-6 (결혼이민)"),
    Term("other", "Other", "기타"),
)


# A student's programme of study; the visa rules (matching.eligibility) depend on it.
DEGREE_LEVELS: tuple[Term, ...] = (
    Term("language", "Korean language programme", "어학연수 과정"),
    Term("associate", "Associate degree (junior college)", "전문학사"),
    Term("bachelor", "Bachelor's degree", "학사"),
    Term("master", "Master's degree", "석사"),
    Term("doctorate", "Doctorate", "박사"),
)

# The 21 sections (대분류) of the Korean Standard Industrial Classification, 10th revision
# (Statistics Korea, 2017, in force since 2017-07-01). The codes are the official letters.
KSIC_SECTIONS: tuple[Term, ...] = (
    Term("A", "A. Agriculture, forestry and fishing", "A. 농업, 임업 및 어업"),
    Term("B", "B. Mining and quarrying", "B. 광업"),
    Term("C", "C. Manufacturing", "C. 제조업"),
    Term(
        "D",
        "D. Electricity, gas, steam and air conditioning supply",
        "D. 전기, 가스, 증기 및 공기 조절 공급업",
    ),
    Term(
        "E",
        "E. Water supply; sewage, waste management and materials recovery",
        "E. 수도, 하수 및 폐기물 처리, 원료 재생업",
    ),
    Term("F", "F. Construction", "F. 건설업"),
    Term("G", "G. Wholesale and retail trade", "G. 도매 및 소매업"),
    Term("H", "H. Transportation and storage", "H. 운수 및 창고업"),
    Term("I", "I. Accommodation and food service activities", "I. 숙박 및 음식점업"),
    Term("J", "J. Information and communication", "J. 정보통신업"),
    Term("K", "K. Financial and insurance activities", "K. 금융 및 보험업"),
    Term("L", "L. Real estate activities", "L. 부동산업"),
    Term(
        "M",
        "M. Professional, scientific and technical activities",
        "M. 전문, 과학 및 기술 서비스업",
    ),
    Term(
        "N",
        "N. Business facilities management, business support and rental services",
        "N. 사업시설 관리, 사업 지원 및 임대 서비스업",
    ),
    Term(
        "O",
        "O. Public administration, defence and social security",
        "O. 공공 행정, 국방 및 사회보장 행정",
    ),
    Term("P", "P. Education", "P. 교육 서비스업"),
    Term("Q", "Q. Human health and social work activities", "Q. 보건업 및 사회복지 서비스업"),
    Term(
        "R",
        "R. Arts, sports and recreation related services",
        "R. 예술, 스포츠 및 여가관련 서비스업",
    ),
    Term(
        "S",
        "S. Membership organisations, repair and other personal services",
        "S. 협회 및 단체, 수리 및 기타 개인 서비스업",
    ),
    Term(
        "T",
        "T. Activities of households as employers and for own use",
        "T. 가구 내 고용활동 및 달리 분류되지 않은 자가 소비 생산활동",
    ),
    Term("U", "U. Extraterritorial organisations and bodies", "U. 국제 및 외국기관"),
)


@cache
def languages() -> tuple[Term, ...]:
    """ISO 639-1 languages named by CLDR in English and Korean."""
    en, ko = Locale("en"), Locale("ko")
    codes = sorted(lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2"))
    return tuple(Term(c, en.languages[c], ko.languages[c]) for c in codes if c in en.languages)


@cache
def countries() -> tuple[Term, ...]:
    """ISO 3166-1 alpha-2 countries named by CLDR in English and Korean."""
    en, ko = Locale("en"), Locale("ko")
    codes = sorted(country.alpha_2 for country in pycountry.countries)
    return tuple(Term(c, en.territories[c], ko.territories[c]) for c in codes)


@cache
def _index(kind: str) -> dict[str, Term]:
    return {term.code: term for term in TABLES[kind]()}


TABLES: dict[str, Callable[[], tuple[Term, ...]]] = {
    "languages": languages,
    "levels": lambda: LEVELS,
    "countries": countries,
    "industries": lambda: INDUSTRIES,
    "regions": lambda: REGIONS,
    "visa_types": lambda: VISA_TYPES,
    "degree_levels": lambda: DEGREE_LEVELS,
    "ksic_sections": lambda: KSIC_SECTIONS,
}


def codes(kind: str) -> frozenset[str]:
    return frozenset(_index(kind))


def is_valid(kind: str, code: str) -> bool:
    return code in _index(kind)


def name(kind: str, code: str, locale: str) -> str:
    """The name of a code in `locale`; an unknown code is shown as itself rather than failing."""
    term = _index(kind).get(code)
    return term.name(locale) if term else code


def choices(kind: str, locale: str, *, sort: bool = True) -> list[tuple[str, str]]:
    """(code, name) pairs for a form, sorted by the name as the reader sees it."""
    return list(_choices(kind, "ko" if str(locale).startswith("ko") else "en", sort))


@cache
def _choices(kind: str, lang: str, sort: bool) -> tuple[tuple[str, str], ...]:
    # Once per process, kind and language (the tables are static): the coordinators' filters
    # named and sorted ~250 countries on every page (issue 14). Callers get their own list.
    pairs = [(term.code, term.name(lang)) for term in TABLES[kind]()]
    return tuple(sorted(pairs, key=lambda pair: pair[1]) if sort else pairs)


def as_json() -> dict[str, list[dict[str, str]]]:
    return {kind: [term.as_dict() for term in table()] for kind, table in TABLES.items()}
