"""The fake Microsoft, driven by clients nobody here wrote: msal as Microsoft's own daemon sample uses it, and the
official Graph SDK (msgraph-sdk with azure-identity) listing users page by page and running a delta round. If the
fake drifted from Microsoft's wire format, these clients would be the first to notice."""
import asyncio
from concurrent.futures import ThreadPoolExecutor

import msal
import pytest
import requests
from azure.identity import ClientSecretCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.users.delta.delta_request_builder import DeltaRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder

from tests.fakems import generate_users

SELECT = ["id", "userPrincipalName", "givenName", "surname", "mail", "businessPhones", "mobilePhone",
          "accountEnabled", "userType"]


@pytest.fixture
def tenant(fake_ms, monkeypatch):
    """A tenant of 450 users and an app allowed to read them; httpx (the SDK) trusts the fake's CA too."""
    monkeypatch.setenv("SSL_CERT_FILE", fake_ms.ca_pem)
    tenant = fake_ms.add_tenant(users=generate_users(450, seed=21))
    app = fake_ms.add_app(tenant, secret="contract~secret-value-123")
    return tenant, app


def test_msal_as_the_daemon_sample_uses_it_gets_a_token_graph_accepts(fake_ms, tenant):
    tenant, app = tenant
    # Microsoft's confidential-client daemon sample: acquire_token_for_client, then call Graph with requests.
    client = msal.ConfidentialClientApplication(
        app.client_id, authority=f"{fake_ms.authority_host}/{tenant.tenant_id}",
        client_credential="contract~secret-value-123", instance_discovery=False)
    result = client.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    assert result.get("token_type") == "Bearer" and result["expires_in"] > 3000, result
    again = client.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    assert again["access_token"] == result["access_token"]  # served from msal's cache, as in the sample
    answer = requests.get(f"{fake_ms.graph_url}/users", timeout=10,
                          headers={"Authorization": f"Bearer {result['access_token']}"})
    assert answer.status_code == 200 and len(answer.json()["value"]) == 100  # Graph's default page size
    assert answer.headers["request-id"] and answer.json()["@odata.nextLink"].startswith(fake_ms.graph_url)
    wrong = msal.ConfidentialClientApplication(
        app.client_id, authority=f"{fake_ms.authority_host}/{tenant.tenant_id}", client_credential="nope",
        instance_discovery=False).acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    assert wrong["error"] == "invalid_client" and wrong["error_codes"] == [7000215]


def _sdk(fake_ms, tenant, app) -> GraphServiceClient:
    credential = ClientSecretCredential(tenant.tenant_id, app.client_id, "contract~secret-value-123",
                                        authority=fake_ms.authority_host, disable_instance_discovery=True)
    auth = AzureIdentityAuthenticationProvider(credential, scopes=["https://graph.microsoft.com/.default"],
                                               allowed_hosts=[f"127.0.0.1:{fake_ms.port}", "127.0.0.1"])
    adapter = GraphRequestAdapter(auth)
    adapter.base_url = fake_ms.graph_url
    return GraphServiceClient(request_adapter=adapter)


def test_the_graph_sdk_lists_every_user_page_by_page_and_runs_a_delta_round(fake_ms, tenant):
    tenant, app = tenant

    async def scenario():
        graph = _sdk(fake_ms, tenant, app)
        query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(select=SELECT, top=200)
        page = await graph.users.get(request_configuration=RequestConfiguration(query_parameters=query))
        listed = list(page.value)
        while page.odata_next_link:
            page = await graph.users.with_url(page.odata_next_link).get()
            listed += page.value
        delta_query = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(select=SELECT)
        round_ = await graph.users.delta.get(request_configuration=RequestConfiguration(query_parameters=delta_query))
        initial = list(round_.value)
        while round_.odata_next_link:
            round_ = await graph.users.delta.with_url(round_.odata_next_link).get()
            initial += round_.value
        link = round_.odata_delta_link
        tenant.update_user(listed[3].id, givenName="Changed")
        changes = await graph.users.delta.with_url(link).get()
        return listed, initial, link, changes

    # A thread of its own: the browser tests' Playwright keeps an event loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        listed, initial, link, changes = pool.submit(asyncio.run, scenario()).result()
    assert len(listed) == 450 and len({user.id for user in listed}) == 450  # three pages of 200
    assert listed[0].user_principal_name and listed[0].account_enabled in (True, False)
    assert len(initial) == 450 and link.startswith(fake_ms.graph_url)  # three delta pages of 200
    assert [user.given_name for user in changes.value] == ["Changed"] and changes.odata_delta_link
    paths = {request["path"] for request in fake_ms.requests if request["endpoint"] == "users_delta"}
    assert "/v1.0/users/delta()" in paths  # the function form the SDK calls
