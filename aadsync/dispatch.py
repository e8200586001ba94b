"""Start look-ups: claim the companies that are due, queue One-time Syncs, and end runs whose worker died."""
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from celery.utils import uuid
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from aadsync.errors import SyncError, minutes
from aadsync.models import AadSettings, SyncRun
from aadsync.retention import account_changes_prune
from aadsync.runs import SyncAlreadyRunning, sync_run_create, sync_runs_end, sync_time_limits
from aadsync.schedule import next_run_after, quarantine_schedule
from aadsync.services import SCHEDULE_FIELDS, aad_settings_get, schedule_from_fields
from aadsync.sync import sync_run_execute
from directory.models import Company, Person

logger = logging.getLogger(__name__)

# Companies claimed per transaction: short row locks, and memory bounded however many are due.
CLAIM_BATCH = 1000
# Messages sent to the broker in one round trip (kombu's Producer.batch; a Redis pipeline).
PUBLISH_CHUNK = 500
CLAIM_FIELDS = ("id", "company_id", "company__timezone", *SCHEDULE_FIELDS, "quarantined_since")

class SyncUnavailable(Exception):
    """One-time Sync cannot run with the company's current MS AAD settings; the message says what to do."""


@dataclass
class DispatchResult:
    claimed: int = 0  # companies whose run time had passed; each now has its following run time
    queued: int = 0  # runs created and queued
    already_running: int = 0  # claimed companies skipped because a run was queued or running
    reaped: int = 0  # runs marked failed because their worker died or never took them
    requeued: int = 0  # queued runs whose message was lost (e.g. the broker restarted), sent again
    scheduled: int = 0  # companies that used look-ups but had no next run time yet
    pruned: int = 0  # account lines of runs older than AAD_CHANGE_LOG_DAYS, deleted


def one_time_sync_blocker(*, settings_row: AadSettings) -> str:
    """Why One-time Sync cannot run now, as a sentence saying what to do; "" when it can."""
    if not settings_row.is_complete:
        return (
            "One-time Sync needs the Tenant ID, Client ID and Secret Code: click Modify, enter them, "
            "set User Look-Up Usage to Use and save."
        )
    if not settings_row.use_lookup:
        return "User Look-Up Usage is Not Use: click Modify, set it to Use and save to run a look-up."
    return ""


def sync_one_time_request(*, company: Company, person: Person | None, preview: bool = False) -> SyncRun:
    """Queue a One-time Sync, or a Preview of one (reads Microsoft as a look-up would, writes nothing to the
    directory). Raises SyncUnavailable, or SyncAlreadyRunning while a look-up or preview is queued or running."""
    reason = one_time_sync_blocker(settings_row=aad_settings_get(company=company))
    if reason:
        raise SyncUnavailable(reason.replace("One-time Sync", "Preview") if preview else reason)
    run = sync_run_create(company=company, trigger=SyncRun.Trigger.ONE_TIME, requested_by=person, preview=preview)
    transaction.on_commit(partial(sync_runs_publish, [run.pk]))
    return run


