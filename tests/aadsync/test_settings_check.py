"""Save asks Microsoft first; a refused save stores nothing and says why next to the field; "Save without
checking" only when Microsoft could not confirm; a typed secret survives a form that comes back; Test connection."""
import logging
import time
from datetime import datetime, timedelta
from datetime import time as clock

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from aadsync import crypto
from aadsync.errors import SENTENCES
from aadsync.models import AadSettings, AadSettingsChange
from aadsync.services import Actor, aad_settings_update
from aadsync.views import kept_form
from tests.conftest import SECRET
from tests.fakems.model import APPLICATION_READ_ALL, USER_READ_ALL

pytestmark = pytest.mark.django_db
GUID_T = "43d42458-b9c9-4619-aa06-c8a1e2f3b4c5"
GUID_C = "c12be4c0-7943-4450-9b11-b35a1e2f3b4c"
NEW_SECRET = "new8Q~rotated-value-that-must-not-show"
KEPT = "The secret you pasted is kept for this form; it is not saved yet."


@pytest.fixture
def app(fake_ms):
    tenant = fake_ms.add_tenant(GUID_T)
    return fake_ms.add_app(tenant, GUID_C, secret=SECRET)


def _post(client, url="/aad/", **overrides):
    data = {"use_lookup": "use", "tenant_id": GUID_T, "client_id": GUID_C, "secret": SECRET, "period": "daily",
            "weekday": "0", "month_day": "1", "exec_hour": "2", "exec_minute": "0", "exec_second": "0"}
    data.update(overrides)
    return client.post(url, {name: value for name, value in data.items() if value is not None})


def _noon_in(company, days):
    """Noon of the day `days` from today in the company's calendar (no midnight flakiness)."""
    today = timezone.localdate(timezone=company.tzinfo)
    return datetime.combine(today + timedelta(days=days), clock(12), tzinfo=company.tzinfo)


def _kept_token(html):
    marker = f'name="{kept_form.FIELD}" value="'
    return html.split(marker, 1)[1].split('"', 1)[0]


def _all_session_data():
    return " ".join(str(session.get_decoded()) for session in Session.objects.all())


def test_working_credentials_are_saved_with_connected_message(manager_client, company, app, fake_ms):
    response = _post(manager_client)
    assert response.status_code == 302
    assert AadSettings.objects.get(company=company).use_lookup
    page = manager_client.get("/aad/").content.decode()
    assert "Connected: Microsoft issued a token and the app can read users." in page
    assert len(fake_ms.requests_to("users")) == 1


@pytest.mark.parametrize("case,field_id", [
    ("wrong_secret", "id_secret"),
    ("expired_secret", "id_secret"),
    ("unknown_client", "id_client_id"),
    ("unknown_tenant", "id_tenant_id"),
    ("permission_missing", None),
])
def test_a_refused_save_stores_nothing_and_shows_the_sentence_where_it_belongs(manager_client, company, app, case,
                                                                               field_id):
    overrides = {}
    if case == "wrong_secret":
        overrides["secret"] = "wrong~secret-value"
    elif case == "expired_secret":
        app.secrets[0].expires_at = time.time() - 60
    elif case == "unknown_client":
        overrides["client_id"] = "11111111-2222-3333-4444-555555555555"
    elif case == "unknown_tenant":
        overrides["tenant_id"] = "99999999-2222-3333-4444-555555555555"
    else:
        app.permissions = set()
    response = _post(manager_client, **overrides)
    assert response.status_code == 200
    html = response.content.decode()
    sentence = SENTENCES[case]
    if field_id:
        feedback = html.split(f'id="{field_id}"', 1)[1].split("</td>", 1)[0]
        assert sentence.split(" (")[0] in feedback.replace("&#x27;", "'").replace("&quot;", '"')
    else:
        assert 'data-testid="form-error"' in html and "User.Read.All" in html
    assert 'data-testid="save-unchecked"' not in html  # a definite refusal offers no way around it
    assert not AadSettings.objects.filter(company=company, use_lookup=True).exists()
    assert not AadSettingsChange.objects.filter(company=company).exists()
    assert SECRET not in html


def test_unreachable_microsoft_offers_save_without_checking_which_is_in_the_change_log(manager_client, company,
                                                                                         app, fake_ms, settings):
    settings.AAD_AUTHORITY_HOST = fake_ms.closed_url()
    first = _post(manager_client)
    html = first.content.decode()
    assert first.status_code == 200 and "Microsoft could not confirm these settings right now." in html
    assert "could not be reached" in html and 'data-testid="save-unchecked"' in html
    assert KEPT in html and SECRET not in html
    assert not AadSettings.objects.filter(company=company, use_lookup=True).exists()
    second = _post(manager_client, secret="", action="save-unchecked", kept_form=_kept_token(html))
    assert second.status_code == 302
    row = AadSettings.objects.get(company=company)
    assert row.use_lookup and crypto.decrypt(row.secret_encrypted) == SECRET
    change = AadSettingsChange.objects.get(company=company)
    assert change.note == "Saved without checking: Microsoft could not confirm the credentials at the time."
    page = manager_client.get("/aad/").content.decode()
    assert "saved without checking" in page.lower() and 'data-testid="change-note"' in page


