"""The second half of the journey in a real browser: from a coordinator's approval through the
kickoff meeting, a message each way, a work-log entry, a check-in and completion with a first
export, to the coordinators' dashboard where the programme's target moves. Once in English on a
desktop, once in Korean on a phone (where no page may scroll sideways).

The people and their accepted proposal are made through the services (signing up and the
matching cycle are the other journey's subject); everything after that happens on the pages.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Login
from tests.browser.test_journey import PHONE, Journey, Run, business_number, log_in, submit

pytestmark = pytest.mark.browser

PASSWORD = "a long enough passphrase"
RUNS = [
    pytest.param(Run("en", None, "VN", "vi", "cosmetics", "seoul"), id="en-desktop"),
    pytest.param(Run("ko", PHONE, "TH", "th", "processed_food", "busan"), id="ko-phone"),
]
KST = ZoneInfo("Asia/Seoul")


def accepted_proposal(app: Any, tag: str, run: Run) -> dict[str, Any]:
    """A student and an SME who both accepted a hand-made proposal, waiting for approval."""
    from app.extensions import db
    from app.services import accounts, decisions, verification

    consent = {"collection": True, "provision_to_smes": True}
    with app.app_context():
        student = accounts.register_student(
            {
                "email": f"student-{tag}@example.org",
                "password": PASSWORD,
                "name": f"Linh {tag}",
                "nationality": run.country,
                "languages": [{"code": run.language, "level": "native"}],
                "topik_level": 4,
                "university": "Pusan National University",
                "major": "Trade",
                "markets": [run.country],
                "industries": [run.industry],
                "regions": [run.region],
                "hours_per_week": 15,
                "visa": "d2",
                "consent": consent,
            },
            locale=run.lang,
        )
        sme = accounts.register_sme(
            {
                "email": f"sme-{tag}@example.org",
                "password": PASSWORD,
                "contact_name": "김민준",
                "company_name": f"한빛 {tag}",
                "business_number": business_number(),
                "industries": [run.industry],
                "products": "선크림",
                "markets": [run.country],
                "region": run.region,
                "capacity": 1,
                "consent": consent,
            },
            locale=run.lang,
        )
        # This journey starts at approval: both confirmed their addresses long before (only
        # verified people can be proposed, by a cycle or by hand).
        verification.mark_verified(student)
        verification.mark_verified(sme)
        db.session.commit()
        coordinator = accounts.create_coordinator(f"pair-{tag}@example.org", PASSWORD)
        match = decisions.pair(student.student.id, sme.sme.id, coordinator)
        decisions.decide(match.id, student, "accept")
        decisions.decide(match.id, sme, "accept")
        db.session.commit()
        return {
            "match_id": match.id,
            "student_email": student.email,
            "sme_email": sme.email,
            "student_name": student.student.name,
        }


def kpi(page: Page, key: str) -> int:
    text = page.locator(f'[data-kpi="{key}"] [data-kpi-value]').inner_text()
    return int(re.sub(r"\D", "", text))


def go_to_match(page: Page, match_id: int) -> None:
    """From one's own dashboard, the button to the match page (as a person would)."""
    with page.expect_navigation():
        page.locator(f'[data-match="{match_id}"] a[href="/matches/{match_id}"]').click()
    expect(page).to_have_url(re.compile(rf"/matches/{match_id}$"))


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.usefixtures("korean_catalogue")
def test_from_approval_to_first_export(
    run: Run,
    new_page: Callable[..., Page],
    snap: Callable[..., Path],
    coordinator: Login,
    live_server_app: Any,
) -> None:
    j = Journey(run, snap)
    t = j.t
    tag = uuid.uuid4().hex[:8]
    people = accepted_proposal(live_server_app, tag, run)
    match_id = people["match_id"]
    page_of_match = f"/matches/{match_id}"

    def browser() -> Page:
        return new_page(locale=run.locale, viewport=run.viewport, reduced_motion="reduce")

    student, sme, staff = browser(), browser(), browser()

    # 1. The coordinator approves; the targets before. -------------------------------------------
    log_in(staff, coordinator.email, coordinator.password)
    expect(staff).to_have_url(re.compile(r"/coordinator/$"))
    first_exports = kpi(staff, "smes_first_export")
    placed = kpi(staff, "students_placed")
    j.page_ok(staff, "01-dashboard-before")
    staff.goto(f"/coordinator/matches/{match_id}")
    response = submit(staff, 'button[name="action"][value="approve"]')
    assert response.status == 302
    expect(staff.locator("main .alert-success")).to_have_text(t("The match is approved."))

    # 2. The SME sees the student's contact details and offers kickoff times. ---------------------
    log_in(sme, people["sme_email"], PASSWORD)
    go_to_match(sme, match_id)
    expect(sme.locator('[data-contact="student"]')).to_contain_text(people["student_email"])
    j.page_ok(sme, "02-sme-match-approved")
    when = (datetime.now(UTC) + timedelta(days=3)).astimezone(KST).strftime("%Y-%m-%dT15:30")
    sme.fill("#slot-0-starts_at", when)
    sme.fill("#slot-0-place", "https://meet.example.org/kickoff")
    sme.fill("#slot-1-starts_at", when.replace("T15:30", "T10:00"))
    sme.fill("#slot-1-place", "부산 해운대구 센텀중앙로 79")
    response = submit(sme, f'form[action="{page_of_match}/kickoff"] button[type=submit]')
    assert response.status == 302, f"offering times answered {response.status}"
    expect(sme.locator("main .alert-success")).to_have_text(t("The times are sent to the student."))

    # 3. The student sees the company's contact details and picks a time: the work starts. -------
    log_in(student, people["student_email"], PASSWORD)
    go_to_match(student, match_id)
    expect(student.locator('[data-contact="sme"]')).to_contain_text(people["sme_email"])
    student.check("#slot-1")
    j.page_ok(student, "03-student-picks-a-time")
    response = submit(student, f'form[action="{page_of_match}/kickoff/confirm"] button')
    assert response.status == 302
    expect(student.locator('[data-kickoff="agreed"]')).to_contain_text("센텀중앙로")
    expect(student.locator("main h1 + .badge")).to_have_text(t("Active"))
    ics = student.request.get(f"{page_of_match}/kickoff.ics")
    assert ics.ok and b"BEGIN:VEVENT" in ics.body()

    # 4. A message each way. ----------------------------------------------------------------------
    hello = f"Hello from {tag} <b>not bold</b>"
    student.fill("#body", hello)
    assert submit(student, f'form[action="{page_of_match}/messages"] button').status == 302
    expect(student.locator(".thread .message.mine .message-body")).to_have_text(hello)
    sme.goto(page_of_match)
    expect(sme.locator(".thread .message .message-body")).to_have_text(hello)
    reply = f"반갑습니다 {tag}"
    sme.fill("#body", reply)
    assert submit(sme, f'form[action="{page_of_match}/messages"] button').status == 302
    expect(sme.locator(".thread .message.mine .read-mark")).to_have_count(0)  # not read yet
    student.goto(page_of_match)
    expect(student.locator(".thread .message:not(.mine) .message-body")).to_have_text(reply)
    sme.goto(page_of_match)
    expect(sme.locator(".thread .message.mine .read-mark")).to_have_text(t("Read"))

    # 5. A work-log entry, confirmed by the company. ---------------------------------------------
    today = datetime.now(KST).date().isoformat()
    student.select_option("#kind", "market_research")
    student.fill("#date", today)
    student.fill("#hours", "3")
    student.fill("#note", "Buyers in the target market")
    assert submit(student, f'form[action="{page_of_match}/activities"] button').status == 302
    expect(student.locator("main .alert-success")).to_have_text(
        t("The entry is saved; the company is asked to confirm it.")
    )
    j.page_ok(student, "04-student-work-log")
    sme.goto(page_of_match)
    assert submit(sme, 'button[name="decision"][value="confirm"]').status == 302
    expect(sme.locator("#worklog tbody tr").first).to_contain_text(t("Confirmed"))

    # 6. This month's check-in. ------------------------------------------------------------------
    student.check("#satisfaction-4")
    student.fill("#checkin-hours", "3")
    assert submit(student, f'form[action="{page_of_match}/checkins"] button').status == 302
    expect(student.locator("#checkins")).to_contain_text(
        t("You have checked in this month. Thank you.")
    )

    # 7. The SME completes the match with its first export. ---------------------------------------
    sme.goto(page_of_match)
    sme.locator("#outcome summary").click()
    sme.select_option("#status", "first_export")
    sme.fill("#first_export_on", today)
    sme.select_option("#markets", [run.country])
    sme.fill("#contracts", "1")
    j.page_ok(sme, "05-sme-completes")
    assert submit(sme, f'form[action="{page_of_match}/complete"] button[type=submit]').status == 302
    expect(sme.locator("main h1 + .badge")).to_have_text(t("Completed"))
    expect(sme.locator("[data-export-status]")).to_have_text(t("First export made"))
    j.page_ok(sme, "06-sme-completed")

    # 8. The student says what came of it. --------------------------------------------------------
    student.goto(page_of_match)
    student.select_option("#student-outcome", "job_offer")
    assert submit(student, f'form[action="{page_of_match}/student-outcome"] button').status == 302

    # 9. The programme's targets moved. -----------------------------------------------------------
    staff.goto("/coordinator/")
    assert kpi(staff, "smes_first_export") == first_exports + 1
    assert kpi(staff, "students_placed") == placed + 1
    expect(staff.locator('canvas[data-chart="funnel_by_cycle"]')).to_be_visible()
    j.page_ok(staff, "07-dashboard-after")
