"""What one page does to the directory (pure): rows to create and rows to change, worked out from the page and the
directory's current rows; writes.py carries a plan out, a preview only counts it."""
from __future__ import annotations

from dataclasses import dataclass, field

from aadsync.sync.counts import Counts
from aadsync.sync.mapping import (
    DISABLED,
    REMOVAL_REASONS,
    REMOVED,
    ContactRow,
    contact_row_from_graph,
    contact_row_merge,
    contact_row_removed,
    normalise_object_id,
)

Existing = dict[str, tuple[int, ContactRow]]  # object_id -> (pk, the stored row)
COMPLETE = "@complete"  # set by the read phase on a changed user's full record (GET /users?$filter=id in ...)


@dataclass
class PagePlan:
    creates: list[tuple[str, ContactRow]] = field(default_factory=list)  # (object_id, row)
    updates: list[tuple[int, str, ContactRow, ContactRow]] = field(default_factory=list)  # (pk, id, before, after)
    counts: Counts = field(default_factory=Counts)

    def create(self, object_id: str, row: ContactRow) -> None:
        self.creates.append((object_id, row))
        if row.aad_state == DISABLED:
            self.counts.disabled += 1
        else:
            self.counts.created += 1

    def change(self, pk: int, object_id: str, before: ContactRow, after: ContactRow) -> None:
        if after == before:
            self.counts.unchanged += 1
            return
        self.updates.append((pk, object_id, before, after))
        if after.aad_state == REMOVED and before.aad_state != REMOVED:
            self.counts.removed += 1
        elif after.aad_state == DISABLED and before.aad_state != DISABLED:
            self.counts.disabled += 1
        else:
            self.counts.updated += 1


def listing_entries(users: list[dict], *, include_guests: bool) -> tuple[list[tuple[str, tuple]], list[str], int]:
    """A full listing's page mapped (the read phase does this, outside any transaction): (object_id, row) for each
    user the directory keeps, every object ID seen (skipped guests are still in AAD: never mark them removed), and
    how many were skipped."""
    entries, seen, skipped = [], [], 0
    for user in users:
        object_id = normalise_object_id(user.get("id") if user.__class__ is dict else None)
        if object_id is None or "@removed" in user:
            skipped += 1
            continue
        row = contact_row_from_graph(user)
        seen.append(object_id)
        if row.is_guest and not include_guests:
            skipped += 1
            continue
        entries.append((object_id, tuple(row)))
    return entries, seen, skipped


def plan_listing(existing: Existing, entries: list[tuple[str, ContactRow]]) -> PagePlan:
    """A full listing's page against the stored rows: new ones created, the others changed where they differ."""
    plan = PagePlan()
    for object_id, row in dict(entries).items():  # a user listed twice on a page is written once
        if object_id in existing:
            pk, current = existing[object_id]
            plan.change(pk, object_id, current, row)
        else:
            plan.create(object_id, row)
    return plan


def plan_changes(existing: Existing, users: list[dict], *, include_guests: bool) -> PagePlan:
    """A change round's page: changed users merged into their rows (a missing property keeps its value), new ones
    created from their full record, `@removed` ones marked removed with Microsoft's reason ("changed": restorable,
    "deleted": gone for good)."""
    plan = PagePlan()
    latest: dict[str, dict] = {}  # a user named twice on a page: its last entry counts
    for user in users:
        object_id = normalise_object_id(user.get("id") if user.__class__ is dict else None)
        if object_id is None:
            plan.counts.skipped += 1
        else:
            latest.pop(object_id, None)
            latest[object_id] = user
    for object_id, user in latest.items():
        if "@removed" in user:
            if object_id not in existing:  # never synced here (a guest, or gone before the first look-up)
                plan.counts.skipped += 1
                continue
            reason = (user.get("@removed") or {}).get("reason")
            pk, current = existing[object_id]
            plan.change(pk, object_id, current,
                        contact_row_removed(current, reason if reason in REMOVAL_REASONS else "deleted"))
            continue
        if object_id in existing:
            pk, current = existing[object_id]
            row = contact_row_merge(current, user)
            if row.is_guest and not include_guests:
                plan.counts.skipped += 1
                continue
            plan.change(pk, object_id, current, row)
            continue
        # Not in the directory: only its full record makes a row (a minimal change carries too little), and none
        # came when the account is gone again or a skipped guest changed.
        row = contact_row_from_graph(user)
        if not user.get(COMPLETE) or (row.is_guest and not include_guests):
            plan.counts.skipped += 1
            continue
        plan.create(object_id, row)
    return plan
