"""Password sign-in: managers to the CM portal, users to the Customer User portal, and logout."""
import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_manager_signs_in_to_cm_and_lands_on_ms_aad(client, manager):
    response = client.post("/login/", {"username": "rich@cm1-vertical", "password": PASSWORD})
    assert response.status_code == 302 and response.url == "/aad/"


def test_wrong_password_is_refused_with_a_message(client, manager):
    response = client.post("/login/", {"username": "rich@cm1-vertical", "password": "nope-nope"})
    assert response.status_code == 200
    assert "Please enter a correct ID and password" in response.content.decode()
    assert "correct username" not in response.content.decode()  # the field is labelled ID
    assert "_auth_user_id" not in client.session


def test_user_cannot_sign_in_to_the_cm_portal(client, phone_user):
    response = client.post("/login/", {"username": phone_user.username, "password": PASSWORD})
    assert response.status_code == 200
    assert "Users sign in at /cu/login/" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_user_signs_in_to_the_customer_user_portal(client, phone_user):
    response = client.post("/cu/login/", {"username": phone_user.username, "password": PASSWORD})
    assert response.status_code == 302 and response.url == "/cu/"
    page = client.get("/cu/").content.decode()
    assert "27728@cm1-vertical" in page and "Kim" in page


def test_manager_cannot_sign_in_to_the_user_portal(client, manager):
    response = client.post("/cu/login/", {"username": manager.username, "password": PASSWORD})
    assert "Managers sign in at /login/" in response.content.decode()


def test_manager_gets_403_on_the_user_portal(manager_client):
    assert manager_client.get("/cu/").status_code == 403


def test_logout_ends_the_session(manager_client):
    response = manager_client.post("/logout/")
    assert response.status_code == 302
    assert manager_client.get("/aad/").status_code == 302


def test_root_sends_each_person_to_their_portal(client, manager, phone_user):
    assert client.get("/").url == "/login/"
    client.force_login(phone_user)
    assert client.get("/").url == "/cu/"
    client.force_login(manager)
    assert client.get("/").url == "/aad/"


def test_menu_items_not_built_are_disabled(manager_client):
    html = manager_client.get("/aad/").content.decode()
    for item in ("Call Manager", "Status View", "License Management", "Call History", "My Home Setting"):
        assert f'aria-disabled="true" title="Not part of this portal">{item}<' in html


def test_repeated_failed_sign_ins_of_one_account_are_throttled(client, manager, settings):
    settings.LOGIN_THROTTLE_ACCOUNT_LIMIT = 3
    for _ in range(3):
        client.post("/login/", {"username": "rich@cm1-vertical", "password": "wrong-wrong"})
    response = client.post("/login/", {"username": "rich@cm1-vertical", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-ins for this ID. Try again in 15 minutes." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_address_limit_is_a_second_line_across_accounts(client, manager, settings):
    settings.LOGIN_THROTTLE_ADDRESS_LIMIT = 2
    for login in ("amy", "bob"):
        client.post("/login/", {"username": f"{login}@cm1-vertical", "password": "wrong-wrong"}, REMOTE_ADDR="10.9.9.9")
    refused = client.post("/login/", {"username": "rich@cm1-vertical", "password": PASSWORD}, REMOTE_ADDR="10.9.9.9")
    assert "Too many failed sign-ins from your network" in refused.content.decode()
    response = client.post("/login/", {"username": "rich@cm1-vertical", "password": PASSWORD}, REMOTE_ADDR="127.0.0.2")
    assert response.status_code == 302


def test_a_success_clears_earlier_failures(client, manager, settings):
    settings.LOGIN_THROTTLE_ACCOUNT_LIMIT = 2
    client.post("/login/", {"username": "rich@cm1-vertical", "password": "wrong-wrong"})
    client.post("/login/", {"username": "rich@cm1-vertical", "password": PASSWORD})
    client.post("/logout/")
    client.post("/login/", {"username": "rich@cm1-vertical", "password": "wrong-wrong"})
    response = client.post("/login/", {"username": "rich@cm1-vertical", "password": PASSWORD})
    assert response.status_code == 302
