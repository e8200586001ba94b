"""The whole "Sign in with Microsoft" round trip in chromium, through the fake Microsoft's account picker."""
import pytest

from tests.aadlogin.test_signin import signin_setup  # noqa: F401  (the fixture: a manager and a user linked)
from tests.browser.conftest import screenshot


@pytest.fixture
def linked(signin_setup):
    return signin_setup.manager_user, signin_setup.phone_user_user


def test_manager_signs_in_with_microsoft(page, linked):
    manager_account, _ = linked
    page.goto("/login/")
    page.fill("#id_login_hint", "cm1-vertical")
    page.get_by_role("button", name="Sign in with Microsoft").click()
    page.get_by_role("link", name=manager_account["userPrincipalName"]).click()
    page.wait_for_url("**/aad/")
    assert page.locator("h1").inner_text() == "MS AAD"
    assert "rich@cm1-vertical" in page.get_by_test_id("who").inner_text()
    page.get_by_role("button", name="Logout").click()
    assert page.get_by_test_id("microsoft-logout").is_visible()


def test_user_signs_in_with_microsoft(page, linked, phone_user):
    _, user_account = linked
    page.goto("/cu/login/")
    page.fill("#id_login_hint", phone_user.username)
    page.get_by_role("button", name="Sign in with Microsoft").click()
    page.get_by_role("link", name=user_account["userPrincipalName"]).click()
    page.wait_for_url("**/cu/")
    assert page.get_by_test_id("aad-link").inner_text() == user_account["userPrincipalName"]
    screenshot(page, "cu-signed-in-with-microsoft")


def test_unlinked_account_sees_what_to_do(page, signin_setup):
    spare = signin_setup.spare_user
    page.goto("/cu/login/")
    page.fill("#id_login_hint", "cm1-vertical")
    page.get_by_role("button", name="Sign in with Microsoft").click()
    page.get_by_role("link", name=spare["userPrincipalName"]).click()
    assert "Ask your manager to link your Microsoft account" in page.get_by_test_id("signin-refused").inner_text()
