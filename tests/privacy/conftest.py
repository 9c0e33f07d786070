"""A real SMTP server (aiosmtpd) for the tests where the mail itself matters."""

from __future__ import annotations

import re
import time
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from kexport_support import free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
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


@pytest.fixture
def inbox(app, monkeypatch):
    """Mail goes over SMTP to this inbox (MAIL_SERVER set), sent inline after each commit."""
    collected = Inbox()
    port = free_port()
    controller = Controller(collected, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    yield collected
    controller.stop()
