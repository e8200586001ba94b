"""The fake Microsoft itself answers as microsoft-facts.md says Graph and the identity platform do."""
import base64
import time

import pytest
import requests

from tests.fakems import FakeMicrosoft, generate_users

SCOPE = "https://graph.microsoft.com/.default"


@pytest.fixture
def world(fake_ms):
    tenant = fake_ms.add_tenant(users=250)
    app = fake_ms.add_app(tenant, secret="right-secret")
    return fake_ms, tenant, app


def get_token(ms, tenant, app, secret="right-secret", **extra):
    return requests.post(f"{ms.authority_host}/{tenant.tenant_id}/oauth2/v2.0/token", data={
        "client_id": app.client_id, "client_secret": secret, "grant_type": "client_credentials", "scope": SCOPE,
        **extra})


def graph(ms, token, path="/users", **params):
    return requests.get(ms.graph_url + path, params=params, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def token(world):
    ms, tenant, app = world
    return get_token(ms, tenant, app).json()["access_token"]


def test_discovery_document_points_at_the_fake(world):
    ms, tenant, _ = world
    doc = requests.get(f"{ms.authority_host}/{tenant.tenant_id}/v2.0/.well-known/openid-configuration").json()
    assert doc["token_endpoint"] == f"{ms.authority_host}/{tenant.tenant_id}/oauth2/v2.0/token"
    assert doc["issuer"] == f"{ms.authority_host}/{tenant.tenant_id}/v2.0"


def test_discovery_of_an_unknown_tenant_is_a_400_with_aadsts90002(world):
    ms, _, _ = world
    answer = requests.get(f"{ms.authority_host}/00000000-0000-0000-0000-000000000000/v2.0/.well-known/"
                          "openid-configuration")
    assert answer.status_code == 400
    assert answer.json()["error_codes"] == [90002]


def test_token_success_has_microsofts_shape(world):
    ms, tenant, app = world
    body = get_token(ms, tenant, app).json()
    assert body["token_type"] == "Bearer" and 3500 < body["expires_in"] <= 3599 and body["access_token"]


def test_token_accepts_http_basic_client_authentication(world):
    ms, tenant, app = world
    basic = base64.b64encode(f"{app.client_id}:right-secret".encode()).decode()
    answer = requests.post(f"{ms.authority_host}/{tenant.tenant_id}/oauth2/v2.0/token",
                           data={"grant_type": "client_credentials", "scope": SCOPE},
                           headers={"Authorization": f"Basic {basic}"})
    assert answer.status_code == 200


@pytest.mark.parametrize(
    ("arrange", "status", "error", "code"),
    [
        (lambda t, a: None, 401, "invalid_client", 7000215),
        (lambda t, a: setattr(a.secrets[0], "expires_at", time.time() - 1), 401, "invalid_client", 7000222),
        (lambda t, a: t.apps.clear(), 400, "unauthorized_client", 700016),
    ],
    ids=["wrong", "expired", "unknown-app"],
)
def test_token_errors_carry_the_aadsts_code(world, arrange, status, error, code):
    ms, tenant, app = world
    arrange(tenant, app)
    secret = "wrong" if code == 7000215 else "right-secret"
    answer = get_token(ms, tenant, app, secret=secret)
    body = answer.json()
    assert (answer.status_code, body["error"], body["error_codes"]) == (status, error, [code])
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert {"timestamp", "trace_id", "correlation_id", "error_uri"} <= set(body)


def test_users_default_page_is_100_without_account_enabled_or_user_type(world, token):
    ms, _, _ = world
    body = graph(ms, token).json()
    assert len(body["value"]) == 100
    assert "accountEnabled" not in body["value"][0] and "userType" not in body["value"][0]
    assert "$skiptoken=" in body["@odata.nextLink"]


def test_users_select_returns_exactly_the_named_properties(world, token):
    ms, _, _ = world
    body = graph(ms, token, **{"$select": "id,accountEnabled,userType", "$top": "5"}).json()
    assert [set(user) for user in body["value"]] == [{"id", "accountEnabled", "userType"}] * 5


def test_users_top_above_999_is_rejected(world, token):
    ms, _, _ = world
    answer = graph(ms, token, **{"$top": "1000"})
    assert answer.status_code == 400
    assert "Must be between 1 and 999" in answer.json()["error"]["message"]


def test_users_unknown_select_property_is_rejected(world, token):
    ms, _, _ = world
    assert graph(ms, token, **{"$select": "id,shoeSize"}).status_code == 400


def test_next_links_walk_the_whole_tenant_once(world, token):
    ms, tenant, _ = world
    url, ids = f"{ms.graph_url}/users?$top=999&$select=id", []
    first = requests.get(url, headers={"Authorization": f"Bearer {token}"}).json()
    assert "@odata.nextLink" not in first  # 250 users fit one page of 999
    url = f"{ms.graph_url}/users?$top=60&$select=id"
    while url:
        page = requests.get(url, headers={"Authorization": f"Bearer {token}"}).json()
        ids += [user["id"] for user in page["value"]]
        url = page.get("@odata.nextLink")
    assert ids == [user["id"] for user in tenant.users]


def test_users_without_a_token_is_401_and_without_permission_403(world, token):
    ms, tenant, app = world
    assert graph(ms, "not-a-token").json()["error"]["code"] == "InvalidAuthenticationToken"
    app.permissions.clear()
    weak = get_token(ms, tenant, app).json()["access_token"]
    answer = graph(ms, weak)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "Authorization_RequestDenied"


def test_a_fault_fires_the_given_number_of_times(world, token):
    ms, _, _ = world
    ms.throttle(times=2, retry_after="2.5")
    answers = [graph(ms, token) for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["Retry-After"] == "2.5"


def test_a_dropped_connection_is_a_connection_error(world, token):
    ms, _, _ = world
    ms.drop_connection(times=1)
    with pytest.raises(requests.ConnectionError):
        graph(ms, token)
    assert graph(ms, token).status_code == 200


def test_ignore_top_pages_by_100(world, token):
    ms, _, _ = world
    ms.ignore_top(100)
    assert len(graph(ms, token, **{"$top": "999"}).json()["value"]) == 100


def test_generated_tenant_has_every_awkward_case():
    users = generate_users(40, seed=9)
    assert any(u["mail"] is None for u in users)
    assert any(u["givenName"] is None and u["surname"] is None for u in users)
    assert any(len(u["businessPhones"]) > 1 for u in users) and any(not u["businessPhones"] for u in users)
    assert any(u["userType"] == "Guest" and "#EXT#" in u["userPrincipalName"] for u in users)
    assert any(u["accountEnabled"] is False for u in users)
    assert any(len(u["givenName"] or "") == 64 and len(u["userPrincipalName"]) == 113 and len(u["mail"]) == 256
               for u in users)
    assert any("<" in (u["givenName"] or "") for u in users)
    assert any(not (u["givenName"] or "").isascii() for u in users)
    assert len({u["id"] for u in users}) == 40
    assert generate_users(40, seed=9) == users  # deterministic


def test_the_fake_runs_standalone_as_a_context_manager(monkeypatch):
    with FakeMicrosoft() as ms:
        tenant = ms.add_tenant(users=3)
        app = ms.add_app(tenant, secret="s")
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", ms.ca_pem)
        assert get_token(ms, tenant, app, secret="s").status_code == 200


# /users/delta -------------------------------------------------------------------------------------------------

def delta_round(ms, token, url=None, prefer=None):
    """Every page of a delta round: (users, deltaLink)."""
    url = url or f"{ms.graph_url}/users/delta?$select=id,givenName,mail,userType"
    headers = {"Authorization": f"Bearer {token}", **({"Prefer": prefer} if prefer else {})}
    users = []
    while True:
        page = requests.get(url, headers=headers).json()
        users += page["value"]
        if "@odata.nextLink" in page:
            url = page["@odata.nextLink"]
            continue
        return users, page["@odata.deltaLink"]


def test_delta_initial_round_pages_by_200_and_ends_with_a_delta_link(world, token):
    ms, tenant, _ = world
    first = requests.get(f"{ms.graph_url}/users/delta?$select=id", headers={"Authorization": f"Bearer {token}"})
    assert len(first.json()["value"]) == 200 and "@odata.nextLink" in first.json()
    users, link = delta_round(ms, token)
    assert [u["id"] for u in users] == [u["id"] for u in tenant.users]
    assert "$deltatoken=" in link and "$select=id,givenName,mail,userType" in link


def test_delta_round_from_a_link_returns_only_changes(world, token):
    ms, tenant, _ = world
    _, link = delta_round(ms, token)
    a, b, c = tenant.users[:3]
    tenant.update_user(a["id"], givenName="Changed")
    tenant.remove_user(b["id"], reason="changed")
    tenant.remove_user(c["id"])
    changes, next_link = delta_round(ms, token, link)
    assert changes == [
        {"id": a["id"], "givenName": "Changed", "mail": a["mail"], "userType": a["userType"]},
        {"id": b["id"], "@removed": {"reason": "changed"}},
        {"id": c["id"], "@removed": {"reason": "deleted"}},
    ]
    assert delta_round(ms, token, next_link)[0] == []  # nothing since


def test_delta_return_minimal_sends_only_changed_properties(world, token):
    ms, tenant, _ = world
    _, link = delta_round(ms, token)
    user = tenant.users[5]
    tenant.update_user(user["id"], givenName="Only")
    changes, _ = delta_round(ms, token, link, prefer="return=minimal")
    assert changes == [{"id": user["id"], "givenName": "Only"}]


def test_soft_deleted_users_close_an_initial_round_as_removed(world, token):
    ms, tenant, _ = world
    gone = tenant.users[0]["id"]
    tenant.remove_user(gone, reason="changed")
    users, _ = delta_round(ms, token)
    assert users[-1] == {"id": gone, "@removed": {"reason": "changed"}}


@pytest.mark.parametrize(("status", "code"), [(400, "syncStateNotFound"), (410, None)])
def test_expired_delta_tokens_are_refused(world, token, status, code):
    ms, tenant, _ = world
    _, link = delta_round(ms, token)
    ms.expire_delta_tokens(tenant, status=status, code=code)
    answer = requests.get(link, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code or status == 410


def test_admin_endpoints_steer_a_standalone_fake(world):
    ms, tenant, _ = world
    url = f"{ms.authority_host}/_fake/tenants/{tenant.tenant_id}/changes"
    answer = requests.post(url, json={"renamed": 3, "added": 2, "removed": 1}).json()
    assert answer["users"] == 251
    assert requests.get(f"{ms.authority_host}/_fake/requests").json()["counts"]["admin"] == 2
