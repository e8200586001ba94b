"""The portal's database failing under a run, through the Celery entry point (aadsync.tasks.sync_run_task).

PostgreSQL: the run's own connection is killed from another one (pg_terminate_backend) while the run waits for its
token or while it applies pages. SQLite has no connection to kill; its closest real faults are used instead: another
process holding the write lock past the busy timeout as the run starts writing, and the database file unable to grow
mid-listing (disk full, through SQLite's max_page_count). Each ends with the directory as it was, the run failed
with a sentence (or, when the database cannot even take that, failed by the reaper), no run left active, and the
next run applying everything.
"""
import logging
import sqlite3
import threading
import time
from contextlib import contextmanager, nullcontext
from datetime import timedelta

import psycopg
import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from aadsync.dispatch import sync_runs_reap
from aadsync.errors import NOTHING_CHANGED, SyncError
from aadsync.microsoft.tokens import msal_apps_clear
from aadsync.models import SyncRun
from aadsync.runs import sync_run_create
from aadsync.sync import delta_link_drop, sync_company_now
from aadsync.tasks import sync_run_task
from directory.models import Contact
from tests.aadsync.sync.test_engine import snapshot
from tests.fakems import generate_users

# The faults end or block the run's connection: no test transaction may be wrapped around it.
pytestmark = pytest.mark.django_db(transaction=True)
PAGE = 100
BEFORE, AFTER = 300, 1000  # users synced before the faulted run, users it lists (10 pages)
SQLITE_TIMEOUT = 1  # seconds SQLite waits for a lock (30 in settings)
DATABASE_FAILED = f"{SyncError('database').sentence} {NOTHING_CHANGED}"
POSTGRESQL = connection.vendor == "postgresql"
TIME_LIMIT, REAP_GRACE = 20, 1  # seconds: a run still "running" after 21 s is reaped


@pytest.fixture
def tenant(fake_ms, company, make_user, settings):
    """A synced 300-user tenant with a linked user, then 700 new users, renames and a removal to apply."""
    settings.AAD_SYNC_TIME_LIMIT, settings.AAD_SYNC_REAP_GRACE = TIME_LIMIT, REAP_GRACE
    users = generate_users(BEFORE, seed=21)
    setup = fake_ms.configure(company, users=users)
    fake_ms.ignore_top(PAGE)
    pages_before = _sqlite_pages(vacuum=True)
    assert sync_company_now(company=company, trigger=SyncRun.Trigger.COMMAND).status == "succeeded"
    setup.pages_per_listing_page = (_sqlite_pages() - pages_before) / (BEFORE / PAGE)  # how fast SQLite grows
    setup.linked = make_user(company, aad_contact=Contact.objects.get(object_id=users[150]["id"]))
    new_users = generate_users(AFTER - BEFORE, seed=22)
    setup.tenant.add_users(new_users)
    renamed = [user for user in users[::9] if user is not users[150]]
    for user in renamed:
        setup.tenant.update_user(user["id"], givenName="Renamed")
    setup.tenant.update_user(users[150]["id"], surname="Changed")
    setup.tenant.remove_user(users[10]["id"])
    new_members = [user for user in new_users if user["userType"] != "Guest"]
    setup.expected = {"created": sum(user["accountEnabled"] for user in new_members),
                      "disabled": sum(not user["accountEnabled"] for user in new_members),
                      "updated": _members(renamed) + 1, "removed": 1, "pages_read": AFTER // PAGE}
    delta_link_drop(company=company)  # the faulted run reads the full listing: 10 pages
    msal_apps_clear()  # and asks for a token
    fake_ms.revoke_tokens()
    fake_ms.requests.clear()
    return setup


def _members(users) -> int:
    return sum(user["userType"] != "Guest" for user in users)  # guests are not synced


def _sqlite_pages(*, vacuum: bool = False) -> int:
    """The SQLite database's size in pages (VACUUM first: pages freed by earlier tests would hide growth)."""
    if POSTGRESQL:
        return 0
    with connection.cursor() as cursor:
        if vacuum:
            cursor.execute("VACUUM")
        cursor.execute("PRAGMA page_count")
        return cursor.fetchone()[0]


@contextmanager
def fault_when(condition, fault, timeout: float = 20):
    """Inject `fault()` from another thread as soon as `condition()` holds, while the run goes on in this one."""
    errors = []

    def inject():
        try:
            deadline = time.monotonic() + timeout
            while not condition():
                if time.monotonic() > deadline:
                    raise AssertionError("the run never reached the point of the fault")
                time.sleep(0.01)
            fault()
        except Exception as error:  # re-raised in the test below
            errors.append(error)

    thread = threading.Thread(target=inject, name="fault", daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join(timeout + 10)
    assert not thread.is_alive() and not errors, errors


def _requested(fake_ms, endpoint: str, count: int = 1):
    return lambda: len(fake_ms.requests_to(endpoint)) >= count


# PostgreSQL: kill the run's connection -----------------------------------------------------------------------

def _admin_sql(*statements) -> None:
    """Statements on a connection of their own, to the maintenance database."""
    db = connection.settings_dict
    with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                         password=db["PASSWORD"] or None, dbname="postgres", autocommit=True) as admin:
        for sql, params in statements:
            admin.execute(sql, params)


def _run_backend_pid() -> int:
    connection.ensure_connection()  # the connection this thread, and so the run, works on
    return connection.connection.info.backend_pid


def _kill_connection(pid: int):
    return lambda: _admin_sql(("SELECT pg_terminate_backend(%s)", [pid]))


@contextmanager
def _killed_while_waiting_for_a_lock(company):
    """Another session holds the company's MS AAD settings row; once the run's connection waits for it (its last
    writes, inside the run's transaction) that connection is killed."""
    db = connection.settings_dict
    holder = psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                             password=db["PASSWORD"] or None, dbname=db["NAME"])
    holder.execute("SELECT 1 FROM aadsync_aadsettings WHERE company_id = %s FOR UPDATE", [company.pk])
    holder_pid = holder.info.backend_pid
    waiting: list[int] = []

    def someone_waits() -> bool:
        with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                             password=db["PASSWORD"] or None, dbname="postgres", autocommit=True) as admin:
            waiting[:] = [pid for (pid,) in admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock' AND pid <> %s",
                [db["NAME"], holder_pid]).fetchall()]
        return bool(waiting)

    def kill_then_release():
        _kill_connection(waiting[0])()
        holder.rollback()  # the run's failure is then recorded on a new connection, which needs the row too

    try:
        with fault_when(someone_waits, kill_then_release):
            yield
    finally:
        holder.rollback()
        holder.close()


