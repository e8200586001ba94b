"""Apply one page of Graph users to the directory in bulk: a full listing's page, or a delta round's changes."""
from __future__ import annotations

from datetime import datetime

from aadsync.sync.counts import Counts
from aadsync.sync.mapping import (
    DISABLED,
    REMOVAL_REASONS,
    ContactRow,
    contact_row_from_graph,
    contact_row_merge,
    contact_row_removed,
    normalise_object_id,
)
from aadsync.sync.removals import SeenIds
from aadsync.sync.writes import contact_existing_rows, contact_insert_rows, contact_update_rows, db_datetime
from directory.models import Company


def contact_upsert_page(*, company: Company, users: list[dict], include_guests: bool, now: datetime,
                        seen: SeenIds | None = None) -> Counts:
    """Apply one page of a full listing: one SELECT of the page's existing rows, one INSERT of the new ones, one
    UPDATE of the changed ones, whatever the size of the page or tenant."""
    counts = Counts()
    incoming: dict[str, ContactRow] = {}
    seen_ids = []
    for user in users:
        object_id = normalise_object_id(user.get("id") if user.__class__ is dict else None)
        if object_id is None or "@removed" in user:  # removals are contact_apply_changes' business
            counts.skipped += object_id is None
            continue
        row = contact_row_from_graph(user)
        seen_ids.append(object_id)  # skipped guests are still in AAD: never mark them removed
        if row.is_guest and not include_guests:
            counts.skipped += 1
            continue
        incoming[object_id] = row
        counts.disabled += row.aad_state == DISABLED
    if seen is not None and seen_ids:
        seen.add(seen_ids)

    stamp = db_datetime(now)
    updates = []
    for object_id, (pk, current) in contact_existing_rows(company, list(incoming)).items():
        row = incoming.pop(object_id)
        if current == row:
            counts.unchanged += 1
        else:
            updates.append((*row, stamp, pk))
    creates = [(company.pk, object_id, *row, stamp, stamp) for object_id, row in incoming.items()]
    counts.created, counts.updated = len(creates), len(updates)
    return _contact_write(creates, updates, counts)


def contact_apply_changes(*, company: Company, users: list[dict], include_guests: bool, now: datetime) -> Counts:
    """Apply one page of a delta round: changed and new users upserted (missing properties keep their value),
    `@removed` users marked removed from AAD with Microsoft's reason ("changed": restorable, "deleted": gone
    for good). The same constant number of queries per page as contact_upsert_page."""
    counts = Counts()
    changed: dict[str, dict] = {}
    removed: dict[str, str] = {}
    for user in users:
        object_id = normalise_object_id(user.get("id") if user.__class__ is dict else None)
        if object_id is None:
            counts.skipped += 1
            continue
        if "@removed" in user:
            reason = (user.get("@removed") or {}).get("reason")
            removed[object_id] = reason if reason in REMOVAL_REASONS else "deleted"
            changed.pop(object_id, None)
        else:
            changed[object_id] = user
            removed.pop(object_id, None)

    stamp = db_datetime(now)
    existing = contact_existing_rows(company, [*changed, *removed])
    creates, updates = [], []
    for object_id, user in changed.items():
        if object_id in existing:
            pk, current = existing[object_id]
            row = contact_row_merge(current, user)
            if row.is_guest and not include_guests:
                counts.skipped += 1
                continue
            if row == current:
                counts.unchanged += 1
            else:
                updates.append((*row, stamp, pk))
                counts.updated += 1
        else:
            row = contact_row_from_graph(user)
            # A new user comes with every property it has (userType always). Without userType this is a change
            # (return=minimal) to an account this directory does not hold, e.g. a skipped guest: not a new row.
            if "userType" not in user or (row.is_guest and not include_guests):
                counts.skipped += 1
                continue
            creates.append((company.pk, object_id, *row, stamp, stamp))
            counts.created += 1
        counts.disabled += row.aad_state == DISABLED
    for object_id, reason in removed.items():
        if object_id not in existing:
            continue  # never synced here (a guest, or removed before the first look-up)
        pk, current = existing[object_id]
        row = contact_row_removed(current, reason)
        if row != current:
            updates.append((*row, stamp, pk))
            counts.removed += 1
    return _contact_write(creates, updates, counts)


def _contact_write(creates: list, updates: list, counts: Counts) -> Counts:
    """One INSERT of the page's new rows and one UPDATE of its changed ones (none when there are none)."""
    contact_insert_rows(creates)
    contact_update_rows(updates)
    counts.users_applied = counts.created + counts.updated + counts.unchanged
    return counts
