"""A manager signs in through the real login form in chromium and lands on the MS AAD page."""
from tests.conftest import PASSWORD


def test_manager_signs_in_and_lands_on_ms_aad(page, login_as, manager):
    login_as(manager, PASSWORD)
    assert page.url.endswith("/aad/")
    assert page.locator("h1").inner_text() == "MS AAD"
    assert page.get_by_text("Call Manager").get_attribute("aria-disabled") == "true"
