"""Issue 13 items 4 and 6 in a real browser: an English-reading student sees a Korean-only
company labelled "written in Korean"; a Korean SME sees the student's English bio labelled; both
see when the next cycle runs, in Korea time; the SME changes an answer and undoes a decline, and
the pair is restored.

The people and the proposal are made through the services; the answers happen on the pages.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_journey import business_number, log_in

pytestmark = pytest.mark.browser

PASSWORD = "a long enough passphrase"


def proposal(app: Any, tag: str) -> dict[str, Any]:
    from app.extensions import db
    from app.services import accounts, decisions, verification

    consent = {"collection": True, "provision_to_smes": True}
    with app.app_context():
        student = accounts.register_student(
            {
                "email": f"bi-student-{tag}@example.org",
                "password": PASSWORD,
                "name": f"Linh {tag}",
                "nationality": "VN",
                "languages": [{"code": "vi", "level": "native"}, {"code": "en", "level": "fluent"}],
                "topik_level": 4,
                "university": "Pusan National University",
                "major": "Trade",
                "markets": ["VN"],
                "industries": ["cosmetics"],
                "regions": ["busan"],
                "hours_per_week": 15,
                "visa": "d2",
                "bio": "I grew up in Hanoi and sold Korean skin care online for two years.",
                "consent": consent,
            },
            locale="en",
        )
        sme = accounts.register_sme(
            {
                "email": f"bi-sme-{tag}@example.org",
                "password": PASSWORD,
                "contact_name": "김민준",
                "company_name_ko": f"한빛코스메틱 {tag}",
                "business_number": business_number(),
                "industries": ["cosmetics"],
                "products_ko": "선크림, 마스크팩",
                "description_ko": "베트남 첫 수출을 준비하는 기업입니다.",
                "markets": ["VN"],
                "region": "busan",
                "capacity": 2,
                "consent": consent,
            },
            locale="ko",
        )
        verification.mark_verified(student)
        verification.mark_verified(sme)
        db.session.commit()
        coordinator = accounts.create_coordinator(f"bi-{tag}@example.org", PASSWORD)
        match = decisions.pair(student.student.id, sme.sme.id, coordinator)
        db.session.commit()
        return {"match_id": match.id, "student": student.email, "sme": sme.email, "tag": tag}


def answer(page: Page, selector: str) -> None:
    with page.expect_navigation():
        page.locator(selector).click()


@pytest.mark.usefixtures("korean_catalogue")
def test_each_reader_sees_their_language_and_an_answer_can_be_undone(
    new_page: Callable[..., Page], snap: Callable[..., Path], live_server_app: Any
) -> None:
    people = proposal(live_server_app, uuid.uuid4().hex[:6])
    match = f"#match-{people['match_id']}"

    # The student reads English; the company wrote Korean only.
    student = new_page(locale="en-US", reduced_motion="reduce")
    log_in(student, people["student"], PASSWORD)
    student.goto("/student/proposals")
    name = student.locator(f"{match} h2 [lang=ko]")
    expect(name).to_contain_text(f"한빛코스메틱 {people['tag']}")
    expect(name.locator(".written-in")).to_have_text("(written in Korean)")
    expect(student.locator("[data-next-cycle]")).to_contain_text(re.compile(r"\(Korea time\)"))
    snap(student, "1-student-proposals-en")

    # The SME reads Korean; the student's bio is English.
    sme = new_page(locale="ko-KR", reduced_motion="reduce")
    log_in(sme, people["sme"], PASSWORD)
    sme.goto("/sme/candidates")
    bio = sme.locator(f"{match} p.bio[lang=en]")
    expect(bio).to_contain_text("I grew up in Hanoi")
    expect(bio.locator(".written-in")).to_have_text("(영어로 작성됨)")
    expect(sme.locator("[data-next-cycle]")).to_contain_text("(한국 시간)")
    snap(sme, "2-sme-candidates-ko")

    # The SME accepts, changes its mind (a decline with a reason), then undoes the decline.
    answer(sme, f'{match} button[name="decision"][value="accept"]')
    sme.locator(f"{match} [data-change-answer] summary").click()
    sme.select_option(f"{match} [data-change-answer] select[name=reason]", "schedule")
    answer(sme, f"{match} [data-change-answer] .decline-form button")
    expect(sme.locator("main .alert-success")).to_have_text("새 답변이 저장되었습니다.")
    undo = sme.locator('main table [data-change-answer] button:has-text("거절을 취소하고 수락")')
    expect(undo).to_have_count(1)
    snap(sme, "3-sme-declined")
    with sme.expect_navigation():
        undo.click()
    # Restored: proposed again, the SME's answer an acceptance, waiting for the student.
    expect(sme.locator(f"{match} [data-change-answer] summary")).to_be_visible()
    from app.extensions import db
    from app.models import Match

    with live_server_app.app_context():
        row = db.session.get(Match, people["match_id"])
        assert (row.status, row.sme_decision) == ("proposed", "accept")

    # The student declines, then takes it back from the same page.
    student.goto("/student/proposals")
    student.locator(f"{match} details.decline summary").first.click()
    student.select_option(f"{match} select[name=reason]", "other")
    answer(student, f"{match} .decline-form button")
    expect(student.locator(f"{match} .badge")).to_contain_text("Declined")
    answer(student, f'{match} [data-change-answer] button:has-text("Undo my decline and accept")')
    expect(student.locator(f"{match} .badge")).to_contain_text("Proposed")
    with live_server_app.app_context():
        row = db.session.get(Match, people["match_id"])
        assert (row.status, row.student_decision, row.sme_decision) == (
            "proposed",
            "accept",
            "accept",
        )
