"""Accessibility: axe-core on every page, for each role, in both languages, on desktop and phone.

The pages come from the app's own URL map, so a page someone adds is checked without touching
this file: every GET route is requested as each role (anonymous, student, SME, coordinator) with
its parameters filled from seeded demo data; whatever answers an HTML page for a role is loaded in
Chromium and checked with axe-core (vendored in app/static/vendor/, injected from the file; the
pages never load it). A route that answers no HTML page for any role, or whose URL cannot be
built, fails `test_every_get_route_is_checked_or_excluded` unless `EXCLUDED` names it with a
reason (downloads, JSON).

The pass has its own seeded app server (demo data: the printed demo student and SME work together
on an active match, and there is a match at every stage of a pair's life), one Chromium, and one
browser context per role, language and screen; each role logs in once per language.

Target: no `critical` and no `serious` violation anywhere. A failure lists every one of them,
with the page, the rule and the elements.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import DEFAULT_VIEWPORT

pytestmark = pytest.mark.browser

AXE_JS = Path(__file__).resolve().parents[2] / "app" / "static" / "vendor" / "axe.min.js"
ROLES = ("anonymous", "student", "sme", "coordinator")
VIEWPORTS = {"desktop": DEFAULT_VIEWPORT, "phone": {"width": 390, "height": 844}}
LOCALES = {"en": "en-US", "ko": "ko-KR"}
# All pairs, not all triples: every role is checked in both languages and on both viewports, and
# every language on both viewports, in 8 runs instead of 16 (each run is ~290 axe passes over
# every page). A violation that needs one exact role + language + viewport triple to appear would
# slip through; the ones found so far (contrast, headings, scrollable regions) needed at most two.
COMBINATIONS = [
    (role, lang, viewport)
    for index, role in enumerate(ROLES)
    for lang, viewport in (
        (("en", "desktop"), ("ko", "phone"))
        if index % 2 == 0
        else (("ko", "desktop"), ("en", "phone"))
    )
]
FAILING_IMPACTS = ("critical", "serious")

# GET routes that are not pages, each with the reason. Anything else must answer an HTML page
# to at least one role.
EXCLUDED_BLUEPRINTS = {
    "api": "the JSON API (tests/api checks it against its OpenAPI description)",
}
EXCLUDED = {
    "static": "files: styles, scripts, images",
    "main.healthz": "JSON for load balancers",
    "main.favicon": "an image: the site icon at /favicon.ico",
    "main.dashboard": "a redirect to each role's home page (checked)",
    "auth.download_data": "a download: the person's data as JSON",
    "coordinators.export_csv": "a download: CSV",
    "coordinators.targets_csv": "a download: CSV",
    "coordinators.import_template": "a download: the SME import template (CSV)",
    "coordinators.stats_json": "JSON behind the dashboard's charts",
    "coordinators.student_cv": "a download: the student's CV (PDF)",
    "smes.candidate_cv": "a download: the candidate's CV (PDF)",
    "students.download_cv": "a download: the student's own CV (PDF)",
    "matches.kickoff_ics": "a download: the kickoff meeting as iCalendar",
    "matches.activity_file": "a download: a work-log attachment (PDF)",
    "matches.message_file": "a download: a message attachment (PDF)",
}

# Pages no route of the URL map reaches by a plain GET as that role.
ERROR_PAGES = {
    "404 page": ("/this-page-does-not-exist", ROLES),
    "403 page": ("/coordinator/", ("student", "sme")),
}


@dataclass(frozen=True)
class Check:
    """One page to check: its URL, and whether to send its form empty first (the errors)."""

    name: str
    url: str
    submit: bool = False


@dataclass
class Site:
    """The seeded server the pass runs against, and what the pass learnt about it."""

    app: Any
    base_url: str
    logins: dict[str, tuple[str, str]]  # role -> (email, password)
    arguments: dict[str, Any]  # URL argument name -> a value from the seeded data
    states: dict[tuple[str, str], Any] = field(default_factory=dict)  # (role, lang) -> cookies
    pages: dict[str, list[Check]] = field(default_factory=dict)  # role -> what to check
    misses: dict[str, list[str]] = field(default_factory=dict)  # endpoint -> why not checked


def _seed(app: Any) -> tuple[dict[str, tuple[str, str]], dict[str, Any]]:
    """Demo data, plus one value for each kind of URL argument (the demo pair's active match)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import SME, Match, Student, User
    from app.services import demo

    with app.app_context():
        result = demo.seed(students=24, smes=16, seed=13, journey=True)
        db.session.commit()
        logins = {role: (email, password) for role, email, password in result.logins}
        student = db.session.scalar(
            select(Student).join(User).where(User.email == logins["student"][0])
        )
        sme = db.session.scalar(select(SME).join(User).where(User.email == logins["sme"][0]))
        assert student is not None and sme is not None
        match_id = db.session.scalar(
            select(Match.id).where(Match.student_id == student.id, Match.sme_id == sme.id)
        )
        assert match_id is not None, "the demo data lost its active match"
        arguments = {
            "match_id": match_id,
            "student_id": student.id,
            "sme_id": sme.id,
            # Links from emails: the pages must answer (and explain) a stale or wrong token too.
            "token": "a-token-from-an-email",
        }
    return logins, arguments


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A migrated, seeded app on its own SQLite file and port, for this module only."""
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from app import create_app
    from app.extensions import db

    tmp = tmp_path_factory.mktemp("axe")
    (tmp / "uploads").mkdir()
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/axe.sqlite3",
            "UPLOAD_DIR": str(tmp / "uploads"),
            "WTF_CSRF_ENABLED": True,
        }
    )
    with app.app_context():
        upgrade()
    logins, arguments = _seed(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="axe-server", daemon=True)
    thread.start()
    try:
        yield Site(app, f"http://127.0.0.1:{server.server_port}", logins, arguments)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


def _context(browser: Any, site: Site, role: str, lang: str, viewport: dict[str, int]) -> Any:
    """A context logged in as `role` (once per role and language) reading `lang`.

    The language is the header switch's (a logged-in person's account language would win over
    Accept-Language); `bypass_csp` lets axe be injected into pages whose policy forbids inline
    scripts.
    """
    options = {
        "base_url": site.base_url,
        "locale": LOCALES[lang],
        "viewport": viewport,
        "bypass_csp": True,
    }
    state = site.states.get((role, lang))
    if state is None and role != "anonymous":
        context = browser.new_context(**{**options, "viewport": DEFAULT_VIEWPORT})
        page = context.new_page()
        email, password = site.logins[role]
        page.goto("/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", password)
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        assert "/login" not in page.url, f"{role} could not log in"
        with page.expect_navigation():
            page.click(f"form[action$='/language'] button[value={lang}]")
        state = site.states[(role, lang)] = context.storage_state()
        context.close()
    context = browser.new_context(**options, storage_state=state)
    context.set_default_timeout(15_000)
    return context


def _page_urls(site: Site) -> dict[str, str | None]:
    """Every GET endpoint not excluded -> its URL with arguments filled (None: cannot be built)."""
    from flask import url_for

    urls: dict[str, str | None] = {}
    with site.app.test_request_context():
        for rule in site.app.url_map.iter_rules():
            endpoint = rule.endpoint
            if "GET" not in (rule.methods or ()) or endpoint in EXCLUDED:
                continue
            if endpoint.split(".")[0] in EXCLUDED_BLUEPRINTS:
                continue
            unknown = sorted(set(rule.arguments) - set(site.arguments))
            if unknown:
                urls[endpoint] = None
                site.misses.setdefault(endpoint, []).append(
                    f"no seeded value for the URL argument(s) {', '.join(unknown)} "
                    "(add one to _seed's `arguments`)"
                )
                continue
            values = {name: site.arguments[name] for name in rule.arguments}
            urls[endpoint] = url_for(endpoint, **values)
    return urls


def _discover(browser: Any, site: Site, role: str) -> list[Check]:
    """The pages `role` gets: each route that answers it 200 with HTML, plus the error pages.

    Anonymous forms (log in, sign up, password) are also checked as they come back after being
    sent empty: error messages are where forms most often fail people using a screen reader.
    Only anonymous ones: a logged-in person's forms change the data the other checks read."""
    if role in site.pages:
        return site.pages[role]
    context = _context(browser, site, role, "en", DEFAULT_VIEWPORT)
    pages: list[Check] = []
    try:
        for endpoint, url in sorted(_page_urls(site).items()):
            if url is None:
                continue
            response = context.request.get(url, max_redirects=0)
            kind = response.headers.get("content-type", "")
            assert response.status < 500, f"{role}: GET {url} answered {response.status}"
            if response.status == 200 and kind.startswith("text/html"):
                pages.append(Check(endpoint, url))
                main = response.text().partition("<main")[2]
                if role == "anonymous" and re.search(r"<form[^>]*method=.post", main):
                    pages.append(Check(f"{endpoint}, sent empty", url, submit=True))
            elif response.status == 200:
                site.misses.setdefault(endpoint, []).append(
                    f"answers {kind} (a download? then add it to EXCLUDED with the reason)"
                )
            else:
                site.misses.setdefault(endpoint, []).append(f"{role}: {response.status}")
    finally:
        context.close()
    for name, (url, roles) in ERROR_PAGES.items():
        if role in roles:
            pages.append(Check(name, url))
    site.pages[role] = pages
    return pages


