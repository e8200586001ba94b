"""Celery entry points: each takes ids, calls one service, and decides what a time limit means."""
import dataclasses
import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from aadsync.alerts import tasks as alert_tasks  # noqa: F401 - registers the alert tasks with the worker
from aadsync.dispatch import sync_due_dispatch, sync_run_start, sync_run_stop_at_time_limit
from aadsync.runs import sync_time_limits

logger = logging.getLogger(__name__)

SYNC_TIME_LIMIT, SYNC_SOFT_TIME_LIMIT = sync_time_limits()


@shared_task(
    name="aadsync.sync_run",
    acks_late=True,  # a worker that dies before finishing leaves the message to be delivered again
    time_limit=SYNC_TIME_LIMIT,
    soft_time_limit=SYNC_SOFT_TIME_LIMIT,
)
def sync_run_task(run_id: int) -> None:
    try:
        sync_run_start(run_id=run_id)
    except SoftTimeLimitExceeded:  # raised before or after the engine's own handling of it
        logger.warning("Look-up %s stopped at its time limit (%s s).", run_id, SYNC_SOFT_TIME_LIMIT)
        sync_run_stop_at_time_limit(run_id=run_id)


@shared_task(name="aadsync.dispatch_due")
def dispatch_due_task() -> dict:
    return dataclasses.asdict(sync_due_dispatch())
