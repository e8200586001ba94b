"""The fake Microsoft standalone: .venv/bin/python -m tests.fakems --users 250 (bin/run starts tests/fakems/demo.py)."""
import argparse
import contextlib
import json
import shutil
import signal
import sys
import threading

from tests.fakems.model import new_secret_value
from tests.fakems.server import FakeMicrosoft


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakems", description=__doc__)
    parser.add_argument("--port", type=int, default=8443, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--users", type=int, default=250, help="users in the tenant")
    parser.add_argument("--seed", type=int, default=1, help="seed of the user generator")
    parser.add_argument("--tenant-id", help="tenant GUID (default: random)")
    parser.add_argument("--client-id", help="app registration's client ID (default: random)")
    parser.add_argument("--secret", help="the app's client secret (default: random)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every Graph page")
    parser.add_argument("--page-size", type=int, help="ignore $top and answer pages of this size")
    parser.add_argument("--ca-out", help="also copy the CA certificate (PEM) to this path")
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of shell exports")
    args = parser.parse_args(argv)

    ms = FakeMicrosoft(port=args.port).start()
    tenant = ms.add_tenant(args.tenant_id, users=args.users, seed=args.seed)
    secret = args.secret or new_secret_value()
    app = ms.add_app(tenant, args.client_id, secret=secret)
    if args.latency:
        ms.add_latency(args.latency)
    if args.page_size:
        ms.ignore_top(args.page_size)
    ca = ms.ca_pem
    if args.ca_out:
        shutil.copyfile(ms.ca_pem, args.ca_out)
        ca = args.ca_out
    env = {**ms.env(), "REQUESTS_CA_BUNDLE": ca}
    if args.json:
        print(json.dumps({"env": env, "tenant_id": tenant.tenant_id, "client_id": app.client_id,
                          "secret": secret, "users": args.users}), flush=True)
    else:
        print(f"# Fake Microsoft on {ms.authority_host} ({args.users} users). Export these where the portal runs:")
        for name, value in env.items():
            print(f"export {name}={value}")
        print(f"# MS AAD page: Tenant ID {tenant.tenant_id}  Client ID {app.client_id}  Secret Code {secret}")
        print(f"# or: echo '{secret}' | .venv/bin/python manage.py aadconfig --company cm1-vertical "
              f"--tenant-id {tenant.tenant_id} --client-id {app.client_id} --secret-stdin --use")
        print("# (bin/run does all of this by itself: it starts the demo Microsoft, tests/fakems/demo.py)")
        print("# Ctrl-C stops it.", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    ms.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
