"""Every page state a manager or user sees, at 1366x768 and at a 390x844 phone: zero axe-core WCAG 2.1 A/AA
violations and no sideways scrolling (tests/browser/a11y.py). A new page gets a line in `_walk`."""
import pytest
from playwright.sync_api import expect

from aadsync.models import SyncRun
from aadsync.sync import sync_company_now
from directory.models import Contact, Person
from directory.services import person_link_aad
from tests.browser.a11y import SIZES, check_page
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD
from tests.directory.factories import manual_contact

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(fake_ms, company, manager, make_user):
    """A company after a real look-up of a 40-user fake tenant, a linked and an unlinked phone user, a typed-in
    entry, and an entry with a 64-character name and a 250-character e-mail (the longest AAD allows)."""
    setup = fake_ms.configure(company, users=40)
    sync_company_now(company=company, trigger=SyncRun.Trigger.COMMAND)
    accounts = list(Contact.objects.filter(company=company, synced=True, aad_state="active",
                                           user_principal_name__regex=r"^[a-z]").order_by("id"))
    linked = make_user(company, login="27728", first_name="Anna", last_name="Kim", email="anna@vertical.com",
                       extension="27728")
    person_link_aad(person=linked, contact=accounts[0])
    make_user(company, login="27729", first_name="Wolfeschlegelsteinhausenbergerdorff", last_name="Maximilian",
              email="x" * 40 + "@vertical.com", extension="27729")
    manual_contact(company, "Hana", "Lee", email="hana.lee@vertical.com", office_phone="+82 2 555 0100")
    longest = Contact.objects.filter(company=company, first_name__startswith="Maximilian").order_by("id").first()
    person_link_aad(person=manager, contact=longest)  # a name longer than a manager's 24 characters
    return {"setup": setup, "linked": linked, "account": accounts[0]}


SHOWN = {"ms-aad-view", "ms-aad-edit", "directory", "users", "user-edit-dropdown-highlighted", "my-information",
         "menu-open", "login-cm", "sync-history", "look-up-run", "users-match"}  # also saved as pictures under test-artifacts/ (to look at, never compared)


def _check(page, failures, name):
    try:
        check_page(page, name)
    except AssertionError as failure:
        failures.append(str(failure))
    if name in SHOWN:
        screenshot(page, f"every-page-{name}-{page.viewport_size['width']}")


def _walk(page, login_as, manager, world, fake_ms, size_name):
    """Visit each state and check it; return the failures (all of them, not only the first). New pages get a line
    here (a GET with `visit`, or an action followed by `_check(page, failures, name)`)."""
    failures: list[str] = []

    def visit(path, name, status=200):
        response = page.goto(path)
        assert response is not None and response.status == status, f"{path}: {response and response.status}"
        _check(page, failures, name)

    visit("/login/", "login-cm")
    page.fill("input[name=username]", "rich@cm1-vertical")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    expect(page.locator(".alert-danger, .invalid-feedback").first).to_be_visible()
    _check(page, failures, "login-cm-error")
    visit("/cu/login/", "login-cu")
    visit("/login/microsoft/", "microsoft-start")
    visit("/login/microsoft/?login_hint=no-such-company", "signin-refused", status=403)

    login_as(manager, PASSWORD)
    _check(page, failures, "ms-aad-view")
    if size_name == "phone":
        toggler = page.get_by_role("button", name="Menu")
        expect(toggler).to_be_visible()
        toggler.click()
        expect(page.get_by_role("link", name="Company Directory")).to_be_visible()
        _check(page, failures, "menu-open")
    visit("/aad/?mode=edit", "ms-aad-edit")
    page.fill("#id_tenant_id", "not-a-guid")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".invalid-feedback").first).to_be_visible()
    _check(page, failures, "ms-aad-errors")
    visit("/aad/history/", "sync-history")
    visit(f"/aad/history/{SyncRun.objects.get(company=manager.company).pk}/", "look-up-run")
    visit("/directory/", "directory")
    visit("/directory/?q=an", "directory-search")
    visit("/directory/?q=zzzz-nobody", "directory-search-empty")
    visit("/directory/?sync=removed", "directory-filter-empty")
    visit("/directory/new/", "contact-new")
    page.get_by_role("button", name="Save").click()
    _check(page, failures, "contact-new-errors")
    manual = Contact.objects.get(company=manager.company, synced=False)
    visit(f"/directory/{manual.pk}/edit/", "contact-edit")
    visit(f"/directory/{manual.pk}/delete/", "contact-delete")
    visit("/users/", "users")
    visit("/users/match/", "users-match")
    visit("/users/new/", "user-new")
    page.get_by_role("button", name="Save").click()
    _check(page, failures, "user-new-errors")
    visit(f"/users/{world['linked'].pk}/edit/", "user-edit")
    combo = page.get_by_role("combobox", name="AAID ID")
    combo.fill("")
    combo.press("ArrowDown")
    expect(page.get_by_role("listbox", name="AAD accounts")).to_be_visible()
    expect(page.get_by_role("option").nth(2)).to_be_visible()
    _check(page, failures, "user-edit-dropdown-open")
    combo.fill("maxi")  # the manager's account comes first, disabled ("linked to manager rich (...)")
    expect(page.locator(".aad-option-taken").first).to_contain_text("linked to manager rich")
    combo.press("ArrowDown")  # the highlighted option's detail line
    _check(page, failures, "user-edit-dropdown-highlighted")
    visit("/my-information/", "my-information")
    expect(page.get_by_test_id("name-cut")).to_contain_text("cut to 24 characters")
    visit("/my-information/?mode=edit", "my-information-edit")
    page.get_by_role("button", name="Logout").click()
    page.wait_for_url("**/login/")

    # A user, signed in with Microsoft (so that the logout offers Microsoft's sign-out: the logged-out page).
    fake_ms.signin.user = world["account"].object_id
    page.goto("/cu/login/")
    page.fill("#id_login_hint", world["linked"].username)
    page.get_by_role("button", name="Sign in with Microsoft").click()
    page.wait_for_url("**/cu/")
    _check(page, failures, "cu-home")
    page.get_by_role("button", name="Logout").click()
    expect(page.get_by_test_id("microsoft-logout")).to_be_visible()
    _check(page, failures, "logged-out")
    return failures


@pytest.mark.parametrize("size_name", list(SIZES))
def test_every_page_is_accessible_and_fits_the_screen(page, login_as, manager, world, fake_ms, size_name):
    page.set_viewport_size(SIZES[size_name])
    failures = _walk(page, login_as, manager, world, fake_ms, size_name)
    assert not failures, "\n\n".join(failures)
    assert Person.objects.filter(company=manager.company).count() == 3
