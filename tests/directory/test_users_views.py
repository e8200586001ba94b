"""The User list and the create/edit form with the AAID ID field (server side; the dropdown is in browser tests)."""
import pytest

from directory.models import Person
from directory.services import person_link_aad
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _form(company, **changes):
    data = {
        "extension": "27728",
        "first_name": "Typed",
        "last_name": "Name",
        "site": company.sites.first().pk,
        "group_member_type": "single",
        "login": "27728",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "email": "typed@vertical.com",
        "aad_contact": "",
        "package": "basic",
        "user_type": "normal",
    }
    data.update(changes)
    return data


def test_form_has_the_seed_s_fields_in_order(manager_client):
    html = manager_client.get("/users/new/").content.decode().replace("<wbr>", "")
    labels = ["Extension", "First name", "Last name", "Site", "Group Member Type", "Portal ID", "Password",
              "Confirm Password", "E-mail", "AAID ID", "Package", "User Type"]
    positions = [html.index(f">{label}") for label in labels]
    assert positions == sorted(positions)
    assert "Single site group members" in html and "Multi site group members" in html
    assert ">@cm1-vertical</span>" in html
    assert "-- Please select --" in html
    assert 'src="/static/js/aad_picker.js"' in html


def test_create_user_with_direct_input(manager_client, company):
    response = manager_client.post("/users/new/", _form(company))
    assert response.status_code == 302
    person = Person.objects.get(company=company, login="27728")
    assert person.username == "27728@cm1-vertical"
    assert person.role == Person.Role.USER
    assert (person.extension, person.first_name, person.site.name, person.package) == ("27728", "Typed", "Main",
                                                                                         "basic")
    assert person.aad_contact is None
    assert person.check_password(PASSWORD)


@pytest.mark.parametrize("identifier", ["object_id", "upn"])
def test_create_user_linked_by_object_id_or_upn_takes_aad_values(manager_client, company, aad_account, identifier):
    value = aad_account.object_id if identifier == "object_id" else aad_account.user_principal_name.upper()
    response = manager_client.post("/users/new/", _form(company, aad_contact=value))
    assert response.status_code == 302
    person = Person.objects.get(login="27728")
    assert person.aad_contact == aad_account
    assert (person.first_name, person.last_name, person.email) == ("Minsu", "Kim", "minsu.kim@vertical.com")


def test_users_list_shows_users_not_managers(manager_client, phone_user, aad_account):
    person_link_aad(person=phone_user, contact=aad_account)
    html = manager_client.get("/users/").content.decode().replace("<wbr>", "")
    assert "27728@cm1-vertical" in html
    assert "minsu.kim@vertical.onmicrosoft.com" in html
    assert "rich@cm1-vertical</td>" not in html


def test_bad_input_keeps_what_was_typed_with_messages_next_to_fields(manager_client, company):
    response = manager_client.post("/users/new/", _form(company, extension="27a", password_confirm="different-1",
                                                         email="nope"))
    html = response.content.decode().replace("<wbr>", "")
    assert response.status_code == 200
    assert 'value="Typed"' in html and 'value="27a"' in html
    assert 'id="id_extension_error"' in html
    assert "The two passwords do not match" in html
    assert 'id="id_email_error"' in html
    assert not Person.objects.filter(login="27728").exists()


def test_password_is_required_for_a_new_user(manager_client, company):
    response = manager_client.post("/users/new/", _form(company, password="", password_confirm=""))
    assert "Give a password." in response.content.decode().replace("<wbr>", "")


def test_extension_and_portal_id_must_be_unique(manager_client, company, make_user):
    make_user(company, login="27728", extension="27728")
    html = manager_client.post("/users/new/", _form(company)).content.decode().replace("<wbr>", "")
    assert "Extension 27728 is already used by 27728@cm1-vertical." in html
    assert "Portal ID 27728@cm1-vertical is taken" in html


def test_an_account_someone_has_is_refused_naming_them(manager_client, company, manager, aad_account):
    person_link_aad(person=manager, contact=aad_account)
    response = manager_client.post("/users/new/", _form(company, aad_contact=aad_account.object_id))
    html = response.content.decode().replace("<wbr>", "")
    assert "already linked to manager rich@cm1-vertical" in html
    assert 'id="id_aad_contact_error"' in html
    assert not Person.objects.filter(login="27728").exists()


def test_an_unknown_or_foreign_account_is_refused(manager_client, company, other_company, make_synced):
    foreign = make_synced(other_company)
    html = manager_client.post("/users/new/", _form(company, aad_contact=foreign.object_id)).content.decode().replace("<wbr>", "")
    assert "No account synced from MS AAD has that object ID" in html


