"""The `number` filter writes whole numbers itself in English and Korean (issue 14, pages): it
must give exactly what Babel gives, in every supported locale."""

from __future__ import annotations

import functools
from typing import Any

from babel.numbers import format_decimal
from flask_babel import force_locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import i18n

# Counts and sums (Babel itself refuses whole numbers of 25 digits and more).
NUMBERS = st.one_of(
    st.integers(-1000, 10**6),
    st.integers(-(10**18), 10**18),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
    st.booleans(),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=NUMBERS)
def test_number_filter_is_babels(app: Any, value: Any) -> None:
    with app.test_request_context("/"):
        for locale in (*app.config["LANGUAGES"], "de", "fr"):
            with force_locale(locale):
                babel = functools.partial(format_decimal, locale=locale)
                assert _outcome(i18n.format_number, value) == _outcome(babel, value)


def _outcome(write: Any, value: Any) -> Any:
    try:
        return write(value)
    except Exception as error:  # Babel refuses some values: then both must refuse alike
        return type(error)


def test_the_shortcut_is_taken_for_whole_numbers_only(app: Any, monkeypatch: Any) -> None:
    """Whole numbers skip Babel in the comma-grouped locales (the point of the shortcut);
    anything else still goes through it."""
    asked: list[Any] = []
    monkeypatch.setattr(i18n, "format_decimal", lambda v, f=None: asked.append(v) or "babel")
    with app.test_request_context("/"):
        for locale in i18n._COMMA_GROUPED:
            with force_locale(locale):
                assert i18n.format_number(1234567) == "1,234,567"
                assert i18n.format_number(-1000) == "-1,000"
        with force_locale("ko"):
            assert i18n.format_number(0.5) == "babel"
        with force_locale("de"):
            assert i18n.format_number(1234567) == "babel"
    assert asked == [0.5, 1234567]
    assert set(app.config["LANGUAGES"]) <= i18n._COMMA_GROUPED  # else that language is slower
