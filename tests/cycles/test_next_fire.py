"""When the next cycle runs, as every page that shows it asks (issue 14, pages): the trigger is
parsed once per process and expression (`match_settings.next_fire`). For any sequence of
moments — forward, repeated, set back, across a daylight saving change — the answer must be
what a freshly parsed trigger says at that moment. (Keeping the answer itself until that time
passed failed here: around Berlin's spring change APScheduler gives two moments before the
same fire time different answers.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.services import match_settings
from app.services.match_settings import cron_trigger, next_fire

TIMEZONES = ["Asia/Seoul", "UTC", "Europe/Berlin"]  # Berlin: a clock change in the range
EXPRESSIONS = st.one_of(
    st.builds(
        lambda day, hour, minute, weeks: match_settings.cron_from_picker(
            day, f"{hour:02d}:{minute:02d}", weeks
        ),
        st.sampled_from(match_settings.WEEKDAYS),
        st.integers(0, 23),
        st.integers(0, 59),
        st.integers(1, match_settings.EVERY_WEEKS_MAX),
    ),
    st.sampled_from(["*/10 * * * *", "0 6 * * mon", "30 2 * * *", "0 0 1 * *", "0 6 * * mon */2"]),
)
START = datetime(2026, 3, 20, tzinfo=UTC)
# Moments within a few weeks, in any order, some a microsecond apart or exactly repeated.
MOMENTS = st.lists(
    st.integers(0, 40 * 24 * 3600 * 1000).map(lambda ms: START + timedelta(milliseconds=ms)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(expression=EXPRESSIONS, timezone=st.sampled_from(TIMEZONES), moments=MOMENTS)
def test_the_kept_next_fire_is_the_triggers_own(expression, timezone, moments) -> None:
    match_settings._trigger.cache_clear()
    trigger = cron_trigger(expression, timezone)
    for moment in moments + sorted(moments) + [m + timedelta(microseconds=1) for m in moments]:
        expected = trigger.get_next_fire_time(None, moment.astimezone(trigger.timezone))
        assert next_fire(expression, timezone, moment) == expected, moment


def test_a_fire_time_passed_is_not_kept() -> None:
    match_settings._trigger.cache_clear()
    first = next_fire("0 6 * * mon", "Asia/Seoul", START)
    assert first is not None
    after = next_fire("0 6 * * mon", "Asia/Seoul", first + timedelta(seconds=1))
    assert after == first + timedelta(days=7)
    assert next_fire("0 6 * * mon", "Asia/Seoul", first) == first  # at the fire time itself


@pytest.mark.parametrize("expression", ["not a schedule", "99 * * * *"])
def test_an_invalid_schedule_has_no_next_run(expression: str) -> None:
    assert next_fire(expression, "Asia/Seoul", START) is None


def test_each_timezone_has_its_own_trigger() -> None:
    match_settings._trigger.cache_clear()
    seoul = next_fire("0 6 * * mon", "Asia/Seoul", START)
    utc = next_fire("0 6 * * mon", "UTC", START)
    assert seoul is not None and utc is not None and seoul != utc
    assert utc - seoul == timedelta(hours=9)
