"""The Company Directory in chromium: search, Sync filter, sort, a typed-in entry, and the CSV download."""
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD
from tests.directory.factories import manual_contact, synced_contact

pytestmark = pytest.mark.django_db(transaction=True)


def test_manager_searches_filters_sorts_and_exports(page, login_as, manager, company):
    synced_contact(company, "Minsu", "Kim", office_phone="+82 2 555 0101")
    synced_contact(company, "Jane", "Doe", aad_state="disabled")
    synced_contact(company, "<b>Bold</b>", "Markup")
    manual_contact(company, "Hana", "Lee", email="hana@vertical.com")
    login_as(manager, PASSWORD)
    page.get_by_role("link", name="Company Directory").click()
    table = page.get_by_test_id("directory")
    expect(table.locator("tbody tr")).to_have_count(4)
    expect(table).to_contain_text("Disabled in AAD")
    expect(table).to_contain_text("<b>Bold</b>")
    screenshot(page, "company-directory")

    page.get_by_role("searchbox", name="Search").fill("+82 2")
    page.get_by_role("button", name="Search").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("Minsu")

    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Sync", exact=True).select_option("no")
    page.get_by_role("button", name="Search").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator("tbody tr").first.get_by_role("link", name="Edit")).to_be_visible()

    page.get_by_role("link", name="Clear").click()
    page.get_by_role("link", name="Last Name").click()  # already ascending: the click makes it descending
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Last Name")
    expect(table.locator("tbody tr").first).to_contain_text("Markup")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    path = download.value.path()
    text = Path(path).read_text(encoding="utf-8")
    assert text.splitlines()[0] == "first_name,last_name,email,office_phone,mobile_phone,user_principal_name,object_id,sync"
    assert "<b>Bold</b>,Markup" in text


def test_manager_adds_edits_and_deletes_a_typed_in_entry(page, login_as, manager, company):
    login_as(manager, PASSWORD)
    page.goto("/directory/")
    page.get_by_role("link", name="Add entry").click()
    page.get_by_label("E-mail").fill("not an e-mail")
    page.get_by_label("First name").fill("Hana")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#id_email_error")).to_be_visible()
    expect(page.get_by_label("First name")).to_have_value("Hana")
    page.get_by_label("E-mail").fill("hana@vertical.com")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("directory")).to_contain_text("hana@vertical.com")
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Last name").fill("Lee")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("directory")).to_contain_text("Lee")
    page.get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_test_id("directory")).to_contain_text("The directory is empty")
