"""A look-up's whole life: created (queued), claimed (running), ended (succeeded or failed), and its live progress.

Every way a run ends goes through `sync_runs_end`: the engine's success or failure, a run whose worker died, one no
worker took, one whose message could not be queued, one stopped at its time limit, one whose company switched to
Not Use. After the ending commits, `sync_runs_ended` is called with the ended runs' ids: the one place where work
that follows a run (e-mail to managers, quarantine of a failing schedule) hooks in.

Progress while a run is in progress: the run's directory writes happen in ONE transaction (a failure leaves the
directory as it was), so progress cannot go through that transaction, and on SQLite a second connection could not
write while it holds the lock. Progress therefore goes to the Django cache (file-based on one machine by default,
Redis via CACHE_URL in production), keyed by run; `sync_run_progress(run)` reads it from any process. The final
figures are stored on the SyncRun row when the run ends.
"""
from __future__ import annotations

import logging
import math
import time
from datetime import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from aadsync.alerts.hook import alerts_after_runs
from aadsync.models import SyncRun
from directory.models import Company, Person

logger = logging.getLogger(__name__)
PROGRESS_TTL = 6 * 3600
COUNT_FIELDS = ("looked_up", "created", "updated", "unchanged", "disabled", "removed", "skipped")


def sync_time_limits() -> tuple[int, int]:
    """(hard, soft) seconds a look-up's task may run: the soft limit stops the run inside the engine, so that it can
    end with a sentence before the hard limit kills the process."""
    hard = settings.AAD_SYNC_TIME_LIMIT
    return hard, hard - max(1, min(30, hard // 10))


class SyncAlreadyRunning(Exception):
    """A run for this company is queued or running; the database refuses a second one."""

    def __init__(self, active: SyncRun | None):
        self.active = active
        super().__init__("A look-up for this company is already running; wait for it to finish.")


def sync_run_create(*, company: Company, trigger: str, requested_by: Person | None = None,
                    preview: bool = False) -> SyncRun:
    """A new queued run. The partial unique index makes this safe across processes."""
    # Read first, outside a transaction: on SQLite a running sync holds the write lock for its whole run, so
    # the INSERT below would wait for it to finish instead of reporting "already running".
    active = SyncRun.objects.filter(company=company, status__in=SyncRun.ACTIVE_STATUSES).first()
    if active is not None:
        raise SyncAlreadyRunning(active)
    try:
        with transaction.atomic():
            return SyncRun.objects.create(company=company, trigger=trigger, requested_by=requested_by, preview=preview)
    except IntegrityError:
        active = SyncRun.objects.filter(company=company, status__in=SyncRun.ACTIVE_STATUSES).first()
        raise SyncAlreadyRunning(active) from None


def sync_run_claim(*, run: SyncRun) -> bool:
    """Queued -> running, atomically: False when the run is not queued (already run, e.g. a redelivered task)."""
    now = timezone.now()
    claimed = SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.QUEUED).update(
        status=SyncRun.Status.RUNNING, started_at=now
    )
    if claimed:
        run.status, run.started_at = SyncRun.Status.RUNNING, now
    return bool(claimed)


def sync_runs_end(runs: QuerySet[SyncRun], *, status: str, error: str = "", notice: str = "",
                  results: dict[str, Any] | None = None, now: datetime | None = None) -> list[int]:
    """End every run of `runs` that is still queued or running: succeeded with its `results` (counts, pages, mode)
    and `notice`, or failed with `error` (a sentence a manager can act on; never a secret, never a traceback).
    Returns the ids it ended; once the caller's transaction commits, `sync_runs_ended` runs for them."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(runs.filter(status__in=SyncRun.ACTIVE_STATUSES).values_list("pk", flat=True))
        if not ids:
            return []
        SyncRun.objects.filter(pk__in=ids, status__in=SyncRun.ACTIVE_STATUSES).update(
            status=status, error=error, notice=notice, finished_at=now,
            started_at=Coalesce("started_at", Value(now)), **(results or {}),
        )
        transaction.on_commit(partial(sync_runs_ended, ids))
    return ids


def sync_run_end(run: SyncRun, *, status: str, error: str = "", notice: str = "",
                 results: dict[str, Any] | None = None) -> SyncRun:
    """End one run (see sync_runs_end) and bring the instance up to date."""
    sync_runs_end(SyncRun.objects.filter(pk=run.pk), status=status, error=error, notice=notice, results=results)
    run.refresh_from_db()
    return run


def sync_runs_ended(run_ids: list[int]) -> None:
    """Called once the ending of these runs has committed: what follows a look-up hooks in here. The alerts count
    the runs (failure streak, quarantine) and queue their e-mails through Celery; they never raise."""
    logger.debug("Look-up(s) %s ended", run_ids)
    alerts_after_runs(run_ids)


def _progress_key(run: SyncRun) -> str:
    # queued_at makes the key unique even where run ids repeat (several test databases, one cache).
    return f"aadsync:run-progress:{run.pk}:{run.queued_at.timestamp():.6f}"


def sync_run_progress_set(*, run: SyncRun, progress: dict[str, Any]) -> None:
    """Publish progress for other processes (see aadsync.sync.progress for the figures); never fails the run (a
    cache outage only hides progress)."""
    try:
        cache.set(_progress_key(run), progress, PROGRESS_TTL)
    except Exception:
        logger.warning("Could not publish the progress of look-up %s", run.pk, exc_info=True)


def sync_run_progress_clear(*, run: SyncRun) -> None:
    try:
        cache.delete(_progress_key(run))
    except Exception:
        logger.warning("Could not clear the progress of look-up %s", run.pk, exc_info=True)


def sync_run_progress(run: SyncRun) -> dict:
    """What the page shows about a run: status, pages read and users applied (live while running), and
    for a finished run its counts, notice and error. Pass a freshly loaded run."""
    progress: dict[str, Any] = {"status": run.status, "pages_read": run.pages_read, "users_applied": run.users_applied}
    if run.status == SyncRun.Status.RUNNING:
        try:
            progress.update(cache.get(_progress_key(run)) or {})
        except Exception:
            logger.warning("Could not read the progress of look-up %s", run.pk, exc_info=True)
        until = progress.pop("waiting_until", None)
        left = math.ceil(until - time.time()) if until else 0
        progress["waiting_seconds"] = left if left > 0 else 0  # "waiting N s for Microsoft (throttled)"
    elif run.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.FAILED):
        progress.update({name: getattr(run, name) for name in COUNT_FIELDS})
        progress.update(removals_held=run.removals_held, notice=run.notice, error=run.error,
                        counts_sentence=run.counts_sentence)
    return progress
