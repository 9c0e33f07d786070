"""Every reason and every "why not" in the reader's words: the ONE place they are worded.

The engine explains a pair with stable keys and codes plus parameters (`matching.REASON_KEYS`:
why a pair scores what it does; block codes: why a pair may not be proposed at all). It never
words them for people (its English `Reason.detail` is for logs) and the app stores only the keys,
so a match's reasons read in whichever language its reader uses. Pages (through the template
helpers registered here), emails, the API's `detail`, CSV exports and the command line all call
this module; `tests/eligibility/test_wording.py` fails when the engine has a key or a code that
is not worded here in English and Korean.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

from flask import Flask
from flask_babel import gettext as _

from app.i18n import code_name, current_locale


def _level(code: str) -> str:
    return code_name("levels", code).lower() if code else ""


# Built once per process: each entry calls `_()` only when it words a reason, so one table
# serves every language (a page words ~200 reasons; rebuilding the tables per reason cost more
# than wording them).
@cache
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
        "text.not_similar": lambda p: _("Their profile texts have little in common"),
        "availability.hours": lambda p: _(
            "Can give %(hours)s hours a week; the SME needs %(hours_needed)s",
            hours=p.get("hours", 0),
            hours_needed=p.get("hours_needed", 0),
        ),
        "priority.unmatched_last_cycle": lambda p: _(
            "Was not matched in the last cycle, so is considered first"
        ),
    }


@cache
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
        "availability.hours": lambda p: _(
            "Can give %(hours)s hours a week — you need %(hours_needed)s",
            hours=p.get("hours", 0),
            hours_needed=p.get("hours_needed", 0),
        ),
    }


@cache
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
        "availability.hours": lambda p: _(
            "The company needs %(hours_needed)s hours a week; you can give %(hours)s",
            hours=p.get("hours", 0),
            hours_needed=p.get("hours_needed", 0),
        ),
    }


AUDIENCES = {"sme": _to_sme, "student": _to_student}


# Sentences already worded, per locale, audience, key and parameters: the same few hundred
# recur on every page (a candidates page words ~190 reasons), and translations are fixed for the
# life of the process. Bounded: cleared when full (parameters are codes and small numbers).
_WORDED: dict[tuple[Any, ...], str] = {}
_WORDED_MAX = 20_000


def reason_text(reason: dict[str, Any], audience: str = "coordinator") -> str:
    """A reason as a sentence for `audience` (coordinator, sme or student)."""
    key, params = reason.get("key", ""), reason.get("params") or {}
    try:
        memo: tuple[Any, ...] | None = (
            current_locale(),
            audience,
            key,
            *sorted(params.items()),
        )
        sentence = _WORDED.get(memo)  # type: ignore[arg-type]
    except TypeError:  # a parameter that cannot be a key (a list): worded every time
        memo, sentence = None, None
    if sentence is None:
        sentence = _word(key, params, audience)
        if memo is not None:
            if len(_WORDED) >= _WORDED_MAX:
                _WORDED.clear()
            _WORDED[memo] = sentence
    return sentence


def _word(key: str, params: dict[str, Any], audience: str) -> str:
    if key == "korean.meets_minimum" and not params.get("min_topik"):
        # No minimum was asked: "meets the minimum (0)" says nothing; the level itself does.
        return _("Korean: TOPIK level %(topik)s", topik=params.get("topik", 0))
    addressed = AUDIENCES.get(audience)
    make = (addressed() if addressed else {}).get(key) or _sentences().get(key)
    if make is None:  # only a stored match from an engine that emitted a key since retired
        return _("Another reason (%(key)s)", key=key)
    return make(params)


def top_reasons(
    reasons: list[dict[str, Any]], n: int | None = 3, audience: str = "coordinator"
) -> list[str]:
    """The strongest positive reasons, in words, each sentence once."""
    positive = sorted((r for r in reasons if r.get("weight", 0) > 0), key=lambda r: -r["weight"])
    sentences = list(dict.fromkeys(reason_text(r, audience) for r in positive))
    return sentences if n is None else sentences[:n]


# --- why a pair may not be proposed ----------------------------------------------------------


@cache
def _blocks() -> dict[str, Callable[[Mapping[str, Any]], str]]:
    """Block codes (the engine's `check_pair(...).blocked`) as sentences for coordinators.

    Parameters, when the engine gives them, make the sentence precise; without them it still
    says what is wrong."""

    def hours(p: Mapping[str, Any]) -> str:
        if p.get("max_hours") is not None:
            return _(
                "The SME needs %(needed)s hours a week; the student's visa allows at most "
                "%(max_hours)s.",
                needed=p.get("hours_needed", "?"),
                max_hours=p["max_hours"],
            )
        return _("The SME needs more hours a week than the student's visa allows.")

    def manufacturing(p: Mapping[str, Any]) -> str:
        if p.get("required_topik") is not None:
            return _(
                "The SME is a manufacturer (KSIC C): on the student's visa that needs TOPIK "
                "%(required)s or higher, and the student has %(topik)s.",
                required=p["required_topik"],
                topik=p.get("topik", 0),
            )
        return _(
            "The SME is a manufacturer (KSIC C): the student's visa allows this work only with "
            "a higher TOPIK level."
        )

    def workplaces(p: Mapping[str, Any]) -> str:
        if p.get("max_workplaces") is not None:
            return _(
                "The student already works at %(current)s places; the visa allows at most %(max)s.",
                current=p.get("current_workplaces", "?"),
                max=p["max_workplaces"],
            )
        return _("The student already works at as many places as the visa allows.")

    def d4(p: Mapping[str, Any]) -> str:
        if p.get("months_in_korea") is not None:
            return _(
                "On a D-4 visa, work is allowed only after %(months)s months in Korea and with "
                "TOPIK %(topik)s or higher; the student has been here %(have)s months and has "
                "TOPIK %(level)s.",
                months=p.get("required_months", 6),
                topik=p.get("required_topik", 2),
                have=p["months_in_korea"],
                level=p.get("topik", 0),
            )
        return _(
            "On a D-4 visa, work is allowed only after %(months)s months in Korea and with "
            "TOPIK %(topik)s or higher.",
            months=p.get("required_months", 6),
            topik=p.get("required_topik", 2),
        )

    def below(p: Mapping[str, Any]) -> str:
        if p.get("min_topik") is not None:
            return _(
                "TOPIK level %(topik)s is below the SME's minimum (%(min_topik)s).",
                topik=p.get("topik", 0),
                min_topik=p["min_topik"],
            )
        return _("The student's TOPIK level is below the SME's minimum.")

    return {
        "visa.manufacturing_topik": manufacturing,
        "visa.hours": hours,
        "visa.construction": lambda p: _(
            "The SME is in construction (KSIC F), where the student's visa does not allow work."
        ),
        "visa.sector": lambda p: _(
            "The student's visa does not allow work in the SME's sector (%(section)s).",
            section=code_name("ksic_sections", p.get("section")) or "?",
        ),
        "visa.workplaces": workplaces,
        "visa.d4_too_early": d4,
        "period.no_overlap": lambda p: _(
            "When the student is available and the SME's project period do not overlap."
        ),
        "no_common_language_or_market": lambda p: _(
            "They share no language and no market: the student could not help this SME export."
        ),
        "topik.below_minimum": below,
        "declined_before": lambda p: _("This pair was declined or rejected before."),
    }


def block_text(code: str, params: Mapping[str, Any] | None = None) -> str:
    """Why a pair may not be proposed, as a sentence for a coordinator."""
    make = _blocks().get(code)
    if make is None:
        return _("Not allowed by a rule (%(code)s)", code=code)
    return make(params or {})


def block_texts(
    codes: Iterable[str], params: Mapping[str, Mapping[str, Any]] | None = None
) -> list[str]:
    return [block_text(code, (params or {}).get(code)) for code in codes]


def worded_reason_keys() -> frozenset[str]:
    """The reason keys this module has sentences for (every audience falls back to these)."""
    return frozenset(_sentences())


def worded_block_codes() -> frozenset[str]:
    return frozenset(_blocks())


def _reason_sentences(reasons: list[dict[str, Any]], audience: str = "coordinator") -> list[str]:
    return top_reasons(reasons, n=None, audience=audience)


def init_template_helpers(app: Flask) -> None:
    """The wording as template globals (app.i18n registers the rest, and does not import this)."""
    app.jinja_env.globals.update(
        reason_text=reason_text,
        reason_sentences=_reason_sentences,
        top_reasons=top_reasons,
        block_text=block_text,
        block_texts=block_texts,
    )