@contextmanager
def _killed_and_refused(pid: int):
    """Yields a fault that kills the connection and makes the test database refuse new ones (anyone's) until the
    block ends."""
    name = connection.ops.quote_name(connection.settings_dict["NAME"])
    try:
        yield lambda: _admin_sql((f"ALTER DATABASE {name} ALLOW_CONNECTIONS false", None),
                                 ("SELECT pg_terminate_backend(%s)", [pid]))
    finally:
        _admin_sql((f"ALTER DATABASE {name} ALLOW_CONNECTIONS true", None))


# SQLite: the write lock held by another process, the file unable to grow ------------------------------------

@pytest.fixture
def short_busy_timeout():
    """The run's connection waits SQLITE_TIMEOUT seconds for a lock instead of 30 (restored afterwards)."""
    if POSTGRESQL:
        yield
        return
    options = connection.settings_dict["OPTIONS"]
    saved, options["timeout"] = options["timeout"], SQLITE_TIMEOUT
    connection.close()  # reopened with the setting
    try:
        yield
    finally:
        options["timeout"] = saved
        connection.close()


@pytest.fixture
def engine_gave_up():
    """Set once the engine logs that the database failed its run."""
    event = threading.Event()

    class Handler(logging.Handler):
        def emit(self, record):
            if "the database failed" in record.getMessage():
                event.set()

    handler = Handler()
    logging.getLogger("aadsync.sync").addHandler(handler)
    yield event
    logging.getLogger("aadsync.sync").removeHandler(handler)


def _hold_write_lock(until: threading.Event, extra: float = 0.0):
    """Another process's transaction (as sqlite3's shell would hold it) keeps the write lock until `until` is set,
    then `extra` seconds more."""
    def hold():
        other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None, timeout=5)
        try:
            other.execute("BEGIN IMMEDIATE")
            until.wait(15)
            time.sleep(extra)
            other.execute("ROLLBACK")
        finally:
            other.close()

    return hold


# Assertions ---------------------------------------------------------------------------------------------------

def _queued_run(company) -> SyncRun:
    return sync_run_create(company=company, trigger=SyncRun.Trigger.ONE_TIME)


