"""Real Celery worker and beat processes, on Redis and on the embedded filesystem broker: a company whose run
time is reached is synced from the fake Microsoft with no human action, and a run whose worker is killed
mid-sync is marked failed after its time limit while the next run proceeds."""
from datetime import timedelta

import pytest
from django.utils import timezone

from aadsync.errors import SyncError
from aadsync.models import AadSettings, SyncRun
from aadsync.runs import sync_run_progress
from directory.models import Contact
from tests.aadsync.celery_harness import CeleryProcesses, make_broker, wait_until

pytestmark = [pytest.mark.celery, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BROKERS = ["redis", "filesystem"]  # CI always has Redis: a missing one fails these tests, never skips them


@pytest.fixture(params=BROKERS)
def broker(request, tmp_path):
    broker = make_broker(request.param, tmp_path)
    yield broker
    broker.cleanup()


@pytest.fixture
def celery_processes(broker, tmp_path, fake_ms, transactional_db):
    processes = CeleryProcesses(broker=broker, workdir=tmp_path, extra_env=dict(fake_ms.env()))
    yield processes
    processes.stop_all()


def _due_in(company, seconds: float) -> None:
    AadSettings.objects.filter(company=company).update(next_run_at=timezone.now() + timedelta(seconds=seconds))


def _scheduled_run(company, *, status=None):
    runs = SyncRun.objects.filter(company=company, trigger=SyncRun.Trigger.SCHEDULE)
    return runs.filter(status=status).first() if status else runs.first()


def test_company_whose_run_time_is_reached_is_synced_with_no_human_action(celery_processes, fake_ms, company):
    fake_ms.configure(company, users=120)  # saved as the MS AAD page saves: Use, daily at 02:00
    _due_in(company, 2)
    due_at = AadSettings.objects.get(company=company).next_run_at
    celery_processes.start_worker()
    celery_processes.start_beat()

    run = wait_until(lambda: _scheduled_run(company, status="succeeded"), 60,
                     lambda: f"no scheduled run succeeded: {list(SyncRun.objects.values())}\n{celery_processes.logs()}")
    assert run.started_at >= due_at  # not before its time
    assert run.looked_up == 120 == run.created + run.disabled + run.skipped and run.created > 100
    assert run.pages_read == 1
    assert Contact.objects.filter(company=company, synced=True).count() == run.created + run.disabled
    settings_row = AadSettings.objects.get(company=company)
    assert settings_row.next_run_at > timezone.now()  # the following run, daily at 02:00 in Asia/Seoul
    assert settings_row.next_run_at.astimezone(company.tzinfo).strftime("%H:%M:%S") == "02:00:00"
    assert SyncRun.objects.filter(company=company).count() == 1  # claimed once, though beat ticked again


def test_run_whose_worker_died_is_marked_failed_after_its_time_limit_and_the_next_run_proceeds(
    celery_processes, fake_ms, company
):
    celery_processes.extra_env.update(AAD_SYNC_TIME_LIMIT="8", AAD_SYNC_REAP_GRACE="1")
    fake_ms.configure(company, users=300)
    fake_ms.ignore_top(10)  # 30 pages...
    fake_ms.add_latency(1.0)  # ...of a second each: the worker dies long before the end
    _due_in(company, 1)
    celery_processes.start_worker("worker-1")
    celery_processes.start_beat()
    running = wait_until(lambda: _scheduled_run(company, status="running"), 60,
                         lambda: f"no run started:\n{celery_processes.logs()}")
    wait_until(lambda: sync_run_progress(running).get("pages_read", 0) >= 2, 30,  # two pages read
               lambda: f"no page read: {sync_run_progress(running)}\n{celery_processes.logs()}")

    celery_processes.kill("worker-1")  # mid-sync, as when its machine dies
    fake_ms.faults.clear()  # Microsoft answers quickly again
    fake_ms.page_size_override = None
    celery_processes.start_worker("worker-2")

    dead = wait_until(lambda: SyncRun.objects.filter(pk=running.pk, status="failed").first(), 40,
                      lambda: f"the dead run stayed {SyncRun.objects.get(pk=running.pk).status}\n{celery_processes.logs()}")
    assert dead.error == SyncError("died", minutes=f"{9 / 60:g}").sentence
    assert dead.finished_at - dead.started_at >= timedelta(seconds=9)
    assert (dead.created, dead.updated, dead.pages_read) == (0, 0, 0)
    assert not Contact.objects.filter(company=company).exists()  # the pages it read were never written
    assert not SyncRun.objects.filter(company=company, status__in=SyncRun.ACTIVE_STATUSES).exists()
    _due_in(company, 0)  # the next scheduled run time comes
    following = wait_until(lambda: _scheduled_run(company, status="succeeded"), 60,
                           lambda: f"the next run did not succeed: {list(SyncRun.objects.values())}\n{celery_processes.logs()}")
    assert following.pk != dead.pk and following.looked_up == 300


@pytest.mark.parametrize("broker", ["redis"], indirect=True)
def test_run_reaching_its_time_limit_ends_failed_with_a_sentence_and_changes_nothing(celery_processes, fake_ms,
                                                                                   company):
    celery_processes.extra_env.update(AAD_SYNC_TIME_LIMIT="5")  # soft limit: 4 s
    fake_ms.configure(company, users=300)
    fake_ms.ignore_top(10)  # 30 pages of a second each: far past the limit
    fake_ms.add_latency(1.0)
    _due_in(company, 0)
    celery_processes.start_worker()
    celery_processes.start_beat()
    run = wait_until(lambda: SyncRun.objects.filter(company=company, status="failed").first(), 40,
                     lambda: f"the run did not stop: {list(SyncRun.objects.values())}\n{celery_processes.logs()}")
    assert run.error == SyncError("timed_out", minutes=f"{4 / 60:g}").sentence
    assert 3.5 <= (run.finished_at - run.started_at).total_seconds() < 5
    assert not Contact.objects.filter(company=company).exists()  # the pages it read were never committed
