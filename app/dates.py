"""Babel's date formats with four-digit years: shared by the `datetime` filter (app.i18n) and
Korea time (app.services.clock). Imports nothing of the app, so anything can import it."""

from __future__ import annotations

import re

from babel import Locale


def date_format(fmt: str, locale: str) -> str:
    """Babel's date format `fmt` for `locale`, always with a four-digit year: CLDR's short
    dates write two ("11/30/26", "26. 11. 30."), which a programme running for years and
    people reading dates in several conventions cannot afford. Other lengths already write
    four; a pattern of one's own passes through."""
    if fmt != "short":
        return fmt
    return re.sub(r"y+", "y", Locale.parse(locale).date_formats["short"].pattern)


def datetime_format(fmt: str, locale: str) -> str:
    """As `date_format`, for a date and time (the locale's own order and separator)."""
    if fmt != "short":
        return fmt
    parsed = Locale.parse(locale)
    return (
        parsed.datetime_formats["short"]
        .replace("{1}", date_format("short", locale))
        .replace("{0}", parsed.time_formats["short"].pattern)
    )