def sync_runs_publish(run_ids: list[int]) -> None:
    """Queue one sync task per run. Call it after the runs' transaction has committed.

    Thousands of runs can come due at once: each message is built with Celery's message API and sent through one
    producer in batches (kombu's Producer.batch: one round trip to Redis per PUBLISH_CHUNK messages). apply_async
    in a loop costs 1.4 ms a message on the project's VM (a Redis client per publish and six Celery settings
    lookups through Django's settings), this 0.19 ms (bench/bench_dispatch.py). The message carries no time
    limits: the worker's own (AAD_SYNC_TIME_LIMIT) apply, never the publisher's. A run whose message could not
    be sent ends failed at once.
    """
    from aadsync.tasks import sync_run_task  # the tasks module imports this one

    amqp, name = sync_run_task.app.amqp, sync_run_task.name
    queue = amqp.router.route({}, name)["queue"]
    sent, declare = 0, [queue]  # declaring the queue once is enough
    try:
        with sync_run_task.app.producer_or_acquire() as producer:
            for start in range(0, len(run_ids), PUBLISH_CHUNK):
                chunk = run_ids[start:start + PUBLISH_CHUNK]
                with producer.batch(max_size=len(chunk)):  # flushed when the block ends
                    for run_id in chunk:
                        message = amqp.create_task_message(uuid(), name, (run_id,), {}, argsrepr=f"({run_id},)",
                                                           kwargsrepr="{}")
                        amqp.send_task_message(producer, name, message, queue=queue, declare=declare)
                        declare = []
                sent += len(chunk)
    except Exception:
        # A run left queued with no message would block its company's next runs until it is given up.
        # (Some of these may have been sent after all: their task then finds the run failed and does nothing.)
        logger.exception("Could not queue %d look-up(s): the Celery broker is unreachable.", len(run_ids) - sent)
        sync_runs_end(SyncRun.objects.filter(pk__in=run_ids[sent:]), status=SyncRun.Status.FAILED,
                      error=SyncError("not_queued").sentence)


def sync_due_dispatch(*, now: datetime | None = None, batch_size: int = CLAIM_BATCH) -> DispatchResult:
    """Claim every company whose next run time has passed, queue a look-up for each, store the following time.

    Each batch is one transaction that locks the rows it claims (PostgreSQL: FOR UPDATE SKIP LOCKED, so a second
    dispatcher takes other rows or none; SQLite: the IMMEDIATE transaction holds the write lock), so no company
    is claimed twice. The following run time is the first one after now: missed periods run once, not once each.
    A company with a run still queued or running is skipped, and its run time still moves on.
    """
    now = now or timezone.now()
    result = DispatchResult(reaped=sync_runs_reap(now=now), requeued=sync_runs_requeue_lost(now=now))
    next_runs: dict[tuple, datetime] = {}  # many companies share a schedule and a time zone
    while True:
        claimed = _dispatch_batch(now=now, batch_size=batch_size, next_runs=next_runs, result=result)
        if claimed < batch_size:
            break
    result.scheduled = _schedule_unscheduled(now=now)
    result.pruned = account_changes_prune(now=now)
    if result.claimed or result.reaped or result.requeued or result.scheduled or result.pruned:
        logger.info("Dispatcher: %s", result)
    return result


def _dispatch_batch(*, now: datetime, batch_size: int, next_runs: dict, result: DispatchResult) -> int:
    with transaction.atomic():
        due = list(
            AadSettings.objects.filter(use_lookup=True, next_run_at__lte=now)
            .order_by("next_run_at", "id")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list(*CLAIM_FIELDS)[:batch_size]
        )
        if not due:
            return 0
        _next_run_times_store([(row_id, _following_run_at(tuple(key), now, next_runs, quarantined=bool(since)))
                               for row_id, _, *key, since in due])
        run_ids = _scheduled_runs_create(company_ids=[company_id for _, company_id, *_ in due])
        transaction.on_commit(partial(sync_runs_publish, run_ids))
    result.claimed += len(due)
    result.queued += len(run_ids)
    result.already_running += len(due) - len(run_ids)
    return len(due)


def _following_run_at(key: tuple, now: datetime, next_runs: dict, *, quarantined: bool = False) -> datetime:
    """The first run after `now` for (time zone, *schedule fields), computed once per distinct key. A quarantined
    company (repeated failures, aadsync.alerts) runs at most once a day: see schedule.quarantine_schedule."""
    cache_key = (*key, quarantined)
    if cache_key not in next_runs:
        tz_name, *schedule_fields = key
        try:
            schedule = schedule_from_fields(*schedule_fields)
            if quarantined:
                schedule = quarantine_schedule(schedule)
            next_runs[cache_key] = next_run_after(schedule, now, ZoneInfo(tz_name))
        except (ValueError, KeyError) as error:  # e.g. a time zone this machine's tz database lacks
            # One broken row must not stop every other company's look-ups: run it now, try again tomorrow.
            logger.error("No next look-up time for time zone %s and schedule %s (%s); trying again in a day.",
                         tz_name, schedule_fields, error)
            next_runs[cache_key] = now + timedelta(days=1)
    return next_runs[cache_key]


