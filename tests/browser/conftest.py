"""Browser tests: the real app on a real port, driven by Debian's Chromium through Playwright.

The app runs with CSRF on (it is the real thing in the browser) on a SQLite file of its own, one
server per session: tests share the database, so each one signs up with its own email address.
These tests never use the `app` fixture of tests/conftest.py (that one is parametrized over
SQLite and PostgreSQL; the browser only needs one).

Chromium is Debian's (`/usr/bin/chromium`, or `CHROMIUM_PATH`); `playwright install` is never
needed. Without Chromium the tests skip, except in CI (`CI=true`), where they fail.

Every test gets a fresh browser context (no cookies carried over). `snap(page, "step")` saves a
full-page screenshot as `test-artifacts/<test>-<step>.png`; a failing test also leaves
`<test>-failure.png`. Any 5xx answer or uncaught JavaScript error fails the test.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEFAULT_VIEWPORT = {"width": 1280, "height": 900}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/browser is a browser test, marked or not (`-m "not browser"`)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item, so the `page` fixture knows whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


# --- the server ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def live_server_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The Flask app the live server runs, migrated; for setting up what no page can create.

    `with live_server_app.app_context(): ...; db.session.commit()` writes to the same SQLite file
    the server reads (a coordinator account, say: there is no sign-up for coordinators).
    """
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    tmp = tmp_path_factory.mktemp("browser")
    uploads = tmp / "uploads"
    uploads.mkdir()
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/browser.sqlite3",
            "UPLOAD_DIR": str(uploads),
            "WTF_CSRF_ENABLED": True,
        }
    )
    with app.app_context():
        upgrade()
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(live_server_app: Any) -> Iterator[str]:
    """The app on 127.0.0.1 at a free port, in a daemon thread; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, live_server_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the live server thread did not stop"


@dataclass(frozen=True)
class Login:
    email: str
    password: str


@pytest.fixture
def coordinator(live_server_app: Any) -> Login:
    """A fresh coordinator account (email and password), made through the app's own service."""
    from app.extensions import db
    from app.services import accounts

    login = Login(f"coordinator-{uuid.uuid4().hex[:10]}@example.org", "a coordinator passphrase")
    with live_server_app.app_context():
        accounts.create_coordinator(login.email, login.password)
        db.session.commit()
    return login


# --- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, for the whole session."""
    if not Path(CHROMIUM_PATH).is_file():
        message = f"Chromium not found at {CHROMIUM_PATH} (set CHROMIUM_PATH)"
        if IN_CI:
            pytest.fail(f"CI=true but {message}: browser tests cannot run")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@dataclass
class PageProblems:
    """What went wrong in the browser while a test ran, beyond its own assertions."""

    server_errors: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        page.on("response", self._on_response)
        page.on("pageerror", lambda error: self.script_errors.append(str(error)))
        page.on("console", self._on_console)

    def _on_response(self, response: Any) -> None:
        if response.status >= 500:
            self.server_errors.append(f"{response.status} {response.url}")

    def _on_console(self, message: Any) -> None:
        # A script or style blocked by the Content-Security-Policy breaks the page silently.
        if message.type == "error" and "Content Security Policy" in message.text:
            self.script_errors.append(message.text)

    def report(self) -> str:
        lines = [f"server error: {e}" for e in self.server_errors]
        lines += [f"script error: {e}" for e in self.script_errors]
        return "\n".join(lines)


def _test_name(node: pytest.Item) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", node.name).strip("_")


@pytest.fixture
def new_page(
    browser: Any, live_server: str, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Any]]:
    """A factory: `new_page(locale="ko-KR", viewport={"width": 390, "height": 844})`.

    Each call opens a fresh browser context (its own cookies) whose relative URLs go to the live
    server. All of them are closed, and screenshotted on failure, when the test ends.
    """
    name = _test_name(request.node)
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob(f"{name}-*.png"):
        old.unlink()
    opened: list[tuple[Any, Any]] = []
    problems = PageProblems()

    def make(locale: str = "en-US", viewport: dict[str, int] | None = None, **options: Any) -> Any:
        context = browser.new_context(
            base_url=live_server,
            locale=locale,
            viewport=viewport or DEFAULT_VIEWPORT,
            **options,
        )
        context.set_default_timeout(10_000)
        page = context.new_page()
        problems.watch(page)
        opened.append((context, page))
        return page

    yield make

    report = getattr(request.node, "report_call", None)
    failed = report is None or report.failed
    for index, (context, page) in enumerate(opened):
        if failed and not page.is_closed():
            suffix = "" if len(opened) == 1 else f"-{index + 1}"
            try:
                page.screenshot(path=str(ARTIFACTS / f"{name}-failure{suffix}.png"), full_page=True)
            except Exception as error:  # noqa: BLE001 - a screenshot must not hide the failure
                print(f"could not save the failure screenshot: {error}")  # noqa: T201
        context.close()
    if problems.report():
        pytest.fail(f"the browser saw problems:\n{problems.report()}")


@pytest.fixture
def page(new_page: Callable[..., Any], request: pytest.FixtureRequest) -> Any:
    """A page in a fresh context: 1280x900, English unless parametrized indirectly.

    `@pytest.mark.parametrize("page", [{"locale": "ko-KR"}], indirect=True)` sets the context's
    locale (and so Accept-Language), viewport or any other `browser.new_context` option.
    """
    options = dict(getattr(request, "param", None) or {})
    return new_page(**options)


@pytest.fixture(scope="session")
def korean_catalogue() -> Path:
    """The compiled Korean catalogue, built by `make` (pybabel compile) and never committed."""
    root = Path(__file__).resolve().parents[2] / "translations" / "ko" / "LC_MESSAGES"
    po, mo = root / "messages.po", root / "messages.mo"
    if not po.is_file():
        pytest.fail(f"{po} is missing: there is no Korean translation")
    if not mo.is_file() or mo.stat().st_mtime < po.stat().st_mtime:
        pytest.fail(f"{mo} is missing or older than messages.po: run `make translations`")
    return mo


@pytest.fixture
def snap(request: pytest.FixtureRequest) -> Callable[..., Path]:
    """`snap(page, "step")` saves the whole page as test-artifacts/<test>-<step>.png.

    `snap(page, "step", full_page=False)` saves only what the viewport shows (a menu, a dialog).
    """
    name = _test_name(request.node)

    def take(page: Any, step: str, *, full_page: bool = True) -> Path:
        path = ARTIFACTS / f"{name}-{step}.png"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


# --- sign-up steps -------------------------------------------------------------------------------


def pick(page: Page, name: str, code: str) -> None:
    """The searchable picker (a combobox over the <select multiple>): type the code, Enter."""
    box = page.locator(f'[data-picker]:has([name="{name}"]) [role=combobox]')
    box.fill(code)
    box.press("Enter")
    chip = page.locator(f'[data-picker]:has([name="{name}"]) .picker-chip[data-value="{code}"]')
    expect(chip).to_be_visible()
    box.fill("")


def next_step(page: Page, n: int) -> None:
    """Press Next on step n-1 of a sign-up; the server checks it and the page shows step n."""
    page.locator(f'[data-step="{n - 1}"] [data-step-next]').click()
    expect(page.locator(f'[data-step="{n}"]')).to_be_visible()
    expect(page.locator(f'[data-step="{n - 1}"]')).to_be_hidden()
    expect(page.locator(f'[data-progress="{n}"]')).to_have_attribute("aria-current", "step")
