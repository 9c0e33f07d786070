"""The whole review-and-approval journey in a real browser, as four people in four browsers.

A student and an SME sign up, a coordinator runs a matching cycle, the SME and then the student
accept, the coordinator approves, and both see the approved match. Once in English, once in
Korean, and once in Korean on a phone-sized screen (where no page may scroll sideways).

Every run shares the live server's database with the other runs and the other browser tests, so
each one signs up people of its own: unique emails, a fresh business number, and a pair that fits
only each other (a market, language and industry no one else in the database has, the same
region), found on every page by their own names.

Expected words come from the compiled catalogue the server uses (`t(...)`), so the Korean run
checks the Korean pages without depending on how far the translation has got; the only fixed
Korean is the brand.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from gettext import NullTranslations
from pathlib import Path
from typing import Any

import pytest
from babel.support import Translations
from playwright.sync_api import Page, expect

from tests.browser.conftest import Login, next_step, pick

pytestmark = pytest.mark.browser

PASSWORD = "a long enough passphrase"
PHONE = {"width": 390, "height": 844}
TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"
BRAND = {"en": "K-Export Warrior Match", "ko": "K-수출전사 매칭"}


@dataclass(frozen=True)
class Run:
    """One parametrization: a language, a screen, and the pair's rare common ground."""

    lang: str
    viewport: dict[str, int] | None
    country: str  # the student's nationality and the SME's target market
    language: str  # the student's mother tongue, the language the SME needs
    industry: str
    region: str

    @property
    def locale(self) -> str:
        return {"en": "en-US", "ko": "ko-KR"}[self.lang]

    @property
    def phone(self) -> bool:
        return self.viewport is not None


RUNS = [
    pytest.param(Run("en", None, "MN", "mn", "education_services", "jeju"), id="en-desktop"),
    pytest.param(Run("ko", None, "KZ", "kk", "logistics_services", "gangwon"), id="ko-desktop"),
    pytest.param(Run("ko", PHONE, "UZ", "uz", "furniture_interior", "jeonnam"), id="ko-phone"),
]


# What people type, in their own language (the pages show it back).
WORDS = {
    "en": {
        "university": "Kangwon National University",
        "major": "International Trade",
        "bio": "I know my home market and can help a Korean firm sell there.",
        "contact": "Park Jiwoo",
        "products": "Household goods we want to sell abroad",
        "description": "Help us find our first buyers and run local social media.",
    },
    "ko": {
        "university": "강원대학교",
        "major": "국제통상학",
        "bio": "고향 시장을 잘 알고 있어 한국 기업의 현지 판매를 도울 수 있습니다.",
        "contact": "박지우",
        "products": "해외에 판매하려는 생활용품",
        "description": "첫 바이어 발굴과 현지 SNS 운영을 도와줄 유학생을 찾습니다.",
    },
}


# --- helpers ---------------------------------------------------------------------------------


def business_number() -> str:
    """A fresh 사업자등록번호 with a valid check digit (National Tax Service weights)."""
    digits = [random.randint(1, 9), *(random.randint(0, 9) for _ in range(8))]
    total = sum(w * d for w, d in zip((1, 3, 7, 1, 3, 7, 1, 3, 5), digits, strict=True))
    total += 5 * digits[8] // 10
    digits.append((10 - total % 10) % 10)
    text = "".join(map(str, digits))
    return f"{text[:3]}-{text[3:5]}-{text[5:]}"


def catalogue(lang: str) -> NullTranslations:
    """What the server says in `lang`: the compiled catalogue, or the English source itself."""
    if lang == "en":
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS), [lang])


def submit(page: Page, button: str = "main form button[type=submit]") -> Any:
    """Press a form's button; return the server's answer to the POST itself (not the redirect)."""
    with page.expect_navigation() as navigation:
        page.locator(button).click()
    response = navigation.value
    assert response is not None
    while response.request.redirected_from is not None:
        earlier = response.request.redirected_from.response()
        assert earlier is not None
        response = earlier
    return response


