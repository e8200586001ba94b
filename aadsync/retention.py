"""How long each look-up's account lines are kept (AAD_CHANGE_LOG_DAYS), and pruning older ones in batches."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from aadsync.models import AccountChange

PRUNE_BATCH = 20_000  # lines deleted per statement: short transactions, whatever the backlog


def account_changes_prune(*, now: datetime, max_batches: int = 5) -> int:
    """Delete the account lines of runs that finished more than AAD_CHANGE_LOG_DAYS days ago (at most
    max_batches x PRUNE_BATCH a call: the dispatcher calls it every half minute). The runs themselves stay."""
    cutoff = now - timedelta(days=settings.AAD_CHANGE_LOG_DAYS)
    deleted = 0
    for _ in range(max_batches):
        ids = list(AccountChange.objects.filter(run__finished_at__lt=cutoff).order_by()
                   .values_list("pk", flat=True)[:PRUNE_BATCH])
        if not ids:
            break
        deleted += AccountChange.objects.filter(pk__in=ids).delete()[0]
    return deleted
