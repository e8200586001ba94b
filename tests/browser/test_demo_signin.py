"""bin/run's demo in chromium: the login page names the demo sign-in, Sign in with Microsoft goes through the demo
Microsoft's account picker (plain http on loopback: no certificate warning, allowed by the page's CSP) and lands
on the MS AAD page, which says Demo mode."""
import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from tests.browser.a11y import PHONE, check_page
from tests.fakems.demo_fixtures import demo_microsoft, demo_mode  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_manager_signs_in_with_microsoft_in_one_pass(page, demo_mode):
    call_command("demo", microsoft=str(demo_mode.demo_json))
    account = demo_mode.demo["manager_account"]
    page.goto("/login/")
    expect(page.get_by_test_id("demo-banner")).to_contain_text(account)
    check_page(page, "login-demo")
    page.fill("#id_login_hint", "cm1-vertical")
    page.get_by_role("button", name="Sign in with Microsoft").click()
    page.get_by_role("link", name=account).click()
    page.wait_for_url("**/aad/")
    expect(page.get_by_test_id("who")).to_contain_text("rich@cm1-vertical")
    expect(page.get_by_test_id("demo-banner")).to_contain_text("offline demo Microsoft")
    check_page(page, "ms-aad-demo")
    page.set_viewport_size(PHONE)
    check_page(page, "ms-aad-demo-phone")
