"""The README's pictures, of what `bin/run` shows (the demo): the MS AAD page, the Company Directory and the phone
layout. `bin/screenshots` refreshes docs/*.png from here; a plain test run writes them under test-artifacts/."""
import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from directory.demo import DEMO_PASSWORD
from tests.browser.a11y import DESKTOP, PHONE, check_page
from tests.browser.conftest import screenshot
from tests.fakems.demo_fixtures import demo_microsoft, demo_mode  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.readme]


@pytest.fixture
def demo_signed_in(page, demo_mode, monkeypatch):
    monkeypatch.delenv("CM_PASSWORD", raising=False)
    call_command("demo", microsoft=str(demo_mode.demo_json))
    page.set_viewport_size(DESKTOP)
    page.goto("/login/")
    page.fill("input[name=username]", "rich@cm1-vertical")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/aad/")
    return page


def test_readme_pictures_of_the_demo(demo_signed_in):
    page = demo_signed_in
    expect(page.get_by_test_id("run-counts")).to_contain_text("created")
    check_page(page, "readme-ms-aad")
    screenshot(page, "ms-aad-page", readme=True)

    page.goto("/directory/")
    expect(page.get_by_test_id("directory").locator("tbody tr")).to_have_count(50)
    check_page(page, "readme-directory")
    page.get_by_role("searchbox", name="Search").fill("m")  # the README shows a search: names, addresses, scripts
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("directory-count")).to_contain_text("match")
    screenshot(page, "company-directory", readme=True, full_page=False)

    page.set_viewport_size(PHONE)  # rows become cards; the menu waits behind the Menu button
    check_page(page, "readme-phone")
    screenshot(page, "phone-layout", readme=True, full_page=False)
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("link", name="MS AAD")).to_be_visible()
    check_page(page, "readme-phone-menu")
