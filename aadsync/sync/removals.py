"""Removal rules: who a complete read no longer lists leaves the directory's current entries (removed from AAD, or
out of the look-up's scope), never deleted, unless that is too many at once (the hold)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

from django.conf import settings
from django.db import DatabaseError, connection

from aadsync.sync.bulk import copy_rows
from aadsync.sync.mapping import ACTIVE, DISABLED, OUT_OF_SCOPE, REMOVED, REMOVED_MISSING
from aadsync.sync.records import AccountChangeLog
from aadsync.sync.writes import CONTACT_TABLE, db_datetime
from directory.models import Company, Contact

SEEN_CHUNK = 5000  # object IDs per INSERT into the seen table on SQLite (under its 32,766 parameters)


def current_states(gone_state: str) -> tuple[str, ...]:
    """The entries a complete read must list to keep them current: in a scope of all users, also those once out
    of a scope of groups (every account is in scope now); in a scope of groups, those still in it."""
    return (ACTIVE, DISABLED, OUT_OF_SCOPE) if gone_state == REMOVED else (ACTIVE, DISABLED)


class SeenIds:
    """The object IDs a full listing returned, in a temporary table of the run's connection: the database keeps
    them (memory stays bounded by a page) and finds the rows not among them with one anti-join. On PostgreSQL each
    page arrives by COPY into a table without an index (repeats are harmless to the anti-join), indexed and analysed
    once, when the read is complete; SQLite keeps a primary key and skips repeats."""

    def __init__(self) -> None:
        self.table = f"aadsync_seen_{uuid.uuid4().hex[:12]}"
        self.count = 0
        self.postgresql = connection.vendor == "postgresql"
        self.indexed = not self.postgresql

    def __enter__(self) -> SeenIds:
        key = "" if self.postgresql else " PRIMARY KEY"
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE {self.table} (object_id varchar(36){key})")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None or not connection.in_atomic_block:  # a failed transaction drops the table with it
            try:
                with connection.cursor() as cursor:
                    cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
            except DatabaseError:
                if exc_type is None:
                    raise

    def add(self, object_ids: list[str]) -> None:
        """The IDs of one page (canonical lower-case GUIDs; repeats are harmless)."""
        with connection.cursor() as cursor:
            if self.postgresql:
                rows = [(object_id,) for object_id in object_ids]
                copy_rows(cursor, f"COPY {self.table} (object_id) FROM STDIN", rows)
                self.count += len(object_ids)
                return
            for start in range(0, len(object_ids), SEEN_CHUNK):
                chunk = object_ids[start:start + SEEN_CHUNK]
                cursor.execute(f"INSERT INTO {self.table} (object_id) VALUES {', '.join(['(%s)'] * len(chunk))} "
                               "ON CONFLICT DO NOTHING", chunk)
        self.count += len(object_ids)

    def missing(self, company: Company, states: tuple[str, ...]) -> tuple[str, list]:
        """The WHERE clause (and its parameters) of the company's entries in `states` this read did not list."""
        if not self.indexed:
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE INDEX ON {self.table} (object_id)")
                cursor.execute(f"ANALYZE {self.table}")
            self.indexed = True
        quote = connection.ops.quote_name
        contact = quote(CONTACT_TABLE)
        where = (f"{contact}.{quote('company_id')} = %s AND {quote('synced')} AND {quote('aad_state')} IN "
                 f"({', '.join(['%s'] * len(states))}) AND NOT EXISTS "
                 f"(SELECT 1 FROM {self.table} seen WHERE seen.object_id = {contact}.{quote('object_id')})")
        return where, [company.pk, *states]


def synced_count(company: Company, states: tuple[str, ...]) -> int:
    """Current synced entries: what the removal hold's share is taken of."""
    return Contact.objects.filter(company=company, synced=True, aad_state__in=states).count()


def removal_hold_notice(*, company: Company, missing: int, synced_before: int, gone_state: str) -> str:
    """The sentence for a run whose removals are held back, or "" when they may go ahead."""
    percent = settings.AAD_REMOVAL_HOLD_PERCENT
    if not missing or missing * 100 <= synced_before * percent:
        return ""
    share = 100 * missing / synced_before
    where = "in Microsoft's listing" if gone_state == REMOVED else "in the look-up's groups"
    marked = "removed from AAD" if gone_state == REMOVED else "out of scope"
    return (
        f"{missing} of the {synced_before} synced directory entries ({share:.0f} %) are no longer {where}. That is "
        f"more than the {percent} % safety limit, so none of them was marked {marked}. If this is right, an "
        f"operator can apply it with: manage.py aadsync --company {company.slug} --allow-removals"
    )


@dataclass
class Removals:
    """What a complete read's end did: entries marked gone, entries held back, and the hold's sentence."""

    marked: int = 0
    held: int = 0
    notice: str = ""


def contact_mark_missing_gone(*, company: Company, seen: SeenIds, synced_before: int, now: datetime,
                              gone_state: str, allow_removals: bool = False, log: AccountChangeLog | None = None,
                              dry_run: bool = False) -> Removals:
    """Mark the entries a complete read did not list as `gone_state` (removed from AAD, or out of scope) in one
    anti-join UPDATE, with a line each in the run's log, unless that is more than the hold threshold. `dry_run`
    (a preview) only counts them and logs its first lines."""
    if not synced_before:
        return Removals()  # a first look-up removes nobody
    where, params = seen.missing(company, current_states(gone_state))
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {quote(CONTACT_TABLE)} WHERE {where}", params)
        missing = int(cursor.fetchone()[0])
    notice = "" if allow_removals else removal_hold_notice(company=company, missing=missing,
                                                            synced_before=synced_before, gone_state=gone_state)
    if notice:
        return Removals(held=missing, notice=notice)
    if not missing:
        return Removals()
    if log is not None:
        log.add_missing(where=where, params=params, kind=gone_state)
    if dry_run:
        return Removals(marked=missing)
    reason = REMOVED_MISSING if gone_state == REMOVED else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(CONTACT_TABLE)} SET {quote('aad_state')} = %s, {quote('removed_reason')} = %s, "
            f"{quote('last_synced_at')} = %s WHERE {where}", [gone_state, reason, db_datetime(now), *params])
        return Removals(marked=cursor.rowcount)
