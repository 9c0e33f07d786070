"""A match's reasons in the reader's words: the engine gives keys and codes; this, sentences."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _

from app.i18n import code_name


def _level(code: str) -> str:
    return code_name("levels", code).lower() if code else ""


def _sentences() -> dict[str, Callable[[dict[str, Any]], str]]:
    lang = lambda p: code_name("languages", p.get("language"))  # noqa: E731
    market = lambda p: code_name("countries", p.get("market"))  # noqa: E731
    return {
        "language.speaks_needed": lambda p: _(
            "Speaks %(language)s (%(level)s), a language the SME needs",
            language=lang(p),
            level=_level(p.get("level", "")),
        ),
        "language.no_overlap": lambda p: _("Speaks none of the languages the SME needs"),
        "market.home": lambda p: _(
            "Comes from %(market)s, a market the SME targets", market=market(p)
        ),
        "market.known": lambda p: _(
            "Knows the %(market)s market, which the SME targets", market=market(p)
        ),
        "market.language": lambda p: _(
            "Speaks %(language)s (%(level)s), a language of %(market)s, which the SME targets",
            language=lang(p),
            level=_level(p.get("level", "")),
            market=market(p),
        ),
        "market.no_overlap": lambda p: _("Knows none of the SME's target markets"),
        "industry.same": lambda p: _(
            "Interested in %(industry)s, the SME's industry",
            industry=code_name("industries", p.get("industry")),
        ),
        "industry.related": lambda p: _(
            "Interested in %(industry)s, related to the SME's %(sme_industry)s",
            industry=code_name("industries", p.get("industry")),
            sme_industry=code_name("industries", p.get("sme_industry")),
        ),
        "industry.no_overlap": lambda p: _("No shared or related industry"),
        "region.same": lambda p: _(
            "Can work in %(region)s, where the SME is", region=code_name("regions", p.get("region"))
        ),
        "region.neighbour": lambda p: _(
            "Can work in %(region)s, next to %(sme_region)s where the SME is",
            region=code_name("regions", p.get("region")),
            sme_region=code_name("regions", p.get("sme_region")),
        ),
        "korean.meets_minimum": lambda p: _(
            "TOPIK level %(topik)s meets the SME's minimum (%(min_topik)s)",
            topik=p.get("topik", 0),
            min_topik=p.get("min_topik", 0),
        ),
        "korean.below_minimum": lambda p: _(
            "TOPIK level %(topik)s is below the SME's minimum (%(min_topik)s)",
            topik=p.get("topik", 0),
            min_topik=p.get("min_topik", 0),
        ),
        "text.similar": lambda p: _("Their profile texts are about similar things"),
        "priority.unmatched_last_cycle": lambda p: _(
            "Was not matched in the last cycle, so is considered first"
        ),
    }


def _to_sme() -> dict[str, Callable[[dict[str, Any]], str]]:
    """The same reasons addressed to the SME reading its candidates ("you target Vietnam")."""
    lang = lambda p: code_name("languages", p.get("language"))  # noqa: E731
    market = lambda p: code_name("countries", p.get("market"))  # noqa: E731
    return {
        "language.speaks_needed": lambda p: _(
            "Speaks %(language)s (%(level)s) — a language you need",
            language=lang(p),
            level=_level(p.get("level", "")),
        ),
        "market.home": lambda p: _("Comes from %(market)s — you target it", market=market(p)),
        "market.known": lambda p: _(
            "Knows the %(market)s market — you target it", market=market(p)
        ),
        "market.language": lambda p: _(
            "Speaks %(language)s (%(level)s), a language of %(market)s — you target it",
            language=lang(p),
            level=_level(p.get("level", "")),
            market=market(p),
        ),
        "industry.same": lambda p: _(
            "Interested in %(industry)s — your industry",
            industry=code_name("industries", p.get("industry")),
        ),
        "industry.related": lambda p: _(
            "Interested in %(industry)s — related to your %(sme_industry)s",
            industry=code_name("industries", p.get("industry")),
            sme_industry=code_name("industries", p.get("sme_industry")),
        ),
        "region.same": lambda p: _(
            "Can work in %(region)s — where you are", region=code_name("regions", p.get("region"))
        ),
        "korean.meets_minimum": lambda p: _(
            "TOPIK level %(topik)s — meets your minimum (%(min_topik)s)",
            topik=p.get("topik", 0),
            min_topik=p.get("min_topik", 0),
        ),
    }


def _to_student() -> dict[str, Callable[[dict[str, Any]], str]]:
    """The same reasons addressed to the student reading a proposal ("they target Vietnam")."""
    lang = lambda p: code_name("languages", p.get("language"))  # noqa: E731
    market = lambda p: code_name("countries", p.get("market"))  # noqa: E731
    return {
        "language.speaks_needed": lambda p: _(
            "The company needs %(language)s, which you speak (%(level)s)",
            language=lang(p),
            level=_level(p.get("level", "")),
        ),
        "market.home": lambda p: _(
            "The company targets %(market)s, where you come from", market=market(p)
        ),
        "market.known": lambda p: _(
            "The company targets %(market)s, a market you know", market=market(p)
        ),
        "market.language": lambda p: _(
            "The company targets %(market)s, where %(language)s is spoken — you speak it",
            language=lang(p),
            market=market(p),
        ),
        "industry.same": lambda p: _(
            "The company works in %(industry)s, which interests you",
            industry=code_name("industries", p.get("industry")),
        ),
        "industry.related": lambda p: _(
            "The company works in %(sme_industry)s, related to %(industry)s, which interests you",
            industry=code_name("industries", p.get("industry")),
            sme_industry=code_name("industries", p.get("sme_industry")),
        ),
        "region.same": lambda p: _(
            "The company is in %(region)s, where you can work",
            region=code_name("regions", p.get("region")),
        ),
    }


AUDIENCES = {"sme": _to_sme, "student": _to_student}


def reason_text(reason: dict[str, Any], audience: str = "coordinator") -> str:
    """A reason as a sentence for `audience` (coordinator, sme or student)."""
    key, params = reason.get("key", ""), reason.get("params") or {}
    if key == "korean.meets_minimum" and not params.get("min_topik"):
        # No minimum was asked: "meets the minimum (0)" says nothing; the level itself does.
        return _("Korean: TOPIK level %(topik)s", topik=params.get("topik", 0))
    addressed = AUDIENCES.get(audience)
    make = (addressed() if addressed else {}).get(key) or _sentences().get(key)
    if make is None:  # a key from a newer engine: its English detail is better than nothing
        return str(reason.get("detail", ""))
    return make(params)


def top_reasons(
    reasons: list[dict[str, Any]], n: int | None = 3, audience: str = "coordinator"
) -> list[str]:
    """The strongest positive reasons, in words, each sentence once."""
    positive = sorted((r for r in reasons if r.get("weight", 0) > 0), key=lambda r: -r["weight"])
    sentences = list(dict.fromkeys(reason_text(r, audience) for r in positive))
    return sentences if n is None else sentences[:n]
