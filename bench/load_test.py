"""Bounded load test of the production stack on loopback: gunicorn (TLS) + PostgreSQL + Redis + a Celery worker.

    .venv/bin/python bench/load_test.py                              # PostgreSQL, 20 users for 60 s (~1.5 min)
    .venv/bin/python bench/load_test.py --db postgres,sqlite         # both databases, one after the other
    .venv/bin/python bench/load_test.py --users 40 --duration 30 --think 0.5

For each database it creates a database of its own (dropped at the end; SQLite: a file in a temporary folder),
seeds one company with 100,000 directory entries (bench/bench_directory.py's builder: realistic skewed names,
10 % typed in, 200 linked users), one manager per virtual user and per clicker, and MS AAD settings pointing at
the fake Microsoft (started in this process; a small tenant, one Graph page answered after --graph-latency
seconds so a look-up lasts long enough for the clicks to overlap it). A first full look-up runs during seeding
(it stores Graph's change position, as in production after the first day). Then `bin/prod all` starts
gunicorn over HTTPS (a throwaway trustme CA), the Celery worker and beat on Redis, with DJANGO_DEBUG=0.

Load: --users virtual users, each a manager with a browser session of its own, start over --ramp seconds, sign
in with a password and then, with --think seconds (mean) between actions, open the MS AAD page, the directory
(first page, a search, a later page), type into the AAID ID dropdown (a request per pause in typing), open
Sync History, now and then sign out and in again. Every --sync-every seconds, --clickers other managers of the
same company press One-time Sync at the same instant (a barrier) and poll the run's status every second, as the
page does. The expected answers are one 202 (queued) and 409 "already running" for the others (all 409 when a
run is still going); both count as correct. After the load every run must have succeeded, there must be as many
one-time runs as 202 answers, and no two runs of the company may have been active at once.

Bounds: the load stops after --duration seconds or --max-requests requests, whichever comes first; each request
times out after --timeout seconds; the whole test gives up after --duration + 600 s per database.

Report per endpoint: requests, requests/s, median and 95th percentile latency (client side: from sending the
request to the last byte of the answer), errors (an unexpected status, a timeout or an exception). Targets: no
errors; 95th percentile under 200 ms for every page, JSON endpoint and One-time Sync click. Sign-in's latency is
shown for information: it is the password check (PBKDF2 with Django's 1,000,000 iterations, slow by design).
Exit status 1 when a target is missed.

Needs PostgreSQL (--pg-admin) and Redis (--redis, a database number of its own: its keys are deleted at the
end). Not collected by pytest (bench/ is outside testpaths); tests/test_load_smoke.py drives the same code for
a few seconds against a live test server.
"""
from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_directory import FIRST, LAST, seed_company, typing_queries  # noqa: E402

PY = str(ROOT / ".venv/bin/python") if (ROOT / ".venv/bin/python").exists() else sys.executable
PASSWORD = "Load-pass-42"
SECRET = "load~secret-value-123"
PAGE_TARGET_MS = 200.0
DIRECTORY_PAGE_SIZE = 50
ALREADY_RUNNING = "already running"
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

# Endpoints as reported, in order, with the kind of target each one has.
SIGN_IN_PAGE = "sign-in page          GET /login/"
SIGN_IN = "sign-in (password)    POST /login/"
AAD_PAGE = "MS AAD page           GET /aad/"
DIRECTORY_FIRST = "directory first page  GET /directory/"
DIRECTORY_SEARCH = "directory search      GET /directory/?q="
DIRECTORY_LATER = "directory later page  GET /directory/?page="
DROPDOWN = "dropdown search       GET /directory/aad-accounts/"
HISTORY = "Sync History          GET /aad/history/"
SYNC_CLICK = "One-time Sync click   POST /aad/sync/"
SYNC_STATUS = "sync status poll      GET /aad/sync/status/"
SIGN_OUT = "sign out              POST /logout/"
ENDPOINTS = {SIGN_IN_PAGE: "page", SIGN_IN: "sign-in", AAD_PAGE: "page", DIRECTORY_FIRST: "page",
             DIRECTORY_SEARCH: "page", DIRECTORY_LATER: "page", DROPDOWN: "page", HISTORY: "page",
             SYNC_CLICK: "page", SYNC_STATUS: "page", SIGN_OUT: "page"}
# Sign-in is reported for information: its cost is the password check (PBKDF2, 1,000,000 iterations), on purpose.
TARGETS_MS = {"page": PAGE_TARGET_MS, "sign-in": None}


# The load driver (plain threads and requests; also used by tests/test_load_smoke.py) ----------------------------

