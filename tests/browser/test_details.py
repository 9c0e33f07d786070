"""Details people notice (issue 13, item 9), in a real browser, in English and Korean: dates
with four-digit years, a favicon, the account page's API tokens only for coordinators (folded
away as "advanced" for everyone else), and wide tables as cards on a 390×844 phone.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Login
from tests.browser.test_journey import PHONE, catalogue, log_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("korean_catalogue")]

PASSWORD = "a long enough passphrase"
LANGS = [pytest.param("en", id="en"), pytest.param("ko", id="ko")]
LOCALES = {"en": "en-US", "ko": "ko-KR"}
TWO_DIGIT_YEAR = re.compile(r"\b\d{1,2}/\d{1,2}/\d{2}\b|(?<!\d)\d{2}\. \d{1,2}\. \d{1,2}\.")


def a_student_with_a_token(app: Any, lang: str) -> str:
    from app.extensions import db
    from app.services import accounts, tokens, verification

    with app.app_context():
        user = accounts.register_student(
            {
                "email": f"details-{uuid.uuid4().hex[:10]}@example.org",
                "password": PASSWORD,
                "name": "Tran Minh",
                "nationality": "VN",
                "languages": [{"code": "vi", "level": "native"}],
                "topik_level": 3,
                "university": "Pusan National University",
                "major": "Trade",
                "markets": ["VN"],
                "industries": ["cosmetics"],
                "regions": ["busan"],
                "hours_per_week": 10,
                "visa": "d2",
                "consent": {"collection": True, "provision_to_smes": True},
            },
            locale=lang,
        )
        verification.mark_verified(user)
        tokens.issue(user)
        db.session.commit()
        return user.email


@pytest.mark.parametrize("lang", LANGS)
def test_account_page_folds_api_tokens_away_and_dates_have_four_digit_years(
    lang: str, new_page: Callable[..., Page], live_server_app: Any, coordinator: Login
) -> None:
    t = catalogue(lang).gettext
    email = a_student_with_a_token(live_server_app, lang)
    page = new_page(locale=LOCALES[lang])
    log_in(page, email, PASSWORD)
    page.goto("/account")
    fold = page.locator("details#api-tokens")
    expect(fold).to_have_count(1)
    expect(fold).not_to_have_attribute("open", "")
    summary = fold.locator("summary")
    expect(summary).to_contain_text(t("Advanced: API tokens"))
    expect(fold.get_by_role("button", name=t("Revoke"))).to_be_hidden()
    summary.click()  # a click (or Enter) unfolds it
    expect(fold.get_by_role("button", name=t("Revoke"))).to_be_visible()
    text = fold.inner_text()
    year = re.search(r"20\d\d", text)
    assert year, text  # "Created 11/30/2026, …" / "2026. 11. 30. …"
    assert not TWO_DIGIT_YEAR.search(text), text

    staff = new_page(locale=LOCALES[lang])
    log_in(staff, coordinator.email, coordinator.password)
    staff.goto("/account")
    expect(staff.locator("details#api-tokens")).to_have_count(0)
    expect(staff.get_by_role("heading", name=t("API tokens"), exact=True)).to_be_visible()


def test_every_page_links_a_favicon_that_is_served(page: Page) -> None:
    page.goto("/")
    icons = page.locator('head link[rel="icon"]')
    expect(icons).to_have_count(2)
    for href in icons.evaluate_all("links => links.map(l => l.href)"):
        response = page.request.get(href)
        assert response.ok and response.headers["content-type"].startswith("image/"), href
    svg = page.request.get("/static/favicon.svg")
    assert b"<svg" in svg.body()
    root = page.request.get("/favicon.ico")  # asked for by browsers whatever the page says
    assert root.ok and root.body()[:4] == b"\x00\x00\x01\x00"  # an ICO file
    touch = page.locator('head link[rel="apple-touch-icon"]').get_attribute("href")
    assert touch and page.request.get(touch).body()[:8] == b"\x89PNG\r\n\x1a\n"


def a_pair_by_hand(app: Any) -> int:
    """A student and an SME paired by hand (no cycle: other tests share the database)."""
    from app.extensions import db
    from app.services import accounts, decisions, verification
    from tests.browser.test_journey import business_number

    tag = uuid.uuid4().hex[:8]
    consent = {"collection": True, "provision_to_smes": True}
    with app.app_context():
        student = accounts.register_student(
            {
                "email": f"cards-{tag}@example.org",
                "password": PASSWORD,
                "name": f"Nguyen Van Cards {tag}",
                "nationality": "VN",
                "languages": [{"code": "vi", "level": "native"}],
                "topik_level": 4,
                "university": "Pusan National University",
                "major": "Trade",
                "markets": ["VN"],
                "industries": ["cosmetics"],
                "regions": ["busan"],
                "hours_per_week": 10,
                "visa": "d2",
                "consent": consent,
            }
        )
        sme = accounts.register_sme(
            {
                "email": f"cards-sme-{tag}@example.org",
                "password": PASSWORD,
                "contact_name": "김민준",
                "company_name": f"카드 {tag}",
                "business_number": business_number(),
                "industries": ["cosmetics"],
                "products": "선크림",
                "markets": ["VN"],
                "region": "busan",
                "capacity": 2,
                "consent": consent,
            }
        )
        verification.mark_verified(student)
        verification.mark_verified(sme)
        coordinator = accounts.create_coordinator(f"cards-coord-{tag}@example.org", PASSWORD)
        match = decisions.pair(student.student.id, sme.sme.id, coordinator)
        db.session.commit()
        return match.id


WIDE_PAGES = [
    "/coordinator/",
    "/coordinator/matches",
    "/coordinator/students",
    "/coordinator/smes",
    "/coordinator/cycles",
    "/coordinator/audit",
]


@pytest.mark.parametrize("lang", LANGS)
def test_wide_tables_are_cards_on_a_phone(
    lang: str,
    new_page: Callable[..., Page],
    snap: Callable[..., Any],
    live_server_app: Any,
    coordinator: Login,
) -> None:
    a_pair_by_hand(live_server_app)
    page = new_page(locale=LOCALES[lang], viewport=PHONE)
    log_in(page, coordinator.email, coordinator.password)
    for url in WIDE_PAGES:
        page.goto(url)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{url} scrolls sideways on a phone ({width}px)"
        tables = page.locator("table.table-cards")
        assert tables.count() >= 1, f"{url} has no table shown as cards"
        cells = page.locator("table.table-cards > tbody > tr > td[data-label]")
        if cells.count() == 0:
            continue  # only an empty-list row on this page today
        cell = cells.first
        row_display = cell.evaluate("td => getComputedStyle(td.parentElement).display")
        assert row_display == "block", f"{url}: rows are not cards ({row_display})"
        label = cell.evaluate("td => getComputedStyle(td, '::before').content")
        assert label.strip('"') == cell.get_attribute("data-label"), (url, label)
        head = page.locator("table.table-cards > thead").first.bounding_box()
        assert head is None or head["height"] <= 1, f"{url}: the header row is still shown"
        scroller = cell.evaluate(
            "td => { const w = td.closest('.table-responsive');"
            " return w ? w.scrollWidth - w.clientWidth : 0; }"
        )
        assert scroller <= 1, f"{url}: the table still scrolls sideways by {scroller}px"
        snap(page, "cards-" + url.strip("/").replace("/", "-"))

    # On a desktop the same pages stay tables.
    desk = new_page(locale=LOCALES[lang])
    log_in(desk, coordinator.email, coordinator.password)
    desk.goto("/coordinator/matches")
    row = desk.locator("table.table-cards > tbody > tr").first
    assert row.evaluate("tr => getComputedStyle(tr).display") == "table-row"


def test_the_score_block_sits_under_the_name_on_a_phone(
    new_page: Callable[..., Page], live_server_app: Any
) -> None:
    from tests.browser.test_sme_candidates import candidates_of_one_sme

    sme = candidates_of_one_sme(live_server_app, uuid.uuid4().hex[:8], "ko")
    page = new_page(locale="ko-KR", viewport=PHONE)
    log_in(page, sme["email"], PASSWORD)
    page.goto("/sme/candidates")
    card = page.locator("article.candidate").first
    score = card.locator(".score-block .score").bounding_box()
    label = card.locator(".score-block .small").bounding_box()
    name = card.locator("h3").bounding_box()
    assert score and label and name
    assert abs(score["x"] - name["x"]) <= 2  # aligned with the name, not pushed right
    assert label["x"] > score["x"] + score["width"] - 1  # "적합도" beside the figure
    assert label["y"] < score["y"] + score["height"]  # on the same line