def test_a_site_of_another_company_is_refused(manager_client, company, other_company):
    html = manager_client.post("/users/new/", _form(company, site=other_company.sites.first().pk)).content.decode().replace("<wbr>", "")
    assert 'id="id_site_error"' in html


def test_edit_shows_the_current_link_and_keeps_the_password_when_blank(manager_client, company, phone_user,
                                                                       aad_account):
    person_link_aad(person=phone_user, contact=aad_account)
    html = manager_client.get(f"/users/{phone_user.pk}/edit/").content.decode().replace("<wbr>", "")
    assert f'value="{aad_account.object_id}"' in html
    assert 'data-selected-label="Minsu Kim (minsu.kim@vertical.onmicrosoft.com)"' in html
    response = manager_client.post(f"/users/{phone_user.pk}/edit/", _form(
        company, login="27728", password="", password_confirm="", aad_contact=aad_account.object_id))
    assert response.status_code == 302
    phone_user.refresh_from_db()
    assert phone_user.check_password(PASSWORD)
    assert phone_user.first_name == "Minsu"  # AAD wins over what the form carried


def test_linking_an_existing_user_whose_values_differ_shows_the_differences_first(manager_client, company,
                                                                                  phone_user, aad_account):
    Person.objects.filter(pk=phone_user.pk).update(first_name="Old", last_name="Kim", email="old@vertical.com")
    data = _form(company, login="27728", first_name="Old", last_name="Kim", email="old@vertical.com",
                 aad_contact=aad_account.object_id, password="", password_confirm="")
    response = manager_client.post(f"/users/{phone_user.pk}/edit/", data)
    html = response.content.decode().replace("<wbr>", "")
    assert response.status_code == 200
    assert 'data-testid="aad-differences"' in html
    assert "<th scope=\"row\">First name</th><td>Old</td><td>Minsu</td>" in html
    assert "<th scope=\"row\">E-mail</th><td>old@vertical.com</td><td>minsu.kim@vertical.com</td>" in html
    assert "Last name</th>" not in html.split('data-testid="aad-differences"')[1].split("</table>")[0]
    assert 'name="aad_confirmed" value="True"' in html
    assert Person.objects.get(pk=phone_user.pk).aad_contact is None

    response = manager_client.post(f"/users/{phone_user.pk}/edit/", {**data, "aad_confirmed": "True"})
    assert response.status_code == 302
    phone_user.refresh_from_db()
    assert (phone_user.aad_contact, phone_user.first_name, phone_user.email) == (aad_account, "Minsu",
                                                                                 "minsu.kim@vertical.com")


def test_no_differences_step_when_values_already_match(manager_client, company, make_user, aad_account):
    person = make_user(company, login="27730", first_name="Minsu", last_name="Kim", email="minsu.kim@vertical.com")
    response = manager_client.post(f"/users/{person.pk}/edit/", _form(
        company, login="27730", extension="27730", aad_contact=aad_account.object_id, password="",
        password_confirm=""))
    assert response.status_code == 302


def test_edit_can_unlink_with_direct_input(manager_client, company, phone_user, aad_account):
    person_link_aad(person=phone_user, contact=aad_account)
    manager_client.post(f"/users/{phone_user.pk}/edit/", _form(company, login="27728", aad_contact="",
                                                               password="", password_confirm=""))
    assert Person.objects.get(pk=phone_user.pk).aad_contact is None


def test_another_company_s_user_answers_404(manager_client, other_company, make_user):
    foreign = make_user(other_company, login="5000")
    assert manager_client.get(f"/users/{foreign.pk}/edit/").status_code == 404
    assert manager_client.post(f"/users/{foreign.pk}/edit/", {"first_name": "x"}).status_code == 404


def test_a_manager_cannot_be_edited_as_a_user(manager_client, company, other_manager, aad_account):
    """No page offers another manager's AAD link: the user form answers 404 for managers."""
    response = manager_client.post(f"/users/{other_manager.pk}/edit/", _form(
        company, login="jane", aad_contact=aad_account.object_id))
    assert response.status_code == 404
    assert Person.objects.get(pk=other_manager.pk).aad_contact is None


def test_users_list_searches_and_paginates(manager_client, company):
    Person.objects.bulk_create([
        Person(company=company, role=Person.Role.USER, login=f"u{n:02d}", username=f"u{n:02d}@cm1-vertical",
               extension=f"3{n:03d}", first_name=f"F{n}", password="!")
        for n in range(55)
    ])
    html = manager_client.get("/users/").content.decode().replace("<wbr>", "")
    assert "Page 1 of 2" in html
    html = manager_client.get("/users/", {"q": "3054"}).content.decode().replace("<wbr>", "")
    assert "u54@cm1-vertical" in html and "u53@cm1-vertical" not in html
