"""Korea time: the programme runs in Korea, so every time a person reads is Korea time, said so.

One place for the zone and its wording, shared by pages and emails (and importable from any
service: it imports nothing of the app but Flask-Babel's locale)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date
from babel.dates import format_time as babel_format_time
from flask import Flask
from flask_babel import get_locale
from flask_babel import gettext as _

from app.dates import date_format
from app.models.base import utcnow

KST = ZoneInfo("Asia/Seoul")


def now_kst() -> datetime:
    return utcnow().astimezone(KST)


def to_kst(value: datetime) -> datetime:
    """An aware datetime in Korea time; a naive one is taken as UTC (how the database keeps it)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return value.astimezone(KST)


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
