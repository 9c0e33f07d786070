"""Korea time: the programme runs in Korea, so every time a person reads is Korea time, said so.

One place for the zone and its wording, shared by pages and emails (and importable from any
service: it imports nothing of the app but Flask-Babel's locale)."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_time as babel_format_time
from flask import Flask
from flask_babel import get_locale
from flask_babel import gettext as _

from app.models.base import utcnow

KST = ZoneInfo("Asia/Seoul")


def now_kst() -> datetime:
    return utcnow().astimezone(KST)


def to_kst(value: datetime) -> datetime:
    """An aware datetime in Korea time; a naive one is taken as UTC (how the database keeps it)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return value.astimezone(KST)


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


def korea_time(value: datetime | date | None, fmt: str = "medium", *, label: bool = True) -> str:
    """A moment in Korea time in the reader's language, e.g. "Monday, December 7, 2026
    6:00 AM (Korea time)" / "2026년 12월 7일 월요일 오전 6:00 (한국 시간)". `label=False` leaves out
    the zone's name (a table whose header already says it)."""
    if value is None:
        return ""
    locale = str(get_locale() or "en")
    if not isinstance(value, datetime):
        return babel_format_date(value, date_format(fmt, locale), locale=locale)
    # The date at the asked length, the time short: Babel's long and full date-times spell the
    # zone out ("Korean Standard Time") and the seconds, which nobody needs to plan a day.
    moment = to_kst(value)
    text = (
        f"{babel_format_date(moment.date(), date_format(fmt, locale), locale=locale)} "
        f"{babel_format_time(moment.time(), 'short', locale=locale)}"
    )
    return _("%(time)s (Korea time)", time=text) if label else text


def init_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["korea_time"] = korea_time
