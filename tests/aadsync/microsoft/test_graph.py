"""The Graph client and tokens (aadsync/microsoft/graph.py, tokens.py) through msal and requests against the fake."""
import logging

import pytest
from django.urls import reverse

from aadsync.errors import SyncError
from aadsync.microsoft.answers import RetryPolicy
from aadsync.microsoft.graph import USER_FIELDS, GraphClient
from aadsync.microsoft.tokens import Credentials, TokenSource
from aadsync.models import SyncRun
from aadsync.sync import sync_company_now
from tests.conftest import SECRET


class FakeClock:
    """A clock that only moves when the client sleeps: retries are tested without waiting."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 3))
        self.now += seconds

    def __call__(self):
        return self.now


@pytest.fixture
def fake_app(fake_ms):
    tenant = fake_ms.add_tenant(users=250)
    app = fake_ms.add_app(tenant, secret=SECRET)
    return tenant, app


def make_client(fake_ms, fake_app, **options) -> tuple[GraphClient, FakeClock]:
    tenant, app = fake_app
    clock = FakeClock()
    tokens = TokenSource(Credentials(tenant.tenant_id, app.client_id, SECRET), authority_host=fake_ms.authority_host)
    options.setdefault("retry", RetryPolicy(max_retries=4, max_seconds=60, backoff_base=1.0))
    client = GraphClient(tokens, graph_url=fake_ms.graph_url, sleep=clock.sleep, clock=clock,
                         jitter=lambda: 1.0, **options)
    return client, clock


def test_client_lists_every_user_across_pages(fake_ms, fake_app):
    client, _ = make_client(fake_ms, fake_app)
    fake_ms.ignore_top(100)

    pages = list(client.user_pages())

    assert [page.number for page in pages] == [1, 2, 3]
    assert sum(len(page.users) for page in pages) == 250
    assert set(pages[0].users[0]) == set(USER_FIELDS)


def test_client_honours_decimal_retry_after(fake_ms, fake_app):
    client, clock = make_client(fake_ms, fake_app)
    fake_ms.throttle(times=3, retry_after="2.128")

    pages = list(client.user_pages())

    assert clock.sleeps == [2.128, 2.128, 2.128]
    assert len(pages) == 1


def test_client_backs_off_exponentially_without_retry_after(fake_ms, fake_app):
    client, clock = make_client(fake_ms, fake_app)
    fake_ms.server_error(504, times=3)

    list(client.user_pages())

    assert clock.sleeps == [1.0, 2.0, 4.0]


def test_client_honours_retry_after_on_503(fake_ms, fake_app):
    client, clock = make_client(fake_ms, fake_app)
    fake_ms.server_error(503, times=1, retry_after="3")

    list(client.user_pages())

    assert clock.sleeps == [3.0]


def test_client_gives_up_after_max_retries(fake_ms, fake_app):
    client, clock = make_client(fake_ms, fake_app)
    fake_ms.throttle(times=None, retry_after="1")

    with pytest.raises(SyncError) as failed:
        list(client.user_pages())

    assert failed.value.code == "throttled"
    assert clock.sleeps == [1.0] * 4
    assert len(fake_ms.requests_to("users")) == 5
    assert "through 4 retries over 4.0 seconds" in str(failed.value)


def test_client_gives_up_rather_than_wait_past_its_total_time(fake_ms, fake_app):
    client, clock = make_client(fake_ms, fake_app)
    fake_ms.throttle(times=None, retry_after="100")

    with pytest.raises(SyncError) as failed:
        list(client.user_pages())

    assert failed.value.code == "throttled"
    assert clock.sleeps == []  # 100 s would exceed the 60 s budget: no point waiting


def test_client_does_not_retry_a_permission_error(fake_ms, fake_app):
    client, clock = make_client(fake_ms, fake_app)
    fake_app[1].permissions.clear()

    with pytest.raises(SyncError) as failed:
        list(client.user_pages())

    assert failed.value.code == "permission_missing" and clock.sleeps == []


def test_client_renews_a_revoked_token_once(fake_ms, fake_app):
    client, _ = make_client(fake_ms, fake_app)
    list(client.user_pages())
    fake_ms.revoke_tokens()

    pages = list(client.user_pages())

    assert len(pages) == 1
    assert len(fake_ms.requests_to("token")) == 2


def test_client_refuses_a_next_link_to_another_origin(fake_ms, fake_app):
    # Same server, but reached as "localhost": the fake's nextLinks (127.0.0.1) are another origin.
    client, _ = make_client(fake_ms, fake_app)
    client.graph_url = fake_ms.graph_url.replace("127.0.0.1", "localhost")
    fake_ms.ignore_top(100)

    with pytest.raises(SyncError) as failed:
        list(client.user_pages())

    assert failed.value.code == "foreign_link"
    assert len(fake_ms.requests_to("users")) == 1


def test_token_is_reused_across_runs(fake_ms, fake_tenant):
    for _ in range(3):
        run = sync_company_now(company=fake_tenant.company, trigger=SyncRun.Trigger.COMMAND)
        assert run.status == SyncRun.Status.SUCCEEDED

    assert len(fake_ms.requests_to("token")) == 1
    assert len(fake_ms.requests_to("discovery")) == 1
    # instance_discovery=False: msal never asks login.microsoftonline.com about the fake's host.
    assert not [r for r in fake_ms.requests if "discovery/instance" in r["path"]]


def test_new_secret_gets_a_new_token(fake_ms, fake_tenant):
    from aadsync.services import Actor, aad_settings_update

    sync_company_now(company=fake_tenant.company, trigger=SyncRun.Trigger.COMMAND)
    new = fake_tenant.app.add_secret("a-brand-new-secret-value")
    aad_settings_update(company=fake_tenant.company, data={}, secret=new.value, actor=Actor(person=None))

    sync_company_now(company=fake_tenant.company, trigger=SyncRun.Trigger.COMMAND)

    assert len(fake_ms.requests_to("token")) == 2


# The secret never leaks --------------------------------------------------------------------------------------

LEAK_CASES = {
    "wrong-secret": lambda ms, s, settings: (s.app.secrets.clear(), s.app.add_secret("other")),
    "expired-secret": lambda ms, s, settings: setattr(s.app.secrets[0], "expires_at", 1.0),
    "unknown-client": lambda ms, s, settings: s.tenant.apps.clear(),
    "unknown-tenant": lambda ms, s, settings: ms.directory.tenants.clear(),
    "no-permission": lambda ms, s, settings: s.app.permissions.clear(),
    "throttled": lambda ms, s, settings: ms.throttle(times=None, retry_after="0.01"),
    "graph-5xx": lambda ms, s, settings: ms.server_error(502, times=None),
    "token-5xx": lambda ms, s, settings: ms.server_error(503, times=None, endpoint="token"),
    "token-malformed": lambda ms, s, settings: ms.malformed_json(endpoint="token"),
    "discovery-dropped": lambda ms, s, settings: ms.drop_connection(endpoint="discovery"),
    "login-unreachable": lambda ms, s, settings: setattr(settings, "AAD_AUTHORITY_HOST", ms.closed_url()),
    "graph-unreachable": lambda ms, s, settings: setattr(settings, "GRAPH_API_URL", ms.closed_url() + "/v1.0"),
    "graph-dropped": lambda ms, s, settings: ms.drop_connection(page=1, mid_body=True),
    "malformed": lambda ms, s, settings: ms.malformed_json(page=1),
    "nextlink-loop": lambda ms, s, settings: (ms.ignore_top(5), ms.nextlink_loop(page=2)),
    "success": lambda ms, s, settings: None,
}


@pytest.mark.parametrize("case", list(LEAK_CASES))
def test_secret_never_appears_in_logs_errors_or_the_page(case, fake_ms, company, manager, client, settings, caplog):
    settings.AAD_GRAPH_MAX_RETRIES = 1
    settings.AAD_GRAPH_BACKOFF_SECONDS = 0.01
    setup = fake_ms.configure(company, secret=SECRET)
    LEAK_CASES[case](fake_ms, setup, settings)
    caplog.set_level(logging.DEBUG)  # msal, urllib3 and requests log at DEBUG: capture everything
    for name in ("msal", "urllib3", "requests", "aadsync"):
        logging.getLogger(name).setLevel(logging.DEBUG)

    run = sync_company_now(company=company, trigger=SyncRun.Trigger.COMMAND)

    assert (run.status == SyncRun.Status.SUCCEEDED) == (case == "success"), run.error
    assert caplog.records, "nothing was captured: the check would prove nothing"
    assert any(r.name.startswith(("msal", "urllib3")) for r in caplog.records)
    assert SECRET not in caplog.text
    assert SECRET not in "".join(str(r.args) + str(r.exc_info) for r in caplog.records)
    assert SECRET not in run.error + run.notice
    client.force_login(manager)
    page = client.get(reverse("aad-settings")).content.decode()
    assert run.error[:40].replace("'", "&#x27;") in page
    assert SECRET not in page


