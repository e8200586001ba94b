"""Reads about look-ups: the latest run's live status for the MS AAD page, and the sync history."""
from django.db.models import Q, QuerySet

from aadsync.models import AccountChange, SyncRun
from aadsync.runs import sync_run_progress
from directory.models import Company


def sync_run_latest(*, company: Company) -> SyncRun | None:
    return SyncRun.objects.filter(company=company).order_by("-queued_at", "-id").first()


def sync_run_history(*, company: Company) -> QuerySet[SyncRun]:
    """Every run of the company, newest first."""
    return SyncRun.objects.filter(company=company).select_related("requested_by").order_by("-queued_at", "-id")


def sync_run_status(*, run: SyncRun | None) -> dict | None:
    """The JSON the MS AAD page polls: status, live progress while running, then counts or the error."""
    if run is None:
        return None
    progress = sync_run_progress(run)
    return {
        "id": run.pk,
        "trigger": run.trigger,
        "trigger_label": run.get_trigger_display(),
        "status": run.status,
        "status_label": run.get_status_display(),
        "active": run.is_active,
        "queued_at": _iso(run.queued_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "duration_seconds": run.duration_seconds,
        **{name: value for name, value in progress.items() if name != "status"},
    }


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def account_changes(*, run: SyncRun, search: str = "") -> QuerySet[AccountChange]:
    """A run's account lines in the order written, those whose name or user principal name contains `search`."""
    lines = AccountChange.objects.filter(run=run).order_by("id")
    if search:
        lines = lines.filter(Q(name__icontains=search) | Q(user_principal_name__icontains=search))
    return lines
