"""Celery entry points: each takes ids, calls one service, and decides what a time limit means."""
import dataclasses
import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from aadsync.dispatch import sync_due_dispatch, sync_run_start, sync_run_stop_at_time_limit

logger = logging.getLogger(__name__)

SYNC_TIME_LIMIT = settings.AAD_SYNC_TIME_LIMIT
# The soft limit raises inside the run so that it can end with a sentence before the hard limit kills it.
SYNC_SOFT_TIME_LIMIT = SYNC_TIME_LIMIT - max(1, min(30, SYNC_TIME_LIMIT // 10))


@shared_task(
    name="aadsync.sync_run",
    acks_late=True,  # a worker that dies before finishing leaves the message to be delivered again
    time_limit=SYNC_TIME_LIMIT,
    soft_time_limit=SYNC_SOFT_TIME_LIMIT,
)
def sync_run_task(run_id: int) -> None:
    try:
        sync_run_start(run_id=run_id)
    except SoftTimeLimitExceeded:
        logger.warning("Look-up %s stopped at its time limit (%s s).", run_id, SYNC_SOFT_TIME_LIMIT)
        sync_run_stop_at_time_limit(run_id=run_id, seconds=SYNC_SOFT_TIME_LIMIT)


@shared_task(name="aadsync.dispatch_due")
def dispatch_due_task() -> dict:
    return dataclasses.asdict(sync_due_dispatch())