def _next_run_times_store(following: list[tuple[int, datetime]]) -> None:
    """Store each claimed row's following run time in one statement (bulk_update's CASE per row is slow)."""
    if not following:
        return
    if connection.vendor not in ("postgresql", "sqlite"):  # pragma: no cover - the two supported databases
        AadSettings.objects.bulk_update([AadSettings(id=pk, next_run_at=at) for pk, at in following], ["next_run_at"])
        return
    table = connection.ops.quote_name(AadSettings._meta.db_table)
    rows = ", ".join(["(%s, %s)"] * len(following))
    params = [value for pk, at in following for value in (pk, connection.ops.adapt_datetimefield_value(at))]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH following (id, next_run_at) AS (VALUES {rows}) "
            f"UPDATE {table} SET next_run_at = following.next_run_at FROM following WHERE {table}.id = following.id",
            params,
        )


def _scheduled_runs_create(*, company_ids: list[int]) -> list[int]:
    """Queued scheduled runs for the companies without an active one; their ids."""
    active = set(
        SyncRun.objects.filter(company_id__in=company_ids, status__in=SyncRun.ACTIVE_STATUSES).values_list(
            "company_id", flat=True
        )
    )
    todo = [company_id for company_id in company_ids if company_id not in active]
    if not todo:
        return []
    try:
        with transaction.atomic():
            return _scheduled_runs_insert(todo)
    except IntegrityError:
        pass  # a One-time Sync or a command started one of them meanwhile: one by one, then
    run_ids = []
    for company in Company.objects.filter(pk__in=todo):
        with contextlib.suppress(SyncAlreadyRunning):
            run_ids.append(sync_run_create(company=company, trigger=SyncRun.Trigger.SCHEDULE).pk)
    return run_ids


