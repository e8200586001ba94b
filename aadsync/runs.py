"""Sync history rows: create one run per company at a time, and record how each run ends."""
from django.db import IntegrityError, transaction
from django.utils import timezone

from aadsync.models import SyncRun
from directory.models import Company, Person


class SyncAlreadyRunning(Exception):
    """A run for this company is queued or running; the database refuses a second one."""

    def __init__(self, active: SyncRun | None):
        self.active = active
        super().__init__("A look-up for this company is already running; wait for it to finish.")


def sync_run_create(
    *, company: Company, trigger: str, requested_by: Person | None = None, mode: str = SyncRun.Mode.FULL
) -> SyncRun:
    """A new queued run. The partial unique index makes this safe across processes."""
    try:
        with transaction.atomic():
            return SyncRun.objects.create(company=company, trigger=trigger, requested_by=requested_by, mode=mode)
    except IntegrityError:
        active = SyncRun.objects.filter(company=company, status__in=SyncRun.ACTIVE_STATUSES).first()
        raise SyncAlreadyRunning(active) from None


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
    run.save(update_fields=["status", "error", "finished_at", "started_at"])
    return run