# axe runs in the page while the next page loads in another tab: the server renders one page while
# Chromium checks another, which keeps the pass within its time budget on two cores.
AXE_START = """() => {
  window.__axe = axe.run(document, {resultTypes: ["violations"]}).then(result =>
    result.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5),
    })));
}"""
AXE_RESULT = "() => window.__axe"
TABS = 2


def _check(context: Any, pages: list[Check]) -> list[str]:
    """Every page through axe, in TABS tabs at once; each critical or serious violation worded."""
    queue = list(pages)
    running: list[tuple[Any, Check]] = []
    found: list[str] = []

    def start(tab: Any) -> None:
        check = queue.pop(0)
        tab.goto(check.url, wait_until="load")
        buttons = tab.locator("main form[method=post] [type=submit]:visible")
        if check.submit and buttons.count():
            try:
                with tab.expect_navigation(timeout=5_000) as navigation:
                    buttons.first.click()
                answer = navigation.value
                assert answer is None or answer.status < 500, f"{check.url}: {answer.status}"
            except PlaywrightTimeout:
                pass  # a form in steps checks a step in the page: its errors are shown there
        tab.add_script_tag(path=str(AXE_JS))
        tab.evaluate(AXE_START)
        running.append((tab, check))

    for tab in [context.new_page() for _ in range(min(TABS, len(queue)))]:
        start(tab)
    while running:
        tab, check = running.pop(0)
        for v in tab.evaluate(AXE_RESULT):
            if v["impact"] in FAILING_IMPACTS:
                found.append(
                    f"{check.url} ({check.name}): {v['impact']} {v['id']}: {v['help']}\n"
                    + "".join(f"    {target}\n" for target in v["nodes"])
                )
        if queue:
            start(tab)
    return found


