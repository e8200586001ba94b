"""Each account's lines in a run's history: what the run did to it (a preview: would do), with old and new values.

Creations are one short line each (no field detail): a first look-up of 100,000 accounts writes 100,000 lines in
the same bulk way as the directory rows. A preview keeps only its first PREVIEW_LINES lines."""
from __future__ import annotations

import json
from typing import Any

from django.db import connection

from aadsync.models import AccountChange, SyncRun
from aadsync.sync.bulk import rows_insert
from aadsync.sync.mapping import ACTIVE, DISABLED, OUT_OF_SCOPE, REMOVED, TEXT_FIELDS, ContactRow
from aadsync.sync.plans import PagePlan

PREVIEW_LINES = 100
Kind = AccountChange.Kind
_COLUMNS = ("run_id", "object_id", "user_principal_name", "name", "kind", "fields")
SHOWN_FIELDS = (*TEXT_FIELDS, "is_guest")


def change_kind(before: ContactRow, after: ContactRow) -> str:
    """What a change to one account is called on the run's page."""
    if after.aad_state == REMOVED and before.aad_state != REMOVED:
        return Kind.REMOVED
    if after.aad_state == OUT_OF_SCOPE and before.aad_state != OUT_OF_SCOPE:
        return Kind.OUT_OF_SCOPE
    if before.aad_state in (REMOVED, OUT_OF_SCOPE) and after.aad_state in (ACTIVE, DISABLED):
        return Kind.RESTORED
    if after.aad_state == DISABLED and before.aad_state != DISABLED:
        return Kind.DISABLED
    if before.aad_state == DISABLED and after.aad_state == ACTIVE:
        return Kind.ENABLED
    return Kind.CHANGED


def field_changes(before: ContactRow, after: ContactRow) -> dict[str, list[Any]]:
    return {name: [getattr(before, name), getattr(after, name)] for name in SHOWN_FIELDS
            if getattr(before, name) != getattr(after, name)}


def _name(row: ContactRow) -> str:
    return f"{row.first_name} {row.last_name}".strip()


class AccountChangeLog:
    """Collects a run's lines page by page and writes them in bulk (one statement a page)."""

    def __init__(self, run: SyncRun, *, limit: int | None = None):
        self.run = run
        self.limit = limit  # a preview keeps its first lines only
        self.written = 0

    @property
    def full(self) -> bool:
        return self.limit is not None and self.written >= self.limit

    def add_plan(self, plan: PagePlan) -> None:
        rows: list[tuple] = [(self.run.pk, object_id, row.user_principal_name, _name(row), Kind.CREATED, None)
                             for object_id, row in plan.creates]
        rows += [(self.run.pk, object_id, after.user_principal_name or before.user_principal_name, _name(after),
                  change_kind(before, after), json.dumps(field_changes(before, after)))
                 for _pk, object_id, before, after in plan.updates]
        self._write(rows)

    def _write(self, rows: list[tuple]) -> None:
        if self.limit is not None:
            rows = rows[: max(0, self.limit - self.written)]
        if not rows:
            return
        rows_insert(AccountChange, _COLUMNS, rows)
        self.written += len(rows)

    def add_missing(self, *, where: str, params: list[Any], kind: str) -> None:
        """Lines for the directory rows `where` selects (those a complete read no longer lists), in one statement,
        before they are marked."""
        if self.full:
            return
        quote = connection.ops.quote_name
        table, contact = quote(AccountChange._meta.db_table), quote("directory_contact")
        limit = f" LIMIT {int(self.limit - self.written)}" if self.limit is not None else ""
        columns = ", ".join(quote(name) for name in _COLUMNS)
        sql = (f"INSERT INTO {table} ({columns}) SELECT %s, {quote('object_id')}, {quote('user_principal_name')}, "
               f"TRIM({quote('first_name')} || ' ' || {quote('last_name')}), %s, NULL FROM {contact} "
               f"WHERE {where} ORDER BY {quote('id')}{limit}")
        with connection.cursor() as cursor:
            cursor.execute(sql, [self.run.pk, kind, *params])
            self.written += max(0, cursor.rowcount)
