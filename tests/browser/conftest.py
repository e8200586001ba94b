"""Playwright against Debian's chromium (never a downloaded browser) and pytest-django's live_server."""
import contextlib
import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    # ignore_https_errors: the fake Microsoft's throwaway CA (loopback only) is not in chromium's trust store.
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, ignore_https_errors=True
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.seen_html = []  # every page's HTML, for "the secret never shows" assertions

    def keep_html(loaded):
        with contextlib.suppress(PlaywrightError):  # the page closed or navigated on before it could be read
            page.seen_html.append(loaded.content())

    page.on("load", keep_html)
    csp_violations = []
    page.on("console", lambda msg: csp_violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    yield page
    context.close()
    assert not csp_violations, f"The page broke its Content-Security-Policy: {csp_violations}"


@pytest.fixture
def login_as(page):
    """Sign in through the real login form (CM portal for managers, /cu/login/ for users)."""

    def login(person, password, portal="/login/"):
        page.goto(portal)
        page.fill("input[name=username]", person.username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        return page

    return login


# `bin/screenshots` sets this to docs/: only then are the README's pictures refreshed. A plain test run writes
# its screenshots under test-artifacts/ (ignored) and never changes a tracked file.
README_PICTURES = os.environ.get("CMPORTAL_README_PICTURES", "")


def screenshot(page, name: str, *, readme: bool = False, full_page: bool = True) -> Path:
    """Save a screenshot (the whole page, or with `full_page=False` what the window shows) under test-artifacts/;
    with `readme`, also as the README picture of that name when bin/screenshots asked for them."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if readme and README_PICTURES:
        Path(README_PICTURES).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(README_PICTURES) / f"{name}.png")
    return path