@dataclass
class Plan:
    """What the virtual users do, and the bounds."""

    base_url: str
    verify: str | bool
    users: list[str]  # sign-in IDs (login@slug), one per virtual user
    clickers: list[str]  # sign-in IDs of the managers who press One-time Sync together
    password: str = PASSWORD
    duration: float = 60.0
    ramp: float = 10.0
    think: float = 1.0
    max_requests: int = 50_000
    timeout: float = 10.0
    sync_every: float = 10.0
    last_page: int = 2000
    keystroke_pause: float = 0.3
    seed: int = 5


@dataclass
class Stats:
    """Latencies and errors per endpoint, shared by every thread."""

    max_requests: int
    stop: threading.Event
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    statuses: dict[str, dict[int, int]] = field(default_factory=dict)
    timeline: list[tuple[float, str, float]] = field(default_factory=list)  # (sent at, endpoint, seconds)
    resent: dict[str, int] = field(default_factory=dict)  # sent again on a new connection, as a browser does
    total: int = 0

    def resend(self, endpoint: str) -> None:
        with self.lock:
            self.resent[endpoint] = self.resent.get(endpoint, 0) + 1

    def add(self, endpoint: str, seconds: float, status: int | None, error: str | None) -> None:
        sent_at = time.monotonic() - seconds
        with self.lock:
            self.timeline.append((sent_at, endpoint, seconds))
            self.latencies.setdefault(endpoint, []).append(seconds)
            if status is not None:
                counts = self.statuses.setdefault(endpoint, {})
                counts[status] = counts.get(status, 0) + 1
            if error:
                self.errors.setdefault(endpoint, []).append(error)
            self.total += 1
            if self.total >= self.max_requests:
                self.stop.set()


def _closed_while_idle(error: Exception) -> bool:
    """The server closed the connection with no answer at all, as when it closes an idle kept-alive connection just
    as a request goes out on it (requests cannot say whether the connection was reused; a refused or timed-out
    connection does not count)."""
    import urllib3

    reason = error.args[0] if error.args else None
    return isinstance(reason, urllib3.exceptions.ProtocolError) and isinstance(
        reason.args[1] if len(reason.args) > 1 else None, (ConnectionResetError, ConnectionAbortedError,
                                                            BrokenPipeError, http.client.RemoteDisconnected))


class Browser:
    """One manager's browser: a requests.Session with its cookies, recording every request in Stats."""

    def __init__(self, plan: Plan, username: str, stats: Stats):
        import requests

        self.plan, self.username, self.stats = plan, username, stats
        self.session = requests.Session()
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE of the machine must not replace `verify`
        self.session.verify = plan.verify
        self.signed_in = False

    def request(self, endpoint: str, method: str, path: str, *, expect: set[int], check=None, **kwargs):
        """The response, or None after recording an error (unexpected status, failed check, timeout, exception)."""
        import requests

        url = self.plan.base_url + path
        start = time.perf_counter()
        for attempt in (1, 2):
            try:
                response = self.session.request(method, url, allow_redirects=False, timeout=self.plan.timeout,
                                                **kwargs)
                break
            except requests.Timeout:
                self.stats.add(endpoint, time.perf_counter() - start, None, "timeout")
                return None
            except requests.RequestException as error:
                if attempt == 1 and _closed_while_idle(error):
                    # The server closed this kept-alive connection (gunicorn after 2 s idle) as the request went
                    # out on it. A browser sends such a request again on a new connection, POST included, since
                    # no answer came; so does the driver, once, and says how often (the time counts both).
                    self.stats.resend(endpoint)
                    continue
                self.stats.add(endpoint, time.perf_counter() - start, None, type(error).__name__)
                return None
        elapsed = time.perf_counter() - start
        error = None
        if response.status_code not in expect:
            where = response.headers.get("Location", "")
            error = f"HTTP {response.status_code}" + (f" -> {where}" if where else "")
        elif check is not None:
            error = check(response)
        self.stats.add(endpoint, elapsed, response.status_code, error)
        return None if error else response

    def _post_headers(self, referer_path: str, **extra) -> dict:
        return {"Referer": self.plan.base_url + referer_path, "X-CSRFToken": self.session.cookies.get("csrftoken", ""),
                **extra}

    def sign_in(self) -> bool:
        page = self.request(SIGN_IN_PAGE, "GET", "/login/", expect={200})
        token = CSRF_INPUT.search(page.text) if page is not None else None
        if token is None:
            return False

        def went_home(response):
            return None if response.headers.get("Location") == "/aad/" else "sign-in refused"

        done = self.request(SIGN_IN, "POST", "/login/", expect={302}, check=went_home,
                            data={"username": self.username, "password": self.plan.password,
                                  "csrfmiddlewaretoken": token.group(1)},
                            headers={"Referer": self.plan.base_url + "/login/"})
        self.signed_in = done is not None
        if self.signed_in:
            self.request(AAD_PAGE, "GET", "/aad/", expect={200})
        return self.signed_in

    def sign_out(self) -> None:
        self.request(SIGN_OUT, "POST", "/logout/", expect={302}, headers=self._post_headers("/aad/"))
        self.signed_in = False

    def click_one_time_sync(self):
        def already_running_or_queued(response):
            if response.status_code == 202:
                return None
            try:
                message = response.json().get("message", "")
            except ValueError:
                return "409 without JSON"
            return None if ALREADY_RUNNING in message else f"409: {message[:80]}"

        return self.request(SYNC_CLICK, "POST", "/aad/sync/", expect={202, 409}, check=already_running_or_queued,
                            headers=self._post_headers("/aad/", Accept="application/json"))

    def sync_status(self) -> dict | None:
        response = self.request(SYNC_STATUS, "GET", "/aad/sync/status/", expect={200},
                                headers={"Accept": "application/json"})
        return response.json().get("run") if response is not None else None


