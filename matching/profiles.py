"""Profiles the engine scores: plain frozen dataclasses, no ORM objects.

The app converts its database rows into these; the engine never sees Flask or
SQLAlchemy, so it can be tested and benchmarked on its own.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .taxonomy import LEVEL_WEIGHTS

#: Degree levels a student may have ("" = unknown).
DEGREE_LEVELS = ("", "language", "associate", "bachelor", "master", "doctorate")
#: KSIC (한국표준산업분류) 대분류 sections, A-U ("" = unknown).
KSIC_SECTIONS = tuple("ABCDEFGHIJKLMNOPQRSTU")


@dataclass(frozen=True)
class StudentProfile:
    """A foreign student as the engine sees them.

    Parameters
    ----------
    id : int
        The app's student id (used for ordering and results, not for scores).
    nationality : str
        ISO 3166-1 alpha-2 country code.
    languages : Mapping[str, str]
        ISO 639-1 code -> level (``native``, ``fluent``, ``business``,
        ``conversational``, ``basic``). Korean (``ko``) is ignored here:
        Korean ability is ``topik_level``.
    markets : tuple of str
        Alpha-2 countries the student knows as markets.
    industries : tuple of str
        Industry codes the student is interested in.
    regions : tuple of str
        Korean region codes where the student can work.
    topik_level : int
        TOPIK level 0-6 (0 = none).
    hours_per_week : int
        Weekly hours the student can work; scored against the SME's
        ``hours_needed`` (the ``availability`` factor).
    text : str
        Free-text self-introduction.
    visa : str
        The app's visa code (``d2``, ``d4``, ``d10``, ``e7``, ``f2``, ...);
        ``""`` unknown (no visa rule applies).
    degree_level : str
        One of ``DEGREE_LEVELS``.
    year_of_study : int
        1, 2, ... (0 unknown).
    months_in_korea : int or None
        Months since arrival (D-4's six-month rule); None unknown.
    available_from, available_until : datetime.date or None
        When the student can work; None = open-ended.
    current_workplaces : int
        Approved or active placements now (the visa's workplace limit).
    """

    id: int
    nationality: str
    languages: Mapping[str, str]
    markets: tuple[str, ...]
    industries: tuple[str, ...]
    regions: tuple[str, ...]
    topik_level: int
    hours_per_week: int
    text: str = ""
    visa: str = ""
    degree_level: str = ""
    year_of_study: int = 0
    months_in_korea: int | None = None
    available_from: datetime.date | None = None
    available_until: datetime.date | None = None
    current_workplaces: int = 0

    def __post_init__(self) -> None:
        # Normalise codes once so every later comparison is exact.
        degree = str(self.degree_level or "").lower()
        if degree not in DEGREE_LEVELS:
            raise ValueError(f"degree_level must be one of {DEGREE_LEVELS[1:]}, got {degree!r}")
        if int(self.hours_per_week) < 0 or int(self.year_of_study) < 0:
            raise ValueError("hours_per_week and year_of_study must be >= 0")
        if int(self.current_workplaces) < 0:
            raise ValueError("current_workplaces must be >= 0")
        object.__setattr__(self, "visa", str(self.visa or "").lower().replace("-", ""))
        object.__setattr__(self, "degree_level", degree)
        object.__setattr__(self, "year_of_study", int(self.year_of_study))
        object.__setattr__(self, "hours_per_week", int(self.hours_per_week))
        object.__setattr__(self, "current_workplaces", int(self.current_workplaces))
        if self.months_in_korea is not None:
            object.__setattr__(self, "months_in_korea", int(self.months_in_korea))
        langs = {str(k).lower(): str(v).lower() for k, v in dict(self.languages).items()}
        for code, level in langs.items():
            if level not in LEVEL_WEIGHTS:
                raise ValueError(f"unknown language level {level!r} for {code!r}")
        if not 0 <= int(self.topik_level) <= 6:
            raise ValueError(f"topik_level must be 0-6, got {self.topik_level!r}")
        object.__setattr__(self, "nationality", str(self.nationality).upper())
        object.__setattr__(self, "languages", MappingProxyType(langs))
        object.__setattr__(self, "markets", tuple(str(m).upper() for m in self.markets))
        object.__setattr__(self, "industries", tuple(str(x).lower() for x in self.industries))
        object.__setattr__(self, "regions", tuple(str(r).lower() for r in self.regions))
        object.__setattr__(self, "topik_level", int(self.topik_level))


@dataclass(frozen=True)
class SMEProfile:
    """A Korean SME as the engine sees it.

    Parameters
    ----------
    id : int
        The app's SME id.
    industries : tuple of str
        Industry codes of the firm.
    markets : tuple of str
        Alpha-2 export markets the firm targets.
    languages_needed : tuple of str
        ISO 639-1 codes; empty means "the official languages of my markets"
        (derived through Babel's CLDR data).
    region : str
        Korean region code of the firm.
    capacity : int
        How many students the firm can host.
    min_topik : int
        Minimum TOPIK level; students below it are unacceptable.
    text : str
        Free-text description of the firm and its products.
    ksic_section : str
        KSIC section letter A-U (``C`` manufacturing, ``F`` construction);
        ``""`` unknown.
    hours_needed : int
        Weekly hours the SME needs from a student (0 = flexible).
    period_start, period_end : datetime.date or None
        The project period; None = open-ended.
    """

    id: int
    industries: tuple[str, ...]
    markets: tuple[str, ...]
    languages_needed: tuple[str, ...] = ()
    region: str = ""
    capacity: int = 1
    min_topik: int = 0
    text: str = field(default="")
    ksic_section: str = ""
    hours_needed: int = 0
    period_start: datetime.date | None = None
    period_end: datetime.date | None = None

    def __post_init__(self) -> None:
        section = str(self.ksic_section or "").upper()
        if section and section not in KSIC_SECTIONS:
            raise ValueError(f"ksic_section must be a letter A-U, got {self.ksic_section!r}")
        if int(self.hours_needed) < 0:
            raise ValueError("hours_needed must be >= 0")
        object.__setattr__(self, "ksic_section", section)
        object.__setattr__(self, "hours_needed", int(self.hours_needed))
        if int(self.capacity) < 0:
            raise ValueError(f"capacity must be >= 0, got {self.capacity!r}")
        if not 0 <= int(self.min_topik) <= 6:
            raise ValueError(f"min_topik must be 0-6, got {self.min_topik!r}")
        object.__setattr__(self, "industries", tuple(str(x).lower() for x in self.industries))
        object.__setattr__(self, "markets", tuple(str(m).upper() for m in self.markets))
        object.__setattr__(
            self, "languages_needed", tuple(str(x).lower() for x in self.languages_needed)
        )
        object.__setattr__(self, "region", str(self.region).lower())
        object.__setattr__(self, "capacity", int(self.capacity))
        object.__setattr__(self, "min_topik", int(self.min_topik))
