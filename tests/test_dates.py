"""Every date people read has a four-digit year, in both languages and at every length Babel
offers (CLDR's short dates write "11/30/26" and "26. 11. 30."): the `datetime` filter and
Korea time alike (issue 13, item 9)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask_babel import force_locale

from app import create_app
from app.i18n import _as_datetime
from app.services.clock import korea_time

MOMENT = datetime(2031, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def request_context():
    app = create_app({"TESTING": True})
    with app.test_request_context():
        yield


@pytest.mark.usefixtures("request_context")
@pytest.mark.parametrize("locale", ["en", "ko"])
@pytest.mark.parametrize("fmt", ["short", "medium", "long", "full"])
@pytest.mark.parametrize("value", [MOMENT, MOMENT.date(), date(2009, 12, 31)])
def test_four_digit_years_everywhere(locale: str, fmt: str, value: date) -> None:
    year = str(value.year)
    with force_locale(locale):
        for text in (_as_datetime(value, fmt), korea_time(value, fmt)):
            assert year in text, text


@pytest.mark.usefixtures("request_context")
def test_short_keeps_each_locales_order() -> None:
    with force_locale("en"):
        assert _as_datetime(MOMENT.date(), "short") == "2/3/2031"
    with force_locale("ko"):
        assert _as_datetime(MOMENT.date(), "short") == "2031. 2. 3."
        assert korea_time(MOMENT, "short") == "2031. 2. 3. 오후 1:05 (한국 시간)"
