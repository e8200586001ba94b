"""directory.services: AAD linking rules, users, My Information and manual directory entries."""
import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from directory import services
from directory.models import Contact, Person
from directory.services import (
    contact_create,
    contact_delete,
    contact_update,
    manager_update_self,
    person_link_aad,
    person_unlink_aad,
    user_create,
    user_update,
)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

USER_DATA = {
    "extension": "27728",
    "first_name": "Typed",
    "last_name": "Name",
    "group_member_type": "single",
    "login": "27728",
    "email": "typed@vertical.com",
    "package": "basic",
    "user_type": "normal",
}


def _data(company, **changes):
    return {**USER_DATA, "site": company.sites.first(), **changes}


def _message(error: ValidationError, field="aad_contact") -> str:
    return " ".join(error.value.message_dict[field])


def test_link_copies_aad_names_and_email(phone_user, aad_account):
    person_link_aad(person=phone_user, contact=aad_account)
    phone_user.refresh_from_db()
    assert phone_user.aad_contact == aad_account
    assert (phone_user.first_name, phone_user.last_name, phone_user.email) == ("Minsu", "Kim", "minsu.kim@vertical.com")


def test_link_keeps_own_value_where_aad_has_none(phone_user, make_synced, company):
    contact = make_synced(company, "Minsu", "Kim", email="")
    person_link_aad(person=phone_user, contact=contact)
    phone_user.refresh_from_db()
    assert phone_user.email == "kim@vertical.com"


def test_link_refuses_an_account_of_another_company(phone_user, other_company, make_synced):
    foreign = make_synced(other_company)
    with pytest.raises(ValidationError) as error:
        person_link_aad(person=phone_user, contact=foreign)
    assert "not in your company" in _message(error)
    phone_user.refresh_from_db()
    assert phone_user.aad_contact is None


def test_link_refuses_a_typed_in_entry(phone_user, make_manual, company):
    with pytest.raises(ValidationError) as error:
        person_link_aad(person=phone_user, contact=make_manual(company))
    assert "Only accounts synced from MS AAD" in _message(error)


@pytest.mark.parametrize("state, words", [("disabled", "disabled in AAD"), ("removed", "removed from AAD")])
def test_link_refuses_an_account_not_active_in_aad(phone_user, make_synced, company, state, words):
    with pytest.raises(ValidationError) as error:
        person_link_aad(person=phone_user, contact=make_synced(company, aad_state=state))
    assert words in _message(error)


def test_link_refuses_an_account_a_manager_has_and_names_the_manager(phone_user, manager, aad_account):
    person_link_aad(person=manager, contact=aad_account)
    with pytest.raises(ValidationError) as error:
        person_link_aad(person=phone_user, contact=aad_account)
    assert "already linked to manager rich@cm1-vertical" in _message(error)
    phone_user.refresh_from_db()
    assert phone_user.aad_contact is None


def test_link_refuses_an_account_another_user_has_and_names_the_user(phone_user, make_user, company, aad_account):
    other = make_user(company, login="27729", extension="27729")
    person_link_aad(person=other, contact=aad_account)
    with pytest.raises(ValidationError) as error:
        person_link_aad(person=phone_user, contact=aad_account)
    assert "already linked to user 27729@cm1-vertical" in _message(error)


def test_relinking_the_same_account_is_fine_even_after_aad_disabled_it(phone_user, aad_account):
    person_link_aad(person=phone_user, contact=aad_account)
    Contact.objects.filter(pk=aad_account.pk).update(aad_state=Contact.AadState.DISABLED)
    aad_account.refresh_from_db()
    person_link_aad(person=phone_user, contact=aad_account)
    assert Person.objects.get(pk=phone_user.pk).aad_contact_id == aad_account.pk


def test_unlink_removes_the_link_only(phone_user, aad_account):
    person_link_aad(person=phone_user, contact=aad_account)
    person_unlink_aad(person=phone_user)
    phone_user.refresh_from_db()
    assert phone_user.aad_contact is None
    assert phone_user.first_name == "Minsu"


def test_the_database_refuses_a_second_link(phone_user, manager, aad_account):
    Person.objects.filter(pk=manager.pk).update(aad_contact=aad_account)
    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.filter(pk=phone_user.pk).update(aad_contact=aad_account)


def test_a_link_lost_to_a_concurrent_request_becomes_a_validation_error(phone_user, manager, aad_account, monkeypatch):
    """Both requests passed the check before either wrote: the unique column decides, the loser hears who won."""
    real_check = services.aad_link_check

    def check_then_lose_the_race(*, person, contact):
        real_check(person=person, contact=contact)
        Person.objects.filter(pk=manager.pk).update(aad_contact=contact)  # the other request commits first

    monkeypatch.setattr(services, "aad_link_check", check_then_lose_the_race)
    with pytest.raises(ValidationError) as error:
        person_link_aad(person=phone_user, contact=aad_account)
    assert "already linked to manager rich@cm1-vertical" in _message(error)
    assert phone_user.aad_contact is None
    assert Person.objects.get(pk=phone_user.pk).aad_contact_id is None


