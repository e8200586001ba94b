"""Linked people follow AAD (aadsync/sync/people.py), and linking applies the very same values at once: a look-up
right after a link, through any path (linkaad, the user form, My Information), changes nobody."""
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from directory.models import Contact, Person
from tests.aadsync.sync.test_engine import make_user_dict, sync

pytestmark = pytest.mark.django_db
PEOPLE = ("first_name", "last_name", "email", "display_name")


@pytest.fixture
def accounts(fake_ms, company):
    """Two synced AAD accounts, one with a name longer than a manager's 24 characters."""
    users = [make_user_dict("Kimberly", "Park", "kimberly.park@cm1.example"),
             make_user_dict("Richard", "Wolfeschlegelsteinhausen", "richard@cm1.example")]
    fake_ms.configure(company, users=users)
    sync(company)
    return [Contact.objects.get(company=company, object_id=user["id"]) for user in users]


def _values(person: Person) -> tuple:
    person.refresh_from_db()
    return tuple(getattr(person, field) for field in PEOPLE)


def _person_writes_of_a_look_up(company) -> int:
    with CaptureQueriesContext(connection) as captured:
        run = sync(company)
    assert run.status == "succeeded", run.error
    return sum(1 for query in captured.captured_queries
               if query["sql"].startswith("UPDATE") and "directory_person" in query["sql"])


def test_linkaad_gives_a_manager_aad_s_values_at_once_and_the_next_look_up_keeps_them(accounts, company, manager):
    call_command("linkaad", "--company", company.slug, "--login", manager.login, "--aad",
                 accounts[1].user_principal_name)
    linked = _values(manager)
    assert linked == ("Richard", "Wolfeschlegelsteinhausen", "richard@cm1.example", "Richard Wolfeschlegelste")
    assert _person_writes_of_a_look_up(company) == 0
    assert _values(manager) == linked


def test_the_user_form_gives_a_user_aad_s_values_at_once_and_the_next_look_up_keeps_them(
        accounts, company, manager_client, phone_user):
    response = manager_client.post(f"/users/{phone_user.pk}/edit/", {
        "extension": phone_user.extension or "27728", "first_name": "Typed", "last_name": "Name",
        "site": company.sites.first().pk, "group_member_type": "single", "login": phone_user.login,
        "password": "", "password_confirm": "", "email": "typed@vertical.com",
        "aad_contact": accounts[0].object_id, "aad_confirmed": "True", "package": "basic", "user_type": "normal"})
    assert response.status_code == 302
    linked = _values(phone_user)
    assert linked[:3] == ("Kimberly", "Park", "kimberly.park@cm1.example")
    assert _person_writes_of_a_look_up(company) == 0
    assert _values(phone_user) == linked


def test_my_information_gives_a_manager_aad_s_values_at_once_and_the_next_look_up_keeps_them(
        accounts, company, manager_client, manager):
    response = manager_client.post("/my-information/", {
        "name": "Typed name", "email": "typed@vertical.com", "password": "", "password_confirm": "",
        "aad_contact": accounts[1].object_id, "aad_confirmed": "True"})
    assert response.status_code == 302
    linked = _values(manager)
    assert linked == ("Richard", "Wolfeschlegelsteinhausen", "richard@cm1.example", "Richard Wolfeschlegelste")
    assert _person_writes_of_a_look_up(company) == 0
    assert _values(manager) == linked


def test_a_person_edited_after_linking_is_brought_back_by_the_next_look_up(accounts, company, make_user):
    person = make_user(company, login="27000", aad_contact=accounts[0])
    Person.objects.filter(pk=person.pk).update(first_name="Kimmy")
    assert _person_writes_of_a_look_up(company) == 1
    assert _values(person)[0] == "Kimberly"
