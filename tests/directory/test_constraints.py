"""Invariants the database holds itself: uniqueness per company and one AAD link per account."""
import pytest
from django.db import IntegrityError, transaction

from aadsync.models import AadSettings, SyncRun
from directory.models import Contact, Person

pytestmark = pytest.mark.django_db
OID = "0b6d2b6e-2f3a-4a4e-9c1e-1f2a3b4c5d6e"


def _synced(company, object_id=OID, **extra):
    return Contact.objects.create(company=company, object_id=object_id, synced=True, aad_state="active", **extra)


def test_one_object_id_per_company(company):
    _synced(company)
    with pytest.raises(IntegrityError), transaction.atomic():
        _synced(company)


def test_same_object_id_may_exist_in_two_companies(company, other_company):
    _synced(company)
    _synced(other_company)
    assert Contact.objects.filter(object_id=OID).count() == 2


def test_manual_entries_have_no_object_id_and_do_not_collide(company):
    Contact.objects.create(company=company, first_name="A")
    Contact.objects.create(company=company, first_name="B")
    assert Contact.objects.filter(company=company, object_id__isnull=True).count() == 2


def test_synced_entry_must_have_an_object_id(company):
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(company=company, synced=True)


def test_an_aad_account_links_to_one_person_across_managers_and_users(company, manager, phone_user):
    contact = _synced(company)
    manager.aad_contact = contact
    manager.save()
    phone_user.aad_contact = contact
    with pytest.raises(IntegrityError), transaction.atomic():
        phone_user.save()


def test_login_and_extension_are_unique_within_a_company(company, make_user):
    make_user(company, login="100", extension="100")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_user(company, login="100", extension="101")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_user(company, login="101", extension="100")


def test_same_login_in_two_companies_gives_two_sign_in_ids(company, other_company, make_user):
    first = make_user(company, login="100")
    second = make_user(other_company, login="100")
    assert {first.username, second.username} == {"100@cm1-vertical", "100@cm2-other"}


def test_role_must_be_manager_or_user(company):
    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.create(company=company, login="x", role="admin")


def test_use_without_credentials_is_refused_by_the_database(company):
    with pytest.raises(IntegrityError), transaction.atomic():
        AadSettings.objects.create(company=company, use_lookup=True)


def test_execution_hour_24_is_refused_by_the_database(company):
    with pytest.raises(IntegrityError), transaction.atomic():
        AadSettings.objects.create(company=company, exec_hour=24)


def test_one_active_sync_run_per_company(company):
    SyncRun.objects.create(company=company, trigger="one-time")
    with pytest.raises(IntegrityError), transaction.atomic():
        SyncRun.objects.create(company=company, trigger="schedule")
    SyncRun.objects.filter(company=company).update(status="succeeded")
    SyncRun.objects.create(company=company, trigger="schedule")