def test_user_create_with_aad_account_takes_aad_values(company, aad_account):
    person = user_create(company=company, data=_data(company), password=PASSWORD, aad_contact=aad_account)
    person.refresh_from_db()
    assert person.username == "27728@cm1-vertical"
    assert person.role == Person.Role.USER
    assert person.aad_contact == aad_account
    assert (person.first_name, person.email) == ("Minsu", "minsu.kim@vertical.com")
    assert person.check_password(PASSWORD)


def test_user_create_that_loses_the_link_creates_nothing(company, manager, aad_account):
    person_link_aad(person=manager, contact=aad_account)
    with pytest.raises(ValidationError):
        user_create(company=company, data=_data(company), password=PASSWORD, aad_contact=aad_account)
    assert not Person.objects.filter(role=Person.Role.USER).exists()


def test_extension_and_portal_id_are_unique_in_the_company(company, make_user):
    make_user(company, login="27728", extension="27728")
    with pytest.raises(ValidationError) as error:
        user_create(company=company, data=_data(company, extension="27728", login="27728"), password=PASSWORD)
    assert "Extension 27728 is already used by 27728@cm1-vertical" in _message(error, "extension")
    assert "Portal ID 27728@cm1-vertical is taken" in _message(error, "login")


def test_extension_and_portal_id_may_repeat_across_companies(company, other_company, phone_user):
    person = user_create(company=other_company, data=_data(other_company, extension=phone_user.extension),
                         password=PASSWORD)
    assert person.username == "27728@cm2-other"


def test_user_password_follows_the_password_rules(company):
    with pytest.raises(ValidationError) as error:
        user_create(company=company, data=_data(company), password="1234567")
    assert "password" in error.value.message_dict


def test_user_update_can_unlink_and_keeps_password_when_blank(phone_user, aad_account, company):
    user_update(person=phone_user, data=_data(company, extension="27728"), aad_contact=aad_account)
    user_update(person=phone_user, data=_data(company, extension="27728"), aad_contact=None)
    phone_user.refresh_from_db()
    assert phone_user.aad_contact is None
    assert phone_user.check_password(PASSWORD)


def test_user_site_must_be_the_company_s(phone_user, other_company, company):
    with pytest.raises(ValidationError) as error:
        user_update(person=phone_user, data=_data(company, site=other_company.sites.first()))
    assert "site" in error.value.message_dict


def test_manager_update_self_links_own_account_and_checks_password_length(manager, aad_account):
    with pytest.raises(ValidationError) as error:
        manager_update_self(manager=manager, name="rich", email="rich@vertical.com", password="short")
    assert "at least 8 characters" in _message(error, "password")
    with pytest.raises(ValidationError) as error:
        manager_update_self(manager=manager, name="rich", email="rich@vertical.com", password="x" * 129)
    assert "at most 128 characters" in _message(error, "password")
    manager_update_self(manager=manager, name="Rich K", email="rich@vertical.com", aad_contact=aad_account)
    manager.refresh_from_db()
    # AAD wins at once, exactly as the next look-up would: the typed name gives way to the account's.
    assert (manager.display_name, manager.aad_contact, manager.email) == ("Minsu Kim", aad_account,
                                                                          "minsu.kim@vertical.com")


def test_manager_update_self_refuses_a_user(phone_user):
    with pytest.raises(ValidationError):
        manager_update_self(manager=phone_user, name="x", email="x@vertical.com")


def test_manual_entries_are_created_updated_and_deleted(company):
    contact = contact_create(company=company, data={"first_name": "Hana", "last_name": "Lee", "email": "",
                                                    "office_phone": "+82 2 555 0100", "mobile_phone": ""})
    assert (contact.synced, contact.object_id) == (False, None)
    contact_update(contact=contact, data={"first_name": "Hana", "last_name": "Park", "email": "",
                                          "office_phone": "", "mobile_phone": ""})
    assert Contact.objects.get(pk=contact.pk).last_name == "Park"
    contact_delete(contact=contact)
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_manual_entry_needs_a_name_or_email(company):
    with pytest.raises(ValidationError):
        contact_create(company=company, data={"office_phone": "+82 2 555 0100"})


def test_synced_entries_are_read_only(aad_account):
    with pytest.raises(ValidationError, match="read-only"):
        contact_update(contact=aad_account, data={"first_name": "Changed"})
    with pytest.raises(ValidationError, match="read-only"):
        contact_delete(contact=aad_account)
    assert Contact.objects.get(pk=aad_account.pk).first_name == "Minsu"


def test_all_refusals_of_one_save_come_together(company, make_user, manager, aad_account):
    make_user(company, login="27728", extension="27728")
    person_link_aad(person=manager, contact=aad_account)
    with pytest.raises(ValidationError) as error:
        user_create(company=company, data=_data(company), password="1234567", aad_contact=aad_account)
    assert set(error.value.message_dict) == {"extension", "login", "password", "aad_contact"}


def test_user_update_refuses_a_manager(manager, company):
    with pytest.raises(ValidationError):
        user_update(person=manager, data=_data(company, login="rich"))