def _scheduled_runs_insert(company_ids: list[int]) -> list[int]:
    """INSERT one queued scheduled run per company in one statement; their ids.

    Every column but the company is the same for all of them, so Django prepares the values of one model
    instance and the database repeats them: bulk_create prepares every field of every row in Python, which
    was most of the dispatcher's time at 10,000 companies.
    """
    quote = connection.ops.quote_name
    template = SyncRun(trigger=SyncRun.Trigger.SCHEDULE)
    fields = [field for field in SyncRun._meta.concrete_fields if not field.primary_key and field.name != "company"]
    constants = [field.get_db_prep_save(field.pre_save(template, add=True), connection) for field in fields]
    columns = ", ".join(quote(field.column) for field in fields)
    company_column = quote(SyncRun._meta.get_field("company").column)
    sql = (
        f"WITH todo (company_id) AS (VALUES {', '.join(['(%s)'] * len(company_ids))}) "
        f"INSERT INTO {quote(SyncRun._meta.db_table)} ({company_column}, {columns}) "
        f"SELECT company_id, {', '.join(['%s'] * len(fields))} FROM todo "
        f"RETURNING {quote(SyncRun._meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*company_ids, *constants])
        return [row[0] for row in cursor.fetchall()]


def _schedule_unscheduled(*, now: datetime) -> int:
    """Give a next run time to companies that use look-ups but have none (set up before scheduling existed)."""
    with transaction.atomic():
        rows = list(
            AadSettings.objects.filter(use_lookup=True, next_run_at__isnull=True)
            .select_for_update(skip_locked=True, of=("self",))
            .values_list(*CLAIM_FIELDS)
        )
        next_runs: dict[tuple, datetime] = {}
        _next_run_times_store([(row_id, _following_run_at(tuple(key), now, next_runs, quarantined=bool(since)))
                               for row_id, _, *key, since in rows])
    return len(rows)


def sync_runs_reap(*, now: datetime | None = None) -> int:
    """Mark failed the runs whose worker died mid-run (past their time limit) or that no worker ever took."""
    now = now or timezone.now()
    limit = settings.AAD_SYNC_TIME_LIMIT + settings.AAD_SYNC_REAP_GRACE
    died = len(sync_runs_end(
        SyncRun.objects.filter(status=SyncRun.Status.RUNNING, started_at__lt=now - timedelta(seconds=limit)),
        status=SyncRun.Status.FAILED, error=SyncError("died", minutes=minutes(limit)).sentence, now=now))
    timeout = settings.AAD_SYNC_QUEUE_TIMEOUT
    never_started = len(sync_runs_end(
        SyncRun.objects.filter(status=SyncRun.Status.QUEUED, queued_at__lt=now - timedelta(seconds=timeout)),
        status=SyncRun.Status.FAILED, error=SyncError("never_started", minutes=minutes(timeout)).sentence, now=now))
    if died or never_started:
        logger.warning("Marked failed: %d look-up(s) whose worker died, %d never started.", died, never_started)
    return died + never_started


def sync_runs_requeue_lost(*, now: datetime | None = None) -> int:
    """Send again the message of every run queued longer than AAD_SYNC_REQUEUE_AFTER while the sync queue is
    empty: no worker holds it (a worker claims a run as soon as it takes its message), so the message was lost,
    e.g. Redis restarted without persistence. Sending it twice is harmless: only a still-queued run runs.
    While the queue is not empty nothing is sent again; a run that waits too long is given up by the reaper."""
    now = now or timezone.now()
    run_ids = list(SyncRun.objects.filter(
        status=SyncRun.Status.QUEUED, queued_at__lt=now - timedelta(seconds=settings.AAD_SYNC_REQUEUE_AFTER)
    ).order_by("queued_at", "id").values_list("pk", flat=True))
    if not run_ids:
        return 0
    try:
        waiting = _sync_queue_size()
    except Exception:
        logger.warning("Could not read the length of the look-up queue; nothing sent again.", exc_info=True)
        return 0
    if waiting:
        return 0
    logger.warning("%d look-up(s) queued for over %s s with an empty queue: their messages were lost; sending "
                   "them again.", len(run_ids), settings.AAD_SYNC_REQUEUE_AFTER)
    sync_runs_publish(run_ids)
    return len(run_ids)


def _sync_queue_size() -> int:
    """Messages waiting in the look-up queue (not those a worker has taken)."""
    from aadsync.tasks import sync_run_task  # the tasks module imports this one

    app = sync_run_task.app
    queue = app.amqp.router.route({}, sync_run_task.name)["queue"]
    with app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=1)
        return broker.default_channel.queue_declare(queue=queue.name).message_count  # type: ignore[attr-defined]


def sync_run_start(*, run_id: int) -> SyncRun | None:
    """Execute a queued run. A message for a run that is no longer queued (finished, given up, or delivered
    twice) does nothing; a scheduled run whose company switched to Not Use meanwhile does not run."""
    run = SyncRun.objects.select_related("company").filter(pk=run_id).first()
    if run is None or run.status != SyncRun.Status.QUEUED:
        logger.info("Look-up %s is %s, not queued: nothing to do.", run_id, run.status if run else "gone")
        return None
    if run.trigger == SyncRun.Trigger.SCHEDULE and not AadSettings.objects.filter(
        company_id=run.company_id, use_lookup=True
    ).exists():
        sync_runs_end(SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.QUEUED), status=SyncRun.Status.FAILED,
                      error=SyncError("not_use").sentence)
        return None
    return sync_run_execute(run=run)


def sync_run_stop_at_time_limit(*, run_id: int) -> None:
    """End a run that its task's time limit interrupted before the engine could (the engine ends the runs it
    executes itself), saying so."""
    sync_runs_end(SyncRun.objects.filter(pk=run_id), status=SyncRun.Status.FAILED,
                  error=SyncError("timed_out", minutes=minutes(sync_time_limits()[1])).sentence)
