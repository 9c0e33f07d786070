"""Signing up in a real browser: a student in Korean, a company that gets its form wrong, a phone.

The forms are the real ones: CSRF on, the browser's own form submission, the server's answer.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import next_step, pick

pytestmark = pytest.mark.browser

PASSWORD = "a long enough passphrase"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
PHONE = {"width": 390, "height": 844}


def unique_email(who: str) -> str:
    return f"{who}-{uuid.uuid4().hex[:10]}@example.org"


def submit(page: Page) -> Any:
    """Press the form's submit button; answer the server's response to the POST itself."""
    with page.expect_navigation() as navigation:
        page.locator("main form button[type=submit]").click()
    response = navigation.value
    assert response is not None
    while response.request.redirected_from is not None:  # the POST, not where it redirected to
        earlier = response.request.redirected_from.response()
        assert earlier is not None
        response = earlier
    return response


def field_feedback(page: Page, name: str) -> Any:
    """The error messages shown beside the field called `name` (inside its own block)."""
    control = page.locator(f'[name="{name}"]').first
    block = control.locator("xpath=ancestor::*[self::div or self::fieldset][1]")
    return block.locator(".invalid-feedback")


# --- a student, in Korean -------------------------------------------------------------------------


@pytest.mark.parametrize("page", [{"locale": "ko-KR"}], indirect=True, ids=["ko"])
@pytest.mark.usefixtures("korean_catalogue")
def test_student_signs_up_in_korean_and_sees_dashboard(page: Page, snap: Any) -> None:
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    snap(page, "1-landing")

    page.locator('main a[href="/student/signup"]').first.click()
    expect(page).to_have_url(re.compile(r"/student/signup$"))
    expect(page.locator("html")).to_have_attribute("lang", "ko")

    # Sign-up in steps (issue 13 item 5): the progress list says where one is.
    expect(page.locator('[data-progress="1"]')).to_have_attribute("aria-current", "step")
    expect(page.locator('[data-step="2"]')).to_be_hidden()
    name = "응우옌 티 린"
    page.fill('[name="name"]', name)
    page.fill('[name="email"]', unique_email("linh"))
    page.fill('[name="password"]', PASSWORD)
    snap(page, "2-step-1")
    # Next without a nationality: the server checks the step, the page says what is missing.
    page.locator('[data-step="1"] [data-step-next]').click()
    expect(field_feedback(page, "nationality")).to_contain_text("필수")
    expect(page.locator('[data-step="2"]')).to_be_hidden()
    page.select_option('[name="nationality"]', "VN")
    next_step(page, 2)
    page.select_option('[name="languages-0-code"]', "vi")
    page.select_option('[name="languages-0-level"]', "native")
    page.select_option('[name="languages-1-code"]', "en")
    page.select_option('[name="languages-1-level"]', "business")
    page.select_option('[name="topik_level"]', "4")
    pick(page, "markets", "VN")  # by code
    pick(page, "markets", "TH")
    # By name in the reader's language, with the keyboard only.
    box = page.locator('[data-picker]:has([name="markets"]) [role=combobox]')
    box.fill("인도네")
    box.press("ArrowDown")
    box.press("Enter")
    expect(page.locator('.picker-chip[data-value="ID"]')).to_be_visible()
    page.locator('.picker-chip[data-value="ID"]').click()  # and removed again
    expect(page.locator('.picker-chip[data-value="ID"]')).to_have_count(0)
    expect(page.locator('[name="markets"] option:checked')).to_have_count(2)
    page.check('input[name="industries"][value="cosmetics"]')
    page.check('input[name="industries"][value="processed_food"]')
    page.check('input[name="regions"][value="seoul"]')
    page.check('input[name="regions"][value="gyeonggi"]')
    snap(page, "3-step-2")
    next_step(page, 3)
    page.fill('[name="university"]', "서울대학교")
    page.fill('[name="major"]', "국제무역학")
    page.fill('[name="hours_per_week"]', "12")
    page.select_option('[name="visa"]', "d2")
    page.fill('[name="bio"]', "한국 화장품이 하노이에 진출하도록 돕고 싶습니다.")
    next_step(page, 4)
    page.check('[name="consent_collection"]')
    page.check('[name="consent_provision"]')
    snap(page, "2-signup-filled")

    response = submit(page)
    assert response.status == 302, f"sign-up answered {response.status}, not a redirect"

    # Step 5: the CV, optional.
    expect(page).to_have_url(re.compile(r"/student/signup/cv$"))
    expect(page.locator('[data-progress="5"]')).to_have_attribute("aria-current", "step")
    snap(page, "4-step-5-cv")
    page.get_by_role("link", name="나중에 하기").click()
    expect(page).to_have_url(re.compile(r"/student/$"))
    expect(page.locator("[data-completeness]")).to_be_visible()
    expect(page.locator('[data-missing="cv"] a')).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("main h1")).to_contain_text(name)
    snap(page, "3-dashboard")

    # Korean from the catalogue (not the user's own words, not the "한국어" switch): the brand,
    # and the page's heading around the name.
    expect(page.locator(".navbar-brand")).to_have_text("K-수출전사 매칭")
    heading = page.locator("main h1").inner_text().replace(name, "")
    assert HANGUL.search(heading), f"the dashboard heading is not in Korean: {heading!r}"


def test_language_switch_buttons_post_with_csrf(page: Page, snap: Any) -> None:
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="한국어").click()
    assert navigation.value is not None
    assert navigation.value.ok
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    snap(page, "korean")

    # The choice sticks for the session, whatever the browser's Accept-Language says.
    page.goto("/student/signup")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    page.get_by_role("button", name="English").click()
    expect(page).to_have_url(re.compile(r"/student/signup$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")


# --- an SME that gets the form wrong --------------------------------------------------------------


@pytest.mark.parametrize("page", [{"java_script_enabled": False}], indirect=True, ids=["no-js"])
def test_sme_signup_errors_are_shown_beside_the_fields(page: Page, snap: Any) -> None:
    """Without JavaScript the steps are one page and the picker a plain <select multiple>."""
    page.goto("/")
    page.locator('main a[href="/sme/signup"]').first.click()
    expect(page).to_have_url(re.compile(r"/sme/signup$"))

    email = unique_email("export")
    page.fill('[name="email"]', email)
    page.fill('[name="password"]', PASSWORD)
    page.fill('[name="business_number"]', "12345")  # not 10 digits
    page.fill('[name="products_en"]', "Sunscreen, sheet masks")
    page.select_option('[name="markets"]', ["VN", "TH"])
    page.fill('[name="capacity"]', "25")  # 1 to 20
    # No company name, contact, industry, region or consent.
    response = submit(page)
    snap(page, "1-missing-fields")

    assert response.status == 422, f"expected 422, got {response.status}"
    expect(page).to_have_url(re.compile(r"/sme/signup$"))
    expect(field_feedback(page, "business_number")).to_contain_text("10 digits")
    expect(page.locator('[name="business_number"]')).to_have_class(re.compile(r"\bis-invalid\b"))
    for required in ["contact_name", "region"]:
        expect(field_feedback(page, required)).to_contain_text("This field is required.")
    expect(field_feedback(page, "company_name_en")).to_contain_text("Korean or in English")
    expect(field_feedback(page, "industries")).not_to_have_count(0)
    expect(field_feedback(page, "capacity")).to_contain_text("at most 20")
    expect(field_feedback(page, "consent_collection")).to_contain_text("consent")
    # What was typed is still there, the password too (it was not the error).
    expect(page.locator('[name="email"]')).to_have_value(email)
    expect(page.locator('[name="products_en"]')).to_have_value("Sunscreen, sheet masks")
    expect(page.locator('[name="markets"] option:checked')).to_have_count(2)
    expect(page.locator('[name="password"]')).to_have_value(PASSWORD)

    # Fix everything but the check digit: the number is refused for that reason alone.
    page.fill('[name="business_number"]', "220-81-62518")
    page.fill('[name="company_name_en"]', "Hanbit Cosmetics")
    page.fill('[name="contact_name"]', "Kim Minjun")
    page.check('input[name="industries"][value="cosmetics"]')
    page.select_option('[name="region"]', "gyeonggi")
    page.fill('[name="capacity"]', "2")
    page.fill('[name="description_en"]', "Preparing to export to Vietnam.")
    page.check('[name="consent_collection"]')
    response = submit(page)
    snap(page, "2-check-digit")

    assert response.status == 422, f"expected 422, got {response.status}"
    expect(field_feedback(page, "business_number")).to_contain_text("check digit")
    expect(page.locator("main .invalid-feedback")).to_have_count(1)

    # And with the right number the company is registered (the re-rendered form's CSRF works).
    page.fill('[name="business_number"]', "220-81-62517")
    response = submit(page)
    assert response.status == 302, f"registration answered {response.status}"
    expect(page).to_have_url(re.compile(r"/sme/$"))
    snap(page, "3-dashboard")


# --- on a phone ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "page",
    [{"locale": "en-US", "viewport": PHONE}, {"locale": "ko-KR", "viewport": PHONE}],
    indirect=True,
    ids=["en", "ko"],
)
def test_phone_has_no_horizontal_scroll_and_a_collapsed_menu(page: Page, snap: Any) -> None:
    for step, path in [("landing", "/"), ("student-signup", "/student/signup")]:
        page.goto(path)
        widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        snap(page, step)
        assert widths[0] <= widths[1], f"{path} scrolls sideways: {widths[0]} > {widths[1]}px"

        toggler = page.locator(".navbar-toggler")
        menu = page.locator("#nav")
        expect(toggler).to_be_visible()
        expect(menu).to_be_hidden()
        toggler.click()
        expect(page.locator("#nav.collapse.show")).to_be_visible()  # opened, animation over
        expect(menu.locator('a[href="/login"]')).to_be_visible()
        snap(page, f"{step}-menu-open", full_page=False)