def _typed_name(rnd: random.Random) -> str:
    first, last = rnd.choice(FIRST), rnd.choice(LAST)
    return rnd.choice([first, last, f"{first} {last}", f"{first}.{last}".lower()])


def _action_directory_first(browser: Browser, rnd: random.Random, stop: threading.Event) -> None:
    browser.request(DIRECTORY_FIRST, "GET", "/directory/", expect={200})


def _action_directory_search(browser: Browser, rnd: random.Random, stop: threading.Event) -> None:
    query = rnd.choice([*typing_queries(rnd, 1), _typed_name(rnd)])  # a few letters, or a whole name
    browser.request(DIRECTORY_SEARCH, "GET", "/directory/", params={"q": query}, expect={200})


def _action_directory_later(browser: Browser, rnd: random.Random, stop: threading.Event) -> None:
    last = browser.plan.last_page
    page = rnd.choice([2, 3, rnd.randint(2, max(2, last)), last])
    browser.request(DIRECTORY_LATER, "GET", "/directory/", params={"page": page}, expect={200})


def _action_dropdown(browser: Browser, rnd: random.Random, stop: threading.Event) -> None:
    """Typing a name into the AAID ID dropdown: the widget asks after each pause, for a longer prefix each time."""
    name = _typed_name(rnd)
    cuts = sorted(rnd.sample(range(1, len(name) + 1), k=min(len(name), rnd.randint(1, 4))))
    for cut in cuts:
        browser.request(DROPDOWN, "GET", "/directory/aad-accounts/", params={"q": name[:cut], "for": "me"},
                        expect={200})
        if stop.wait(browser.plan.keystroke_pause * rnd.uniform(0.7, 1.5)):
            return


def _action_aad_page(browser: Browser, rnd: random.Random, stop: threading.Event) -> None:
    browser.request(AAD_PAGE, "GET", "/aad/", expect={200})


def _action_history(browser: Browser, rnd: random.Random, stop: threading.Event) -> None:
    browser.request(HISTORY, "GET", "/aad/history/", expect={200})


def _action_sign_out_and_in(browser: Browser, rnd: random.Random, stop: threading.Event) -> None:
    browser.sign_out()
    browser.sign_in()


# (action, weight): what a manager does next.
ACTIONS = (
    (_action_directory_first, 20), (_action_directory_search, 20), (_action_directory_later, 15),
    (_action_dropdown, 20), (_action_aad_page, 10), (_action_history, 10), (_action_sign_out_and_in, 3),
)


def _virtual_user(browser: Browser, plan: Plan, rnd: random.Random, start_at: float, deadline: float,
                  stop: threading.Event) -> None:
    if stop.wait(max(0.0, start_at - time.monotonic())):
        return
    actions, weights = zip(*ACTIONS, strict=False)
    while not stop.is_set() and time.monotonic() < deadline:
        if not browser.signed_in and not browser.sign_in():
            stop.wait(1.0)  # recorded as an error already; try again a little later
            continue
        rnd.choices(actions, weights)[0](browser, rnd, stop)
        stop.wait(plan.think * rnd.uniform(0.5, 1.5))


def _clicker(browser: Browser, barrier: threading.Barrier, answers: list, index: int, poll_until: float,
             stop: threading.Event) -> None:
    try:
        barrier.wait(timeout=30)
    except threading.BrokenBarrierError:
        return
    response = browser.click_one_time_sync()
    answers[index] = response.status_code if response is not None else "error"
    # The MS AAD page asks for the run's status as soon as the click is answered, then every second while the run
    # is queued or running (here: until the next wave). The first poll does not wait for time left: on a slow
    # machine the click can answer after the wave's last second has begun, and the page still asks once.
    while not stop.is_set():
        run = browser.sync_status()
        if run is None or not run.get("active") or time.monotonic() >= poll_until - 1.0:
            return
        stop.wait(1.0)


