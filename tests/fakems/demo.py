"""The offline demo Microsoft that bin/run starts: `.venv/bin/python -m tests.fakems.demo --state-dir var/demo-ms`.

One tenant with fixed IDs and 250 made-up users (tenantgen, seed 1), and nothing else: any other tenant is answered
"AADSTS90002 Tenant not found" at OIDC discovery, before msal would send a secret. Its throwaway CA lives in the
state folder and is reused at every start (REQUESTS_CA_BUNDLE names the same file each time); so are its ports when
free. The sign-in pages a browser opens (authorize, logout) are also served over plain http on loopback, and the
discovery document points browsers there, so the demo's "Sign in with Microsoft" shows no certificate warning;
tokens, keys and Graph stay on HTTPS, as msal requires.

It writes, in the state folder:
  env        KEY=value lines for the portal, its worker and beat (bin/run exports them): AAD_AUTHORITY_HOST,
             GRAPH_API_URL, REQUESTS_CA_BUNDLE, CMPORTAL_DEMO_TENANT_ID, CMPORTAL_DEMO_ACCOUNT,
             CMPORTAL_DEMO_SIGNIN_ORIGIN; removed when it stops, so a stale file never points at nothing
  demo.json  what `manage.py demo` configures: tenant, client ID, secret, and the accounts to link
and prints one line ("Demo Microsoft ready ...") once it answers.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import sys
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import trustme

from tests.fakems import identity_routes
from tests.fakems.model import APPLICATION_READ_ALL, USER_READ_ALL
from tests.fakems.server import FakeMicrosoft, _Handler
from tests.fakems.wire import Response

# Fixed, so that a database kept across restarts (or on PostgreSQL) still matches the demo tenant.
DEMO_TENANT_ID = "7d1c2a5e-0d3e-4a11-9c3b-de70de70de70"
DEMO_CLIENT_ID = "c11e0de7-0d3e-4a11-8b2c-de70de70de70"
DEMO_SECRET = "dm0~OfflineDemoSecret.NotMicrosoft-0123456789"
DEMO_DOMAIN = "vertical-demo.onmicrosoft.com"
DEMO_SEED = 1
MANAGER_ACCOUNT = 0  # tenantgen user 0 (Liam de la Cruz): linked to the demo manager, for Sign in with Microsoft
USER_ACCOUNT = 12  # tenantgen user 12 (Minsu Rossi): linked to the demo phone user 27728


class _PlainServer(ThreadingHTTPServer):
    """The same routes over plain http, for the pages a browser opens (loopback only)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, ms: FakeMicrosoft):
        super().__init__(address, _Handler)
        self.ms = ms


def _load_ca(state: Path) -> trustme.CA:
    """The demo CA from the state folder, made once: the portal's REQUESTS_CA_BUNDLE stays valid across restarts."""
    cert, key = state / "ca.pem", state / "ca-key.pem"
    if cert.exists() and key.exists():
        return trustme.CA.from_pem(cert_bytes=cert.read_bytes(), private_key_bytes=key.read_bytes())
    ca = trustme.CA(organization_name="cmportal offline demo Microsoft")
    key.touch(mode=0o600)
    ca.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(cert))
    return ca


def _saved_ports(state: Path) -> dict:
    with contextlib.suppress(OSError, ValueError):
        return json.loads((state / "ports.json").read_text())
    return {}


def _start_https(ca: trustme.CA, port: int) -> FakeMicrosoft:
    try:
        return FakeMicrosoft(port=port, ca=ca).start()
    except OSError:  # last time's port is taken now: any free one (the portal reads it from the env file)
        return FakeMicrosoft(port=0, ca=ca).start()


def _start_plain(ms: FakeMicrosoft, port: int) -> _PlainServer:
    try:
        server = _PlainServer(("127.0.0.1", port), ms)
    except OSError:
        server = _PlainServer(("127.0.0.1", 0), ms)
    threading.Thread(target=server.serve_forever, name="demo-microsoft-http", daemon=True).start()
    return server


