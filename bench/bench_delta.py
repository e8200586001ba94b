"""Benchmark of incremental look-ups (Graph delta queries) against full ones, with the fake in its own process.

    .venv/bin/python bench/bench_delta.py                  # 100,000 users, 100 changes, SQLite and PostgreSQL
    .venv/bin/python bench/bench_delta.py --db sqlite --users 20000 --skip-latency   # a quick look

For each database, in one fresh process and database: a full look-up of the tenant (which stores the delta
position), then 100 changes in the tenant (--renamed/--added/--removed) and an incremental look-up, timed, with
the requests it made; then the same with the fake answering each request --latency seconds after it arrived,
against a full re-sync (manage.py aadsync --full) measured in the same run with that latency.
Targets: incremental under 0.5 s without added latency; at least 50x faster than the full one with 200 ms.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from urllib.request import Request, urlopen

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_sync import PY, Fake, child_env, peak_rss_mb

TARGETS = {"incremental_s": 0.5, "ratio_with_latency": 50.0}


def admin(fake_info: dict, path: str, body: dict | None = None) -> dict:
    """The standalone fake's steering endpoints (tests/fakems/admin_routes.py)."""
    import ssl

    url = fake_info["env"]["AAD_AUTHORITY_HOST"] + path
    data = json.dumps(body).encode() if body is not None else None
    context = ssl.create_default_context(cafile=fake_info["env"]["REQUESTS_CA_BUNDLE"])
    with urlopen(Request(url, data=data, method="POST" if data else "GET"), context=context) as answer:
        return json.loads(answer.read())


def graph_requests(fake_info: dict) -> int:
    counts = admin(fake_info, "/_fake/requests")["counts"]
    return counts.get("users", 0) + counts.get("users_delta", 0) + counts.get("token", 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--renamed", type=int, default=80)
    parser.add_argument("--added", type=int, default=10)
    parser.add_argument("--removed", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/bench_sync"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(json.loads(args.child))))
        return

    import subprocess

    print(f"# bench_delta: {os.cpu_count()} CPUs, {args.users} users, "
          f"{args.renamed + args.added + args.removed} changes per round, fake Microsoft in its own process")
    results = {}
    for db in [db.strip() for db in args.db.split(",") if db.strip()]:
        fake = Fake(args.users)
        try:
            spec = {"fake": fake.info, "changes": {"renamed": args.renamed, "added": args.added,
                                                   "removed": args.removed},
                    "latency": 0.0 if args.skip_latency else args.latency}
            out = subprocess.run([PY, __file__, "--child", json.dumps(spec)], env=child_env(db, fake, args),
                                 capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
            if out.returncode != 0:
                sys.stderr.write(out.stderr)
                raise SystemExit(f"child on {db} failed")
            results[db] = json.loads(out.stdout.strip().splitlines()[-1])
        finally:
            fake.stop()
    for db, r in results.items():
        print(f"\n## {db}")
        print(f"full look-up (a position from now, then /users at 999 a page): {r['full_s']:.2f} s, {r['full_requests']} requests, "
              f"{r['full_pages']} pages")
        print(f"incremental after {r['changes']} changes: {r['incremental_s']:.3f} s, {r['incremental_requests']} "
              f"requests, {r['incremental_counts']} (target < {TARGETS['incremental_s']} s)")
        if "lat_full_s" in r:
            ratio = r["lat_full_s"] / r["lat_incremental_s"]
            print(f"with {r['latency'] * 1000:.0f} ms per request: full re-sync {r['lat_full_s']:.2f} s "
                  f"({r['lat_full_requests']} requests), incremental {r['lat_incremental_s']:.3f} s "
                  f"({r['lat_incremental_requests']} requests) -> {ratio:.0f}x faster "
                  f"(target >= {TARGETS['ratio_with_latency']:.0f}x)")
        print(f"peak RSS {r['peak_rss_mb']:.1f} MB")
    print("\n" + json.dumps(results))


def run_child(spec: dict) -> dict:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from aadsync.models import SyncRun
    from aadsync.services import Actor, aad_settings_update
    from aadsync.sync import sync_company_now
    from directory.services import company_create

    fake = spec["fake"]
    company = company_create(slug="bench", name="bench")
    aad_settings_update(company=company, data={"use_lookup": True, "tenant_id": fake["tenant_id"],
                                               "client_id": fake["client_id"]},
                        secret=fake["secret"], actor=Actor(person=None, source="bench"))

    def timed(full: bool = False):
        before = graph_requests(fake)
        started = time.perf_counter()
        run = sync_company_now(company=company, trigger=SyncRun.Trigger.COMMAND, full=full)
        elapsed = time.perf_counter() - started
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        return elapsed, run, graph_requests(fake) - before

    def change(seed: int) -> None:
        admin(fake, f"/_fake/tenants/{fake['tenant_id']}/changes", {**spec["changes"], "seed": seed})

    result = {"users": fake["users"], "changes": sum(spec["changes"].values())}
    full_s, full, requests = timed()
    assert full.mode == SyncRun.Mode.FULL
    result.update(full_s=full_s, full_requests=requests, full_pages=full.pages_read)
    change(1)
    inc_s, inc, requests = timed()
    assert inc.mode == SyncRun.Mode.INCREMENTAL
    result.update(incremental_s=inc_s, incremental_requests=requests, incremental_counts={
        "created": inc.created, "updated": inc.updated, "removed": inc.removed, "pages": inc.pages_read})
    if spec["latency"]:
        admin(fake, "/_fake/latency", {"seconds": spec["latency"]})
        lat_full_s, lat_full, lat_full_requests = timed(full=True)
        change(2)
        lat_inc_s, lat_inc, lat_inc_requests = timed()
        assert lat_inc.mode == SyncRun.Mode.INCREMENTAL and lat_full.mode == SyncRun.Mode.FULL
        result.update(latency=spec["latency"], lat_full_s=lat_full_s, lat_full_requests=lat_full_requests,
                      lat_incremental_s=lat_inc_s, lat_incremental_requests=lat_inc_requests)
        admin(fake, "/_fake/latency", {"seconds": 0})
    result["peak_rss_mb"] = peak_rss_mb()
    return result


if __name__ == "__main__":
    main()
