"""An SME with many candidates, in a real browser with JavaScript turned off (issue 13, item 8).

Filters and sorting are a plain GET form (the query string is the state), a shortlist badge is
gone once the SME has answered, and a CV downloads under the student's name (RFC 5987
`filename*` for a name in Hangul). Once in English on a desktop, once in Korean on a phone.

The SME and its candidates are made through the services (signing up and the cycle are other
tests' subject); everything after that happens on the page.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_journey import PHONE, business_number, catalogue, log_in, submit

pytestmark = pytest.mark.browser

PASSWORD = "a long enough passphrase"
REASONS = [{"factor": "market", "key": "market.home", "params": {"market": "VN"}, "weight": 0.4}]
# name, nationality, language, TOPIK, region, score, has a CV
CANDIDATES = [
    ("An Vo", "VN", "vi", 5, "seoul", 0.91, True),
    ("Bao Tran", "VN", "vi", 2, "busan", 0.88, False),
    ("Chai Somchai", "TH", "th", 4, "seoul", 0.86, False),
    ("Dao Linh", "VN", "vi", 4, "seoul", 0.80, False),
    ("Emma Nguyen", "US", "en", 1, "gyeonggi", 0.75, False),
    ("김민지", "CN", "zh", 6, "seoul", 0.70, True),
    ("Farida Karimova", "UZ", "uz", 3, "busan", 0.65, False),
    ("Gan Bat", "MN", "mn", 0, "jeju", 0.60, False),
]


def candidates_of_one_sme(app: Any, tag: str, lang: str) -> dict[str, Any]:
    from app.extensions import db
    from app.models import Match, MatchStatus, utcnow
    from app.services import accounts, uploads, verification

    consent = {"collection": True, "provision_to_smes": True}
    with app.app_context():
        sme = accounts.register_sme(
            {
                "email": f"sme-{tag}@example.org",
                "password": PASSWORD,
                "contact_name": "김민준",
                "company_name": f"한빛 {tag}",
                "business_number": business_number(),
                "industries": ["cosmetics"],
                "products": "선크림",
                "markets": ["VN", "TH"],
                "region": "seoul",
                "capacity": 5,
                "consent": consent,
            },
            locale=lang,
        )
        verification.mark_verified(sme)
        ids: dict[str, int] = {}
        now = utcnow()
        for i, (name, country, language, topik, region, score, cv) in enumerate(CANDIDATES):
            user = accounts.register_student(
                {
                    "email": f"s{i}-{tag}@example.org",
                    "password": PASSWORD,
                    "name": name,
                    "nationality": country,
                    "languages": [{"code": language, "level": "native"}],
                    "topik_level": topik,
                    "university": "Pusan National University",
                    "major": "Trade",
                    "markets": [country],
                    "industries": ["cosmetics"],
                    "regions": [region],
                    "hours_per_week": 10,
                    "visa": "d2",
                    "consent": consent,
                }
            )
            verification.mark_verified(user)
            if cv:
                uploads.save_cv(user.student, io.BytesIO(b"%PDF-1.4 a CV\n%%EOF"))
                db.session.commit()  # publishes the CV
            match = Match(
                student_id=user.student.id,
                sme_id=sme.sme.id,
                status=MatchStatus.PROPOSED,
                score=score,
                student_view=score,
                sme_view=score,
                reasons=REASONS,
                proposed_by="coordinator",
                created_at=now - timedelta(hours=i),  # An Vo is the newest
            )
            db.session.add(match)
            db.session.flush()
            ids[name] = match.id
        db.session.commit()
        return {"email": sme.email, "matches": ids}


def names(page: Page) -> list[str]:
    """The candidates waiting for an answer, as the page lists them."""
    return [
        text.strip()
        for text in page.locator("#waiting-list article.candidate h3").evaluate_all(
            "cards => cards.map(c => c.firstChild.textContent)"
        )
    ]


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


@pytest.mark.parametrize(
    ("lang", "viewport"),
    [pytest.param("en", None, id="en-desktop"), pytest.param("ko", PHONE, id="ko-phone")],
)
@pytest.mark.usefixtures("korean_catalogue")
def test_filters_sort_shortlist_and_cv_name_without_javascript(
    lang: str,
    viewport: dict[str, int] | None,
    new_page: Callable[..., Page],
    snap: Callable[..., Path],
    live_server_app: Any,
) -> None:
    t = catalogue(lang).gettext
    tag = uuid.uuid4().hex[:8]
    sme = candidates_of_one_sme(live_server_app, tag, lang)
    ids = sme["matches"]
    page = new_page(
        locale={"en": "en-US", "ko": "ko-KR"}[lang],
        viewport=viewport,
        java_script_enabled=False,  # the filters are a plain form
        accept_downloads=True,
    )
    log_in(page, sme["email"], PASSWORD)
    page.goto("/sme/candidates")

    # Eight candidates: more than a handful, so the filters are offered, best fit first.
    bar = page.locator("form.candidate-filters")
    expect(bar).to_be_visible()
    expect(bar.get_by_label(t("Speaks"))).to_be_visible()
    assert names(page) == [c[0] for c in CANDIDATES]
    snap(page, "01-all")

    # Vietnamese speakers with TOPIK 4 or more: the query string carries the filters.
    bar.get_by_label(t("Speaks")).select_option("vi")
    bar.get_by_label(t("TOPIK at least")).select_option("4")
    with page.expect_navigation():
        bar.get_by_role("button", name=t("Show candidates")).click()
    assert query(page)["language"] == ["vi"] and query(page)["topik"] == ["4"]
    assert names(page) == ["An Vo", "Dao Linh"]
    expect(bar.get_by_label(t("Speaks"))).to_have_value("vi")  # the form shows what is chosen
    snap(page, "02-filtered")

    # Sorted by name, in a region; then by TOPIK.
    page.goto("/sme/candidates?region=seoul&sort=name")
    assert names(page) == ["An Vo", "Chai Somchai", "Dao Linh", "김민지"]
    page.goto("/sme/candidates?sort=topik&market=VN")
    assert names(page) == ["An Vo", "Dao Linh", "Bao Tran"]

    # Shortlist Dao Linh from a filtered list: back to the same filters, with the badge.
    page.goto("/sme/candidates?language=vi&topik=4")
    dao = page.locator(f"#match-{ids['Dao Linh']}")
    submit(page, f"#match-{ids['Dao Linh']} form[action*='/shortlist'] button")
    assert query(page)["language"] == ["vi"]
    expect(dao.locator(".badge", has_text=t("Shortlisted"))).to_be_visible()
    page.goto("/sme/candidates?shortlisted=1")
    assert names(page) == ["Dao Linh"]

    # Accepting Dao Linh clears the badge: the shortlist is for deciding.
    submit(page, f"#match-{ids['Dao Linh']} button[name=decision][value=accept]")
    page.goto("/sme/candidates")
    expect(dao).to_be_visible()  # now under "You accepted"
    assert "Dao Linh" not in names(page)
    expect(dao.locator(".badge", has_text=t("Shortlisted"))).to_have_count(0)
    snap(page, "03-accepted")

    # The CVs download under the students' names (filename* for the Hangul one).
    for name in ("An Vo", "김민지"):
        link = page.locator(f"#match-{ids[name]} a[href$='/cv']")
        with page.expect_download() as download:
            link.click()
        assert download.value.suggested_filename == f"{name} - CV.pdf"
    header = page.request.get(f"/sme/candidates/{ids['김민지']}/cv").headers["content-disposition"]
    assert 'filename="cv-' in header  # an ASCII name for old clients
    assert "filename*=UTF-8''%EA%B9%80%EB%AF%BC%EC%A7%80%20-%20CV.pdf" in header

    # A filter that is not a code: 400, said in words, the list unfiltered.
    response = page.goto("/sme/candidates?language=klingon&topik=9")
    assert response is not None and response.status == 400
    expect(page.locator("form.candidate-filters .alert-danger")).to_contain_text(t("Speaks"))
    assert len(names(page)) == len(CANDIDATES) - 1
    if viewport:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"the page scrolls sideways ({width}px)"
    assert re.search(r"/sme/candidates", page.url)
