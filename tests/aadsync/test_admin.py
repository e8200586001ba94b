"""The operators' admin for MS AAD settings saves through the service: its edits reach the MS AAD change log
(source "admin"), GUIDs are enforced, and the secret is write-only (neither it nor its encrypted form shown)."""
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from aadsync.models import AadSettings, AadSettingsChange
from aadsync.services import Actor, aad_secret_plain, aad_settings_update
from directory.models import Person
from tests.conftest import PASSWORD, SECRET

GUID_T = "43d42458-b9c9-4619-aa06-c8a1e2f3b4c5"
GUID_C = "c12be4c0-7943-4450-9b11-b35a1e2f3b4c"
pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client, db):
    client.force_login(Person.objects.create_superuser("ops", password=PASSWORD))
    return client


@pytest.fixture
def configured(company):
    aad_settings_update(company=company, data={"use_lookup": True, "tenant_id": GUID_T, "client_id": GUID_C},
                        secret=SECRET, actor=Actor(person=None, source="test"))
    return AadSettings.objects.get(company=company)


def _form(row, **changes):
    data = {name: getattr(row, name) for name in AadSettings.EDITABLE_FIELDS}
    data.update({"use_lookup": "on" if row.use_lookup else "", "include_guests": "on" if row.include_guests else "",
                 "secret": ""})
    data.update(changes)
    return {name: value for name, value in data.items() if value is not False}


def test_an_admin_edit_appears_in_the_ms_aad_change_log(operator_client, configured, manager):
    response = operator_client.post(f"/admin/aadsync/aadsettings/{configured.pk}/change/",
                                    _form(configured, period="hourly"))
    assert response.status_code == 302, response.content.decode()[:2000]
    change = AadSettingsChange.objects.filter(source="admin").get()
    assert (change.changed_by_label, change.fields) == ("ops@operators", ["User Look-Up Period"])
    assert AadSettings.objects.get(pk=configured.pk).period == "hourly"
    page = Client()
    page.force_login(manager)
    assert "ops@operators" in page.get("/aad/").content.decode()


def test_an_admin_edit_recomputes_the_next_run(operator_client, configured):
    # Another minute as well as hourly: at some hours of the day the daily run and the next hourly one coincide.
    before, minute = configured.next_run_at, (configured.exec_minute + 30) % 60
    operator_client.post(f"/admin/aadsync/aadsettings/{configured.pk}/change/",
                         _form(configured, period="hourly", exec_minute=minute))
    after = AadSettings.objects.get(pk=configured.pk).next_run_at
    assert after != before and timedelta(0) < after - timezone.now() <= timedelta(hours=1)


def test_the_admin_never_shows_the_secret_or_its_encrypted_form(operator_client, configured):
    page = operator_client.get(f"/admin/aadsync/aadsettings/{configured.pk}/change/").content.decode()
    assert SECRET not in page and configured.secret_encrypted not in page
    assert 'name="secret_encrypted"' not in page and 'name="secret"' in page


def test_the_admin_cannot_write_the_encrypted_column(operator_client, configured):
    operator_client.post(f"/admin/aadsync/aadsettings/{configured.pk}/change/",
                         _form(configured, secret_encrypted="gAAAA-forged"))
    assert AadSettings.objects.get(pk=configured.pk).secret_encrypted == configured.secret_encrypted


def test_a_new_secret_from_the_admin_is_encrypted_and_logged(operator_client, configured):
    operator_client.post(f"/admin/aadsync/aadsettings/{configured.pk}/change/",
                         _form(configured, secret="a-brand-new~secret"))
    row = AadSettings.objects.get(pk=configured.pk)
    assert aad_secret_plain(settings_row=row) == "a-brand-new~secret"
    assert AadSettingsChange.objects.filter(source="admin").get().fields == ["Secret Code"]


@pytest.mark.parametrize("value", ["../../x?", "not-a-guid", GUID_T + "0"])
def test_the_admin_refuses_a_tenant_id_that_is_not_a_guid(operator_client, configured, value):
    response = operator_client.post(f"/admin/aadsync/aadsettings/{configured.pk}/change/",
                                    _form(configured, tenant_id=value))
    assert response.status_code == 200 and "must be a GUID like" in response.content.decode()
    assert AadSettings.objects.get(pk=configured.pk).tenant_id == GUID_T


def test_the_admin_normalises_a_guid_typed_in_capitals(operator_client, configured):
    operator_client.post(f"/admin/aadsync/aadsettings/{configured.pk}/change/",
                         _form(configured, client_id=f" {GUID_C.upper()} "))
    assert AadSettings.objects.get(pk=configured.pk).client_id == GUID_C


def test_the_admin_adds_settings_for_a_company_through_the_service(operator_client, company):
    response = operator_client.post("/admin/aadsync/aadsettings/add/", {
        "company": company.pk, "use_lookup": "on", "tenant_id": GUID_T, "client_id": GUID_C, "secret": SECRET,
        "period": "daily", "weekday": 0, "month_day": 1, "exec_hour": 2, "exec_minute": 0, "exec_second": 0,
        "scope": "all"})
    assert response.status_code == 302, response.content.decode()[:2000]
    row = AadSettings.objects.get(company=company)
    assert row.use_lookup and aad_secret_plain(settings_row=row) == SECRET and row.next_run_at is not None
    assert AadSettingsChange.objects.get(company=company).source == "admin"


def test_use_without_a_secret_is_refused_in_the_admin(operator_client, company):
    response = operator_client.post("/admin/aadsync/aadsettings/add/", {
        "company": company.pk, "use_lookup": "on", "tenant_id": GUID_T, "client_id": GUID_C,
        "period": "daily", "weekday": 0, "month_day": 1, "exec_hour": 2, "exec_minute": 0, "exec_second": 0,
        "scope": "all"})
    assert response.status_code == 200 and "Paste the client secret value" in response.content.decode()
    assert not AadSettings.objects.filter(company=company).exists()
