"""The MS AAD page: read-only by default, Modify/Save/Cancel, change log, managers of the company only.

Saving Use with new credentials asks Microsoft first (tests/aadsync/test_settings_check.py): here the fake
Microsoft knows the tenant, app and secret these tests type."""
import logging

import pytest

from aadsync.models import AadSettings, AadSettingsChange
from tests.conftest import SECRET

pytestmark = pytest.mark.django_db
GUID_T = "43d42458-b9c9-4619-aa06-c8a1e2f3b4c5"
GUID_C = "c12be4c0-7943-4450-9b11-b35a1e2f3b4c"


@pytest.fixture(autouse=True)
def microsoft(fake_ms):
    """The tenant, app and secret the tests type, known to the fake Microsoft."""
    tenant = fake_ms.add_tenant(GUID_T)
    return fake_ms.add_app(tenant, GUID_C, secret=SECRET)


def _post(client, **overrides):
    data = {
        "use_lookup": "use",
        "tenant_id": GUID_T,
        "client_id": GUID_C,
        "secret": SECRET,
        "period": "weekly",
        "weekday": "2",
        "month_day": "1",
        "exec_hour": "2",
        "exec_minute": "30",
        "exec_second": "15",
        "include_guests": "on",
    }
    data.update(overrides)
    return client.post("/aad/", data)


def test_page_is_read_only_until_modify(manager_client):
    html = manager_client.get("/aad/").content.decode()
    assert 'name="tenant_id"' not in html
    assert "Modify" in html
    edit = manager_client.get("/aad/?mode=edit").content.decode()
    assert 'name="tenant_id"' in edit
    assert "Registered in the Azure AD Portal" in edit


def test_save_stores_values_and_masks_the_secret(manager_client, company, caplog):
    caplog.set_level(logging.DEBUG)
    response = _post(manager_client)
    assert response.status_code == 302
    row = AadSettings.objects.get(company=company)
    assert (row.use_lookup, row.tenant_id, row.client_id, row.period, row.weekday) == (True, GUID_T, GUID_C, "weekly", 2)
    assert (row.exec_hour, row.exec_minute, row.exec_second, row.include_guests) == (2, 30, 15, True)
    page = manager_client.get("/aad/").content.decode()
    edit = manager_client.get("/aad/?mode=edit").content.decode()
    assert "••••" in page
    assert "Every week on Wednesday" in page
    assert "Hour: 02, Min: 30, Sec: 15" in page
    for html in (page, edit):
        assert SECRET not in html
        assert row.secret_encrypted not in html
    assert SECRET not in caplog.text


def test_blank_secret_on_modify_keeps_the_stored_secret(manager_client, company):
    _post(manager_client)
    stored = AadSettings.objects.get(company=company).secret_encrypted
    _post(manager_client, secret="", exec_hour="5")
    row = AadSettings.objects.get(company=company)
    assert row.secret_encrypted == stored
    assert row.exec_hour == 5


def test_bad_tenant_id_re_renders_with_message_and_keeps_typed_values(manager_client, company):
    response = _post(manager_client, tenant_id="43d42458-b9c9-4619-aa06-c8", exec_minute="45")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Tenant ID must be a GUID" in html
    assert 'value="43d42458-b9c9-4619-aa06-c8"' in html
    assert '<option value="45" selected>' in html
    assert SECRET not in html  # the typed secret is not echoed back
    assert not AadSettings.objects.get(company=company).use_lookup


def test_every_change_is_recorded_without_the_secret_value(manager_client, company, manager):
    _post(manager_client)
    _post(manager_client, secret="", exec_hour="7")
    _post(manager_client, secret="")  # hour back to 2
    _post(manager_client, secret="", exec_hour="2")  # nothing changes
    changes = list(AadSettingsChange.objects.filter(company=company).order_by("id"))
    assert [c.fields for c in changes][1:] == [["Execution hour"], ["Execution hour"]]
    assert "Secret Code" in changes[0].fields and "Tenant ID" in changes[0].fields
    assert all(c.changed_by == manager for c in changes)
    page = manager_client.get("/aad/").content.decode()
    assert "rich@cm1-vertical" in page and "Execution hour" in page
    assert all(SECRET not in str(c.fields) for c in changes)


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/aad/")
    assert response.status_code == 302
    assert response.url.startswith("/login/")


def test_user_gets_403(client, phone_user):
    client.force_login(phone_user)
    assert client.get("/aad/").status_code == 403
    assert _post(client).status_code == 403


def test_other_company_manager_sees_and_changes_only_their_own(client, company, other_company, make_manager):
    _post_as = make_manager(other_company, login="boss", email="boss@other.com")
    client.force_login(_post_as)
    _post(client)
    assert AadSettings.objects.get(company=other_company).use_lookup
    assert not AadSettings.objects.filter(company=company, use_lookup=True).exists()
    assert GUID_T in client.get("/aad/").content.decode()


def test_inactive_manager_is_refused(client, manager):
    manager.is_active = False
    manager.save()
    client.force_login(manager)
    assert client.get("/aad/").status_code in (302, 403)


def test_page_says_which_microsoft_cloud_the_portal_talks_to(manager_client, settings):
    settings.AAD_CLOUD = "usgov"
    html = manager_client.get("/aad/").content.decode()
    assert "Microsoft Entra ID for US Government (GCC High, L4)" in html
    assert f"sign-in at {settings.AAD_AUTHORITY_HOST}" in html