@pytest.mark.parametrize(("role", "lang", "viewport"), COMBINATIONS)
def test_no_serious_axe_violations(
    browser: Any, site: Site, role: str, lang: str, viewport: str
) -> None:
    """Every page this role can open: no critical or serious axe-core violation."""
    pages = _discover(browser, site, role)
    assert pages, f"{role} got no page at all"
    context = _context(browser, site, role, lang, VIEWPORTS[viewport])
    try:
        found = _check(context, pages)
    finally:
        context.close()
    assert not found, f"{role}, {lang}, {viewport}: {len(found)} violation(s)\n" + "".join(found)


def test_every_get_route_is_checked_or_excluded(browser: Any, site: Site) -> None:
    """A GET route that is no page for any role must be in EXCLUDED, with the reason."""
    checked = {check.name for role in ROLES for check in _discover(browser, site, role)}
    urls = _page_urls(site)
    unchecked = sorted(set(urls) - checked)
    assert not unchecked, "GET routes neither checked by axe nor excluded:\n" + "\n".join(
        f"  {endpoint}: {'; '.join(dict.fromkeys(site.misses.get(endpoint, [])))}"
        for endpoint in unchecked
    )
    endpoints = {rule.endpoint for rule in site.app.url_map.iter_rules()}
    stale = sorted(set(EXCLUDED) - endpoints)
    assert not stale, f"EXCLUDED names routes that no longer exist: {stale}"