def test_save_without_checking_is_not_accepted_after_a_definite_refusal(manager_client, company, app):
    html = _post(manager_client, secret="wrong~secret-value").content.decode()
    again = _post(manager_client, secret="wrong~secret-value", action="save-unchecked", kept_form=_kept_token(html))
    assert again.status_code == 200 and SENTENCES["wrong_secret"].split(" (")[0] in again.content.decode()
    assert not AadSettingsChange.objects.filter(company=company).exists()


def test_save_without_checking_covers_only_the_credentials_microsoft_could_not_confirm(
        manager_client, company, app, fake_ms, settings):
    settings.AAD_AUTHORITY_HOST = fake_ms.closed_url()
    html = _post(manager_client).content.decode()
    other = "99999999-2222-3333-4444-555555555555"
    again = _post(manager_client, secret="", tenant_id=other, action="save-unchecked", kept_form=_kept_token(html))
    assert again.status_code == 200  # other credentials: asked again (and still unreachable)
    assert not AadSettingsChange.objects.filter(company=company).exists()


def test_a_typed_secret_survives_another_fields_error_and_is_the_one_stored(manager_client, company, app, caplog):
    caplog.set_level(logging.DEBUG)
    _post(manager_client)
    app.add_secret(NEW_SECRET)
    first = _post(manager_client, secret=NEW_SECRET, tenant_id="not-a-guid")
    html = first.content.decode()
    assert first.status_code == 200 and "Tenant ID must be a GUID" in html
    assert KEPT in html and 'data-testid="kept-secret"' in html
    assert NEW_SECRET not in html and NEW_SECRET not in _all_session_data()
    second = _post(manager_client, secret="", kept_form=_kept_token(html))  # fixed, secret box left empty
    assert second.status_code == 302
    row = AadSettings.objects.get(company=company)
    assert crypto.decrypt(row.secret_encrypted) == NEW_SECRET
    assert "Secret Code" in AadSettingsChange.objects.filter(company=company).first().fields
    assert kept_form.SESSION_KEY not in str(_all_session_data())  # cleared on success
    for page in (manager_client.get("/aad/"), manager_client.get("/aad/?mode=edit")):
        assert NEW_SECRET not in page.content.decode()
    assert NEW_SECRET not in caplog.text


def test_without_the_form_token_the_kept_secret_is_not_used(manager_client, company, app):
    _post(manager_client)
    app.add_secret(NEW_SECRET)
    _post(manager_client, secret=NEW_SECRET, tenant_id="not-a-guid")
    _post(manager_client, secret="", exec_hour="4")  # a new form (no token): blank keeps the stored secret
    assert crypto.decrypt(AadSettings.objects.get(company=company).secret_encrypted) == SECRET


def test_cancel_forgets_the_kept_secret(manager_client, company, app):
    _post(manager_client)
    html = _post(manager_client, secret=NEW_SECRET, tenant_id="not-a-guid").content.decode()
    manager_client.get("/aad/")  # Cancel
    _post(manager_client, secret="", exec_hour="4", kept_form=_kept_token(html))
    assert crypto.decrypt(AadSettings.objects.get(company=company).secret_encrypted) == SECRET


def test_a_kept_secret_expires_after_ten_minutes(manager_client, company, app, monkeypatch):
    html = _post(manager_client, tenant_id="not-a-guid").content.decode()  # the first secret, never saved
    real = time.time
    monkeypatch.setattr(kept_form.time, "time", lambda: real() + kept_form.KEEP_SECONDS + 1)
    again = _post(manager_client, secret="", kept_form=_kept_token(html))
    assert again.status_code == 200 and "required the first time" in again.content.decode()


def test_a_secret_microsoft_refused_is_not_kept(manager_client, company, app):
    html = _post(manager_client, secret="wrong~secret-value").content.decode()
    assert KEPT not in html


def test_changing_only_the_schedule_does_not_ask_microsoft(manager_client, company, app, fake_ms):
    _post(manager_client)
    fake_ms.requests.clear()
    fake_ms.add_fault("status", status=503, endpoint=None)
    assert _post(manager_client, secret="", exec_hour="9", period="hourly").status_code == 302
    assert AadSettings.objects.get(company=company).exec_hour == 9
    assert list(fake_ms.requests) == []


def test_not_use_needs_no_check(manager_client, company, fake_ms):
    response = _post(manager_client, use_lookup="not-use", secret="never~checked")
    assert response.status_code == 302
    assert list(fake_ms.requests) == []