def open_menu(page: Page) -> None:
    """On a phone the navigation is folded behind the toggler: unfold it (once)."""
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible() and not page.locator("#nav.show").count():
        toggler.click()
        expect(page.locator("#nav.collapse.show")).to_be_visible()


def nav(page: Page, href: str) -> None:
    """Follow a link of the navigation bar, as a person would (unfolding it on a phone)."""
    open_menu(page)
    link = page.locator(f'#nav a.nav-link[href="{href}"]')
    with page.expect_navigation():
        link.click()
    expect(page).to_have_url(re.compile(re.escape(href) + r"$"))


def log_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.fill('[name="email"]', email)
    page.fill('[name="password"]', password)
    response = submit(page)
    assert response.status == 302, f"login answered {response.status}"


def log_out(page: Page) -> None:
    open_menu(page)
    with page.expect_navigation():
        page.locator('#nav form[action="/logout"] button').click()
    expect(page).to_have_url(re.compile(r"/$"))


def confirm_email(page: Page, app: Any, email: str) -> None:
    """Open the verification link from the newest email to `email` and confirm, as its owner would.

    Until their address is confirmed, people are left out of cycles (REQUIRE_EMAIL_VERIFICATION).
    """
    from sqlalchemy import select

    from app.extensions import db
    from app.models import OutboxMessage

    with app.app_context():
        body = db.session.scalars(
            select(OutboxMessage.body_text)
            .where(OutboxMessage.recipient == email, OutboxMessage.kind == "verify_email")
            .order_by(OutboxMessage.id.desc())
        ).first()
    assert body, f"no verification email to {email}"
    link = re.search(r"(/account/verify/\S+)", body)
    assert link, body
    page.goto(link.group(1))
    # The unverified banner has a "send again" form too; the page's own form has no action.
    response = submit(page, "main form:not([action]) button[type=submit]")
    assert response.status == 302, f"confirming the address answered {response.status}"


def run_queued_cycles(app: Any) -> None:
    """What the scheduler inside `make run` does every few seconds: run the queued cycle."""
    from app import jobs

    jobs.CycleRunner(app).poll()


FITS_SCRIPT = """() => {
  const width = window.innerWidth;
  const wide = [];
  for (const el of document.querySelectorAll("body *")) {
    if (el.closest(".table-responsive, .checklist-box")) continue;  // they scroll inside
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 1) {
      wide.push(`${el.tagName.toLowerCase()}.${[...el.classList].join(".")} ` +
                `right=${Math.round(box.right)} "${(el.textContent || "").trim().slice(0, 40)}"`);
    }
  }
  return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 8)};
}"""


class Journey:
    """Per-run checks every page gets: its language, the brand, and (on a phone) its width."""

    def __init__(self, run: Run, snap: Callable[..., Path]) -> None:
        self.run = run
        self._snap = snap
        self._t = catalogue(run.lang)
        self.shots: list[str] = []

    def t(self, message: str, **values: Any) -> str:
        text = self._t.gettext(message)
        return text % values if values else text

    def tn(self, singular: str, plural: str, n: int, **values: Any) -> str:
        return self._t.ngettext(singular, plural, n) % {"num": n, **values}

    def page_ok(self, page: Page, step: str) -> None:
        """The page is in the run's language and fits the screen; save it as an artifact."""
        expect(page.locator("html")).to_have_attribute("lang", self.run.lang)
        expect(page.locator(".navbar-brand")).to_have_text(BRAND[self.run.lang])
        expect(page.locator("main h1").first).to_be_visible()
        if self.run.phone:
            fit = page.evaluate(FITS_SCRIPT)
            assert fit["scroll"] <= fit["width"], (
                f"{step} ({page.url}) scrolls sideways: {fit['scroll']} > {fit['width']}px; "
                f"too wide: {fit['wide']}"
            )
        self._snap(page, step)
        self.shots.append(step)


