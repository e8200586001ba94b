"""In chromium: choosing the look-up's groups by name on the MS AAD page, and a look-up's own page in Sync History
(each account's line, the search)."""
import pytest
from playwright.sync_api import expect

from aadsync.models import SyncRun
from aadsync.sync import sync_company_now
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD
from tests.fakems import make_user
from tests.fakems.groups import GROUP_MEMBER_READ_ALL
from tests.fakems.model import USER_READ_ALL

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_manager_chooses_groups_by_name_and_saves(page, login_as, manager, company, fake_ms):
    setup = fake_ms.configure(company, users=5, permissions=(USER_READ_ALL, GROUP_MEMBER_READ_ALL))
    sales = setup.tenant.groups.add("Sales Team", members=[setup.tenant.users[0]["id"]])
    setup.tenant.groups.add("Salaries Review", kind="m365")
    setup.tenant.groups.add("Support")
    login_as(manager, PASSWORD)
    page.get_by_role("link", name="Modify").click()
    page.get_by_label("Members of these groups").check()
    search = page.get_by_label("Find groups by name")
    search.fill("sal")
    expect(page.get_by_role("button", name="Add Salaries Review (Microsoft 365)")).to_be_visible()
    page.get_by_role("button", name="Add Sales Team (Security)").click()
    chosen = page.get_by_test_id("chosen-groups")
    expect(chosen).to_contain_text("Sales Team")
    screenshot(page, "ms-aad-choose-groups")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_test_id("scope")).to_contain_text("Members of Sales Team")
    row = company.aad_settings
    row.refresh_from_db()
    assert row.scope_groups == [{"id": sales.id, "name": "Sales Team"}]


def test_a_run_s_page_lists_each_account_and_searches(page, login_as, manager, company, fake_ms):
    setup = fake_ms.configure(company, users=[make_user(given_name="Ann", surname="Lee"),
                                              make_user(given_name="Bob", surname="Kim")])
    sync_company_now(company=company, trigger=SyncRun.Trigger.COMMAND)
    setup.tenant.update_user(setup.tenant.users[0]["id"], givenName="Annie")
    run = sync_company_now(company=company, trigger=SyncRun.Trigger.COMMAND)
    login_as(manager, PASSWORD)

    page.goto("/aad/history/")
    page.get_by_test_id("run-link").first.click()
    page.wait_for_url(f"**/aad/history/{run.pk}/")
    lines = page.get_by_test_id("run-line")
    expect(lines).to_have_count(1)
    expect(lines.first).to_contain_text("First Name: Ann → Annie")
    page.get_by_label("Name or user principal name contains").fill("bob")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("run-lines-empty")).to_contain_text("No account of this look-up matches")
    screenshot(page, "look-up-page")
