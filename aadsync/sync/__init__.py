"""The sync engine: a tenant's users from Microsoft Graph into the Company Directory, all or nothing per run.

Rooms: `mapping` (the field map, pure), `sources` (who is looked up), `pages` (one page applied in bulk),
`writes` (the SQL), `removals` (who is no longer listed, and the hold), `people` (linked people follow AAD),
`progress`, `prefetch`, and `engine` (a run's orchestration, from claim to end).
"""
from aadsync.sync.engine import delta_key, delta_link_drop, sync_company_now, sync_run_execute

__all__ = ["delta_key", "delta_link_drop", "sync_company_now", "sync_run_execute"]
