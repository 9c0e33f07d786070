"""Codes from what people write: "VN", "Vietnam", "베트남" and "Viet Nam" are all `VN`.

A coordinator's spreadsheet holds names as often as codes, in English or Korean. This module
reads any of them back to the taxonomy's code (app.taxonomy: CLDR names through Babel, pycountry's
ISO names, the programme's own industries and regions), so the SME import accepts what a person
would type. Besides the full names it knows their parts ("가공식품" of "가공식품·음료", "Cosmetics"
of "Cosmetics and beauty", "C" or "제조업" of "C. 제조업") and the usual short names of Korea's
regions ("서울", "경기", "충북"). A part shared by two codes (ambiguous) is not an alias of either.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import pycountry

from app import taxonomy

# The usual short names of the first-level divisions, as Koreans write them (서울, 경기, 충북...).
REGION_SHORT_NAMES = {
    "seoul": ("서울", "서울시"),
    "busan": ("부산", "부산시"),
    "daegu": ("대구", "대구시"),
    "incheon": ("인천", "인천시"),
    "gwangju": ("광주", "광주시"),
    "daejeon": ("대전", "대전시"),
    "ulsan": ("울산", "울산시"),
    "sejong": ("세종", "세종시"),
    "gyeonggi": ("경기", "Gyeonggi"),
    "gangwon": ("강원", "강원도", "Gangwon-do"),
    "chungbuk": ("충북", "North Chungcheong"),
    "chungnam": ("충남", "South Chungcheong"),
    "jeonbuk": ("전북", "전라북도", "Jeollabuk-do", "North Jeolla"),
    "jeonnam": ("전남", "South Jeolla"),
    "gyeongbuk": ("경북", "North Gyeongsang"),
    "gyeongnam": ("경남", "South Gyeongsang"),
    "jeju": ("제주", "제주도", "Jeju-do"),
}


def fold(text: str) -> str:
    """The form names are compared in: NFKC, case-folded, single spaces, no outer spaces."""
    return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())


def _parts(name: str) -> list[str]:
    """A name's own parts: "가공식품·음료" -> 가공식품, 음료; "C. 제조업" -> C, 제조업."""
    head, dot, rest = name.partition(". ")
    pieces = [rest] if dot and len(head) == 1 else []
    for piece in re.split(r"·|,| and | 및 |;", rest if pieces else name):
        pieces.append(piece)
    return [p.strip() for p in pieces if p.strip()]


def _other_names(kind: str, term: taxonomy.Term) -> list[str]:
    """Names beyond the taxonomy's own two: pycountry's ISO names, Korea's short region names."""
    names: list[str] = []
    if kind == "countries":
        country = pycountry.countries.get(alpha_2=term.code)
        names += [getattr(country, a, "") for a in ("name", "official_name", "common_name")]
    if kind == "languages":
        language = pycountry.languages.get(alpha_2=term.code)
        names += [getattr(language, "name", "")]
    if kind == "regions":
        names += list(REGION_SHORT_NAMES.get(term.code, ()))
    return [n for n in names if n]


@cache
def _aliases(kind: str) -> dict[str, str]:
    """Folded name -> code. First the codes and the taxonomy's names, then other names, then
    the parts of names that point at one code only: an alias never takes another's own name."""
    terms = taxonomy.TABLES[kind]()
    out: dict[str, str] = {}
    for term in terms:
        for name in (term.code, term.name_en, term.name_ko):
            out.setdefault(fold(name), term.code)
    for term in terms:
        for name in _other_names(kind, term):
            out.setdefault(fold(name), term.code)
    parts: dict[str, set[str]] = {}
    for term in terms:
        for name in (term.name_en, term.name_ko, *_other_names(kind, term)):
            for part in _parts(name):
                parts.setdefault(fold(part), set()).add(term.code)
    for alias, codes in parts.items():
        if len(codes) == 1:
            out.setdefault(alias, codes.pop())
    return out


def resolve(kind: str, text: str) -> str | None:
    """The code `text` names (a code in any case, an English or Korean name), else None."""
    return _aliases(kind).get(fold(text))


def examples(kind: str) -> str:
    """A short "e.g." of the forms accepted, for a message."""
    sample = {
        "countries": "VN",
        "languages": "vi",
        "industries": "processed_food",
        "regions": "seoul",
        "ksic_sections": "C",
    }.get(kind)
    term = next((t for t in taxonomy.TABLES[kind]() if t.code == sample), None)
    return ", ".join([term.code, term.name_en, term.name_ko]) if term else ""
