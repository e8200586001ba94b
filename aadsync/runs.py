"""Sync history rows: create one run per company at a time, record progress and how each run ends.

Progress while a run is in progress: the run's directory writes happen in ONE transaction (a failure leaves
the directory as it was), so progress cannot go through that transaction, and on SQLite a second connection
could not write while it holds the lock. Progress therefore goes to the Django cache (file-based on one
machine by default, Redis via CACHE_URL in production), keyed by run; `sync_run_progress(run)` reads it from
any process. The final figures are stored on the SyncRun row when the run ends.
"""
import logging

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from aadsync.models import SyncRun
from directory.models import Company, Person

logger = logging.getLogger(__name__)
PROGRESS_TTL = 6 * 3600
COUNT_FIELDS = ("created", "updated", "unchanged", "disabled", "removed", "skipped")


class SyncAlreadyRunning(Exception):
    """A run for this company is queued or running; the database refuses a second one."""

    def __init__(self, active: SyncRun | None):
        self.active = active
        super().__init__("A look-up for this company is already running; wait for it to finish.")


def sync_run_create(
    *, company: Company, trigger: str, requested_by: Person | None = None, mode: str = SyncRun.Mode.FULL
) -> SyncRun:
    """A new queued run. The partial unique index makes this safe across processes."""
    # Read first, outside a transaction: on SQLite a running sync holds the write lock for its whole run, so
    # the INSERT below would wait for it to finish instead of reporting "already running".
    active = SyncRun.objects.filter(company=company, status__in=SyncRun.ACTIVE_STATUSES).first()
    if active is not None:
        raise SyncAlreadyRunning(active)
    try:
        with transaction.atomic():
            return SyncRun.objects.create(company=company, trigger=trigger, requested_by=requested_by, mode=mode)
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


def sync_run_mark_running(*, run: SyncRun) -> SyncRun:
    run.status = SyncRun.Status.RUNNING
    run.started_at = timezone.now()
    run.save(update_fields=["status", "started_at"])
    return run


def sync_run_mark_failed(*, run: SyncRun, error: str) -> SyncRun:
    """End a run with a sentence a manager can act on (never a secret, never a traceback)."""
    run.status = SyncRun.Status.FAILED
    run.error = error
    run.finished_at = timezone.now()
    run.started_at = run.started_at or run.finished_at
    run.save(update_fields=["status", "error", "finished_at", "started_at", "mode"])
    return run


def sync_run_mark_succeeded(*, run: SyncRun, counts: dict, notice: str = "") -> SyncRun:
    """End a run with its counts (created, updated, ..., pages_read, users_applied, removals_held)."""
    for name, value in counts.items():
        setattr(run, name, value)
    run.status = SyncRun.Status.SUCCEEDED
    run.notice = notice
    run.error = ""
    run.finished_at = timezone.now()
    run.save(update_fields=[*counts, "status", "notice", "error", "finished_at"])
    return run


def _progress_key(run: SyncRun) -> str:
    # queued_at makes the key unique even where run ids repeat (several test databases, one cache).
    return f"aadsync:run-progress:{run.pk}:{run.queued_at.timestamp():.6f}"


def sync_run_progress_set(*, run: SyncRun, pages_read: int, users_applied: int) -> None:
    """Publish progress for other processes; never fails the run (a cache outage only hides progress)."""
    run.pages_read, run.users_applied = pages_read, users_applied
    try:
        cache.set(_progress_key(run), {"pages_read": pages_read, "users_applied": users_applied}, PROGRESS_TTL)
    except Exception:  # noqa: BLE001 - any cache backend error
        logger.warning("Could not publish the progress of look-up %s", run.pk, exc_info=True)


def sync_run_progress_clear(*, run: SyncRun) -> None:
    try:
        cache.delete(_progress_key(run))
    except Exception:  # noqa: BLE001
        logger.warning("Could not clear the progress of look-up %s", run.pk, exc_info=True)


def sync_run_progress(run: SyncRun) -> dict:
    """What the page shows about a run: status, pages read and users applied (live while running), and
    for a finished run its counts, notice and error. Pass a freshly loaded run."""
    progress = {"status": run.status, "pages_read": run.pages_read, "users_applied": run.users_applied}
    if run.status == SyncRun.Status.RUNNING:
        try:
            progress.update(cache.get(_progress_key(run)) or {})
        except Exception:  # noqa: BLE001
            logger.warning("Could not read the progress of look-up %s", run.pk, exc_info=True)
    elif run.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.FAILED):
        progress.update({name: getattr(run, name) for name in COUNT_FIELDS})
        progress.update(removals_held=run.removals_held, notice=run.notice, error=run.error)
    return progress
