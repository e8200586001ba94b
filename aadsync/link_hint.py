"""After a look-up: how many existing phone users the MS AAD page can send to User > Link to AAD accounts."""
from aadsync.models import SyncRun
from directory.matching.selectors import linkable_user_count
from directory.models import Company


def linkable_users_after(*, company: Company, run: SyncRun | None) -> int:
    """Phone users without an AAD account whose e-mail is an active, unlinked account's mail or UPN, once the latest
    look-up has succeeded (0 while it is queued or running, or when it failed: nothing new to offer)."""
    if run is None or run.status != SyncRun.Status.SUCCEEDED:
        return 0
    return linkable_user_count(company=company)