def _assert_failed_and_nothing_changed(run, before, error=DATABASE_FAILED):
    run.refresh_from_db()
    assert (run.status, run.error) == ("failed", error)
    assert run.started_at <= run.finished_at
    assert (run.created, run.updated, run.removed, run.pages_read) == (0, 0, 0, 0)
    assert not SyncRun.objects.filter(company=run.company, status__in=SyncRun.ACTIVE_STATUSES).exists()
    assert snapshot(run.company) == before


def _assert_next_run_applies_everything(fake_ms, tenant):
    fake_ms.faults.clear()
    run = _queued_run(tenant.company)
    sync_run_task(run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert {name: getattr(run, name) for name in tenant.expected} == tenant.expected
    tenant.linked.refresh_from_db()
    assert tenant.linked.last_name == "Changed"


# The tests ----------------------------------------------------------------------------------------------------

def test_database_fault_while_the_run_waits_for_its_token(fake_ms, tenant, short_busy_timeout, engine_gave_up):
    """PostgreSQL: its connection is killed (idle, outside the run's transaction). SQLite: another process holds
    the write lock when the run, having read Microsoft, begins its transaction, longer than the busy timeout."""
    before = snapshot(tenant.company)
    run = _queued_run(tenant.company)
    fake_ms.add_latency(0.3, endpoint="token")
    fault = _kill_connection(_run_backend_pid()) if POSTGRESQL else _hold_write_lock(engine_gave_up)

    with fault_when(_requested(fake_ms, "token"), fault):
        sync_run_task(run.pk)

    _assert_failed_and_nothing_changed(run, before)
    assert len(fake_ms.requests_to()) == 1 + AFTER // PAGE  # Microsoft was read with no lock held; nothing written
    _assert_next_run_applies_everything(fake_ms, tenant)


def test_database_fault_while_the_run_applies_pages(fake_ms, tenant):
    """In the write phase, inside the run's transaction. PostgreSQL: its connection is killed while it waits for a
    row another session holds (after it wrote every page). SQLite: the database file cannot grow any more (disk
    full) once about two pages of new users are written."""
    before = snapshot(tenant.company)
    run = _queued_run(tenant.company)
    if POSTGRESQL:
        fault = _killed_while_waiting_for_a_lock(tenant.company)
    else:
        room = int(_sqlite_pages(vacuum=True) + 2 * tenant.pages_per_listing_page)  # about two pages of new users
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA max_page_count = {room}")  # this connection's limit, as a full disk would be
        fault = nullcontext()

    with fault:
        sync_run_task(run.pk)
    connection.close()  # SQLite: the next connection has no size limit

    _assert_failed_and_nothing_changed(run, before)
    assert len(fake_ms.requests_to()) == 1 + AFTER // PAGE  # every page read before the write phase began
    _assert_next_run_applies_everything(fake_ms, tenant)


def test_run_whose_failure_cannot_be_recorded_is_failed_by_the_reaper(
    fake_ms, tenant, short_busy_timeout, engine_gave_up
):
    """The database stays unreachable after the fault, so the engine cannot record the failure: the task ends with
    the error (logged by Celery), and the dispatcher's reaper marks the run failed once its time limit has passed.
    PostgreSQL: the connection is killed and the database refuses new ones. SQLite: the write lock is held past
    the busy timeout of both the run's transaction and its attempt to record the failure."""
    before = snapshot(tenant.company)
    run = _queued_run(tenant.company)
    fake_ms.add_latency(0.3, endpoint="token")
    unreachable = (_killed_and_refused(_run_backend_pid()) if POSTGRESQL
                   else nullcontext(_hold_write_lock(engine_gave_up, extra=SQLITE_TIMEOUT + 1)))
    with unreachable as fault, fault_when(_requested(fake_ms, "token"), fault), pytest.raises(OperationalError):
        sync_run_task(run.pk)

    run.refresh_from_db()
    assert run.status == "running"  # until the reaper comes
    assert sync_runs_reap(now=timezone.now()) == 0  # not before its time limit
    assert sync_runs_reap(now=run.started_at + timedelta(seconds=TIME_LIMIT + REAP_GRACE + 1)) == 1
    _assert_failed_and_nothing_changed(run, before, error=SyncError("died", minutes=f"{(TIME_LIMIT + REAP_GRACE) / 60:g}").sentence)
    _assert_next_run_applies_everything(fake_ms, tenant)
