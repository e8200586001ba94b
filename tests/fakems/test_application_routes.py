"""The fake's `/applications(appId='...')`: passwordCredentials with hints and end times, 403 without the
permission to read applications, 404 for an unknown app, $select."""
import time

import pytest
import requests

from tests.fakems.model import APPLICATION_READ_ALL, USER_READ_ALL

SCOPE = "https://graph.microsoft.com/.default"


def _token(ms, tenant, app, secret):
    answer = requests.post(f"{ms.authority_host}/{tenant.tenant_id}/oauth2/v2.0/token", data={
        "client_id": app.client_id, "client_secret": secret, "grant_type": "client_credentials", "scope": SCOPE})
    return answer.json()["access_token"]


def _read(ms, token, app_id, select="passwordCredentials"):
    return requests.get(f"{ms.graph_url}/applications(appId='{app_id}')", params={"$select": select},
                        headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def allowed(fake_ms):
    tenant = fake_ms.add_tenant()
    app = fake_ms.add_app(tenant, secret="abc8Q~first", secret_expires_in=40 * 86400,
                          permissions=(USER_READ_ALL, APPLICATION_READ_ALL))
    return fake_ms, tenant, app, _token(fake_ms, tenant, app, "abc8Q~first")


def test_lists_each_secret_with_its_hint_key_id_and_end(allowed):
    ms, _, app, token = allowed
    app.add_secret("xyz8Q~second")  # never expires
    answer = _read(ms, token, app.client_id)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"@odata.context", "passwordCredentials"}
    first, second = body["passwordCredentials"]
    assert (first["hint"], second["hint"]) == ("abc", "xyz")
    assert first["keyId"] == app.secrets[0].key_id and first["secretText"] is None
    assert first["endDateTime"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(app.secrets[0].expires_at))
    assert second["endDateTime"].startswith("2100-01-01")
    assert "abc8Q~first" not in answer.text


def test_a_url_encoded_app_id_is_the_same_resource(allowed):
    ms, _, app, token = allowed
    answer = requests.get(f"{ms.graph_url}/applications(appId=%27{app.client_id}%27)?$select=passwordCredentials",
                          headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200


def test_without_application_read_all_the_answer_is_403_authorization_request_denied(fake_ms):
    tenant = fake_ms.add_tenant()
    app = fake_ms.add_app(tenant, secret="abc8Q~only")  # User.Read.All only
    answer = _read(fake_ms, _token(fake_ms, tenant, app, "abc8Q~only"), app.client_id)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "Authorization_RequestDenied"


def test_an_unknown_app_is_404_and_an_unknown_property_400(allowed):
    ms, _, app, token = allowed
    assert _read(ms, token, "00000000-0000-0000-0000-000000000000").status_code == 404
    assert _read(ms, token, app.client_id, select="passwordCredentials,nope").status_code == 400


def test_no_token_is_401(allowed):
    ms, _, app, _ = allowed
    assert requests.get(f"{ms.graph_url}/applications(appId='{app.client_id}')").status_code == 401
