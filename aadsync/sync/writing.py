"""The write phase of a run: the spooled pages planned against the directory and applied in order, then whoever
the complete read no longer lists; each account's line logged. A preview plans and counts the same, writing none."""
from __future__ import annotations

from datetime import datetime

from aadsync.sync.counts import Counts
from aadsync.sync.mapping import ContactRow, normalise_object_id
from aadsync.sync.plans import Existing, PagePlan, plan_changes, plan_listing
from aadsync.sync.progress import ProgressPublisher
from aadsync.sync.reading import FULL
from aadsync.sync.records import AccountChangeLog
from aadsync.sync.removals import SeenIds, contact_mark_missing_gone, current_states, synced_count
from aadsync.sync.spool import Spool
from aadsync.sync.writes import PlannerStats, contact_existing_rows, plan_write
from directory.models import Company


class Writer:
    def __init__(self, *, company: Company, include_guests: bool, gone_state: str, progress: ProgressPublisher,
                 log: AccountChangeLog, now: datetime, dry_run: bool = False):
        self.company, self.include_guests, self.gone_state = company, include_guests, gone_state
        self.progress, self.log, self.now, self.dry_run = progress, log, now, dry_run
        self.counts = Counts()
        self.notices: list[str] = []
        # A preview writes nothing, so a later page would plan against the directory as it was: a user Microsoft
        # lists again (delta may repeat one) counted as created twice. It plans a user listed on more than one
        # page against what it would have written (only those: holding every planned row cost 50 MB at 100,000).
        self.planned: Existing = {}
        self.repeated: set[str] = set()

    def _counted(self, plan_counts: Counts) -> None:
        self.counts.add(plan_counts)
        self.counts.users_applied += (plan_counts.created + plan_counts.updated + plan_counts.unchanged
                                      + plan_counts.disabled + plan_counts.removed)
        self.progress.update(users_applied=self.counts.users_applied)

    def _existing(self, object_ids: list[str]) -> Existing:
        existing = contact_existing_rows(self.company, object_ids)
        if self.planned:
            existing.update((object_id, self.planned[object_id]) for object_id in object_ids
                            if object_id in self.planned)
        return existing

    def _would_write(self, plan: PagePlan) -> None:
        if not self.repeated:
            return
        self.planned.update((object_id, (0, row)) for object_id, row in plan.creates  # no pk: never written
                            if object_id in self.repeated)
        self.planned.update((object_id, (pk, after)) for pk, object_id, _before, after in plan.updates
                            if object_id in self.repeated)

    def write(self, spool: Spool, mode: str, *, allow_removals: bool) -> None:
        stats = PlannerStats()
        states = current_states(self.gone_state)
        synced_before = synced_count(self.company, states)
        if self.dry_run:
            self.repeated = _listed_on_several_pages(spool)
        with SeenIds() as seen:
            for record in spool:
                if record[0] == FULL:
                    _, entries, seen_ids, skipped, looked_up = record
                    rows = [(object_id, ContactRow._make(row)) for object_id, row in entries]
                    plan = plan_listing(self._existing([object_id for object_id, _ in rows]), rows)
                    seen.add(seen_ids)
                    plan.counts.skipped += skipped
                else:
                    _, users, looked_up = record
                    plan = plan_changes(self._existing(_change_ids(users)), users, include_guests=self.include_guests)
                plan.counts.looked_up += looked_up
                if self.dry_run:
                    self._would_write(plan)
                else:
                    plan_write(company=self.company, plan=plan, now=self.now)
                    stats.grew(self.counts.created + self.counts.disabled + len(plan.creates))
                self.log.add_plan(plan)
                self._counted(plan.counts)
            if mode == FULL:
                removals = contact_mark_missing_gone(
                    company=self.company, seen=seen, synced_before=synced_before, now=self.now,
                    gone_state=self.gone_state, allow_removals=allow_removals, log=self.log, dry_run=self.dry_run)
                self.counts.removed += removals.marked
                self.counts.removals_held += removals.held
                if removals.notice:
                    self.notices.append(removals.notice)


def _change_ids(users: list) -> list[str]:
    """The object IDs a change round's page names (entries without a usable ID are skipped by the plan)."""
    return [object_id for object_id in (normalise_object_id(user.get("id")) for user in users
                                        if user.__class__ is dict) if object_id]


def _record_ids(record: tuple) -> set[str]:
    return {object_id for object_id, _ in record[1]} if record[0] == FULL else set(_change_ids(record[1]))


def _listed_on_several_pages(spool: Spool) -> set[str]:
    """The object IDs that more than one spooled page names (a page naming one twice is planned once anyway)."""
    seen: set[str] = set()
    repeated: set[str] = set()
    for record in spool:
        ids = _record_ids(record)
        repeated |= ids & seen
        seen |= ids
    return repeated
