"""My Information: a manager's own ID, Name, Email, Password and AAID ID; nobody else's."""
import pytest

from directory.models import Person
from directory.services import person_link_aad
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _form(**changes):
    data = {"name": "rich", "email": "rich@vertical.com", "current_password": "", "password": "", "password_confirm": "",
            "aad_contact": ""}
    data.update(changes)
    return data


def test_view_mode_shows_the_seed_s_fields(manager_client):
    html = manager_client.get("/my-information/").content.decode()
    for text in ("rich@cm1-vertical", "(MAX 24 Character.)", "rich@vertical.com",
                 "(8 to 128 characters; a long passphrase works.)", "-- Direct Input --", ">Modify<"):
        assert text in html


def test_edit_mode_has_the_fields_and_the_dropdown(manager_client):
    html = manager_client.get("/my-information/?mode=edit").content.decode()
    for name in ("name", "email", "current_password", "password", "password_confirm", "aad_contact"):
        assert f'name="{name}"' in html
    assert 'data-for="me"' in html
    assert 'maxlength="24"' in html


def test_manager_links_their_own_account(manager_client, manager, make_synced, company):
    mine = make_synced(company, "Rich", "Kang", email="rich@vertical.com", upn="rich@vertical.onmicrosoft.com")
    response = manager_client.post("/my-information/", _form(aad_contact=mine.user_principal_name))
    assert response.status_code == 200  # the name changes to AAD's: shown first, saved on confirmation
    assert "<th scope=\"row\">Name</th><td>rich</td><td>Rich Kang</td>" in response.content.decode()
    response = manager_client.post("/my-information/", _form(aad_contact=mine.user_principal_name,
                                                             aad_confirmed="True"))
    assert response.status_code == 302
    manager.refresh_from_db()
    assert (manager.aad_contact, manager.display_name) == (mine, "Rich Kang")
    assert "rich@vertical.onmicrosoft.com" in manager_client.get("/my-information/").content.decode()


def test_different_email_is_shown_before_saving_and_aad_wins(manager_client, manager, aad_account):
    response = manager_client.post("/my-information/", _form(aad_contact=aad_account.object_id))
    html = response.content.decode()
    assert "<th scope=\"row\">E-mail</th><td>rich@vertical.com</td><td>minsu.kim@vertical.com</td>" in html
    assert Person.objects.get(pk=manager.pk).aad_contact is None
    manager_client.post("/my-information/", _form(aad_contact=aad_account.object_id, aad_confirmed="True"))
    manager.refresh_from_db()
    assert (manager.aad_contact, manager.email, manager.display_name) == (aad_account, "minsu.kim@vertical.com",
                                                                          "Minsu Kim")


def test_name_is_at_most_24_characters(manager_client):
    html = manager_client.post("/my-information/", _form(name="x" * 25)).content.decode()
    assert 'id="id_name_error"' in html
    assert 'value="' + "x" * 25 + '"' in html


@pytest.mark.parametrize("password, words", [("Short1!", "at least 8 characters"),
                                              ("x" * 129, "at most 128 characters")])
def test_password_is_8_to_128_characters(manager_client, manager, password, words):
    html = manager_client.post("/my-information/", _form(current_password=PASSWORD, password=password,
                                                         password_confirm=password)).content.decode()
    assert words in html
    assert Person.objects.get(pk=manager.pk).check_password(PASSWORD)


def test_a_long_passphrase_is_accepted(manager_client, manager):
    passphrase = "correct horse battery staple on a long quiet evening walk"
    response = manager_client.post("/my-information/", _form(current_password=PASSWORD, password=passphrase,
                                                             password_confirm=passphrase))
    assert response.status_code == 302
    assert Person.objects.get(pk=manager.pk).check_password(passphrase)


def test_the_form_says_passphrases_work(manager_client):
    html = manager_client.get("/my-information/?mode=edit").content.decode()
    assert "8 to 128 characters; a long passphrase with spaces works well." in html


