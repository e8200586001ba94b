"""A fake Microsoft (identity platform + Graph) on HTTPS loopback, for tests and the demo.

    with FakeMicrosoft() as ms:                      # or the `fake_ms` pytest fixture
        tenant = ms.add_tenant(users=250)            # realistic users (tenantgen.generate_users)
        app = ms.add_app(tenant, secret="...")       # an app registration with User.Read.All
        ms.throttle(times=2, retry_after="0.5")      # faults: see FakeMicrosoft's fault methods
        ms.env()                                     # AAD_AUTHORITY_HOST, GRAPH_API_URL, REQUESTS_CA_BUNDLE

Standalone: `python -m tests.fakems --port 8443 --users 250` (see README).
"""
from tests.fakems.model import App, Directory, Secret, Tenant
from tests.fakems.server import FakeMicrosoft
from tests.fakems.tenantgen import generate_users, make_guest, make_user

__all__ = ["App", "Directory", "FakeMicrosoft", "Secret", "Tenant", "generate_users", "make_guest", "make_user"]