def _click_waves(clickers: list[Browser], plan: Plan, first_at: float, deadline: float, stop: threading.Event,
                 waves: list, wave_times: list, before_wave=None) -> None:
    next_at = first_at
    while not stop.wait(max(0.0, next_at - time.monotonic())) and time.monotonic() < deadline:
        ready = [browser for browser in clickers if browser.signed_in]
        if ready:
            if before_wave is not None:
                before_wave(len(waves))
            wave_times.append(time.monotonic())
            barrier = threading.Barrier(len(ready))
            answers: list = [None] * len(ready)
            poll_until = min(deadline, next_at + plan.sync_every)
            threads = [threading.Thread(target=_clicker, args=(browser, barrier, answers, i, poll_until, stop),
                                        daemon=True) for i, browser in enumerate(ready)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=plan.timeout + 60)
            waves.append(answers)
        next_at += plan.sync_every


def drive(plan: Plan, *, before_wave=None) -> dict:
    """Run the load described by `plan`; return the figures (see summarise())."""
    stop = threading.Event()
    stats = Stats(max_requests=plan.max_requests, stop=stop)
    rnd = random.Random(plan.seed)
    started = time.monotonic()
    deadline = started + plan.duration
    browsers = [Browser(plan, username, stats) for username in plan.users]
    clickers = [Browser(plan, username, stats) for username in plan.clickers]
    threads = []
    for i, browser in enumerate(browsers):
        start_at = started + plan.ramp * i / max(1, len(browsers))
        threads.append(threading.Thread(target=_virtual_user, name=f"vu-{i}", daemon=True,
                                        args=(browser, plan, random.Random(rnd.random()), start_at, deadline, stop)))

    def sign_in_clickers():
        for i, browser in enumerate(clickers):  # spread over the ramp like everyone else
            if stop.wait(max(0.0, started + plan.ramp * (i + 0.5) / max(1, len(clickers)) - time.monotonic())):
                return
            browser.sign_in()

    waves: list[list] = []
    wave_times: list[float] = []
    if clickers and plan.sync_every > 0:
        threads.append(threading.Thread(target=sign_in_clickers, name="clicker-sign-in", daemon=True))
        first_wave = started + min(plan.ramp + 1.0, plan.duration / 2)
        threads.append(threading.Thread(target=_click_waves, name="click-waves", daemon=True,
                                        args=(clickers, plan, first_wave, deadline, stop, waves, wave_times,
                                              before_wave)))
    for thread in threads:
        thread.start()
    while not stop.wait(0.2) and time.monotonic() < deadline:
        pass
    stop.set()
    elapsed = time.monotonic() - started
    for thread in threads:
        thread.join(timeout=plan.timeout + 5)
    result = summarise(stats, elapsed, waves)
    result["timeline"] = [(round(at - started, 3), endpoint.split("  ")[0], round(seconds * 1000, 1))
                          for at, endpoint, seconds in stats.timeline]
    result["wave_times"] = [round(at - started, 3) for at in wave_times]
    return result


def _percentile(sorted_values: list[float], share: float) -> float:
    return sorted_values[max(0, math.ceil(share * len(sorted_values)) - 1)]


def summarise(stats: Stats, elapsed: float, waves: list[list]) -> dict:
    with stats.lock:
        rows = {}
        everything = []
        for endpoint in ENDPOINTS:
            values = sorted(stats.latencies.get(endpoint, []))
            if not values:
                continue
            everything += values
            rows[endpoint] = {
                "requests": len(values), "per_s": len(values) / elapsed,
                "median_ms": statistics.median(values) * 1000, "p95_ms": _percentile(values, 0.95) * 1000,
                "max_ms": values[-1] * 1000, "errors": len(stats.errors.get(endpoint, [])),
                "error_samples": sorted(set(stats.errors.get(endpoint, [])))[:5],
                "resent": stats.resent.get(endpoint, 0),
                "statuses": {str(k): v for k, v in sorted(stats.statuses.get(endpoint, {}).items())},
            }
        everything.sort()
        pages = sorted(v for e in ENDPOINTS if ENDPOINTS[e] == "page" for v in stats.latencies.get(e, []))
    total = {
        "requests": len(everything), "per_s": len(everything) / elapsed,
        "median_ms": statistics.median(everything) * 1000 if everything else 0.0,
        "p95_ms": _percentile(everything, 0.95) * 1000 if everything else 0.0,
        "pages_p95_ms": _percentile(pages, 0.95) * 1000 if pages else 0.0,
        "errors": sum(row["errors"] for row in rows.values()),
    }
    accepted = sum(answers.count(202) for answers in waves)
    refused = sum(answers.count(409) for answers in waves)
    return {"elapsed_s": elapsed, "rows": rows, "total": total,
            "waves": {"count": len(waves), "clicks": sum(len(a) for a in waves), "accepted": accepted,
                      "already_running": refused, "answers": waves}}


