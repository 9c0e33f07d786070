"""Schemathesis hooks for scripts/api_live_check.py: a bearer token, and the rules no schema says.

Loaded by `schemathesis run` through SCHEMATHESIS_HOOKS, with the live server's environment
(DATABASE_URL...) and API_LIVE_ROLE set.

Tokens: generated calls delete the account (DELETE /api/v1/me) or revoke its token (DELETE
/api/v1/tokens/{id}); the next call then answers 401, Schemathesis asks for a token again, and
this issues one straight into the database: to the first remaining seeded person of the role, or
to a new coordinator.

Rules JSON Schema cannot state, which the OpenAPI document names instead (README: JSON API):
the business number's check digit (format `kr-business-number`), a month of arrival that has
come (format `year-month`), periods that end after they start, one level per language, and a
kick-off meeting's times within the coming year (`starts_at`: not passed, at most 366 days
ahead). The formats get valid values, periods are put in order, meeting times are moved into the
coming days and bodies naming a language twice are left out: that is what a client would send;
without it a valid-looking request breaking one of these rules would be counted as "valid data
rejected".
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import schemathesis
from hypothesis import strategies as st

from app.schemas import BUSINESS_NUMBER_FORMAT, BUSINESS_NUMBER_WEIGHTS

ROLE = os.environ.get("API_LIVE_ROLE", "anonymous")
PASSWORD = "a long live-check passphrase"  # noqa: S105 - a throwaway account on a temporary DB


class _Issuer:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.app: Any = None
        self.coordinators = 0

    def token(self) -> str:
        from sqlalchemy import select

        from app import create_app
        from app.extensions import db
        from app.models import Role, User
        from app.services import accounts, tokens

        with self.lock:
            if self.app is None:
                self.app = create_app()
            with self.app.app_context():
                user = None
                if ROLE != "coordinator":
                    user = db.session.scalars(
                        select(User).where(User.role == Role(ROLE)).order_by(User.id).limit(1)
                    ).first()
                if user is None:
                    self.coordinators += 1
                    user = accounts.create_coordinator(
                        f"live-coordinator-{os.getpid()}-{self.coordinators}@example.org",
                        PASSWORD,
                    )
                _token, secret = tokens.issue(user)
                db.session.commit()
                return secret


_ISSUER = _Issuer()

if ROLE != "anonymous":

    @schemathesis.auth()
    class BearerToken:
        def get(self, case: schemathesis.Case, context: Any) -> str:
            return _ISSUER.token()

        def set(self, case: schemathesis.Case, data: str, context: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def _with_check_digit(digits: list[int]) -> str:
    total = sum(w * d for w, d in zip(BUSINESS_NUMBER_WEIGHTS, digits, strict=True))
    total += (5 * digits[8]) // 10
    text = "".join(map(str, [*digits, (10 - total % 10) % 10]))
    return f"{text[:3]}-{text[3:5]}-{text[5:]}"


schemathesis.openapi.format(
    BUSINESS_NUMBER_FORMAT,
    st.lists(st.integers(0, 9), min_size=9, max_size=9).map(_with_check_digit),
)
# A past month (in Korea since; graduation months may be past too).
schemathesis.openapi.format(
    "year-month",
    st.dates(date(1990, 1, 1), date.today().replace(day=1)).map(lambda d: f"{d:%Y-%m}"),
)

_PERIODS = (("available_from", "available_until"), ("period_start", "period_end"))


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    """Periods in order: a start after the end is refused by a rule across two fields. Meeting
    times in the coming weeks: a time that has passed (or is more than a year ahead) is refused
    by a rule against the clock."""
    if isinstance(body, dict):
        for start, end in _PERIODS:
            a, b = body.get(start), body.get(end)
            if isinstance(a, str) and isinstance(b, str) and _iso(a) and _iso(b) and b < a:
                body = {**body, start: b, end: a}
        slots = body.get("slots")
        if isinstance(slots, list):
            body = {**body, "slots": [_upcoming(n, slot) for n, slot in enumerate(slots)]}
    return body


def _upcoming(n: int, slot: Any) -> Any:
    """A slot whose `starts_at` is a valid date-time, moved to n + 1 days from now;
    anything else (not an object, not a date-time) is left as generated."""
    if not isinstance(slot, dict) or not isinstance(slot.get("starts_at"), str):
        return slot
    try:
        datetime.fromisoformat(slot["starts_at"])
    except ValueError:
        return slot
    when = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=n + 1)
    return {**slot, "starts_at": when.isoformat()}


@schemathesis.hook
def filter_body(context: Any, body: Any) -> bool:
    """One level per language: two skills with the same code are refused (a rule across items).
    Dropped rather than mended, which could turn an invalid body (too many items) valid."""
    languages = body.get("languages") if isinstance(body, dict) else None
    if not isinstance(languages, list):
        return True
    codes = [skill.get("code") for skill in languages if isinstance(skill, dict)]
    strings = [code for code in codes if isinstance(code, str)]
    return len(set(strings)) == len(strings)


def _iso(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
