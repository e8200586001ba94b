"""Benchmark of proposed links (issue 17): User > Link to AAD accounts and manage.py matchaad at scale.

    .venv/bin/python bench/bench_match.py                          # SQLite and PostgreSQL
    .venv/bin/python bench/bench_match.py --db sqlite --requests 10   # a quicker look

For each database it seeds two companies: 5,000 phone users without an AAD account against 100,000 directory
entries, and 1,000 users against 20,000 entries (for the query counts). Entries are 90 % synced and active,
2 % disabled and 1 % removed in AAD, the rest typed in; names are drawn so that most are unique, some shared
(ambiguous) and some accented. Users: 30 % have an account's mail as e-mail (some in other letter case or with
spaces around), 10 % its UPN, 15 % the first and last name of one account (typed without accents or in other
case), 5 % a name several accounts share, 40 % nothing; 200 more users are linked already (never listed).

Printed: the page's first screen (GET /users/match/ through Django's whole stack in-process, the server's time
without a network) median and 95th percentile, the full garbage collections during those requests, the same for
the page filtered by one kind (?show=name, half as many requests), and peak Python memory of one request; queries
per request at 1,000 and 5,000 users (must be equal); the Link selected POST of one page (100 strong rows); the
MS AAD page's count query; `manage.py matchaad --company ...` wall time as operators run it (a new process:
interpreter and Django start-up included) and the time of the same listing in-process (median of 3); then
`matchaad --apply` wall time.
Targets: first screen median < 300 ms, matchaad < 5 s; the ratio to each target is printed. Exit status 1 when a
target is missed or the query count grows with the users.

Options: --db sqlite,postgres; --requests N (timed page requests, default 20); --pg-url (dropped and created;
default postgres://postgres@127.0.0.1:5432/cmportal_bench_match); --seed. Not collected by pytest.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Names as bench/bench_directory.py draws them (a skewed list, a few accented); surnames are double ("Kim-Park")
# so that most people have a name of their own, as in a real directory, and only some share one.
from bench.bench_directory import FIRST, LAST  # noqa: E402
from bench.bench_sync import reset_postgres  # noqa: E402

PY = sys.executable
TARGETS = {"page_ms": 300.0, "matchaad_s": 5.0}
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/cmportal_bench_match"
SIZES = ((1_000, 20_000), (5_000, 100_000))  # (phone users, directory entries)

# Parent --------------------------------------------------------------------------------------------------------

def run_child(db: str, args) -> dict:
    tmp = tempfile.mkdtemp(prefix="bench-match-")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "cmportal.settings", "LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT), "CMPORTAL_VAR_DIR": tmp, "DJANGO_DEBUG": "1"}
    if db == "postgres":
        reset_postgres(args.pg_url)
        env["DATABASE_URL"] = args.pg_url
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    spec = {"db": db, "requests": args.requests, "seed": args.seed}
    out = subprocess.run([PY, __file__, "--child", json.dumps(spec)], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=False)
    sys.stderr.write(out.stderr)
    if out.returncode != 0:
        raise SystemExit(f"benchmark child on {db} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_report(results: list[dict]) -> bool:
    ok = True
    for r in results:
        page, small, large = r["page"], r["queries"]["1000"], r["queries"]["5000"]
        page_ratio = page["median"] / TARGETS["page_ms"]
        cmd_ratio = r["matchaad_s"] / TARGETS["matchaad_s"]
        same_queries = small == large
        ok &= page_ratio < 1 and cmd_ratio < 1 and same_queries
        print(f"\n== {r['db']} ({r['engine_version']}): seeded {r['seed_s']:.1f} s; 5,000 users: "
              + ", ".join(f"{count} {kind}" for kind, count in r["counts"].items()))
        print(f"page first screen (GET /users/match/), {r['requests']} requests: median {page['median']:.1f} ms, "
              f"p95 {page['p95']:.1f} ms; target < {TARGETS['page_ms']:.0f} ms: {page_ratio:.2f}x of target"
              + ("  ok" if page_ratio < 1 else "  OVER"))
        print(f"full (generation 2) garbage collections during those requests: {page['full_gc']}")
        filtered = r["filtered"]
        print(f"page filtered by kind (GET /users/match/?show=name), {filtered['requests']} requests: median "
              f"{filtered['median']:.1f} ms, p95 {filtered['p95']:.1f} ms")
        print(f"page peak Python memory (one request): {r['page_peak_mb']:.1f} MB")
        print(f"queries per request at 1,000 / 5,000 users: {small} / {large}"
              + ("  (constant)" if same_queries else "  GROWS"))
        print(f"Link selected, one page of {r['post_rows']} strong rows: {r['post_ms']:.0f} ms, {r['post_queries']} "
              f"queries ({r['post_queries'] / max(r['post_rows'], 1):.1f} a row)")
        print(f"MS AAD page's \"N existing users can be linked\" count: median {r['count_ms']:.1f} ms (1 query)")
        print(f"matchaad listing in-process (median of 3): {r['matchaad_inprocess_s']:.2f} s")
        print(f"manage.py matchaad (new process, wall): {r['matchaad_s']:.2f} s; target < "
              f"{TARGETS['matchaad_s']:.0f} s: {cmd_ratio:.2f}x of target" + ("  ok" if cmd_ratio < 1 else "  OVER"))
        print(f"manage.py matchaad --apply (new process, wall): {r['apply_s']:.2f} s, linked {r['applied']} users")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--requests", type=int, default=20, help="timed page requests")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="PostgreSQL database to (re)create and use")
    parser.add_argument("--seed", type=int, default=17, help="random seed")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    started = os.getloadavg()
    results = [run_child(db.strip(), args) for db in args.db.split(",") if db.strip()]
    ok = print_report(results)
    print(f"\nload average before / after: {started[0]:.2f} / {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    print("All targets met; queries per request do not grow with the users." if ok
          else "Some target missed (see above).")
    sys.exit(0 if ok else 1)


# Child: one database ---------------------------------------------------------------------------------------------

def _name(rnd: random.Random) -> tuple[str, str]:
    return rnd.choice(FIRST), f"{rnd.choice(LAST)}-{rnd.choice(LAST)}"


def _typed(rnd: random.Random, text: str) -> str:
    """How a manager typed a name years ago: no accents, any case."""
    import unicodedata

    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return rnd.choice([plain, plain.upper(), plain.lower(), text])


def seed_company(slug: str, users: int, entries: int, rnd: random.Random):
    from collections import Counter

    from directory.matching.keys import name_key
    from directory.models import Contact, Person
    from directory.services import company_create, manager_create

    company = company_create(slug=slug, name=slug)
    manager = manager_create(company=company, login="rich", name="rich", email="rich@bench.example",
                             password="Bench-pass1")
    contacts, batch = [], []
    for n in range(entries):
        first, last = _name(rnd)
        if n % 97 == 0:  # a few names shared on purpose: the ambiguous ones
            first, last = "Minsu", "Kim-Park"
        login = f"{first}.{last}{n}".lower().replace("'", "")
        roll = rnd.random()
        synced = roll >= 0.07
        state = "" if not synced else ("disabled" if roll < 0.09 else "removed" if roll < 0.10 else "active")
        batch.append(Contact(
            company=company, first_name=first, last_name=last, email=f"{login}@bench.example",
            user_principal_name=f"{login}@bench.onmicrosoft.com" if synced else "",
            object_id=f"{rnd.getrandbits(128):032x}" if synced else None, synced=synced, aad_state=state,
        ))
        if len(batch) == 5000:
            contacts += Contact.objects.bulk_create(batch)
            batch = []
    contacts += Contact.objects.bulk_create(batch)
    active = [c for c in contacts if c.aad_state == "active"]
    rnd.shuffle(active)
    keys = Counter(name_key(c.first_name, c.last_name) for c in active)
    unique = [c for c in active if keys[name_key(c.first_name, c.last_name)] == 1]
    shared = [c for c in active if keys[name_key(c.first_name, c.last_name)] > 1]
    used: set[int] = set()

    def take(pool):
        while True:
            contact = pool.pop()
            if contact.pk not in used:
                used.add(contact.pk)
                return contact

    people = []

    def person(n, first, last, email, contact=None):
        people.append(Person(company=company, role="user", login=f"u{n}", username=f"u{n}@{slug}",
                             extension=str(10_000 + n), first_name=first, last_name=last, email=email,
                             aad_contact=contact, password="!"))

    for n in range(users):
        roll = n % 20
        if roll < 6:  # strong by mail, sometimes typed in another case or with spaces
            c = take(unique)
            email = rnd.choice([c.email, c.email.upper(), f" {c.email} "])
            person(n, _typed(rnd, c.first_name), "Old", email)
        elif roll < 8:  # strong by UPN
            c = take(unique)
            person(n, "Old", "Name", c.user_principal_name)
        elif roll < 11:  # name, one account
            c = take(unique)
            person(n, _typed(rnd, c.first_name), _typed(rnd, c.last_name), f"u{n}@old.example")
        elif roll < 12:  # a name several accounts share
            c = rnd.choice(shared)
            person(n, c.first_name, c.last_name, "")
        else:
            person(n, "Nobody", f"Nomatch{n}", f"u{n}@old.example")
    for n in range(200):
        c = take(unique)
        person(users + n, c.first_name, c.last_name, c.email, contact=c)
    Person.objects.bulk_create(people, batch_size=2000)
    return company, manager


def time_page(client, url, count, connection) -> dict:
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):  # warm caches, session and template loaders
        client.get(url)
    import gc

    times, queries = [], set()
    full_collections = gc.get_stats()[2]["collections"]
    for _ in range(count):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - start) * 1000
        assert response.status_code == 200, response.status_code
        times.append(elapsed)
        queries.add(len(captured))
    times.sort()
    return {"median": statistics.median(times), "p95": times[min(len(times) - 1, int(len(times) * 0.95))],
            "queries": sorted(queries), "full_gc": gc.get_stats()[2]["collections"] - full_collections}


def run_command(args: list[str]) -> float:
    start = time.perf_counter()
    out = subprocess.run([PY, "manage.py", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed: {out.stderr}")
    return elapsed


def child(spec: dict) -> dict:
    import django

    django.setup()
    import io

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from directory.matching.selectors import link_proposals, linkable_user_count, proposal_counts

    setup_test_environment()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    rnd = random.Random(spec["seed"])
    start = time.perf_counter()
    companies = {users: seed_company(f"match-{users}", users, entries, rnd) for users, entries in SIZES}
    seed_s = time.perf_counter() - start
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    import gc

    gc.collect()  # the seeding's garbage out of the way: the timed requests start with a server's heap
    print(f"{spec['db']}: seeded in {seed_s:.1f} s", file=sys.stderr, flush=True)

    queries: dict[str, list[int]] = {}
    page: dict = {}
    filtered: dict = {}
    for users, (_company, manager) in companies.items():
        client = Client()
        client.force_login(manager)
        timing = time_page(client, "/users/match/", spec["requests"] if users == 5000 else 3, connection)
        queries[str(users)] = timing["queries"]
        if users == 5000:
            page = timing
            # One kind only (its own order, pages and counts): the filter pills.
            filtered = time_page(client, "/users/match/?show=name", max(spec["requests"] // 2, 3), connection)
            filtered["requests"] = max(spec["requests"] // 2, 3)
    company, manager = companies[5000]
    client = Client()
    client.force_login(manager)
    tracemalloc.start()
    client.get("/users/match/")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    counts = proposal_counts(link_proposals(company=company))

    times = []
    for _ in range(10):
        begin = time.perf_counter()
        linkable_user_count(company=company)
        times.append((time.perf_counter() - begin) * 1000)
    runs = []
    for _ in range(3):  # one call varies by half on a shared machine
        start = time.perf_counter()
        call_command("matchaad", "--company", company.slug, stdout=io.StringIO())
        runs.append(time.perf_counter() - start)
    inprocess_s = statistics.median(runs)
    matchaad_s = min(run_command(["matchaad", "--company", company.slug]) for _ in range(3))

    # One page's confirm: the first 100 rows are strong and ticked.
    proposals = [p for p in link_proposals(company=company) if p.preticked][:100]
    data = {"link": [p.person_id for p in proposals]}
    data.update({f"account-{p.person_id}": p.account.object_id for p in proposals if p.account})
    with CaptureQueriesContext(connection) as captured:
        begin = time.perf_counter()
        response = client.post("/users/match/", data)
        post_ms = (time.perf_counter() - begin) * 1000
    assert response.status_code == 302
    apply_s = run_command(["matchaad", "--company", company.slug, "--apply"])
    from directory.models import Person

    applied = Person.objects.filter(company=company, aad_contact__isnull=False).count() - 200 - len(proposals)
    with connection.cursor() as cursor:
        cursor.execute("select sqlite_version()" if connection.vendor == "sqlite" else "show server_version")
        version = cursor.fetchone()[0]
    return {
        "db": spec["db"], "engine_version": f"{connection.vendor} {version}", "seed_s": seed_s,
        "requests": spec["requests"], "counts": counts, "page": page, "filtered": filtered, "page_peak_mb": peak / 1e6,
        "queries": {size: "/".join(map(str, q)) for size, q in queries.items()},
        "post_rows": len(proposals), "post_ms": post_ms, "post_queries": len(captured),
        "count_ms": statistics.median(times), "matchaad_inprocess_s": inprocess_s, "matchaad_s": matchaad_s,
        "apply_s": apply_s, "applied": applied,
    }


if __name__ == "__main__":
    main()
