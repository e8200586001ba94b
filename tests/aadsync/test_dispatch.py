"""The dispatcher claims due companies once, queues their runs after commit, and ends runs whose worker died."""
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from aadsync import dispatch
from aadsync.dispatch import (
    SyncUnavailable,
    sync_due_dispatch,
    sync_one_time_request,
    sync_runs_publish,
    sync_runs_reap,
    sync_runs_requeue_lost,
)
from aadsync.errors import SyncError
from aadsync.models import AadSettings, SyncRun
from aadsync.runs import SyncAlreadyRunning, sync_run_create
from tests.aadsync.celery_harness import Broker, publishing_to
from tests.aadsync.run_helpers import GUID_C, GUID_T, configure, published  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 10, 12, 0, 0, tzinfo=UTC)  # 21:00 in Seoul


def test_due_company_gets_one_scheduled_run_queued_after_commit(company, published, django_capture_on_commit_callbacks):
    configure(company, next_run_at=NOW - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = sync_due_dispatch(now=NOW)
        assert published == []  # not before the transaction commits
    for callback in callbacks:
        callback()
    run = SyncRun.objects.get(company=company)
    assert (run.trigger, run.status) == ("schedule", "queued")
    assert published == [run.pk]
    assert (result.claimed, result.queued, result.already_running) == (1, 1, 0)


def test_following_run_time_is_stored_in_the_company_time_zone(company, published):
    configure(company, next_run_at=NOW - timedelta(seconds=1), hour=2)
    sync_due_dispatch(now=NOW)
    # 21:00 in Seoul now: the next 02:00 Seoul is tomorrow, 17:00 UTC today.
    assert AadSettings.objects.get(company=company).next_run_at == datetime(2026, 6, 10, 17, 0, tzinfo=UTC)


def test_company_not_yet_due_is_left_alone(company, published):
    later = NOW + timedelta(seconds=1)
    configure(company, next_run_at=later)
    assert sync_due_dispatch(now=NOW).claimed == 0
    assert not SyncRun.objects.exists()
    assert AadSettings.objects.get(company=company).next_run_at == later


def test_not_use_stops_scheduled_runs(company, published):
    configure(company, use=False, next_run_at=NOW - timedelta(hours=1))
    assert sync_due_dispatch(now=NOW).claimed == 0
    assert not SyncRun.objects.exists()


def test_missed_runs_run_once_when_beat_returns(company, published):
    configure(company, next_run_at=NOW - timedelta(days=10))  # beat was down for ten daily runs
    sync_due_dispatch(now=NOW)
    sync_due_dispatch(now=NOW + timedelta(seconds=30))
    assert SyncRun.objects.filter(company=company).count() == 1
    assert AadSettings.objects.get(company=company).next_run_at == datetime(2026, 6, 10, 17, 0, tzinfo=UTC)


def test_company_with_an_active_run_is_skipped_and_its_time_still_moves_on(company, published):
    configure(company, next_run_at=NOW - timedelta(seconds=1))
    running = sync_run_create(company=company, trigger=SyncRun.Trigger.ONE_TIME)
    result = sync_due_dispatch(now=NOW)
    assert (result.claimed, result.queued, result.already_running) == (1, 0, 1)
    assert list(SyncRun.objects.filter(company=company)) == [running]
    assert published == []
    assert AadSettings.objects.get(company=company).next_run_at > NOW


def test_a_run_started_meanwhile_does_not_stop_the_others(make_company, published, monkeypatch):
    companies = [make_company(slug=f"co-{i}", name=f"Co {i}") for i in range(3)]
    for company in companies:
        configure(company, next_run_at=NOW - timedelta(seconds=1))
    real_create = dispatch._scheduled_runs_create

    def one_time_sync_slips_in(*, company_ids):
        # A One-time Sync commits after the dispatcher looked for active runs, before its bulk insert.
        sync_run_create(company=companies[1], trigger=SyncRun.Trigger.ONE_TIME)
        with monkeypatch.context() as patch:
            patch.setattr(SyncRun, "ACTIVE_STATUSES", ())  # so the active-run check sees none
            return real_create(company_ids=company_ids)

    monkeypatch.setattr(dispatch, "_scheduled_runs_create", one_time_sync_slips_in)
    result = sync_due_dispatch(now=NOW)
    assert (result.claimed, result.queued, result.already_running) == (3, 2, 1)
    assert SyncRun.objects.filter(trigger="schedule").count() == 2
    assert SyncRun.objects.filter(company=companies[1]).get().trigger == "one-time"


def test_many_due_companies_are_claimed_in_batches(make_company, published, django_capture_on_commit_callbacks):
    for i in range(7):
        configure(make_company(slug=f"co-{i}", name=f"Co {i}"), next_run_at=NOW - timedelta(minutes=i))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = sync_due_dispatch(now=NOW, batch_size=3)
    assert len(callbacks) == 3  # one transaction per batch
    assert (result.claimed, result.queued) == (7, 7)
    assert sorted(published) == sorted(SyncRun.objects.values_list("pk", flat=True))
    assert not AadSettings.objects.filter(next_run_at__lte=NOW).exists()


def test_company_using_look_ups_without_a_run_time_gets_one(company, published):
    configure(company, next_run_at=None)
    result = sync_due_dispatch(now=NOW)
    assert (result.scheduled, result.claimed) == (1, 0)
    assert AadSettings.objects.get(company=company).next_run_at == datetime(2026, 6, 10, 17, 0, tzinfo=UTC)


def test_a_company_whose_time_zone_is_unknown_does_not_stop_the_others(make_company, published, caplog):
    broken, fine = make_company(slug="broken", name="Broken"), make_company(slug="fine", name="Fine")
    for company in (broken, fine):
        configure(company, next_run_at=NOW - timedelta(seconds=1))
    type(broken).objects.filter(pk=broken.pk).update(timezone="Mars/Olympus_Mons")
    result = sync_due_dispatch(now=NOW)
    assert (result.claimed, result.queued) == (2, 2)
    assert AadSettings.objects.get(company=broken).next_run_at == NOW + timedelta(days=1)
    assert AadSettings.objects.get(company=fine).next_run_at == datetime(2026, 6, 10, 17, 0, tzinfo=UTC)
    assert "Mars/Olympus_Mons" in caplog.text


# ---- runs whose worker died ------------------------------------------------------------------------------


def _run(company, status, **times) -> SyncRun:
    run = sync_run_create(company=company, trigger=SyncRun.Trigger.SCHEDULE)
    SyncRun.objects.filter(pk=run.pk).update(status=status, **times)
    run.refresh_from_db()
    return run


def test_running_run_past_its_time_limit_is_marked_failed(company, settings):
    settings.AAD_SYNC_TIME_LIMIT, settings.AAD_SYNC_REAP_GRACE = 600, 60
    now = timezone.now()
    run = _run(company, "running", started_at=now - timedelta(seconds=661))
    assert sync_runs_reap(now=now) == 1
    run.refresh_from_db()
    assert (run.status, run.finished_at) == ("failed", now)
    assert run.error == SyncError("died", minutes="11").sentence


def test_running_run_within_its_time_limit_is_left_running(company, settings):
    settings.AAD_SYNC_TIME_LIMIT, settings.AAD_SYNC_REAP_GRACE = 600, 60
    now = timezone.now()
    run = _run(company, "running", started_at=now - timedelta(seconds=659))
    assert sync_runs_reap(now=now) == 0
    run.refresh_from_db()
    assert run.status == "running"


def test_run_no_worker_took_is_given_up(company, settings):
    settings.AAD_SYNC_QUEUE_TIMEOUT = 3600
    now = timezone.now()
    run = _run(company, "queued", queued_at=now - timedelta(seconds=3601))
    assert sync_runs_reap(now=now) == 1
    run.refresh_from_db()
    assert (run.status, run.error) == ("failed", SyncError("never_started", minutes="60").sentence)


def test_after_a_dead_run_the_next_scheduled_run_proceeds(
    company, settings, published, django_capture_on_commit_callbacks
):
    settings.AAD_SYNC_TIME_LIMIT, settings.AAD_SYNC_REAP_GRACE = 60, 10
    now = timezone.now()
    dead = _run(company, "running", started_at=now - timedelta(minutes=5))
    configure(company, next_run_at=now - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        result = sync_due_dispatch(now=now)
    assert (result.reaped, result.queued) == (1, 1)
    dead.refresh_from_db()
    assert dead.status == "failed"
    assert SyncRun.objects.get(status="queued").pk == published[0]


# ---- One-time Sync ---------------------------------------------------------------------------------------


def test_one_time_sync_queues_a_run_after_commit(company, manager, published, django_capture_on_commit_callbacks):
    configure(company)
    with django_capture_on_commit_callbacks(execute=True):
        run = sync_one_time_request(company=company, person=manager)
    assert (run.trigger, run.status, run.requested_by) == ("one-time", "queued", manager)
    assert published == [run.pk]


def test_one_time_sync_while_one_is_queued_starts_nothing(company, manager, published):
    configure(company)
    first = sync_one_time_request(company=company, person=manager)
    with pytest.raises(SyncAlreadyRunning) as raised:
        sync_one_time_request(company=company, person=manager)
    assert raised.value.active == first
    assert "already running" in str(raised.value)
    assert SyncRun.objects.count() == 1


def test_one_time_sync_refused_when_usage_is_not_use(company, manager):
    configure(company, use=False)
    with pytest.raises(SyncUnavailable, match="User Look-Up Usage is Not Use"):
        sync_one_time_request(company=company, person=manager)
    assert not SyncRun.objects.exists()


def test_one_time_sync_refused_when_settings_are_incomplete(company, manager):
    AadSettings.objects.create(company=company, tenant_id=GUID_T)
    with pytest.raises(SyncUnavailable, match="needs the Tenant ID, Client ID and Secret Code"):
        sync_one_time_request(company=company, person=manager)


@pytest.fixture
def memory_broker(monkeypatch):
    """This process publishes to kombu's in-memory transport; yields a function reading what was queued."""
    from kombu import Connection

    broker = Broker("memory", "memory://", {}, {})
    with publishing_to(broker, monkeypatch):
        def queued(queue_name="cmportal-sync") -> list:
            with Connection("memory://") as connection:
                simple = connection.SimpleQueue(queue_name)
                messages = []
                while True:
                    try:
                        message = simple.get(block=False)
                    except simple.Empty:
                        return messages
                    message.ack()
                    messages.append(message)

        yield queued


def test_published_runs_are_celery_task_messages_on_the_sync_queue(company, make_company, memory_broker):
    runs = [sync_run_create(company=make_company(slug=f"pub-{i}", name=f"Pub {i}"), trigger="schedule")
            for i in range(3)]
    sync_runs_publish([run.pk for run in runs])
    messages = memory_broker()
    assert [message.headers["task"] for message in messages] == ["aadsync.sync_run"] * 3
    assert [message.decode()[0] for message in messages] == [[run.pk] for run in runs]
    assert {message.content_type for message in messages} == {"application/json"}


def test_runs_that_cannot_be_queued_end_failed_instead_of_blocking(company, monkeypatch, memory_broker):
    from aadsync.tasks import sync_run_task

    run = sync_run_create(company=company, trigger=SyncRun.Trigger.ONE_TIME)

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(sync_run_task.app.amqp, "send_task_message", broker_down)
    sync_runs_publish([run.pk])
    run.refresh_from_db()
    assert (run.status, run.error) == ("failed", SyncError("not_queued").sentence)
    sync_run_create(company=company, trigger=SyncRun.Trigger.ONE_TIME)  # the company is not blocked


def test_queued_run_whose_message_was_lost_is_sent_again_once(company, settings, memory_broker):
    settings.AAD_SYNC_REQUEUE_AFTER = 120
    now = timezone.now()
    run = _run(company, "queued", queued_at=now - timedelta(seconds=121))  # its message is in no queue

    assert sync_runs_requeue_lost(now=now) == 1
    assert sync_runs_requeue_lost(now=now) == 0  # its message waits in the queue now
    assert [message.decode()[0] for message in memory_broker()] == [[run.pk]]
    run.refresh_from_db()
    assert run.status == "queued"


def test_queued_run_is_not_sent_again_before_its_time(company, settings, memory_broker):
    settings.AAD_SYNC_REQUEUE_AFTER = 120
    now = timezone.now()
    _run(company, "queued", queued_at=now - timedelta(seconds=119))
    assert sync_runs_requeue_lost(now=now) == 0
    assert memory_broker() == []


def test_run_waiting_behind_other_messages_is_not_sent_again(company, make_company, settings, memory_broker):
    settings.AAD_SYNC_REQUEUE_AFTER = 120
    now = timezone.now()
    _run(company, "queued", queued_at=now - timedelta(seconds=600))
    ahead = sync_run_create(company=make_company(slug="ahead", name="Ahead"), trigger=SyncRun.Trigger.SCHEDULE)
    sync_runs_publish([ahead.pk])
    assert sync_runs_requeue_lost(now=now) == 0  # workers are busy, not the message lost
    assert [message.decode()[0] for message in memory_broker()] == [[ahead.pk]]


# ---- two dispatchers at once -----------------------------------------------------------------------------


def _race(dispatchers: int, inside_transaction=None) -> list:
    """Run the dispatcher in several threads at once (each with its own database connection)."""
    start = threading.Barrier(dispatchers, timeout=30)
    results, errors = [], []

    def dispatcher():
        try:
            start.wait()
            results.append(sync_due_dispatch(now=timezone.now(), batch_size=25))
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(dispatchers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_racing_claim_each_due_company_exactly_once(make_company, published):
    companies = [make_company(slug=f"race-{i}", name=f"Race {i}") for i in range(120)]
    past = timezone.now() - timedelta(minutes=1)
    AadSettings.objects.bulk_create(
        [AadSettings(company=c, use_lookup=True, tenant_id=GUID_T, client_id=GUID_C,
                     secret_encrypted="x", next_run_at=past) for c in companies]
    )
    results = _race(2)
    assert sum(result.claimed for result in results) == 120
    assert SyncRun.objects.count() == 120
    assert SyncRun.objects.values("company").distinct().count() == 120
    assert sorted(published) == sorted(SyncRun.objects.values_list("pk", flat=True))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers: no overlap to force")
@pytest.mark.django_db(transaction=True)
def test_racing_dispatchers_holding_claims_at_once_skip_each_others_rows(make_company, published, monkeypatch):
    companies = [make_company(slug=f"skip-{i}", name=f"Skip {i}") for i in range(50)]
    past = timezone.now() - timedelta(minutes=1)
    AadSettings.objects.bulk_create(
        [AadSettings(company=c, use_lookup=True, tenant_id=GUID_T, client_id=GUID_C,
                     secret_encrypted="x", next_run_at=past) for c in companies]
    )
    both_hold_locks = threading.Barrier(2, timeout=30)
    real_create = dispatch._scheduled_runs_create
    first_batch = threading.local()

    def hold(*, company_ids):
        # Both dispatchers sit inside their first claim transaction, row locks held, at the same time.
        if not getattr(first_batch, "done", False):
            first_batch.done = True
            both_hold_locks.wait()
        return real_create(company_ids=company_ids)

    monkeypatch.setattr(dispatch, "_scheduled_runs_create", hold)
    results = _race(2)
    claims = sorted(result.claimed for result in results)
    assert sum(claims) == 50 and claims[0] >= 25  # each took its own batch while the other's was locked
    assert SyncRun.objects.values("company").distinct().count() == SyncRun.objects.count() == 50


def test_a_published_look_up_carries_no_time_limit_so_the_worker_s_own_applies(company, tmp_path, monkeypatch,
                                                                              settings):
    """The worker ends a run at its own AAD_SYNC_TIME_LIMIT: a publisher's (e.g. a web process's) never rides
    along in the message."""
    from kombu import Connection

    from tests.aadsync.celery_harness import make_broker, publishing_to

    settings.AAD_SYNC_TIME_LIMIT = 2
    broker = make_broker("filesystem", tmp_path)
    run = sync_run_create(company=company, trigger=SyncRun.Trigger.ONE_TIME)
    with publishing_to(broker, monkeypatch):
        sync_runs_publish([run.pk])
    with Connection(broker.url, transport_options=broker.transport_options) as connection:
        message = connection.SimpleQueue("cmportal-sync").get(timeout=5)
    assert message.headers["task"] == "aadsync.sync_run" and message.headers["argsrepr"] == f"({run.pk},)"
    assert message.headers["timelimit"] in ([None, None], (None, None))
