"""Removal rules: who a complete listing no longer returns is marked removed from AAD, unless that is too many."""
from __future__ import annotations

import uuid
from datetime import datetime
from types import TracebackType

from django.conf import settings
from django.db import connection

from aadsync.sync.mapping import ACTIVE, DISABLED, REMOVED, REMOVED_MISSING
from aadsync.sync.writes import CONTACT_TABLE, db_datetime
from directory.models import Company, Contact

SEEN_CHUNK = 5000  # object IDs per INSERT into the seen table


class SeenIds:
    """The object IDs a full listing returned, in a temporary table of the run's connection: the database keeps
    them (memory stays bounded by a page) and finds the rows not among them with one anti-join."""

    def __init__(self) -> None:
        self.table = f"aadsync_seen_{uuid.uuid4().hex[:12]}"
        self.count = 0

    def __enter__(self) -> SeenIds:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE {self.table} (object_id varchar(36) PRIMARY KEY)")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:  # after a failure the transaction is rolled back, and the table with it
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE {self.table}")

    def add(self, object_ids: list[str]) -> None:
        """The IDs of one page (canonical lower-case GUIDs; repeats are harmless)."""
        with connection.cursor() as cursor:
            for start in range(0, len(object_ids), SEEN_CHUNK):
                chunk = object_ids[start:start + SEEN_CHUNK]
                cursor.execute(f"INSERT INTO {self.table} (object_id) VALUES {', '.join(['(%s)'] * len(chunk))} "
                               "ON CONFLICT DO NOTHING", chunk)
        self.count += len(object_ids)

    def _missing_where(self) -> str:
        quote = connection.ops.quote_name
        contact = quote(CONTACT_TABLE)
        return (f"{quote('company_id')} = %s AND {quote('synced')} AND {quote('aad_state')} IN (%s, %s) AND NOT EXISTS "
                f"(SELECT 1 FROM {self.table} seen WHERE seen.object_id = {contact}.{quote('object_id')})")

    def missing_count(self, company: Company) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(CONTACT_TABLE)} "
                           f"WHERE {self._missing_where()}", [company.pk, ACTIVE, DISABLED])
            return int(cursor.fetchone()[0])

    def mark_missing_removed(self, company: Company, now: datetime) -> int:
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(CONTACT_TABLE)} SET {quote('aad_state')} = %s, {quote('removed_reason')} = %s, "
                f"{quote('last_synced_at')} = %s WHERE {self._missing_where()}",
                [REMOVED, REMOVED_MISSING, db_datetime(now), company.pk, ACTIVE, DISABLED])
            return cursor.rowcount


def synced_count(company: Company) -> int:
    """Synced entries still in AAD (active or disabled): what the removal hold's share is taken of."""
    return Contact.objects.filter(company=company, synced=True, aad_state__in=[ACTIVE, DISABLED]).count()


def removal_hold_notice(*, company: Company, missing: int, synced_before: int) -> str:
    """The sentence for a run whose removals are held back, or "" when they may go ahead."""
    percent = settings.AAD_REMOVAL_HOLD_PERCENT
    if not missing or missing * 100 <= synced_before * percent:
        return ""
    share = 100 * missing / synced_before
    return (
        f"{missing} of the {synced_before} synced directory entries ({share:.0f} %) are no longer in Microsoft's "
        f"listing. That is more than the {percent} % safety limit, so none of them was marked removed from AAD. "
        f"If these accounts really were deleted, an operator can apply the removals with: "
        f"manage.py aadsync --company {company.slug} --allow-removals"
    )


def contact_mark_missing_removed(*, company: Company, seen: SeenIds, synced_before: int, now: datetime,
                                 allow_removals: bool = False) -> tuple[int, int, str]:
    """Mark synced rows a complete listing did not return as removed from AAD (one anti-join UPDATE), unless that
    is more than the hold threshold. Returns (removed, held, notice)."""
    missing = seen.missing_count(company) if synced_before else 0  # a first look-up removes nobody
    notice = "" if allow_removals else removal_hold_notice(company=company, missing=missing,
                                                            synced_before=synced_before)
    if notice:
        return 0, missing, notice
    if not missing:
        return 0, 0, ""
    return seen.mark_missing_removed(company, now), 0, ""
