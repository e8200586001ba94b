"""The secret's expiry from the app's registration: matched by hint, the earliest of several (approximate),
403 without Application.Read.All, never raising for the caller that only wants a bonus."""
import time
from datetime import UTC, datetime

import pytest

from aadsync.microsoft.applications import (
    FAILED,
    FORBIDDEN,
    NOT_LISTED,
    ExpiryUnreadable,
    SecretExpiry,
    graph_datetime,
    secret_expiry_pick,
    secret_expiry_read,
    secret_expiry_try,
)
from aadsync.microsoft.graph import GraphClient
from aadsync.microsoft.tokens import Credentials, TokenSource
from tests.fakems.model import APPLICATION_READ_ALL, USER_READ_ALL

SECRET = "abc8Q~the-secret-in-use"


@pytest.mark.parametrize("text,expected", [
    ("2027-05-01T10:00:00Z", datetime(2027, 5, 1, 10, tzinfo=UTC)),
    ("2027-05-01T10:00:00.1234567Z", datetime(2027, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)),
    ("2027-05-01T10:00:00+02:00", datetime(2027, 5, 1, 8, tzinfo=UTC)),
    ("2027-05-01T10:00:00", datetime(2027, 5, 1, 10, tzinfo=UTC)),
    ("not a date", None),
    ("", None),
    (None, None),
])
def test_graph_datetimes(text, expected):
    assert graph_datetime(text) == expected


def _credential(hint, end):
    return {"keyId": "k", "hint": hint, "endDateTime": end, "displayName": "x", "secretText": None}


def test_the_credential_whose_hint_is_the_secrets_first_three_characters_is_picked():
    picked = secret_expiry_pick([_credential("xyz", "2030-01-01T00:00:00Z"), _credential("abc", "2028-02-03T04:05:06Z")],
                                secret=SECRET)
    assert picked == SecretExpiry(datetime(2028, 2, 3, 4, 5, 6, tzinfo=UTC), approximate=False)


def test_several_credentials_sharing_the_hint_give_the_earliest_end_marked_approximate():
    picked = secret_expiry_pick([_credential("abc", "2030-01-01T00:00:00Z"), _credential("abc", "2028-01-01T00:00:00Z"),
                                 _credential("zzz", "2027-01-01T00:00:00Z")], secret=SECRET)
    assert picked == SecretExpiry(datetime(2028, 1, 1, tzinfo=UTC), approximate=True)


@pytest.mark.parametrize("credentials", [[], [_credential("xyz", "2030-01-01T00:00:00Z")],
                                         [_credential("abc", "garbage")], "not a list", [None, 3]])
def test_nothing_matching_is_no_answer(credentials):
    assert secret_expiry_pick(credentials, secret=SECRET) is None


def _client(fake_ms, *, permissions, expires_in=None, more=()):
    tenant = fake_ms.add_tenant()
    app = fake_ms.add_app(tenant, secret=SECRET, secret_expires_in=expires_in, permissions=permissions)
    for value, seconds in more:
        app.add_secret(value, expires_in=seconds)
    credentials = Credentials(tenant_id=tenant.tenant_id, client_id=app.client_id, secret=SECRET)
    return GraphClient(TokenSource(credentials)), app


def test_read_from_the_fake_when_the_app_may(fake_ms):
    client, app = _client(fake_ms, permissions=(USER_READ_ALL, APPLICATION_READ_ALL), expires_in=90 * 86400,
                          more=[("xyz8Q~another", 400 * 86400)])
    expiry = secret_expiry_read(client, client_id=app.client_id)
    assert not expiry.approximate
    assert abs(expiry.expires_at.timestamp() - app.secrets[0].expires_at) < 1
    request = fake_ms.requests_to("application")[0]
    assert request["path"] == f"/v1.0/applications(appId='{app.client_id}')"
    assert request["query"] == {"$select": "passwordCredentials"}


def test_read_of_several_secrets_with_the_same_hint_is_approximate(fake_ms):
    client, app = _client(fake_ms, permissions=(USER_READ_ALL, APPLICATION_READ_ALL), expires_in=400 * 86400,
                          more=[("abc8Q~rotated-one", 20 * 86400)])
    expiry = secret_expiry_read(client, client_id=app.client_id)
    assert expiry.approximate
    assert abs(expiry.expires_at.timestamp() - (time.time() + 20 * 86400)) < 5


def test_without_application_read_all_the_read_is_forbidden(fake_ms):
    client, app = _client(fake_ms, permissions=(USER_READ_ALL,))
    with pytest.raises(ExpiryUnreadable) as unreadable:
        secret_expiry_read(client, client_id=app.client_id)
    assert unreadable.value.problem == FORBIDDEN
    assert "Application.Read.All" in str(unreadable.value) and "type the date" in str(unreadable.value)


def test_a_secret_not_listed_is_said(fake_ms):
    client, app = _client(fake_ms, permissions=(USER_READ_ALL, APPLICATION_READ_ALL))
    client.tokens.access_token()  # the token stays cached in the msal app
    app.secrets[0].value = "zzz8Q~replaced-meanwhile"  # the registration now lists another secret only
    with pytest.raises(ExpiryUnreadable) as unreadable:
        secret_expiry_read(client, client_id=app.client_id)
    assert unreadable.value.problem == NOT_LISTED


def test_try_never_raises(fake_ms):
    client, app = _client(fake_ms, permissions=(USER_READ_ALL, APPLICATION_READ_ALL))
    fake_ms.server_error(503, endpoint="application", times=None)
    assert secret_expiry_try(client, client_id=app.client_id) == (None, FAILED)
    fake_ms.faults.clear()
    fake_ms.drop_connection(endpoint="application")
    assert secret_expiry_try(client, client_id=app.client_id) == (None, FAILED)
    fake_ms.faults.clear()
    assert secret_expiry_try(client, client_id="00000000-0000-0000-0000-000000000000") == (None, FAILED)  # 404
    app.secrets[0].value = "wrong-now"
    client.tokens.renew()  # the next token request is refused: a SyncError inside, no exception outside
    assert secret_expiry_try(client, client_id=app.client_id) == (None, FAILED)
