"""The engine's SQL: read a page's existing rows, insert new ones and update changed ones, a statement each."""
from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.db import DatabaseError, connection, transaction

from aadsync.sync.bulk import array_param, quoted_columns, rows_insert, rows_update
from aadsync.sync.mapping import SYNCED_FIELDS, ContactRow
from aadsync.sync.plans import PagePlan
from directory.models import Company, Contact

logger = logging.getLogger(__name__)

CONTACT_TABLE = Contact._meta.db_table
INSERT_COLUMNS = ("company_id", "object_id", *SYNCED_FIELDS, "last_synced_at", "created_at")
UPDATE_COLUMNS = (*SYNCED_FIELDS, "last_synced_at")


def _column(name: str) -> str:
    return quoted_columns(Contact, [name])[0]


def _table() -> str:
    return connection.ops.quote_name(CONTACT_TABLE)


def db_datetime(value: datetime) -> Any:
    """A datetime as this backend's driver takes it in raw parameters (SQLite: Django's text form)."""
    if connection.vendor == "sqlite":
        return connection.ops.adapt_datetimefield_value(value)
    return value


def contact_existing_rows(company: Company, object_ids: Sequence[str]) -> dict[str, tuple[int, ContactRow]]:
    """{object_id: (pk, row)} for the company's rows with these object IDs: one SELECT. Plain SQL, because building
    a 999-value IN lookup through the ORM costs more than the query itself."""
    if not object_ids:
        return {}
    columns = ", ".join(_column(name) for name in ("id", "object_id", *SYNCED_FIELDS))
    params: list[Any]
    if connection.vendor == "postgresql":  # one array parameter (see bulk.py)
        among, params = f"= ANY({array_param(Contact, 'object_id')})", [company.pk, list(object_ids)]
    else:
        among, params = f"IN ({', '.join(['%s'] * len(object_ids))})", [company.pk, *object_ids]
    # "object_id IS NOT NULL" lets SQLite use the partial unique index (company, object_id).
    sql = (f"SELECT {columns} FROM {_table()} WHERE {_column('company')} = %s AND {_column('object_id')} IS NOT NULL "
           f"AND {_column('object_id')} {among}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # SQLite returns booleans as 0/1, which compare equal to False/True.
    return {row[1]: (row[0], ContactRow(*row[2:])) for row in rows}


def contact_insert_rows(rows: list[tuple]) -> None:
    """INSERT new Contact rows (INSERT_COLUMNS order) in one statement (bulk.py). Django's bulk_create, batched at
    71 rows on SQLite, costs four times as much."""
    rows_insert(Contact, INSERT_COLUMNS, rows)


def contact_update_rows(rows: list[tuple]) -> None:
    """UPDATE changed Contact rows: each tuple holds UPDATE_COLUMNS values, then the pk (one statement)."""
    rows_update(Contact, UPDATE_COLUMNS, rows)


class PlannerStats:
    """On PostgreSQL, ANALYZE the directory table as a large first sync grows it (after 2k, 4k, 8k ... new
    rows): with statistics from when the table was empty, the planner answers each page's lookup by scanning
    all of the company's rows instead of using the (company, object_id) index, which makes a load quadratic."""

    def __init__(self, first_at: int = 2000):
        self.next_at = first_at
        self.enabled = connection.vendor == "postgresql"

    def grew(self, created_so_far: int) -> None:
        if not self.enabled or created_so_far < self.next_at:
            return
        while self.next_at <= created_so_far:
            self.next_at *= 2
        try:
            with transaction.atomic(), connection.cursor() as cursor:  # a savepoint: a refusal aborts nothing
                # Only the columns the lookup filters on: cheaper than the whole table and its expression indexes.
                columns = ", ".join(_column(name) for name in ("company", "object_id"))
                cursor.execute(f"ANALYZE {_table()} ({columns})")
        except DatabaseError:
            logger.warning("Could not ANALYZE %s; page lookups may be slow", CONTACT_TABLE, exc_info=True)
            self.enabled = False


@contextmanager
def sqlite_page_cache(kib: int = 16384) -> Iterator[None]:
    """A larger SQLite page cache for the run (16 MiB instead of 2 MiB): each new row lands at scattered places in
    a dozen indexes, and with the default cache a 100k-user load spends half its time re-reading index pages."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = {-int(kib)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


def plan_write(*, company: Company, plan: PagePlan, now: datetime) -> None:
    """Carry out one page's plan: one INSERT of its new rows and one UPDATE of its changed ones."""
    stamp = db_datetime(now)
    contact_insert_rows([(company.pk, object_id, *row, stamp, stamp) for object_id, row in plan.creates])
    contact_update_rows([(*after, stamp, pk) for pk, _object_id, _before, after in plan.updates])