def test_test_connection_checks_the_saved_settings_and_changes_nothing(manager_client, company, app, fake_ms):
    _post(manager_client)
    before = AadSettings.objects.values().get(company=company)
    changes = AadSettingsChange.objects.count()
    response = manager_client.post("/aad/test/", follow=True)
    html = response.content.decode()
    assert "Connected: Microsoft issued a token and the app can read users." in html
    assert "Application.Read.All" in html  # the app may not read its expiry: the page says what to do
    after = AadSettings.objects.values().get(company=company)
    expiry_fields = {"secret_expiry_read_at", "secret_expiry_problem"}
    assert {k: v for k, v in after.items() if k not in expiry_fields} == {
        k: v for k, v in before.items() if k not in expiry_fields}
    assert AadSettingsChange.objects.count() == changes


def test_test_connection_says_why_it_fails(manager_client, company, app):
    _post(manager_client)
    app.secrets[0].expires_at = time.time() - 1
    html = manager_client.post("/aad/test/", follow=True).content.decode()
    assert "Test connection failed: " + SENTENCES["expired_secret"].split(" (")[0] in html


def test_test_connection_needs_saved_credentials(manager_client, company):
    html = manager_client.get("/aad/").content.decode()
    assert 'data-testid="test-connection" disabled' in html
    answer = manager_client.post("/aad/test/", follow=True).content.decode()
    assert "Test connection failed: The MS AAD settings are incomplete" in answer


def test_test_connection_is_for_managers_only(client, phone_user):
    client.force_login(phone_user)
    assert client.post("/aad/test/").status_code == 403


def test_saving_reads_the_expiry_when_the_app_may(manager_client, company, fake_ms):
    tenant = fake_ms.add_tenant(GUID_T)
    fake_ms.add_app(tenant, GUID_C, secret=SECRET, secret_expires_in=45 * 86400 + 3600,
                    permissions=(USER_READ_ALL, APPLICATION_READ_ALL))
    assert _post(manager_client).status_code == 302
    row = AadSettings.objects.get(company=company)
    assert row.secret_expiry_source == "graph" and not row.secret_expiry_approximate
    page = manager_client.get("/aad/").content.decode()
    days = (row.secret_expires_at.astimezone(company.tzinfo).date() - timezone.localdate(timezone=company.tzinfo)).days
    assert days in (45, 46) and f"(in {days} days)" in page and "read from Microsoft" in page
    assert 'data-testid="expiry-badge"' not in page


def test_when_the_app_may_not_the_typed_date_is_stored_and_shown(manager_client, company, app):
    assert _post(manager_client).status_code == 302
    page = manager_client.get("/aad/").content.decode()
    assert "The app may not read its own registration" in page
    assert _post(manager_client, secret="", secret_expires_on="2031-04-05").status_code == 302
    row = AadSettings.objects.get(company=company)
    assert row.secret_expiry_source == "typed"
    assert "Secret expires on" in AadSettingsChange.objects.filter(company=company).first().fields
    page = manager_client.get("/aad/").content.decode()
    assert "Secret expires on 2031-04-05" in page and "typed on this page" in page
    edit = manager_client.get("/aad/?mode=edit").content.decode()
    assert 'value="2031-04-05"' in edit


def test_a_new_secret_forgets_the_old_ones_typed_date(manager_client, company, app):
    _post(manager_client, secret_expires_on="2031-04-05")
    app.add_secret(NEW_SECRET)
    _post(manager_client, secret=NEW_SECRET, secret_expires_on="2031-04-05")  # the old date, unchanged
    assert AadSettings.objects.get(company=company).secret_expires_at is None


@pytest.mark.parametrize("days,level,badge,words", [
    (120, "ok", None, "(in 120 days)"),
    (30, "soon", "text-bg-warning", "Expires soon"),
    (8, "soon", "text-bg-warning", "Expires soon"),
    (7, "urgent", "text-bg-danger", "Expires very soon"),
    (1, "urgent", "text-bg-danger", "(in 1 day)"),
    (-3, "expired", "text-bg-danger", "Expired"),
])
def test_the_page_shows_the_expiry_in_words_and_colour(manager_client, company, days, level, badge, words):
    aad_settings_update(company=company, data={"use_lookup": False, "tenant_id": GUID_T, "client_id": GUID_C},
                        secret="x", actor=Actor(person=None, source="test"))
    AadSettings.objects.filter(company=company).update(
        secret_expires_at=_noon_in(company, days), secret_expiry_source="graph")
    html = manager_client.get("/aad/").content.decode()
    assert f'data-level="{level}"' in html and words in html
    if badge:
        assert badge in html.split('data-testid="expiry-badge"')[0].rsplit("<span", 1)[1]
    else:
        assert 'data-testid="expiry-badge"' not in html


def test_graph_failing_right_now_also_offers_save_without_checking(manager_client, company, app, fake_ms):
    fake_ms.server_error(503, times=None, endpoint="users")
    html = _post(manager_client).content.decode()
    assert "Microsoft is answering with server errors (HTTP 503) right now" in html
    assert 'data-testid="save-unchecked"' in html
    assert not AadSettings.objects.filter(company=company, use_lookup=True).exists()
