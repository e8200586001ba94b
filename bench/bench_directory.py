"""Benchmark of the Company Directory page and the AAID ID dropdown search with many directory entries.

    .venv/bin/python bench/bench_directory.py                       # SQLite and PostgreSQL, 1,000 and 100,000
    .venv/bin/python bench/bench_directory.py --db sqlite --sizes 100000 --requests 30   # a quicker look

For each database it seeds one company per size (names drawn from a skewed list like a real tenant's; 10 %
typed-in entries, 2 % disabled and 1 % removed in AAD, 200 linked users), then times requests through Django's
full stack in-process (middleware, session, view, queries, template: the server's time, without a network)
and counts the queries of each request. Printed per scenario and size: median and 95th percentile in ms, and
queries per request, which must be the same at every size. Targets: directory page median < 50 ms, dropdown
search median < 30 ms (scenarios without a verdict are shown for information). The "typing" scenarios replay
what a manager types: the first 1..5 characters of random names, e-mails and "first last" pairs.
Exit status 0 when every target is met and no query count grows with the size.

Options: --db sqlite,postgres; --sizes 1000,100000; --requests N per scenario (default 60); --pg-url (its
database is dropped and created for each run; default postgres://postgres@127.0.0.1:5432/cmportal_bench_dir).
PostgreSQL gets VACUUM ANALYZE after seeding (autovacuum does this in production); SQLite gets no statistics.
Not collected by pytest (bench/ is outside testpaths).
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.bench_sync import reset_postgres  # noqa: E402

PY = sys.executable
TARGETS_MS = {"page": 50.0, "search": 30.0}
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/cmportal_bench_dir"

FIRST = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen", "Minsu", "Jiwoo", "Seoyeon", "Hyunwoo", "Jisoo", "Minji", "Dohyun", "Yuna", "Junho", "Soyeon", "Wei", "Fang", "Li", "Na", "Hiroshi", "Yuki", "Haruto", "Sakura", "Ahmed", "Fatima", "Omar", "Aisha", "Carlos", "Maria", "Jose", "Ana", "Luis", "Sofia", "Pierre", "Camille", "Lukas", "Anna", "Noah", "Emma", "Liam", "Olivia", "Ethan", "Ava", "Lucas", "Mia", "Mateo", "Zoe", "Émile", "Chloé", "Søren", "Åsa"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Kim", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim", "Han", "Wang", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Dubois", "Laurent", "Bernard", "Rossi", "Russo", "Nguyen", "Tran", "Patel", "Shah", "Khan", "Singh", "Silva", "Santos", "Costa", "Oliveira", "O'Brien", "Walsh"]


# Parent --------------------------------------------------------------------------------------------------------

def run_child(db: str, args) -> dict:
    tmp = tempfile.mkdtemp(prefix="bench-directory-")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "cmportal.settings", "LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT), "CMPORTAL_VAR_DIR": tmp, "DJANGO_DEBUG": "1"}
    if db == "postgres":
        reset_postgres(args.pg_url)
        env["DATABASE_URL"] = args.pg_url
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    spec = {"db": db, "sizes": args.sizes, "requests": args.requests, "seed": args.seed}
    out = subprocess.run([PY, __file__, "--child", json.dumps(spec)], cwd=ROOT, env=env, capture_output=True,
                         text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"benchmark child on {db} failed")
    sys.stderr.write(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_report(results: list[dict]) -> bool:
    ok = True
    for result in results:
        sizes = result["sizes"]
        print(f"\n== {result['db']} ({result['engine_version']}) — seeding: "
              + ", ".join(f"{size:,} in {result['seed_s'][str(size)]:.1f} s" for size in sizes))
        header = f"{'scenario':44s}" + "".join(f"{f'{size:,}: median / p95 / queries':>34s}" for size in sizes)
        print(header)
        print("-" * len(header))
        for name, kind in result["scenarios"]:
            cells = []
            counts = set()
            for size in sizes:
                row = result["rows"][name][str(size)]
                counts.add(tuple(row["queries"]))
                queries = "/".join(str(q) for q in sorted(set(row["queries"])))
                cells.append(f"{row['median']:9.1f} ms {row['p95']:7.1f} ms {queries:>7s} q")
            verdict = ""
            target = TARGETS_MS.get(kind)
            largest = result["rows"][name][str(max(sizes))]["median"]
            if target is not None:
                verdict = "  ok" if largest < target else f"  OVER {target:.0f} ms"
                ok &= largest < target
            if len({tuple(sorted(set(c))) for c in counts}) > 1:
                verdict += "  QUERIES GROW"
                ok = False
            print(f"{name:44s}" + "".join(f"{cell:>34s}" for cell in cells) + verdict)
        print(f"CSV export of {max(sizes):,} entries: {result['csv_s']:.2f} s, {result['csv_mb']:.1f} MB streamed, "
              f"peak Python memory while streaming {result['csv_peak_mb']:.1f} MB")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--sizes", default="1000,100000", help="directory entries per company, comma-separated")
    parser.add_argument("--requests", type=int, default=60, help="timed requests per scenario and size")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="PostgreSQL database to (re)create and use")
    parser.add_argument("--seed", type=int, default=5, help="random seed for names and queries")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    args.sizes = [int(size) for size in args.sizes.split(",")]
    results = [run_child(db.strip(), args) for db in args.db.split(",") if db.strip()]
    ok = print_report(results)
    print("\nAll targets met; queries per request do not grow with the entry count." if ok
          else "\nSome target missed (see above).")
    sys.exit(0 if ok else 1)


# Child: one database, every size -------------------------------------------------------------------------------

def seed_company(size: int, rnd: random.Random):
    from directory.models import Contact, Person
    from directory.services import company_create, manager_create

    company = company_create(slug=f"bench-{size}", name=f"Bench {size}")
    manager = manager_create(company=company, login="rich", name="rich", email="rich@bench.example",
                             password="Bench-pass1")
    first_weights = [1 / (i + 1) ** 0.7 for i in range(len(FIRST))]
    last_weights = [1 / (i + 1) ** 0.7 for i in range(len(LAST))]
    batch = []
    for n in range(size):
        first = rnd.choices(FIRST, first_weights)[0]
        last = rnd.choices(LAST, last_weights)[0]
        login = f"{first}.{last}{n}".lower().replace("'", "")
        roll = rnd.random()
        synced = roll >= 0.10
        state = "" if not synced else ("disabled" if roll < 0.12 else "removed" if roll < 0.13 else "active")
        batch.append(Contact(
            company=company, first_name=first, last_name=last, email=f"{login}@bench.example",
            office_phone=f"+1 425 {rnd.randint(200, 999)} {rnd.randint(0, 9999):04d}",
            mobile_phone=f"+82 10 {rnd.randint(1000, 9999)} {rnd.randint(0, 9999):04d}" if rnd.random() < 0.6 else "",
            user_principal_name=f"{login}@bench.onmicrosoft.com" if synced else "",
            object_id=f"{rnd.getrandbits(128):032x}" if synced else None,
            synced=synced, aad_state=state,
        ))
        if len(batch) == 5000:
            Contact.objects.bulk_create(batch)
            batch = []
    Contact.objects.bulk_create(batch)
    linked = Contact.objects.filter(company=company, synced=True, aad_state="active").order_by("?")[:200]
    Person.objects.bulk_create([
        Person(company=company, role="user", login=f"u{n}", username=f"u{n}@{company.slug}", extension=str(1000 + n),
               first_name=contact.first_name, last_name=contact.last_name, email=contact.email, aad_contact=contact,
               password="!")
        for n, contact in enumerate(linked)
    ])
    return company, manager


def typing_queries(rnd: random.Random, count: int) -> list[str]:
    """What a manager types into the dropdown: 1 to 5 first characters of a name, e-mail or "first last"."""
    queries = []
    while len(queries) < count:
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        text = rnd.choice([first, last, f"{first}.{last}".lower(), f"{first} {last}"])
        queries.append(text[: rnd.randint(1, 5)])
    return queries


def time_requests(client, url, params_list, connection) -> dict:
    from django.test.utils import CaptureQueriesContext

    for params in params_list[:3]:  # warm caches, session and template loaders
        client.get(url, params)
    times, queries = [], []
    for params in params_list:
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url, params)
            if response.streaming:
                b"".join(response.streaming_content)
            elapsed = (time.perf_counter() - start) * 1000
        assert response.status_code == 200, (url, params, response.status_code)
        times.append(elapsed)
        queries.append(len(captured))
    times.sort()
    return {"median": statistics.median(times), "p95": times[min(len(times) - 1, int(len(times) * 0.95))],
            "queries": queries}


def child(spec: dict) -> dict:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    rnd = random.Random(spec["seed"])
    n = spec["requests"]
    sizes = spec["sizes"]
    seed_s, companies = {}, {}
    for size in sizes:
        start = time.perf_counter()
        companies[size] = seed_company(size, rnd)
        seed_s[str(size)] = time.perf_counter() - start
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    last_pages = {size: (size + 49) // 50 for size in sizes}
    typing = typing_queries(rnd, n)
    scenarios = [
        ("directory page 1 (name order)", "page", "/directory/", lambda size: [{}] * n),
        ("directory search while typing", "page", "/directory/", lambda size: [{"q": q} for q in typing]),
        ("directory search 'smith'", "page", "/directory/", lambda size: [{"q": "smith"}] * n),
        # Worst case, for information: "s" starts a field of about a quarter of the entries, and the page
        # counts and sorts them all (the cost grows with the matches, not with the directory).
        ("directory search one letter 's' (worst)", None, "/directory/", lambda size: [{"q": "s"}] * n),
        ("directory search 'zz' (no match)", "page", "/directory/", lambda size: [{"q": "zz"}] * n),
        ("directory filter Sync=disabled", "page", "/directory/", lambda size: [{"sync": "disabled"}] * n),
        ("directory sort e-mail descending", "page", "/directory/", lambda size: [{"sort": "-email"}] * n),
        ("directory sort first name", "page", "/directory/", lambda size: [{"sort": "first_name"}] * n),
        ("directory sort Sync", "page", "/directory/", lambda size: [{"sort": "sync"}] * n),
        ("directory last page", "page", "/directory/", lambda size: [{"page": last_pages[size]}] * n),
        ("dropdown search while typing", "search", "/directory/aad-accounts/", lambda size: [{"q": q} for q in typing]),
        ("dropdown first open (empty query)", "search", "/directory/aad-accounts/", lambda size: [{}] * n),
        ("dropdown one letter 'm'", "search", "/directory/aad-accounts/", lambda size: [{"q": "m"}] * n),
        ("dropdown 'kim min'", "search", "/directory/aad-accounts/", lambda size: [{"q": "kim min"}] * n),
        ("dropdown 'zz' (no match)", "search", "/directory/aad-accounts/", lambda size: [{"q": "zz"}] * n),
        ("users list", None, "/users/", lambda size: [{}] * n),
    ]
    rows = {}
    for name, _kind, url, params in scenarios:
        rows[name] = {}
        for size in sizes:
            client = Client()
            client.force_login(companies[size][1])
            rows[name][str(size)] = time_requests(client, url, params(size), connection)
        print(f"{spec['db']}: {name} done", file=sys.stderr, flush=True)

    import tracemalloc

    client = Client()
    client.force_login(companies[max(sizes)][1])
    tracemalloc.start()
    start = time.perf_counter()
    response = client.get("/directory/export.csv")
    streamed = sum(len(chunk) for chunk in response.streaming_content)
    csv_s = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    with connection.cursor() as cursor:
        cursor.execute("select sqlite_version()" if connection.vendor == "sqlite" else "show server_version")
        version = cursor.fetchone()[0]
    return {
        "db": spec["db"], "engine_version": f"{connection.vendor} {version}", "sizes": sizes, "seed_s": seed_s,
        "scenarios": [(name, kind) for name, kind, _url, _params in scenarios], "rows": rows,
        "csv_s": csv_s, "csv_mb": streamed / 1e6, "csv_peak_mb": peak / 1e6,
    }


if __name__ == "__main__":
    main()
