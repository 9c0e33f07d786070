"""Profiles the engine scores: plain frozen dataclasses, no ORM objects.

The app converts its database rows into these; the engine never sees Flask or
SQLAlchemy, so it can be tested and benchmarked on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .taxonomy import LEVEL_WEIGHTS


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
        Availability; carried for the app, not scored.
    text : str
        Free-text self-introduction.
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

    def __post_init__(self) -> None:
        # Normalise codes once so every later comparison is exact.
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
    """

    id: int
    industries: tuple[str, ...]
    markets: tuple[str, ...]
    languages_needed: tuple[str, ...] = ()
    region: str = ""
    capacity: int = 1
    min_topik: int = 0
    text: str = field(default="")

    def __post_init__(self) -> None:
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
