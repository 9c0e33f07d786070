"""The Learned weights page in a real browser, on a phone, in both languages: read, then adopt."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def trained_report(live_server_app: Any) -> Any:
    """A stored report learnt from simulated answers; any answer count is enough for this test."""
    from app.extensions import db
    from app.models import ModelReport
    from matching import learning
    from matching.synthetic import population

    sim = learning.simulate(*population(300, 150, seed=4), seed=4, n_cycles=3)
    report = learning.learn(sim.answers)
    saved = live_server_app.config["MODEL_MIN_DECISIONS"]
    live_server_app.config["MODEL_MIN_DECISIONS"] = 0
    with live_server_app.app_context():
        row = ModelReport(
            n_answers=report.n_answers,
            weights=report.suggested,
            current_weights=learning.sided_weights(None),
            better=report.better,
            report=report.to_dict(),
        )
        db.session.add(row)
        db.session.commit()
        report_id = row.id
    yield report_id
    live_server_app.config["MODEL_MIN_DECISIONS"] = saved
    with live_server_app.app_context():
        from app.models import MatchSettings

        settings = db.session.get(MatchSettings, 1)
        if settings is not None:  # other browser tests run cycles with the default weights
            settings.side_weights = None
            db.session.commit()


@pytest.mark.parametrize(
    ("lang", "locale", "adopt"),
    [("en", "en-US", "Adopt from the next cycle"), ("ko", "ko-KR", "다음 사이클부터 채택")],
)
def test_coordinator_reads_the_suggestion_on_a_phone_and_adopts_it(
    new_page: Any,
    snap: Any,
    coordinator: Any,
    trained_report: int,
    lang: str,
    locale: str,
    adopt: str,
) -> None:
    page: Page = new_page(locale=locale, viewport=PHONE)
    page.goto("/login")
    page.fill('[name="email"]', coordinator.email)
    page.fill('[name="password"]', coordinator.password)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    page.goto("/coordinator/learned-weights")
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    snap(page, f"learned-weights-{lang}")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths[0]} > {widths[1]}px"
    expect(page.locator("h1")).to_have_text("Learned weights" if lang == "en" else "학습된 가중치")
    expect(page.locator("text=ROC AUC").first).to_be_visible()
    button = page.get_by_role("button", name=adopt)
    expect(button).to_be_enabled()
    with page.expect_navigation():
        button.click()
    expect(page.locator(".alert-success, .alert.alert-success").first).to_be_visible()
    expect(page.get_by_role("button", name=adopt)).to_have_count(0)
    snap(page, f"adopted-{lang}")
