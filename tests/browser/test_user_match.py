"""A manager links existing phone users to AAD accounts in bulk: User > Link to AAD accounts, tick, confirm."""
import pytest
from playwright.sync_api import expect

from directory.models import Person
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD
from tests.directory.factories import synced_contact

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def existing_users(company, make_user):
    """Users from before MS AAD: one per kind of proposal, and one the manager decides not to link."""
    users = {
        "strong": make_user(company, login="1001", extension="1001", first_name="Old", last_name="Kim",
                            email="minsu.kim@vertical.com"),
        "strong_no": make_user(company, login="1002", extension="1002", first_name="Ann", last_name="Lee",
                               email="ann.lee@vertical.com"),
        "name": make_user(company, login="1003", extension="1003", first_name="Emile", last_name="Dubois",
                          email=""),
        "ambiguous": make_user(company, login="1004", extension="1004", first_name="Jiwoo", last_name="Park",
                               email=""),
        "none": make_user(company, login="1005", extension="1005", email=""),
    }
    synced_contact(company, "Minsu", "Kim", email="minsu.kim@vertical.com", upn="minsu@vertical.onmicrosoft.com")
    synced_contact(company, "Ann", "Lee", email="ann.lee@vertical.com", upn="ann@vertical.onmicrosoft.com")
    synced_contact(company, "Émile", "Dubois", email="emile@vertical.com", upn="emile@vertical.onmicrosoft.com")
    synced_contact(company, "Jiwoo", "Park", upn="jiwoo.park@vertical.onmicrosoft.com")
    synced_contact(company, "Jiwoo", "Park", upn="jiwoo.park2@vertical.onmicrosoft.com")
    return users


def _row(page, person):
    return page.locator(f'tr[data-user="{person.pk}"]')


def test_tick_untick_pick_and_confirm(page, login_as, manager, existing_users):
    login_as(manager, PASSWORD)
    page.get_by_role("link", name="User", exact=True).click()
    page.get_by_role("main").get_by_role("link", name="Link to AAD accounts").click()
    expect(page.get_by_role("heading", name="Link users to AAD accounts")).to_be_visible()
    table = page.get_by_test_id("match")
    expect(table.locator("caption")).to_contain_text("5 users without an AAD account")

    strong = page.get_by_label("Link 1001@cm1-vertical to minsu@vertical.onmicrosoft.com")
    strong_no = page.get_by_label("Link 1002@cm1-vertical to ann@vertical.onmicrosoft.com")
    name = page.get_by_label("Link 1003@cm1-vertical to emile@vertical.onmicrosoft.com")
    ambiguous = page.get_by_label("Link 1004@cm1-vertical to the account picked in this row")
    expect(strong).to_be_checked()
    expect(strong_no).to_be_checked()
    expect(name).not_to_be_checked()
    expect(ambiguous).not_to_be_checked()
    picks = _row(page, existing_users["ambiguous"]).get_by_role("radio")
    expect(picks).to_have_count(2)
    for index in range(2):
        expect(picks.nth(index)).not_to_be_checked()
    expect(_row(page, existing_users["strong"]).get_by_test_id("changes")).to_contain_text("First name: Old → Minsu")
    expect(_row(page, existing_users["none"])).to_contain_text("No proposal.")
    expect(page.locator("[data-match-count]")).to_have_text("2 users ticked")

    strong_no.uncheck()
    name.check()
    _row(page, existing_users["ambiguous"]).get_by_label("Jiwoo Park (jiwoo.park2@vertical.onmicrosoft.com)").check()
    expect(ambiguous).to_be_checked()  # picking an account ticks its row
    expect(page.locator("[data-match-count]")).to_have_text("3 users ticked")
    screenshot(page, "user-match-ticked")
    page.get_by_role("button", name="Link selected").click()

    expect(page.get_by_role("status").first).to_have_text("Linked 3 users to their AAD accounts.")
    expect(_row(page, existing_users["strong"])).to_have_count(0)
    expect(_row(page, existing_users["strong_no"])).to_be_visible()
    linked = dict(Person.objects.filter(aad_contact__isnull=False)
                  .values_list("login", "aad_contact__user_principal_name"))
    assert linked == {"1001": "minsu@vertical.onmicrosoft.com", "1003": "emile@vertical.onmicrosoft.com",
                      "1004": "jiwoo.park2@vertical.onmicrosoft.com"}
    assert Person.objects.get(login="1003").first_name == "Émile"  # AAD wins

    page.get_by_role("link", name="User", exact=True).click()
    expect(page.get_by_test_id("users")).to_contain_text("minsu@vertical.onmicrosoft.com")


def test_select_all_ticks_the_rows_with_one_account(page, login_as, manager, existing_users):
    login_as(manager, PASSWORD)
    page.goto("/users/match/")
    select_all = page.get_by_label("Tick every user with one proposed account on this page")
    expect(select_all).to_be_visible()
    select_all.check()
    expect(page.locator("[data-match-count]")).to_have_text("3 users ticked")  # strong, strong, name
    expect(page.get_by_label("Link 1004@cm1-vertical to the account picked in this row")).not_to_be_checked()
    select_all.uncheck()
    expect(page.locator("[data-match-count]")).to_have_text("0 users ticked")


@pytest.mark.parametrize("width, height", [(390, 844), (1366, 768)])
def test_the_page_fits_a_phone_and_a_laptop(page, login_as, manager, existing_users, width, height):
    page.set_viewport_size({"width": width, "height": height})
    login_as(manager, PASSWORD)
    page.goto("/users/match/")
    expect(page.get_by_role("button", name="Link selected")).to_be_visible()
    # The table scrolls inside its own box; the page itself never scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"user-match-{width}")