def verdicts(result: dict) -> list[str]:
    """The targets a result misses (empty: every target met)."""
    missed = []
    for endpoint, row in result["rows"].items():
        if row["errors"]:
            missed.append(f"{endpoint.split('  ')[0]}: {row['errors']} errors ({', '.join(row['error_samples'])})")
        target = TARGETS_MS[ENDPOINTS[endpoint]]
        if target is not None and row["p95_ms"] >= target:
            missed.append(f"{endpoint.split('  ')[0]}: p95 {row['p95_ms']:.0f} ms (target < {target:.0f} ms)")
    for answers in result["waves"]["answers"]:
        if answers.count(202) > 1:
            missed.append(f"a wave of clicks queued {answers.count(202)} runs: {answers}")
    missed += result.get("run_problems", [])
    return missed


def print_table(title: str, result: dict) -> None:
    print(f"\n== {title}")
    header = f"{'endpoint':50s} {'requests':>8s} {'req/s':>7s} {'median':>9s} {'p95':>9s} {'max':>9s} {'errors':>6s}"
    print(header)
    print("-" * len(header))
    for endpoint, row in result["rows"].items():
        target = TARGETS_MS[ENDPOINTS[endpoint]]
        missed = row["errors"] or (target is not None and row["p95_ms"] >= target)
        flag = "  <-- target" if missed else "" if target is not None else "  (for information)"
        print(f"{endpoint:50s} {row['requests']:8d} {row['per_s']:7.1f} {row['median_ms']:6.1f} ms "
              f"{row['p95_ms']:6.1f} ms {row['max_ms']:6.0f} ms {row['errors']:6d}{flag}")
    total = result["total"]
    print("-" * len(header))
    print(f"{'all requests':50s} {total['requests']:8d} {total['per_s']:7.1f} {total['median_ms']:6.1f} ms "
          f"{total['p95_ms']:6.1f} ms {'':9s} {total['errors']:6d}")
    resent = {endpoint.split("  ")[0]: row["resent"] for endpoint, row in result["rows"].items() if row.get("resent")}
    if resent:
        print("sent again on a new connection after the server closed an idle kept-alive one (as a browser does): "
              + ", ".join(f"{name} {count}" for name, count in resent.items()))
    waves = result["waves"]
    print(f"One-time Sync: {waves['count']} waves of simultaneous clicks, {waves['clicks']} clicks: "
          f"{waves['accepted']} x 202 queued, {waves['already_running']} x 409 already running"
          + (f"; runs: {result['runs_summary']}" if result.get("runs_summary") else ""))


# The stack: database, fake Microsoft, seed, bin/prod all ---------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _pg(admin_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql)


ACTIVE_STACKS: list = []  # for the last-resort stop in main()


