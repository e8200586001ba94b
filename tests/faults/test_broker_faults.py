"""Redis restarted while look-ups are queued: a One-time Sync and a scheduled run are queued on a Redis of this test's
own (no persistence, as in CI), Redis is killed and started again, so their messages are gone, and only then do a
worker and beat start. The dispatcher sends the lost messages again and both runs happen; with no worker for the
look-up queue they end failed with a sentence instead. Either way none stays queued, and the company's next
scheduled run proceeds. Real worker and beat processes (tests/aadsync/celery_harness.py)."""
import os
import signal
import socket
import subprocess
from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from aadsync.dispatch import sync_due_dispatch, sync_one_time_request
from aadsync.errors import SyncError
from aadsync.models import AadSettings, SyncRun
from directory.models import Contact
from tests.aadsync.celery_harness import CeleryProcesses, make_broker, publishing_to, wait_until

pytestmark = [pytest.mark.celery, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
USERS = 120


class ThrowawayRedis:
    """A redis-server of this test's own on a free loopback port, never the machine's shared one. Nothing is
    saved to disk, so a restart loses every message."""

    def __init__(self, workdir):
        self.workdir = workdir
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> "ThrowawayRedis":
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        wait_until(lambda: self._answers(client), 10, f"redis-server on port {self.port} did not start")
        client.close()
        return self

    @staticmethod
    def _answers(client) -> bool:
        try:
            return client.ping()
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """SIGKILL, as when its machine or container dies."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def restart(self) -> None:
        self.kill()
        self.start()

    def length(self, key: str) -> int:
        client = redis.Redis.from_url(self.url)
        try:
            return client.llen(key)
        finally:
            client.close()


@pytest.fixture
def throwaway_redis(tmp_path):
    server = ThrowawayRedis(tmp_path).start()
    yield server
    server.kill()


@pytest.fixture
def celery_processes(throwaway_redis, tmp_path, fake_ms, transactional_db):
    broker = make_broker("redis", tmp_path, redis_url=throwaway_redis.url)
    processes = CeleryProcesses(broker=broker, workdir=tmp_path, extra_env={
        **fake_ms.env(),
        "AAD_SYNC_REQUEUE_AFTER": "2",  # 120 s in production
        "AAD_SYNC_QUEUE_TIMEOUT": "8",  # 3600 s in production
    })
    yield processes
    processes.stop_all()


def _queue_runs_then_restart_redis(processes, throwaway_redis, fake_ms, manager, company, other_company,
                                   monkeypatch) -> tuple[SyncRun, SyncRun]:
    """A One-time Sync for `company` and a scheduled run for `other_company`, queued with no worker running; then
    Redis dies and comes back empty."""
    for each in (company, other_company):
        fake_ms.configure(each, users=USERS)
    AadSettings.objects.filter(company=other_company).update(next_run_at=timezone.now() - timedelta(seconds=1))
    with publishing_to(processes.broker, monkeypatch):
        one_time = sync_one_time_request(company=company, person=manager)
        assert sync_due_dispatch().queued == 1
    scheduled = SyncRun.objects.get(company=other_company)
    queue = processes.broker.transport_options["global_keyprefix"] + "cmportal-sync"
    assert throwaway_redis.length(queue) == 2  # both messages were queued...

    throwaway_redis.restart()

    assert throwaway_redis.length(queue) == 0  # ...and are gone
    assert set(SyncRun.objects.values_list("status", flat=True)) == {"queued"}
    return one_time, scheduled


def _finished(run, processes):
    return wait_until(lambda: SyncRun.objects.exclude(status__in=SyncRun.ACTIVE_STATUSES).filter(pk=run.pk).first(),
                      45, lambda: f"run {run.pk} stayed {SyncRun.objects.get(pk=run.pk).status}\n{processes.logs()}")


def _next_scheduled_run_proceeds(company, processes, after: SyncRun) -> None:
    AadSettings.objects.filter(company=company).update(next_run_at=timezone.now())
    following = wait_until(
        lambda: SyncRun.objects.filter(company=company, status="succeeded", queued_at__gt=after.queued_at).first(),
        45, lambda: f"the next scheduled run did not succeed: {list(SyncRun.objects.values())}\n{processes.logs()}")
    assert following.trigger == "schedule"


def test_runs_queued_when_redis_restarts_still_happen(
    celery_processes, throwaway_redis, fake_ms, manager, company, other_company, monkeypatch
):
    one_time, scheduled = _queue_runs_then_restart_redis(
        celery_processes, throwaway_redis, fake_ms, manager, company, other_company, monkeypatch)

    celery_processes.start_worker()
    celery_processes.start_beat()

    for queued in (one_time, scheduled):
        run = _finished(queued, celery_processes)
        assert run.status == "succeeded", run.error
        assert run.created + run.disabled == Contact.objects.filter(company=run.company, synced=True).count() > 0
    assert "their messages were lost; sending them again" in celery_processes.log("worker")
    assert SyncRun.objects.count() == 2  # the same two runs, each run once
    _next_scheduled_run_proceeds(other_company, celery_processes, after=scheduled)


def test_runs_lost_with_redis_and_taken_by_no_worker_end_failed_with_a_sentence(
    celery_processes, throwaway_redis, fake_ms, manager, company, other_company, monkeypatch
):
    one_time, scheduled = _queue_runs_then_restart_redis(
        celery_processes, throwaway_redis, fake_ms, manager, company, other_company, monkeypatch)

    celery_processes.start_worker("dispatcher-only", queues="cmportal")  # nobody takes look-ups
    celery_processes.start_beat()

    for queued in (one_time, scheduled):
        run = _finished(queued, celery_processes)
        assert (run.status, run.error) == ("failed", SyncError("never_started", minutes=f"{8 / 60:g}").sentence)
        assert run.started_at is None or run.started_at <= run.finished_at
        assert not Contact.objects.filter(company=run.company).exists()
    celery_processes.start_worker("look-ups", queues="cmportal-sync")
    _next_scheduled_run_proceeds(other_company, celery_processes, after=scheduled)
