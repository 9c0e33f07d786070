"""The people and forms the whole suite uses: plain values and functions, importable by name.

Import from here (`from kexport_support import PASSWORD, student_data`), not from `conftest`:
pytest imports each conftest.py of the suite under the same module name, so `from conftest import`
gets whichever was imported last. tests/conftest.py re-exports these for its fixtures.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from typing import Any

from aiosmtpd.controller import Controller

PASSWORD = "a long enough passphrase"

#: The reasons of a proposal the tests make by hand, as the engine writes them.
REASONS = [
    {"factor": "market", "key": "market.home", "params": {"market": "VN"}, "weight": 0.2},
    {
        "factor": "language",
        "key": "language.speaks_needed",
        "params": {"language": "vi", "level": "native"},
        "weight": 0.3,
    },
]


def business_number(serial: int) -> str:
    """A valid 사업자등록번호 (check digit computed) for any serial number."""
    from app.schemas import BUSINESS_NUMBER_WEIGHTS

    head = f"{(serial % 899) + 101:03d}81{serial % 10000:04d}"
    d = [int(ch) for ch in head]
    total = sum(w * x for w, x in zip(BUSINESS_NUMBER_WEIGHTS, d, strict=True)) + (5 * d[8]) // 10
    return head + str((10 - total % 10) % 10)


def student_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "email": "linh@example.org",
        "password": PASSWORD,
        "name": "Nguyen Thi Linh",
        "nationality": "VN",
        "languages": [{"code": "vi", "level": "native"}, {"code": "en", "level": "business"}],
        "topik_level": 4,
        "university": "Seoul National University",
        "major": "International Trade",
        "markets": ["VN"],
        "industries": ["cosmetics"],
        "regions": ["seoul", "gyeonggi"],
        "hours_per_week": 12,
        "visa": "d2",
        "bio": "I want to help Korean cosmetics reach Hanoi.",
        "consent": {"collection": True, "provision_to_smes": True},
    }
    data.update(overrides)
    return data


def sme_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "email": "export@hanbit.example",
        "password": PASSWORD,
        "contact_name": "김민준",
        "company_name": "한빛코스메틱",
        "business_number": "220-81-62517",
        "industries": ["cosmetics"],
        "products": "선크림, 마스크팩",
        "markets": ["VN", "TH"],
        "languages_needed": [],
        "region": "gyeonggi",
        "capacity": 2,
        "exporting": False,
        "description": "베트남 진출을 준비하는 기업입니다.",
        "consent": {"collection": True, "provision_to_smes": True},
    }
    data.update(overrides)
    return data


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


def pages_in_new_sessions(
    app: Any, email: str, render: Callable[[Any], str], sessions: int = 2
) -> list[str]:
    """What ``render(client)`` returns in ``sessions`` new logged-in sessions with CSRF protection
    on, so that each page carries its own session's token (for pages that keep rendered parts
    across readers and must put each reader's token back)."""
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        pages = []
        for _ in range(sessions):
            client = app.test_client()
            login = client.get("/login").get_data(as_text=True)
            client.post(
                "/login",
                data={"email": email, "password": PASSWORD, "csrf_token": csrf_token_from(login)},
            )
            pages.append(render(client))
        return pages
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


# --- the same people as the HTML forms post them ------------------------------------------------


def _as_form(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    form: dict[str, Any] = {}
    for key, value in data.items():
        if key == "consent":
            if value.get("collection"):
                form["consent_collection"] = "y"
            if value.get("provision_to_smes"):
                form["consent_provision"] = "y"
        elif key == "languages":
            for i, skill in enumerate(value):
                form[f"languages-{i}-code"] = skill["code"]
                form[f"languages-{i}-level"] = skill["level"]
        elif isinstance(value, bool):
            if value:
                form[key] = "y"
        elif isinstance(value, list):
            form[key] = list(value)  # a multi-select: the key repeated
        else:
            form[key] = str(value)
    for key, value in overrides.items():
        if value is None:
            form.pop(key, None)
        else:
            form[key] = value
    return form


def student_form(**overrides: Any) -> dict[str, Any]:
    """student_data() as the sign-up form posts it; an override of None leaves the key out."""
    return _as_form(student_data(), overrides)


def sme_form(**overrides: Any) -> dict[str, Any]:
    """sme_data() as the sign-up form posts it; an override of None leaves the key out.

    The form asks the name, products and description in Korean and English: a one-language
    value (`company_name=...`) goes to the field of its script, as the API does with it."""
    from app.bilingual import home_lang

    form = _as_form(sme_data(), overrides)
    for field in ("company_name", "products", "description"):
        value = form.pop(field, None)
        if value:
            form[f"{field}_{home_lang(value)}"] = value
    return form


def profile_form(form: dict[str, Any]) -> dict[str, Any]:
    """A sign-up form without the account fields: what the profile edit forms post."""
    account = {"email", "password", "business_number", "consent_collection", "consent_provision"}
    return {key: value for key, value in form.items() if key not in account}


def free_port() -> int:
    """A port nothing listens on now (for the tests' own SMTP servers)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """What a real SMTP server (aiosmtpd) received: parsed messages, in order of arrival."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages

    def link(self, pattern: str, index: int = -1) -> str:
        body = self.messages[index].get_body(("plain",)).get_content()
        found = re.search(pattern, body)
        assert found, body
        return found.group(1)

    def take(self) -> list[tuple[str, str, str]]:
        """(recipient, subject, plain body) of what arrived since the last take."""
        taken = [
            (m["To"], str(m["Subject"]), m.get_body(("plain",)).get_content())
            for m in self.messages
        ]
        self.messages.clear()
        return taken


@contextmanager
def smtp_inbox(port: int | None = None) -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on 127.0.0.1 (a free port unless given) for as long as the block runs."""
    inbox, port = Inbox(), port or free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()
