"""A manager creates a user by picking an AAD account from the AAID ID dropdown (fields fill and lock)."""
import pytest
from playwright.sync_api import expect

from directory.models import Person
from directory.services import person_link_aad
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD
from tests.directory.factories import synced_contact

pytestmark = pytest.mark.django_db(transaction=True)


def test_create_user_by_picking_an_aad_account(page, login_as, manager, company):
    account = synced_contact(company, "Minsu", "Kim", email="minsu.kim@vertical.com",
                             upn="minsu.kim@vertical.onmicrosoft.com")
    synced_contact(company, "Minji", "Park")
    taken = synced_contact(company, "Mina", "Taken")
    person_link_aad(person=manager, contact=taken)
    login_as(manager, PASSWORD)
    page.get_by_role("link", name="User").click()
    page.get_by_role("link", name="Add user").click()

    combo = page.get_by_role("combobox", name="AAID ID")
    expect(combo).to_have_value("-- Direct Input --")
    expect(page.get_by_test_id("login-suffix")).to_have_text("@cm1-vertical")
    page.get_by_label("Extension").fill("27728")
    page.get_by_label("First name").fill("typed")
    page.get_by_label("Portal ID").fill("27728")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_label("Confirm Password").fill(PASSWORD)
    page.get_by_label("Single site group members").check()
    page.get_by_label("Package").select_option("basic")
    page.get_by_label("User Type").select_option("normal")

    combo.fill("min")
    listbox = page.get_by_role("listbox", name="AAD accounts")
    expect(listbox).to_be_visible()
    expect(combo).to_have_attribute("aria-expanded", "true")
    options = listbox.get_by_role("option")
    expect(options).to_have_count(4)  # Direct Input, Minsu Kim, Minji Park, and the linked Mina: shown, disabled
    expect(options.first).to_have_text("-- Direct Input --")
    taken_option = listbox.get_by_role("option", name="Mina Taken")
    expect(taken_option).to_have_attribute("aria-disabled", "true")
    expect(taken_option).to_contain_text("linked to manager rich")
    taken_option.click(force=True)  # cannot be picked (Playwright sees it disabled): the list stays open
    expect(combo).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_label("First name")).to_have_value("typed")
    combo.press("ArrowUp")  # from Minsu Kim to Direct Input...
    combo.press("ArrowUp")  # ...and round to the last option that can be picked, past the disabled Mina
    expect(listbox.get_by_role("option", name="Minji Park")).to_have_attribute("aria-selected", "true")
    expect(taken_option).to_have_attribute("aria-selected", "false")
    listbox.get_by_role("option", name="Minsu Kim").click()

    first, last, email = page.get_by_label("First name"), page.get_by_label("Last name"), page.get_by_label("E-mail")
    expect(first).to_have_value("Minsu")
    expect(last).to_have_value("Kim")
    expect(email).to_have_value("minsu.kim@vertical.com")
    for field in (first, last, email):
        expect(field).to_have_attribute("readonly", "")
    expect(combo).to_have_value("Minsu Kim (minsu.kim@vertical.onmicrosoft.com)")
    screenshot(page, "user-form-aad-picked")

    # Back to Direct Input unlocks the fields (with the keyboard this time).
    combo.focus()
    combo.press("ArrowDown")
    expect(listbox).to_be_visible()
    expect(listbox.get_by_role("option", name="Minsu Kim")).to_have_attribute("aria-selected", "true")
    combo.press("ArrowUp")
    expect(listbox.get_by_role("option").first).to_have_attribute("aria-selected", "true")
    expect(combo).to_have_attribute("aria-activedescendant", "aad-picker-list-0-0")
    combo.press("Enter")
    expect(combo).to_have_value("-- Direct Input --")
    expect(first).not_to_have_attribute("readonly", "")
    first.fill("Changed")
    expect(first).to_have_value("Changed")

    # And pick the account again, by keyboard: type, arrow to it, Enter.
    combo.fill("kim")
    expect(listbox.get_by_role("option")).to_have_count(2)
    combo.press("Enter")
    expect(first).to_have_value("Minsu")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("status").first).to_contain_text("Created user 27728@cm1-vertical")
    person = Person.objects.get(company=company, login="27728")
    assert person.aad_contact == account
    assert (person.first_name, person.last_name, person.email) == ("Minsu", "Kim", "minsu.kim@vertical.com")
    expect(page.get_by_test_id("users")).to_contain_text("minsu.kim@vertical.onmicrosoft.com")


def test_existing_user_sees_aad_differences_before_saving(page, login_as, manager, company, make_user):
    person = make_user(company, login="27728", extension="27728", first_name="Old", last_name="Kim",
                       email="old@vertical.com", group_member_type="single", package="basic", user_type="normal")
    synced_contact(company, "Minsu", "Kim", email="minsu.kim@vertical.com")
    login_as(manager, PASSWORD)
    page.goto(f"/users/{person.pk}/edit/")
    combo = page.get_by_role("combobox", name="AAID ID")
    combo.fill("minsu")
    page.get_by_role("option", name="Minsu Kim").click()
    differences = page.locator("[data-aad-differences]")
    expect(differences).to_be_visible()
    expect(differences).to_contain_text("First name: Old → Minsu")
    expect(differences).to_contain_text("E-mail: old@vertical.com → minsu.kim@vertical.com")
    expect(differences).not_to_contain_text("Last name")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").first).to_contain_text("Saved user 27728@cm1-vertical")
    person.refresh_from_db()
    assert (person.first_name, person.email) == ("Minsu", "minsu.kim@vertical.com")


def test_markup_in_aad_names_shows_as_text_in_the_dropdown(page, login_as, manager, company):
    synced_contact(company, "<img src=x onerror=alert(1)>", "<script>alert(2)</script>")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login_as(manager, PASSWORD)
    page.goto("/users/new/")
    combo = page.get_by_role("combobox", name="AAID ID")
    combo.fill("<img")
    option = page.get_by_role("listbox", name="AAD accounts").get_by_role("option").nth(1)
    expect(option).to_contain_text("<img src=x onerror=alert(1)> <script>alert(2)</script>")
    assert page.locator(".aad-combobox-list img, .aad-combobox-list script").count() == 0
    page.goto("/directory/")
    expect(page.get_by_test_id("directory")).to_contain_text("<script>alert(2)</script>")
    assert not dialogs


def test_without_script_the_field_takes_an_upn(browser, live_server, manager, company):
    account = synced_contact(company, "Minsu", "Kim", upn="minsu.kim@vertical.onmicrosoft.com")
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/login/")
        page.fill("input[name=username]", manager.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto("/my-information/?mode=edit")
        page.get_by_label("AAID ID").fill("minsu.kim@vertical.onmicrosoft.com")
        page.get_by_role("button", name="Save").click()
        # The e-mail differs from AAD's: the page shows it and the next Save links.
        expect(page.get_by_test_id("aad-differences")).to_contain_text("minsu.kim")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_test_id("my-aad")).to_have_text("minsu.kim@vertical.onmicrosoft.com")
    finally:
        context.close()
    manager.refresh_from_db()
    assert manager.aad_contact == account
