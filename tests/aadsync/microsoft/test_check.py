"""Test connection against the fake Microsoft: a token and one Graph read through msal and requests; each refusal
as its sentence and field; unreachable, failing or throttled Microsoft as "could not confirm"; a fresh msal app."""
import time

import pytest

from aadsync.errors import SENTENCES
from aadsync.microsoft.check import connection_check
from aadsync.microsoft.graph import GraphClient
from aadsync.microsoft.tokens import Credentials, TokenSource
from tests.fakems.model import APPLICATION_READ_ALL, USER_READ_ALL

SECRET = "abc8Q~check-me"


@pytest.fixture
def world(fake_ms):
    tenant = fake_ms.add_tenant(users=3)
    app = fake_ms.add_app(tenant, secret=SECRET, permissions=(USER_READ_ALL, APPLICATION_READ_ALL),
                          secret_expires_in=100 * 86400)
    return fake_ms, tenant, app


def _credentials(tenant, app, **overrides):
    values = {"tenant_id": tenant.tenant_id, "client_id": app.client_id, "secret": SECRET, **overrides}
    return Credentials(**values)


def test_working_credentials_get_a_token_read_one_user_and_the_expiry(world):
    ms, tenant, app = world
    result = connection_check(_credentials(tenant, app))
    assert result.ok and not result.unconfirmed
    assert abs(result.expiry.expires_at.timestamp() - app.secrets[0].expires_at) < 1
    users = ms.requests_to("users")
    assert len(users) == 1 and users[0]["query"] == {"$select": "id", "$top": "1"}
    assert [entry["endpoint"] for entry in ms.requests if entry["endpoint"] != "discovery"] == [
        "token", "users", "application"]


@pytest.mark.parametrize("case,field", [
    ("wrong_secret", "secret"),
    ("expired_secret", "secret"),
    ("unknown_client", "client_id"),
    ("unknown_tenant", "tenant_id"),
    ("permission_missing", None),
])
def test_each_refusal_is_its_sentence_on_its_field(world, case, field):
    _, tenant, app = world
    overrides = {}
    if case == "wrong_secret":
        overrides["secret"] = "abc8Q~not-this-one"
    elif case == "expired_secret":
        app.secrets[0].expires_at = time.time() - 60
    elif case == "unknown_client":
        overrides["client_id"] = "11111111-2222-3333-4444-555555555555"
    elif case == "unknown_tenant":
        overrides["tenant_id"] = "99999999-2222-3333-4444-555555555555"
    else:
        app.permissions = {APPLICATION_READ_ALL}
    result = connection_check(_credentials(tenant, app, **overrides))
    assert result.error.code == case and result.error.sentence == SENTENCES[case]
    assert result.field == field and not result.unconfirmed and not result.ok


def test_unreachable_microsoft_is_unconfirmed(world, settings):
    ms, tenant, app = world
    settings.AAD_AUTHORITY_HOST = ms.closed_url()
    result = connection_check(_credentials(tenant, app))
    assert result.error.code == "unreachable" and result.unconfirmed


@pytest.mark.parametrize("status,words", [(503, "server errors (HTTP 503)"), (429, "too many requests")])
def test_failing_or_throttling_graph_is_unconfirmed_quickly(world, status, words):
    ms, tenant, app = world
    ms.throttle(status=status, retry_after="60", times=None, endpoint="users")
    started = time.monotonic()
    result = connection_check(_credentials(tenant, app))
    assert time.monotonic() - started < 3  # a 60 s Retry-After is not waited for while a person waits
    assert result.error.code == "check_busy" and result.unconfirmed and words in result.error.sentence
    assert len(ms.requests_to("users")) == 1


def test_a_secret_revoked_since_the_last_look_up_is_not_hidden_by_a_cached_token(world):
    ms, tenant, app = world
    credentials = _credentials(tenant, app)
    GraphClient(TokenSource(credentials)).get_page(f"{ms.graph_url}/users?$top=1")  # a look-up's app and token
    app.secrets[0].expires_at = time.time() - 1
    result = connection_check(credentials)
    assert result.error.code == "expired_secret"
    assert TokenSource(credentials).access_token()  # the look-ups' cached app is left as it was


def test_an_app_that_may_not_read_its_registration_still_connects(world):
    _, tenant, app = world
    app.permissions = {USER_READ_ALL}
    result = connection_check(_credentials(tenant, app))
    assert result.ok and result.expiry is None and result.expiry_problem == "forbidden"
