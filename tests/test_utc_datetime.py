"""`UTCDateTime` on SQLite reads the stored text straight into an aware UTC time (one parse, not
SQLAlchemy's processor, the decorator and `datetime.replace`; issue 14): every value must come
back as the general rule made it, SQLAlchemy's `fromisoformat` and UTC for a text with no zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from app.models.base import UTCDateTime, _utc_from_sqlite_text

SQLITE = sqlite.dialect()
STORE = sqlite.DATETIME().bind_processor(SQLITE)  # the text SQLAlchemy writes


def general_rule(text: str | None) -> datetime | None:
    """What the decorator did before: SQLite's processor, then `process_result_value`."""
    parsed = None if text is None else datetime.fromisoformat(text)
    return UTCDateTime().process_result_value(parsed, SQLITE)


def test_sqlite_reads_through_the_one_parse() -> None:
    assert UTCDateTime().result_processor(SQLITE, None) is _utc_from_sqlite_text


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
def test_a_stored_time_reads_back_as_the_general_rule_made_it(moment: datetime) -> None:
    text = STORE(moment)
    read = _utc_from_sqlite_text(text)
    assert read == general_rule(text) == moment.replace(tzinfo=UTC)
    assert read is not None and read.tzinfo is UTC and read.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "2026-12-01",  # a date alone: "+00:00" would be read as the time 00:00, with no zone
        "2026-12-01 22:49",
        "2026-12-01 22:49:00",
        "2026-12-01 22:49:00.123",
        "2026-12-01T22:49:00.123456",
        "2026-12-01 22:49:00+09:00",
        "2026-12-01 22:49:00.12345Z",  # 26 characters, a zone of its own
        "2026-12-01 22:49:00-05:00:00",
        "2026-12-01 22:49:00.123456+09:00",
    ],
)
def test_any_other_text_reads_as_the_general_rule_made_it(text: str | None) -> None:
    read = _utc_from_sqlite_text(text)
    expected = general_rule(text)
    assert read == expected
    if expected is not None:
        assert read is not None and read.utcoffset() == expected.utcoffset()


def test_a_text_that_is_no_time_fails_as_before() -> None:
    with pytest.raises(ValueError, match="must be in"):
        general_rule("2026-12-01 25:00:00.000000")
    with pytest.raises(ValueError, match="must be in"):
        _utc_from_sqlite_text("2026-12-01 25:00:00.000000")


def test_a_round_trip_through_sqlite() -> None:
    engine = sa.create_engine("sqlite://")
    id_column = sa.Column("id", sa.Integer, primary_key=True)
    table = sa.Table("t", sa.MetaData(), id_column, sa.Column("at", UTCDateTime))
    table.metadata.create_all(engine)
    korea = timezone(timedelta(hours=9))
    written = datetime(2026, 12, 2, 8, 49, 1, 5, tzinfo=korea)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"id": 1, "at": written}, {"id": 2, "at": None}])
        rows = dict(conn.execute(sa.select(table.c.id, table.c.at)).all())
    assert rows == {1: written, 2: None}
    assert rows[1].tzinfo is UTC and rows[1].hour == 23
