"""A manager links their own AAD account on My Information."""
import pytest
from playwright.sync_api import expect

from directory.models import Person
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD
from tests.directory.factories import synced_contact

pytestmark = pytest.mark.django_db(transaction=True)


def test_manager_links_own_account_on_my_information(page, login_as, manager, company):
    mine = synced_contact(company, "Rich", "Kang", email="rich@vertical.com", upn="rich@vertical.onmicrosoft.com")
    login_as(manager, PASSWORD)
    page.get_by_role("link", name="My Information").click()
    expect(page.get_by_test_id("my-id")).to_have_text("rich@cm1-vertical")
    expect(page.get_by_test_id("my-aad")).to_have_text("-- Direct Input --")
    page.get_by_role("link", name="Modify").click()

    combo = page.get_by_role("combobox", name="AAID ID")
    expect(combo).to_have_value("-- Direct Input --")
    combo.fill("rich@vert")
    page.get_by_role("option", name="Rich Kang").click()
    email = page.locator("#id_email")
    expect(email).to_have_value("rich@vertical.com")
    expect(email).to_have_attribute("readonly", "")
    name = page.locator("#id_name")  # AAD wins: the manager's name becomes the account's, as every look-up keeps it
    expect(name).to_have_value("Rich Kang")
    expect(name).to_have_attribute("readonly", "")
    screenshot(page, "my-information-aad-picked")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("status").first).to_contain_text("My Information saved.")
    expect(page.get_by_test_id("my-aad")).to_have_text("rich@vertical.onmicrosoft.com")
    saved = Person.objects.get(pk=manager.pk)
    assert (saved.aad_contact, saved.display_name) == (mine, "Rich Kang")


def test_a_full_name_longer_than_24_characters_is_cut_and_said_so(page, login_as, manager, company):
    synced_contact(company, "Maximilian Alexander", "Wolfeschlegelsteinhausen", email="max@vertical.com",
                   upn="max@vertical.onmicrosoft.com")
    login_as(manager, PASSWORD)
    page.goto("/my-information/?mode=edit")
    page.get_by_role("combobox", name="AAID ID").fill("maxim")
    page.get_by_role("option", name="Maximilian Alexander").click()
    expect(page.locator("#id_name")).to_have_value("Maximilian Alexander Wol")  # 24 characters, trimmed
    expect(page.locator("#id_name_helptext")).to_have_text(
        "Cut to 24 characters from AAD's full name “Maximilian Alexander Wolfeschlegelsteinhausen”.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").first).to_contain_text("My Information saved.")
    expect(page.get_by_test_id("name-cut")).to_have_text(
        "(cut to 24 characters from AAD's full name “Maximilian Alexander Wolfeschlegelsteinhausen”)")
    expect(page.locator(".cm-truncated")).to_have_attribute("title", "Maximilian Alexander Wolfeschlegelsteinhausen")


def test_name_over_24_characters_is_refused_next_to_the_field(page, login_as, manager):
    login_as(manager, PASSWORD)
    page.goto("/my-information/?mode=edit")
    name = page.locator("#id_name")
    name.evaluate("field => field.removeAttribute('maxlength')")
    name.fill("x" * 25)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#id_name_error")).to_contain_text("at most 24 characters")
    expect(page.locator("#id_name")).to_have_value("x" * 25)
