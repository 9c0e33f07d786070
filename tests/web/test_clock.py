"""Korea time, said so, in the reader's language (app.services.clock)."""

from datetime import UTC, date, datetime

from flask_babel import force_locale

from app.services.clock import korea_time, to_kst


def test_a_utc_moment_is_shown_in_korea_time_with_its_name(app):
    moment = datetime(2026, 12, 6, 21, 0, tzinfo=UTC)  # 06:00 on Monday in Seoul
    with app.test_request_context():
        with force_locale("en"):
            text = korea_time(moment, "full")
            assert "Monday" in text and "December 7, 2026" in text and "6:00" in text
            assert text.endswith("(Korea time)")
        with force_locale("ko"):
            text = korea_time(moment, "full")
            assert "2026년 12월 7일 월요일" in text and "오전 6:00" in text
            assert text.endswith("(한국 시간)")
        with force_locale("en"):
            assert "(Korea time)" not in korea_time(moment, label=False)
            assert korea_time(None) == ""
            assert korea_time(date(2027, 2, 1)) == "Feb 1, 2027"


def test_naive_values_are_utc():
    assert to_kst(datetime(2026, 1, 1, 15, 0)).hour == 0