def _browser_discovery(signin_origin: str):
    """OIDC discovery whose browser-facing endpoints (authorize, logout) are on the plain-http origin."""

    def discovery(ms, request, tenant):
        answer = identity_routes.discovery(ms, request, tenant)
        if answer.status != 200 or not isinstance(answer.data, dict):
            return answer
        data = dict(answer.data)
        for key in ("authorization_endpoint", "end_session_endpoint"):
            data[key] = data[key].replace(ms.authority_host, signin_origin, 1)
        return Response.json(200, data, {k: v for k, v in answer.headers.items() if k.lower() != "content-type"})

    return discovery


def demo_microsoft_start(state: Path, *, users: int = 250) -> tuple[FakeMicrosoft, _PlainServer, dict]:
    """Start the demo Microsoft, write the env file and demo.json; returns the servers and the env."""
    state.mkdir(parents=True, exist_ok=True)
    ports = _saved_ports(state)
    ms = _start_https(_load_ca(state), int(ports.get("https", 0)))
    plain = _start_plain(ms, int(ports.get("http", 0)))
    signin_origin = f"http://127.0.0.1:{plain.server_address[1]}"
    ms.router.add("GET", identity_routes.TENANT + r"/v2\.0/\.well-known/openid-configuration",
                  _browser_discovery(signin_origin), name="discovery", first=True)
    tenant = ms.add_tenant(DEMO_TENANT_ID, users=users, seed=DEMO_SEED, domain=DEMO_DOMAIN)
    # The app may read its own registration, so the MS AAD page shows when the demo secret expires (a year on).
    ms.add_app(tenant, DEMO_CLIENT_ID, secret=DEMO_SECRET, secret_expires_in=365 * 24 * 3600,
               permissions=(USER_READ_ALL, APPLICATION_READ_ALL))
    listed = tenant.users
    manager_upn = listed[MANAGER_ACCOUNT]["userPrincipalName"] if len(listed) > MANAGER_ACCOUNT else ""
    user_upn = listed[USER_ACCOUNT]["userPrincipalName"] if len(listed) > USER_ACCOUNT else ""
    env = {
        "AAD_AUTHORITY_HOST": ms.authority_host,
        "GRAPH_API_URL": ms.graph_url,
        "REQUESTS_CA_BUNDLE": str((state / "ca.pem").resolve()),
        "CMPORTAL_DEMO_TENANT_ID": DEMO_TENANT_ID,
        "CMPORTAL_DEMO_ACCOUNT": manager_upn,
        "CMPORTAL_DEMO_SIGNIN_ORIGIN": signin_origin,
    }
    (state / "ports.json").write_text(json.dumps({"https": ms.port, "http": plain.server_address[1]}))
    (state / "demo.json").write_text(json.dumps({
        "tenant_id": DEMO_TENANT_ID, "client_id": DEMO_CLIENT_ID, "secret": DEMO_SECRET, "users": users,
        "manager_account": manager_upn, "user_account": user_upn,
    }, indent=1))
    # Written last and atomically: its presence means "answering now" to whoever waits for it (bin/run).
    partial = state / "env.partial"
    partial.write_text("".join(f"{name}={shlex.quote(value)}\n" for name, value in env.items()))
    partial.replace(state / "env")
    return ms, plain, env


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakems.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state-dir", default="var/demo-ms",
                        help="CA, ports, env and demo.json (default: %(default)s)")
    parser.add_argument("--users", type=int, default=250, help="users in the demo tenant (default: %(default)s)")
    args = parser.parse_args(argv)
    state = Path(args.state_dir)
    (state / "env").unlink(missing_ok=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    ms, plain, env = demo_microsoft_start(state, users=args.users)
    print(f"Demo Microsoft ready on {env['AAD_AUTHORITY_HOST']} (sign-in pages {env['CMPORTAL_DEMO_SIGNIN_ORIGIN']}): "
          f"tenant {DEMO_TENANT_ID}, {args.users} users, pid {os.getpid()}", flush=True)
    try:
        stop.wait()
    finally:
        (state / "env").unlink(missing_ok=True)
        plain.shutdown()
        plain.server_close()
        ms.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
