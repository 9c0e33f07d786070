"""When the next cycle runs, as every page that shows it asks (issue 14, pages): the trigger is
parsed once per process and expression, and its answer kept per whole second the moment rounds
up to (`match_settings.next_fire`). For any sequence of moments — forward, repeated, set back, a
microsecond apart, across a daylight saving change either way — the answer must be what a
freshly parsed trigger says at that moment, the same instant written the same way (its zone's
offset and `fold`). (Keeping the answer itself until that time passed failed here: around
Berlin's spring change APScheduler gives two moments before the same fire time different
answers.)"""

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
AUTUMN = datetime(2026, 10, 20, tzinfo=UTC)  # Berlin's clocks go back on 25 October: an hour twice
# Moments within a few weeks of either change, in any order, some a microsecond apart or exactly
# repeated, some on a whole second.
MOMENTS = st.lists(
    st.builds(
        lambda start, us: start + timedelta(microseconds=us),
        st.sampled_from([START, AUTUMN]),
        st.one_of(
            st.integers(0, 40 * 24 * 3600 * 1000).map(lambda ms: ms * 1000),
            st.integers(0, 40 * 24 * 3600 * 10**6),
        ),
    ),
    min_size=1,
    max_size=12,
)


def same_instant_and_writing(got: datetime | None, expected: datetime | None) -> bool:
    """Equal as aware datetimes compare in one zone (wall clock only), and also the same instant
    and the same `fold`: in an hour a clock change repeats, two instants share a wall clock."""
    if got is None or expected is None:
        return got is expected
    return (got, got.utcoffset(), got.fold, got.tzinfo) == (
        expected,
        expected.utcoffset(),
        expected.fold,
        expected.tzinfo,
    )


@settings(max_examples=150, deadline=None)
@given(expression=EXPRESSIONS, timezone=st.sampled_from(TIMEZONES), moments=MOMENTS)
def test_the_kept_next_fire_is_the_triggers_own(expression, timezone, moments) -> None:
    match_settings._trigger.cache_clear()
    trigger = cron_trigger(expression, timezone)
    nearby = [m + timedelta(microseconds=d) for m in moments for d in (-1, 1)]
    for moment in moments + sorted(moments) + nearby:
        expected = trigger.get_next_fire_time(None, moment.astimezone(trigger.timezone))
        got = next_fire(expression, timezone, moment)
        assert same_instant_and_writing(got, expected), (moment, got, expected)
        # The same moment written in the trigger's zone: the same answer.
        local = next_fire(expression, timezone, moment.astimezone(trigger.timezone))
        assert same_instant_and_writing(local, expected), moment


def test_the_answer_is_kept_per_second_and_each_second_is_asked_once(monkeypatch) -> None:
    """The trigger is asked once per whole second a moment rounds up to (the kept answer), and
    again for the next second: a moment a microsecond past a second rounds up to the next."""
    match_settings._next_fire_at.cache_clear()
    asked: list[datetime] = []
    trigger = match_settings._trigger("*/10 * * * *", "Europe/Berlin")
    real = type(trigger).get_next_fire_time

    def counting(self, previous, now):  # type: ignore[no-untyped-def]
        asked.append(now)
        return real(self, previous, now)

    monkeypatch.setattr(type(trigger), "get_next_fire_time", counting)
    second = datetime(2026, 10, 25, 0, 59, 59, tzinfo=UTC)  # Berlin: 02:59:59, summer time
    for us in (1, 500_000, 999_999):
        next_fire("*/10 * * * *", "Europe/Berlin", second + timedelta(microseconds=us))
    assert len(asked) == 1
    at_the_second = next_fire("*/10 * * * *", "Europe/Berlin", second + timedelta(seconds=1))
    assert len(asked) == 1  # 01:00:00 UTC exactly is the second the three above rounded up to
    next_fire("*/10 * * * *", "Europe/Berlin", second + timedelta(seconds=1, microseconds=1))
    assert len(asked) == 2
    # 01:00 UTC is 02:00 in Berlin's winter time, the second time the clock reads 02:00.
    assert at_the_second is not None and at_the_second.fold == 1


def test_a_fire_time_passed_is_not_kept() -> None:
    match_settings._trigger.cache_clear()
    match_settings._next_fire_at.cache_clear()
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