# --- the journey -----------------------------------------------------------------------------


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.usefixtures("korean_catalogue")
def test_student_and_sme_are_matched_accepted_and_approved(
    run: Run,
    new_page: Callable[..., Page],
    snap: Callable[..., Path],
    coordinator: Login,
    live_server_app: Any,
) -> None:
    j = Journey(run, snap)
    t = j.t
    words = WORDS[run.lang]
    tag = uuid.uuid4().hex[:6]
    student_name = f"Aruzhan Test {tag}" if run.lang == "en" else f"아루잔 {tag}"
    company = f"Steppe Export {tag}" if run.lang == "en" else f"초원수출 {tag}"
    student_email = f"student-{tag}-{uuid.uuid4().hex[:6]}@example.org"
    sme_email = f"sme-{tag}-{uuid.uuid4().hex[:6]}@example.org"

    def browser_for() -> Page:
        # Reduced motion: charts drawn at once and menus opened without animation, so every
        # screenshot shows the finished page.
        return new_page(locale=run.locale, viewport=run.viewport, reduced_motion="reduce")

    student, sme, staff = browser_for(), browser_for(), browser_for()

    # 1. The student finds the programme and applies. ------------------------------------------
    student.goto("/")
    j.page_ok(student, "01-landing")
    student.locator('main a[href="/student/signup"]').first.click()
    expect(student).to_have_url(re.compile(r"/student/signup$"))
    student.fill('[name="name"]', student_name)
    student.fill('[name="email"]', student_email)
    student.fill('[name="password"]', PASSWORD)
    student.select_option('[name="nationality"]', run.country)
    next_step(student, 2)
    student.select_option('[name="languages-0-code"]', run.language)
    student.select_option('[name="languages-0-level"]', "native")
    student.select_option('[name="languages-1-code"]', "ko")
    student.select_option('[name="languages-1-level"]', "business")
    student.select_option('[name="topik_level"]', "5")
    pick(student, "markets", run.country)
    student.check(f'input[name="industries"][value="{run.industry}"]')
    student.check(f'input[name="regions"][value="{run.region}"]')
    next_step(student, 3)
    student.fill('[name="university"]', words["university"])
    student.fill('[name="major"]', words["major"])
    student.fill('[name="hours_per_week"]', "15")
    student.select_option('[name="visa"]', "d2")
    student.fill('[name="bio"]', words["bio"])
    next_step(student, 4)
    student.check('[name="consent_collection"]')
    student.check('[name="consent_provision"]')
    j.page_ok(student, "02-student-signup")
    response = submit(student)
    assert response.status == 302, f"student sign-up answered {response.status}"
    expect(student).to_have_url(re.compile(r"/student/signup/cv$"))  # step 5, optional
    with student.expect_navigation():
        student.locator('main a[href="/student/"]').click()
    expect(student).to_have_url(re.compile(r"/student/$"))
    expect(student.locator("main h1")).to_contain_text(student_name)
    steps = student.locator(".timeline-step")
    expect(steps).to_have_count(5)
    expect(student.locator(".timeline-step.done")).to_have_count(1)  # signed up, nothing more
    j.page_ok(student, "03-student-dashboard-new")
    confirm_email(student, live_server_app, student_email)
    log_out(student)

    # 2. The SME registers. ----------------------------------------------------------------------
    sme.goto("/")
    sme.locator('main a[href="/sme/signup"]').first.click()
    expect(sme).to_have_url(re.compile(r"/sme/signup$"))
    sme.fill('[name="email"]', sme_email)
    sme.fill('[name="password"]', PASSWORD)
    sme.fill('[name="business_number"]', business_number())
    sme.fill('[name="contact_name"]', words["contact"])
    next_step(sme, 2)
    # The company writes in its reader's language only; the other side sees it as written.
    sme.fill(f'[name="company_name_{run.lang}"]', company)
    sme.check(f'input[name="industries"][value="{run.industry}"]')
    sme.fill(f'[name="products_{run.lang}"]', words["products"])
    sme.fill(f'[name="description_{run.lang}"]', words["description"])
    next_step(sme, 3)
    pick(sme, "markets", run.country)
    pick(sme, "languages_needed", run.language)
    sme.select_option('[name="region"]', run.region)
    sme.fill('[name="capacity"]', "1")
    next_step(sme, 4)
    sme.check('[name="consent_collection"]')
    j.page_ok(sme, "04-sme-signup")
    response = submit(sme)
    assert response.status == 302, f"SME sign-up answered {response.status}"
    expect(sme).to_have_url(re.compile(r"/sme/$"))
    expect(sme.locator("main h1")).to_have_text(company)
    j.page_ok(sme, "05-sme-overview-new")
    confirm_email(sme, live_server_app, sme_email)
    log_out(sme)

    # 3. A coordinator runs a matching cycle. ----------------------------------------------------
    log_in(staff, coordinator.email, coordinator.password)
    expect(staff).to_have_url(re.compile(r"/coordinator/$"))
    j.page_ok(staff, "06-coordinator-dashboard")
    nav(staff, "/coordinator/cycles")
    j.page_ok(staff, "07-cycles")
    response = submit(staff, 'form[action="/coordinator/cycles/run"] button[type=submit]')
    assert response.status == 302
    queued = staff.locator("main table tbody tr").first
    cycle_id = queued.locator("td").nth(0).inner_text().strip()
    assert cycle_id.isdigit(), queued.inner_text()
    expect(staff.locator("main .alert-info")).to_have_text(
        t(
            "Cycle #%(id)s is queued: the scheduler starts it within a few seconds. This page "
            "shows how it goes.",
            id=cycle_id,
        )
    )
    expect(queued.locator(".badge")).to_have_text(t("queued"))
    run_queued_cycles(live_server_app)
    nav(staff, "/coordinator/cycles")
    newest = staff.locator("main table tbody tr").first
    assert newest.locator("td").nth(0).inner_text().strip() == cycle_id
    proposed = newest.locator("td").nth(6).inner_text().strip()
    assert proposed.isdigit(), newest.inner_text()
    assert int(proposed) >= 1
    expect(newest.locator(".badge")).to_have_text(t("finished"))
    j.page_ok(staff, "08-cycles-after-run")

    # 4. The SME sees the student, with the reasons, and accepts. ---------------------------------
    log_in(sme, sme_email, PASSWORD)
    expect(sme).to_have_url(re.compile(r"/sme/$"))
    expect(sme.locator("main .alert-warning .btn")).to_have_text(t("Review candidates"))
    nav(sme, "/sme/candidates")
    card = sme.locator("article.candidate", has=sme.get_by_role("heading", name=student_name))
    expect(card).to_have_count(1)
    match_id = (card.get_attribute("id") or "").removeprefix("match-")
    assert match_id.isdigit(), f"the candidate card has no match id: {card.get_attribute('id')}"
    expect(card.locator("ul.reasons li").first).to_be_visible()
    reasons = card.locator("ul.reasons li").all_inner_texts()
    assert len(reasons) >= 2, f"too few reasons for a pair this close: {reasons}"
    expect(card.locator(".score")).to_contain_text("/100")
    j.page_ok(sme, "09-sme-candidates")
    with sme.expect_navigation():
        card.locator('button[name="decision"][value="accept"]').click()
    expect(sme.locator("main .alert-success")).to_have_text(t("Your answer is saved."))
    card = sme.locator(f"#match-{match_id}")
    expect(card.locator('button[name="decision"]')).to_have_count(0)
    expect(card.locator("xpath=preceding-sibling::h2[1]")).to_have_text(
        t("You accepted — waiting for the student or a coordinator")
    )

    # 5. The student sees the company and why, and accepts. ---------------------------------------
    log_in(student, student_email, PASSWORD)
    expect(student).to_have_url(re.compile(r"/student/$"))
    expect(student.locator("main .alert-warning .btn")).to_have_text(t("See proposals"))
    expect(student.locator(".timeline-step.done")).to_have_count(2)  # signed up, proposed
    nav(student, "/student/proposals")
    proposal = student.locator(f"article#match-{match_id}")
    expect(proposal.locator("h2")).to_have_text(company)
    expect(proposal.locator("ul.reasons li").first).to_be_visible()
    expect(proposal.locator(".badge")).to_have_text(t("Proposed"))
    j.page_ok(student, "10-student-proposals")
    with student.expect_navigation():
        proposal.locator('button[name="decision"][value="accept"]').click()
    expect(student.locator("main .alert-success")).to_have_text(t("Your answer is saved."))
    expect(proposal.locator('button[name="decision"]')).to_have_count(0)
    expect(proposal).to_contain_text(
        t(
            "You answered: %(answer)s. Waiting for the company and a coordinator.",
            answer=t("Accepted"),
        )
    )

    # 6. The coordinator finds the pair among the proposals and approves it. ---------------------
    nav(staff, "/coordinator/matches")
    staff.select_option("#f-status", "proposed")
    staff.select_option("#f-market", run.country)
    with staff.expect_navigation():
        staff.locator('main form[method="get"] button[type=submit]').click()
    row = staff.locator("main tbody tr", has=staff.get_by_role("link", name=student_name))
    expect(row).to_have_count(1)
    expect(row).to_contain_text(company)
    expect(row.locator("td").nth(5)).to_contain_text(t("Accepted"))  # the student's answer
    expect(row.locator("td").nth(6)).to_contain_text(t("Accepted"))  # the SME's
    j.page_ok(staff, "11-coordinator-matches")
    if run.phone:  # bulk approval from the list
        row.locator(f'input[name="match_ids"][value="{match_id}"]').check()
        with staff.expect_navigation():
            staff.locator('button[name="action"][value="approve"]').click()
        expect(staff.locator("main .alert-success")).to_have_text(
            j.tn("%(num)d match approved.", "%(num)d matches approved.", 1)
        )
        staff.goto(f"/coordinator/matches/{match_id}")
    else:  # one match, on its own page
        with staff.expect_navigation():
            row.get_by_role("link", name=student_name).click()
        expect(staff).to_have_url(re.compile(rf"/coordinator/matches/{match_id}$"))
        expect(staff.locator("main h1")).to_contain_text(student_name)
        expect(staff.locator("main h1")).to_contain_text(company)
        j.page_ok(staff, "12-match-before-approval")
        with staff.expect_navigation():
            staff.locator('button[name="action"][value="approve"]').click()
        expect(staff.locator("main .alert-success")).to_have_text(t("The match is approved."))
    status = staff.locator("main h1").locator("xpath=following-sibling::span[1]")
    expect(status).to_have_class(re.compile(r"\bbadge\b"))
    expect(status).to_have_text(t("Approved"))
    expect(staff.locator('button[name="action"][value="activate"]')).to_be_visible()
    j.page_ok(staff, "13-match-approved")
    nav(staff, "/coordinator/")
    j.page_ok(staff, "14-coordinator-dashboard-after")

    # 7. Both see the approved match. -----------------------------------------------------------
    sme.reload()
    card = sme.locator(f"#match-{match_id}")
    expect(card.locator("h3")).to_contain_text(student_name)
    expect(card.locator("xpath=preceding-sibling::h2[1]")).to_have_text(t("Your students"))
    expect(sme.locator("main .stat").first).to_have_text("0")  # its one place is taken
    places = sme.locator("main .stat").first.locator("xpath=following-sibling::div[1]")
    expect(places).to_have_text(j.tn("place left of %(num)s", "places left of %(num)s", 0, num=1))
    j.page_ok(sme, "15-sme-candidates-approved")

    nav(student, "/student/")
    expect(student.locator(".timeline-step.done")).to_have_count(4)
    expect(steps.nth(3)).to_have_class(re.compile(r"\bdone\b"))  # approved by a coordinator
    expect(steps.nth(3)).to_contain_text(t("Approved by a coordinator"))
    expect(steps.nth(4)).not_to_have_class(re.compile(r"\bdone\b"))  # not working together yet
    expect(student.locator("main .alert-warning")).to_have_count(0)  # nothing left to answer
    j.page_ok(student, "16-student-dashboard-approved")
    nav(student, "/student/proposals")
    expect(proposal.locator(".badge.status-approved")).to_have_text(t("Approved"))
    j.page_ok(student, "17-student-proposals-approved")
