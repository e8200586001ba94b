"""pytest fixtures for the fake Microsoft: `fake_ms` (the service, reset for each test) and `fake_tenant`
(a company whose MS AAD settings point at a fake tenant). Imported by tests/conftest.py."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.fakems.model import USER_READ_ALL, App, Tenant, new_secret_value
from tests.fakems.server import FakeMicrosoft


@dataclass
class FakeSetup:
    company: object
    tenant: Tenant
    app: App
    secret: str


class DjangoFakeMicrosoft(FakeMicrosoft):
    """The fake, plus one-call set-up of a company's MS AAD settings against it."""

    def configure(self, company, *, users=20, seed: int = 1, secret: str | None = None,
                  secret_expires_in: float | None = None, permissions=(USER_READ_ALL,),
                  include_guests: bool = False, use_lookup: bool = True) -> FakeSetup:
        from aadsync.services import Actor, aad_settings_update

        tenant = self.add_tenant(users=users, seed=seed, domain=f"{company.slug}.onmicrosoft.com")
        secret = secret or new_secret_value()
        app = self.add_app(tenant, secret=secret, secret_expires_in=secret_expires_in, permissions=permissions)
        aad_settings_update(
            company=company,
            data={"use_lookup": use_lookup, "tenant_id": tenant.tenant_id, "client_id": app.client_id,
                  "include_guests": include_guests},
            secret=secret,
            actor=Actor(person=None, source="test"),
        )
        return FakeSetup(company=company, tenant=tenant, app=app, secret=secret)


@pytest.fixture(scope="session")
def _fake_ms_server():
    ms = DjangoFakeMicrosoft().start()
    yield ms
    ms.stop()


@pytest.fixture
def fake_ms(_fake_ms_server, settings, monkeypatch):
    """The fake Microsoft, empty, with settings and REQUESTS_CA_BUNDLE pointing at it."""
    from aadlogin.msal_apps import signin_apps_clear
    from aadsync.microsoft.tokens import msal_apps_clear

    ms = _fake_ms_server
    ms.reset()
    # A look-up waits out a throttling Microsoft until its run's time limit (AAD_SYNC_TIME_LIMIT); in tests that
    # is about a second (soft limit 1 s), unless a test sets its own.
    settings.AAD_SYNC_TIME_LIMIT = 2
    settings.AAD_AUTHORITY_HOST = ms.authority_host
    settings.GRAPH_API_URL = ms.graph_url
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ms.ca_pem)
    msal_apps_clear()  # msal apps cache tokens and replay recent errors: each test starts afresh
    signin_apps_clear()
    yield ms
    msal_apps_clear()
    signin_apps_clear()
    ms.reset()


@pytest.fixture
def fake_tenant(fake_ms, company) -> FakeSetup:
    """`company` with MS AAD settings (Use) pointing at a fake tenant of 20 realistic users."""
    return fake_ms.configure(company)