def test_a_new_password_needs_the_current_one(manager_client, manager):
    html = manager_client.post("/my-information/", _form(password="New-pass-12",
                                                         password_confirm="New-pass-12")).content.decode()
    assert 'id="id_current_password_error"' in html
    assert "Type your current password to set a new one." in html
    assert Person.objects.get(pk=manager.pk).check_password(PASSWORD)


def test_a_wrong_current_password_is_refused_next_to_the_field(manager_client, manager):
    html = manager_client.post("/my-information/", _form(current_password="not-my-password", password="New-pass-12",
                                                         password_confirm="New-pass-12")).content.decode()
    assert 'id="id_current_password_error"' in html
    assert "That is not your current password." in html
    assert Person.objects.get(pk=manager.pk).check_password(PASSWORD)


def test_wrong_current_passwords_are_throttled_like_sign_ins(manager_client, manager, settings):
    settings.LOGIN_THROTTLE_ACCOUNT_LIMIT = 2
    for _ in range(2):
        manager_client.post("/my-information/", _form(current_password="guess-guess", password="New-pass-12",
                                                      password_confirm="New-pass-12"))
    html = manager_client.post("/my-information/", _form(current_password=PASSWORD, password="New-pass-12",
                                                         password_confirm="New-pass-12")).content.decode()
    assert "Too many failed sign-ins for this ID" in html
    assert Person.objects.get(pk=manager.pk).check_password(PASSWORD)


def test_details_change_without_the_current_password_when_the_password_stays(manager_client, manager):
    assert manager_client.post("/my-information/", _form(name="Rich K")).status_code == 302
    assert Person.objects.get(pk=manager.pk).display_name == "Rich K"


def test_confirm_password_must_match(manager_client):
    html = manager_client.post("/my-information/", _form(password="Fine-pass1", password_confirm="Fine-pass2")).content.decode()
    assert "The two passwords do not match" in html


def test_changing_the_password_keeps_the_manager_signed_in(manager_client, manager):
    manager_client.post("/my-information/", _form(current_password=PASSWORD, password="New-pass-12",
                                                  password_confirm="New-pass-12"))
    assert Person.objects.get(pk=manager.pk).check_password("New-pass-12")
    assert manager_client.get("/my-information/").status_code == 200


def test_an_account_another_manager_has_is_refused_naming_them(manager_client, other_manager, aad_account):
    person_link_aad(person=other_manager, contact=aad_account)
    html = manager_client.post("/my-information/", _form(aad_contact=aad_account.object_id,
                                                         aad_confirmed="True")).content.decode()
    assert "already linked to manager jane@cm1-vertical" in html


def test_a_forged_request_cannot_change_another_manager(manager_client, manager, other_manager, aad_account):
    """Whatever the POST names, only the signed-in manager changes."""
    manager_client.post("/my-information/", _form(
        aad_contact=aad_account.object_id, aad_confirmed="True", id=other_manager.pk, pk=other_manager.pk,
        person=other_manager.pk, login="jane", username="jane@cm1-vertical"))
    other_manager.refresh_from_db()
    assert other_manager.aad_contact is None
    assert other_manager.email == "jane@vertical.com"
    assert Person.objects.get(pk=manager.pk).aad_contact == aad_account


def test_no_url_takes_another_manager_s_id(manager_client, other_manager, aad_account):
    assert manager_client.post(f"/my-information/{other_manager.pk}/", _form()).status_code == 404
    assert manager_client.post(f"/users/{other_manager.pk}/edit/", _form(aad_contact=aad_account.object_id)).status_code == 404
    assert manager_client.get("/directory/aad-accounts/", {"for": other_manager.pk}).status_code == 404
    assert Person.objects.get(pk=other_manager.pk).aad_contact is None


def test_users_have_no_my_information_here(client, phone_user):
    client.force_login(phone_user)
    assert client.get("/my-information/").status_code == 403
    assert client.post("/my-information/", _form()).status_code == 403