class Stack:
    """Everything one run needs, torn down on exit: database, fake Microsoft, bin/prod all, Redis keys, files."""

    def __init__(self, db: str, args):
        self.db, self.args = db, args
        self.tmp = Path(tempfile.mkdtemp(prefix=f"load-test-{db}-"))
        self.db_name = f"cm_load_{uuid.uuid4().hex[:10]}"
        self.prefix = f"cmportal-load-{uuid.uuid4().hex[:8]}:"
        self.process = None
        self.ms = None
        self.created_db = False

    # set-up
    def __enter__(self) -> Stack:
        ACTIVE_STACKS.append(self)
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self) -> None:
        import trustme
        from cryptography.fernet import Fernet

        from tests.fakems import FakeMicrosoft

        args = self.args
        self.ms = FakeMicrosoft().start()
        self.tenant = self.ms.add_tenant(users=args.tenant_users, seed=args.seed, domain="bench.onmicrosoft.com")
        self.app = self.ms.add_app(self.tenant, secret=SECRET)
        self.ms.add_latency(args.graph_latency)  # each Graph listing page: a run lasts a little while

        if self.db == "postgres":
            _pg(args.pg_admin, f'CREATE DATABASE "{self.db_name}"')
            self.created_db = True
            base = args.pg_admin.rsplit("/", 1)[0]
            database_url = f"{base}/{self.db_name}"
        else:
            database_url = f"sqlite:///{self.tmp / 'load.sqlite3'}"
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1")
        cert.private_key_and_cert_chain_pem.write_to_path(str(self.tmp / "web.pem"))
        ca.cert_pem.write_to_path(str(self.tmp / "web-ca.pem"))
        self.port = _free_port()
        self.base_url = f"https://127.0.0.1:{self.port}"
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("CELERY_", "DJANGO_", "AAD_", "PYTEST", "DATABASE_URL", "CMPORTAL_",
                                      "GUNICORN_", "WEB_CONCURRENCY", "CACHE_URL"))}
        env.update({
            "DJANGO_SETTINGS_MODULE": "cmportal.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "load-test-" + uuid.uuid4().hex * 2,
            "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": args.redis,
            "CELERY_REDIS_KEY_PREFIX": self.prefix,
            "CACHE_URL": args.redis,
            "CMPORTAL_VAR_DIR": str(self.tmp / "var"),
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_CERTFILE": str(self.tmp / "web.pem"),
            "GUNICORN_KEYFILE": str(self.tmp / "web.pem"),
            "CELERY_BEAT_SCHEDULE_FILE": str(self.tmp / "celerybeat-schedule"),
            "LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT),
            **self.ms.env(),
        })
        if args.web_workers:
            env["WEB_CONCURRENCY"] = str(args.web_workers)
        env.update(item.split("=", 1) for item in args.server_env)
        self.env = env

        start = time.perf_counter()
        spec = {"entries": args.entries, "users": args.users, "clickers": args.clickers, "seed": args.seed,
                "tenant_id": self.tenant.tenant_id, "client_id": self.app.client_id}
        out = subprocess.run([PY, __file__, "--child", json.dumps(spec)], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=900)
        if out.returncode != 0:
            sys.stderr.write(out.stdout[-3000:] + out.stderr[-5000:])
            raise SystemExit(f"seeding the {self.db} database failed")
        self.seeded = json.loads(out.stdout.strip().splitlines()[-1])
        self.seed_s = time.perf_counter() - start
        log(f"{self.db}: seeded {self.seeded['entries']:,} entries, {len(self.seeded['users'])} + "
            f"{len(self.seeded['clickers'])} managers, first look-up {self.seeded['first_run']} "
            f"in {self.seed_s:.0f} s")

        self.log_path = self.tmp / "prod.log"
        self.log_file = open(self.log_path, "wb")  # noqa: SIM115 - closed in __exit__
        self.process = subprocess.Popen([str(ROOT / "bin/prod"), "all"], cwd=ROOT, env=env, stdout=self.log_file,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready()

    def _wait_ready(self) -> None:
        import requests

        session = requests.Session()
        session.trust_env = False
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"bin/prod all stopped (exit {self.process.returncode}); see {self.log_path}:\n"
                                 + self.log_path.read_text(errors="replace")[-3000:])
            try:
                healthy = session.get(f"{self.base_url}/health/", verify=str(self.tmp / "web-ca.pem"),
                                      timeout=2).status_code == 200
            except requests.RequestException:
                healthy = False
            if healthy and "ready." in self.log_path.read_text(errors="replace"):  # the Celery worker too
                return
            time.sleep(0.5)
        raise SystemExit(f"the stack did not become ready in 180 s; see {self.log_path}")

    # during the load
    def change_tenant(self, wave: int) -> None:
        """Before each wave of clicks a few AAD users are renamed, so each look-up has something to apply."""
        users = self.tenant.users
        rnd = random.Random(wave)
        for user in rnd.sample(users, k=min(5, len(users))):
            self.tenant.update_user(user["id"], surname=f"{rnd.choice(LAST)}-{wave}")

    def runs(self) -> list[dict]:
        out = subprocess.run([PY, __file__, "--child-runs", self.seeded["slug"]], cwd=ROOT, env=self.env,
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise SystemExit(f"reading the runs failed:\n{out.stderr[-3000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    def wait_runs_finished(self, seconds: float = 120) -> list[dict]:
        deadline = time.monotonic() + seconds
        while True:
            runs = self.runs()
            if not any(run["status"] in ("queued", "running") for run in runs) or time.monotonic() > deadline:
                return runs
            time.sleep(1.0)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)

    # tear-down
    def __exit__(self, *exc) -> None:
        if self in ACTIVE_STACKS:
            ACTIVE_STACKS.remove(self)
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if getattr(self, "log_file", None):
            self.log_file.close()
        if self.ms is not None:
            self.ms.stop()
        if self.created_db:
            _pg(self.args.pg_admin, f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        try:
            import redis

            client = redis.Redis.from_url(self.args.redis)
            keys = list(client.scan_iter(match=f"{self.prefix}*")) + list(client.scan_iter(match=":1:*"))
            if keys:
                client.delete(*keys)
        except Exception as error:  # a cleanup problem must not hide the figures
            log(f"could not delete the Redis keys: {error}")
        if self.args.keep:
            log(f"kept {self.tmp} (server log: {self.tmp / 'prod.log'})")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def check_runs(runs: list[dict], accepted: int, first_run_id: int) -> tuple[list[str], str]:
    """Problems with the look-ups of the load (and a one-line summary): every run succeeded, one run per 202,
    never two runs active at once."""
    problems = []
    during = [run for run in runs if run["id"] > first_run_id]
    one_time = [run for run in during if run["trigger"] == "one-time"]
    if len(one_time) != accepted:
        problems.append(f"{accepted} clicks answered 202 but {len(one_time)} one-time runs exist")
    for run in during:
        if run["status"] != "succeeded":
            problems.append(f"run {run['id']} ({run['trigger']}) ended {run['status']}: {run['error'][:100]}")
    latest_end, latest_id = float("-inf"), None
    for begin, end, run_id in sorted((run["queued_at"], run["finished_at"] or float("inf"), run["id"])
                                     for run in runs):
        if begin < latest_end:
            problems.append(f"runs {latest_id} and {run_id} were active at the same time")
        if end > latest_end:
            latest_end, latest_id = end, run_id
    durations = [run["finished_at"] - run["started_at"] for run in during if run["finished_at"] and run["started_at"]]
    summary = (f"{len(during)} during the load ({len(one_time)} one-time, "
               f"{sum(run['status'] == 'succeeded' for run in during)} succeeded), "
               f"median run {statistics.median(durations):.1f} s" if durations else "none during the load")
    return problems, summary


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_on(db: str, args) -> dict:
    with Stack(db, args) as stack:
        plan = Plan(
            base_url=stack.base_url, verify=str(stack.tmp / "web-ca.pem"), users=stack.seeded["users"],
            clickers=stack.seeded["clickers"], duration=args.duration, ramp=args.ramp, think=args.think,
            max_requests=args.max_requests, timeout=args.timeout, sync_every=args.sync_every,
            last_page=max(1, math.ceil(stack.seeded["entries"] / DIRECTORY_PAGE_SIZE)), seed=args.seed,
        )
        warm_up(plan, rounds=args.warmup)
        log(f"{db}: load of {args.users} users + {args.clickers} clickers for {args.duration:.0f} s ...")
        load_before = os.getloadavg()
        cpu_before = os.times()
        result = drive(plan, before_wave=stack.change_tenant)
        cpu = os.times()
        result["driver_cpu_s"] = (cpu.user - cpu_before.user) + (cpu.system - cpu_before.system)
        result["loadavg"] = [load_before[0], os.getloadavg()[0]]
        runs = stack.wait_runs_finished()
        problems, summary = check_runs(runs, result["waves"]["accepted"], stack.seeded["first_run_id"])
        result["run_problems"], result["runs_summary"] = problems, summary
        result["engine"] = stack.seeded["engine"]
        result["seed_s"] = stack.seed_s
        return result


def warm_up(plan: Plan, rounds: int) -> None:
    """A few unmeasured requests to every page first: a real server is warm (imports, templates, connections)."""
    if rounds <= 0:
        return
    stats = Stats(max_requests=10**9, stop=threading.Event())
    browser = Browser(plan, plan.users[0], stats)
    if not browser.sign_in():
        raise SystemExit(f"warm-up: {plan.users[0]} could not sign in: {stats.errors}")
    rnd = random.Random(0)
    for _ in range(rounds):
        for action, _weight in ACTIONS[:-1]:
            action(browser, rnd, stats.stop)
        browser.sync_status()
    browser.sign_out()


# Child processes: seeding, and reading the runs back ------------------------------------------------------------

def child_seed(spec: dict) -> dict:
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection
    from django.test import override_settings

    from aadsync.models import SyncRun
    from aadsync.services import Actor, aad_settings_update
    from aadsync.sync import sync_company_now
    from directory.models import Person
    from directory.services import manager_create

    call_command("migrate", verbosity=0)
    rnd = random.Random(spec["seed"])
    # Accounts are made with a cheap hasher, then all get one real (PBKDF2) hash of the same password:
    # sign-ins cost what they cost in production, seeding does not pay for 30 hashes.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        company, _manager = seed_company(spec["entries"], rnd)
        users, clickers = [], []
        for kind, count, names in (("vu", spec["users"], users), ("click", spec["clickers"], clickers)):
            for n in range(1, count + 1):
                person = manager_create(company=company, login=f"{kind}{n:03d}", name=f"Load {kind} {n}",
                                        email=f"{kind}{n}@bench.example", password=PASSWORD)
                names.append(person.username)
    Person.objects.filter(company=company, role=Person.Role.MANAGER).update(password=make_password(PASSWORD))
    aad_settings_update(company=company, data={"use_lookup": True, "tenant_id": spec["tenant_id"],
                                               "client_id": spec["client_id"], "include_guests": False},
                        secret=SECRET, actor=Actor(person=None, source="load test"))
    run = sync_company_now(company=company, trigger=SyncRun.Trigger.COMMAND)
    if run.status != SyncRun.Status.SUCCEEDED:
        raise SystemExit(f"the first look-up failed: {run.error}")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")  # autovacuum's job in production
            cursor.execute("show server_version")
        else:
            cursor.execute("select sqlite_version()")
        version = cursor.fetchone()[0]
    return {"slug": company.slug, "entries": spec["entries"], "users": users, "clickers": clickers,
            "first_run": f"{run.status} ({run.created} created, {run.removals_held} removals held)",
            "first_run_id": run.pk, "engine": f"{connection.vendor} {version}"}


def child_runs(slug: str) -> list[dict]:
    import django

    django.setup()
    from aadsync.models import SyncRun

    def ts(value):
        return value.timestamp() if value else None

    return [{"id": run.pk, "trigger": run.trigger, "status": run.status, "error": run.error or "",
             "queued_at": ts(run.queued_at), "started_at": ts(run.started_at), "finished_at": ts(run.finished_at)}
            for run in SyncRun.objects.filter(company__slug=slug).order_by("pk")]


# Command line ------------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="postgres", help="comma-separated: postgres, sqlite (default postgres)")
    parser.add_argument("--users", type=int, default=20, help="concurrent virtual users (default 20)")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load, ramp included (default 60)")
    parser.add_argument("--ramp", type=float, default=10, help="seconds over which the users start (default 10)")
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean seconds a user waits between actions (default 1.0; 0 for a stress test)")
    parser.add_argument("--max-requests", type=int, default=50_000, help="hard cap on requests (default 50,000)")
    parser.add_argument("--timeout", type=float, default=10, help="seconds before a request counts as timed out")
    parser.add_argument("--clickers", type=int, default=10, help="managers pressing One-time Sync at once (10)")
    parser.add_argument("--sync-every", type=float, default=10, help="seconds between waves of clicks (10; 0: none)")
    parser.add_argument("--entries", type=int, default=100_000, help="directory entries (default 100,000)")
    parser.add_argument("--tenant-users", type=int, default=200, help="users in the fake AAD tenant (200)")
    parser.add_argument("--graph-latency", type=float, default=1.0, help="seconds per fake Graph page (1.0)")
    parser.add_argument("--web-workers", type=int, default=0, help="gunicorn workers (default: gunicorn.conf.py)")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="an extra environment variable for the stack (repeatable), e.g. DATABASE_CONN_MAX_AGE=60")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured rounds of every page first (3)")
    parser.add_argument("--pg-admin", default="postgres://postgres@127.0.0.1:5432/postgres",
                        help="PostgreSQL maintenance database; a database cm_load_<random> is created and dropped")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11",
                        help="Redis database for broker and cache, this run's own (its cache keys are deleted)")
    parser.add_argument("--seed", type=int, default=5, help="random seed")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder with the server log")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-runs", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_seed(json.loads(args.child))))
        return
    if args.child_runs:
        print(json.dumps(child_runs(args.child_runs)))
        return
    sys.path.insert(0, str(ROOT))
    def give_up():  # the last-resort bound: whatever hangs, the stack's processes and this one end
        log("load test: over its time limit, stopping")
        for stack in list(ACTIVE_STACKS):
            stack.kill()
        os._exit(3)

    hard_stop = threading.Timer((args.duration + 600) * len(args.db.split(",")), give_up)
    hard_stop.daemon = True
    hard_stop.start()
    results, ok = {}, True
    started = time.monotonic()
    for db in [name.strip() for name in args.db.split(",") if name.strip()]:
        results[db] = run_on(db, args)
    cores = os.cpu_count()
    print(f"\nLoad test: {args.users} users (think {args.think:g} s, ramp {args.ramp:g} s) for {args.duration:g} s, "
          f"{args.clickers} managers clicking One-time Sync together every {args.sync_every:g} s; "
          f"{args.entries:,} directory entries; {cores} cores; total {time.monotonic() - started:.0f} s")
    for db, result in results.items():
        print_table(f"{db} ({result['engine']}), load average {result['loadavg'][0]:.1f} before / "
                    f"{result['loadavg'][1]:.1f} after, driver CPU {result['driver_cpu_s']:.1f} s "
                    f"in {result['elapsed_s']:.0f} s", result)
        missed = verdicts(result)
        ok &= not missed
        for line in missed:
            print(f"  MISSED: {line}")
    print("\nAll targets met: no errors, p95 < 200 ms for every page, one run per 202, no two runs at once." if ok
          else "\nSome target missed (see above).")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
