"""The coordinator's queue in a real browser (issue 13, items 1 and 2): the dashboard and the menu
say how many proposals wait, the queue lists them oldest first, "select all" and one button
approve them; then the audit log tells what happened in words, in Korea time, with names. Once in
English on a desktop, once in Korean on a phone (where no page may scroll sideways)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from app.extensions import db
from app.models import Match, MatchStatus
from app.services.directory import ready_conditions
from tests.browser.test_after_match import accepted_proposal
from tests.browser.test_journey import PHONE, Run, log_in, open_menu

pytestmark = pytest.mark.browser

RUNS = [
    pytest.param(Run("en", None, "VN", "vi", "cosmetics", "seoul"), id="en-desktop"),
    pytest.param(Run("ko", PHONE, "TH", "th", "processed_food", "busan"), id="ko-phone"),
]
WORDS = {
    "en": {
        "ready": "Ready to approve",
        "card": re.compile(r"\b2 proposals ready for you"),
        "approve": "Approve selected",
        "done": "2 matches approved.",
        "empty": "Nothing is waiting for you",
        "approved": "Approved by a coordinator",
        "when": "When (Korea time)",
    },
    "ko": {
        "ready": "승인 대기",
        "card": re.compile(r"승인 대기 중인 제안 2건"),
        "approve": "선택 항목 승인",
        "done": "매칭 2건이 승인되었습니다.",
        "empty": "승인을 기다리는 제안이 없습니다",
        "approved": "코디네이터 승인",
        "when": "일시 (한국 시간)",
    },
}


def _empty_the_queue(app: Any) -> None:
    """The live server is shared by the browser tests: one that leaves a pair both sides accepted
    (the undo journey does) must not change this test's counts."""
    with app.app_context():
        db.session.execute(
            update(Match).where(*ready_conditions()).values(status=MatchStatus.WITHDRAWN)
        )
        db.session.commit()


def _scrolls_sideways(page: Page) -> bool:
    width, inner = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
    return width > inner


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.usefixtures("korean_catalogue")
def test_the_queue_from_the_dashboard_to_the_audit_log(
    new_page: Any, snap: Any, live_server_app: Any, coordinator: Any, run: Run
) -> None:
    words = WORDS[run.lang]
    _empty_the_queue(live_server_app)
    older = accepted_proposal(live_server_app, uuid.uuid4().hex[:8], run)
    newer = accepted_proposal(live_server_app, uuid.uuid4().hex[:8], run)
    page: Page = new_page(locale=run.locale, viewport=run.viewport)
    log_in(page, coordinator.email, coordinator.password)
    page.goto("/coordinator/")
    expect(page.locator("[data-ready-card] h2")).to_have_text(words["card"])
    open_menu(page)
    menu = page.locator("#nav [data-ready-count]")
    expect(menu).to_have_attribute("data-ready-count", "2")
    with page.expect_navigation():
        menu.click()
    expect(page.locator("h1")).to_contain_text(words["ready"])
    rows = page.locator("[data-ready-match]")
    expect(rows).to_have_count(2)
    assert [rows.nth(i).get_attribute("data-ready-match") for i in range(2)] == [
        str(older["match_id"]),
        str(newer["match_id"]),
    ], "oldest first"
    assert not _scrolls_sideways(page)
    page.locator("[data-select-all]").check()
    expect(page.locator("input[name=match_ids]:checked")).to_have_count(2)
    snap(page, f"queue-{run.lang}")
    with page.expect_navigation():
        page.get_by_role("button", name=words["approve"]).click()
    expect(page.locator(".alert-success")).to_have_text(words["done"])
    expect(page.get_by_text(words["empty"])).to_be_visible()
    open_menu(page)
    expect(page.locator("#nav [data-ready-count]")).to_have_attribute("data-ready-count", "0")

    # The trail says it in words, with names, in Korea time.
    page.goto(f"/coordinator/audit?target_type=match&target_id={older['match_id']}")
    table = page.locator("main table")
    expect(table.locator("thead")).to_contain_text(words["when"])
    expect(table.locator("tbody")).to_contain_text(words["approved"])
    expect(table.locator("tbody")).to_contain_text(older["student_name"])
    body = table.locator("tbody").inner_text()
    for raw in ("match_approved", "match_accept", "side:", "UTC"):
        assert raw not in body, raw
    assert not _scrolls_sideways(page)
    snap(page, f"audit-{run.lang}")


@pytest.mark.parametrize("run", RUNS[:1])
def test_the_schedule_picker_writes_the_cron_expression(
    new_page: Any, coordinator: Any, run: Run
) -> None:
    page: Page = new_page(locale=run.locale)
    log_in(page, coordinator.email, coordinator.password)
    page.goto("/coordinator/cycles")
    page.select_option("[name=schedule_day]", "thu")
    page.fill("[name=schedule_time]", "08:15")
    page.select_option("[name=schedule_weeks]", "2")
    page.locator("details summary").click()
    expect(page.locator("[data-cron]")).to_have_value("15 8 * * thu */2")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("main")).to_contain_text("every 2 weeks on Thursday at 08:15")
    page.select_option("[name=schedule_day]", "mon")
    page.fill("[name=schedule_time]", "06:00")
    page.select_option("[name=schedule_weeks]", "1")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("main")).to_contain_text("every Monday at 06:00")
