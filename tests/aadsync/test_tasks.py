"""Celery tasks: registered by name, routed, time-limited; each loads its row and calls one service."""
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from aadsync import dispatch, tasks
from aadsync.errors import SyncError
from aadsync.models import SyncRun
from aadsync.runs import sync_run_create
from cmportal.celery import app
from tests.aadsync.run_helpers import configure, published  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def executed(monkeypatch):
    """Runs handed to the sync engine (which is tested on its own against the fake Microsoft)."""
    seen: list[SyncRun] = []

    def execute(*, run):
        seen.append(run)
        return run

    monkeypatch.setattr(dispatch, "sync_run_execute", execute)
    return seen


def test_tasks_are_registered_under_stable_names():
    app.loader.import_default_modules()  # what a worker does at start: autodiscovery finds aadsync.tasks
    assert app.tasks["aadsync.sync_run"].run is tasks.sync_run_task.run
    assert app.tasks["aadsync.dispatch_due"].run is tasks.dispatch_due_task.run


def test_sync_task_acknowledges_late_and_has_time_limits():
    task = tasks.sync_run_task
    assert task.acks_late is True
    assert task.time_limit == settings.AAD_SYNC_TIME_LIMIT
    assert 0 < task.soft_time_limit < task.time_limit


def test_sync_runs_have_their_own_queue_and_the_dispatcher_the_default_one():
    route = app.amqp.router.route
    assert route({}, "aadsync.sync_run")["queue"].name == "cmportal-sync"
    assert route({}, "aadsync.dispatch_due")["queue"].name == "cmportal"


def test_sync_task_executes_a_queued_run(company, executed):
    configure(company)
    run = sync_run_create(company=company, trigger=SyncRun.Trigger.ONE_TIME)
    tasks.sync_run_task.apply(args=[run.pk])
    assert [r.pk for r in executed] == [run.pk]


@pytest.mark.parametrize("status", ["running", "succeeded", "failed"])
def test_sync_task_for_a_run_no_longer_queued_does_nothing(company, executed, status):
    run = sync_run_create(company=company, trigger=SyncRun.Trigger.ONE_TIME)
    SyncRun.objects.filter(pk=run.pk).update(status=status)
    tasks.sync_run_task.apply(args=[run.pk])
    assert executed == []
    run.refresh_from_db()
    assert run.status == status


def test_sync_task_for_a_deleted_run_does_nothing(executed):
    tasks.sync_run_task.apply(args=[123456])
    assert executed == []


def test_scheduled_run_does_not_start_after_usage_became_not_use(company, executed):
    configure(company)
    run = sync_run_create(company=company, trigger=SyncRun.Trigger.SCHEDULE)
    configure(company, use=False)
    tasks.sync_run_task.apply(args=[run.pk])
    assert executed == []
    run.refresh_from_db()
    assert (run.status, run.error) == ("failed", SyncError("not_use").sentence)


def test_dispatch_task_reports_what_it_did(company, published, django_capture_on_commit_callbacks):
    configure(company, next_run_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.dispatch_due_task.apply().get()
    assert result == {"claimed": 1, "queued": 1, "already_running": 0, "reaped": 0, "requeued": 0, "scheduled": 0,
                      "pruned": 0}
    assert published == [SyncRun.objects.get(company=company).pk]


def test_beat_runs_the_dispatcher_every_30_seconds():
    entry = app.conf.beat_schedule["aadsync-dispatch-due"]
    assert entry["task"] == "aadsync.dispatch_due"
    assert entry["schedule"] == 30.0 == settings.AAD_DISPATCH_INTERVAL


def test_messages_are_json_only():
    assert (app.conf.task_serializer, app.conf.accept_content) == ("json", ["json"])
