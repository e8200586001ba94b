"""The MS AAD page in chromium: Modify, fill, Save, masked secret; Cancel changes nothing; bad input stays."""
import logging

import pytest

from aadsync.models import AadSettings
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD, SECRET

GUID_T = "43d42458-b9c9-4619-aa06-c8a1e2f3b4c5"
GUID_C = "c12be4c0-7943-4450-9b11-b35a1e2f3b4c"


@pytest.fixture(autouse=True)
def microsoft(fake_ms):
    """Save asks Microsoft first: the fake knows the tenant, app and secret these tests type."""
    return fake_ms.add_app(fake_ms.add_tenant(GUID_T), GUID_C, secret=SECRET)


def _fill_settings(page, tenant=GUID_T):
    page.get_by_label("Use", exact=True).check()
    page.fill("#id_tenant_id", tenant)
    page.fill("#id_client_id", GUID_C)
    page.fill("#id_secret", SECRET)
    page.select_option("#id_period", "weekly")
    page.select_option("#id_weekday", "4")
    page.select_option("#id_exec_hour", "2")
    page.select_option("#id_exec_minute", "30")
    page.select_option("#id_exec_second", "5")


def test_modify_save_shows_masked_secret_and_cancel_changes_nothing(page, login_as, manager, company, caplog):
    caplog.set_level(logging.DEBUG)
    login_as(manager, PASSWORD)
    assert page.locator("#id_tenant_id").count() == 0  # read-only until Modify
    page.get_by_role("link", name="Modify").click()
    page.wait_for_url("**/aad/?mode=edit")
    assert page.locator("#id_month_day").is_hidden()  # the day-of-month picker only for monthly
    _fill_settings(page)
    assert page.locator("#id_weekday").is_visible()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/aad/")
    assert "MS AAD settings saved" in page.locator("[role=status]").inner_text()
    assert page.get_by_test_id("tenant-id").inner_text().startswith(GUID_T)
    assert page.get_by_test_id("period").inner_text() == "Every week on Friday"
    assert page.get_by_test_id("exec-time").inner_text().startswith("Hour: 02, Min: 30, Sec: 05")
    assert "•" in page.get_by_test_id("secret").inner_text()
    screenshot(page, "ms-aad-page-saved")  # the README's picture is the demo's (test_readme_pictures.py)
    before = AadSettings.objects.values().get(company=company)

    page.get_by_role("link", name="Modify").click()
    page.wait_for_url("**/aad/?mode=edit")
    assert page.input_value("#id_secret") == ""  # never sent back to the browser
    page.fill("#id_tenant_id", "11111111-1111-1111-1111-111111111111")
    page.select_option("#id_exec_hour", "9")
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url("**/aad/")
    assert page.get_by_test_id("tenant-id").inner_text().startswith(GUID_T)
    assert AadSettings.objects.values().get(company=company) == before

    for html in page.seen_html:
        assert SECRET not in html
    assert SECRET not in caplog.text


def test_bad_tenant_id_shows_message_next_to_field_and_keeps_what_was_typed(page, login_as, manager, company):
    login_as(manager, PASSWORD)
    page.get_by_role("link", name="Modify").click()
    page.wait_for_url("**/aad/?mode=edit")
    _fill_settings(page, tenant="43d42458-b9c9-4619-aa06-c8")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    error = page.locator("#id_tenant_id ~ .invalid-feedback, #id_tenant_id + .invalid-feedback, #error_1_id_tenant_id")
    assert "Tenant ID must be a GUID" in error.first.inner_text()
    assert page.input_value("#id_tenant_id") == "43d42458-b9c9-4619-aa06-c8"
    assert page.input_value("#id_client_id") == GUID_C
    assert page.input_value("#id_exec_minute") == "30"
    assert page.input_value("#id_weekday") == "4"
    assert page.locator("#id_weekday").is_visible()
    screenshot(page, "ms-aad-bad-tenant")
    assert not AadSettings.objects.get(company=company).use_lookup
    for html in page.seen_html:
        assert SECRET not in html
