"""Many rows in one statement: COPY on PostgreSQL, a prepared executemany on SQLite; UPDATEs of many rows with each
column as one array parameter on PostgreSQL (unnest).

A multi-row `VALUES (%s, ...), (%s, ...)` of 1,000 rows makes psycopg parse a query of 14,000 placeholders on the
client for every page (it cannot cache queries that long), an executemany sends a statement per row, and even
`INSERT ... SELECT * FROM unnest(arrays)` took 1.8x COPY's time for a 100,000-user first look-up on PostgreSQL.
COPY goes through Django's execute wrappers and query log like any statement, so query counters and
CaptureQueriesContext see it. Table and column names in the SQL come from the models, never from input (hence the
noqa: S608); every value is a parameter or a COPY row."""
from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models


def _column_type(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    db_type = field.db_type(connection)
    assert db_type, name
    return db_type


def quoted_columns(model: type[models.Model], names: Sequence[str]) -> list[str]:
    """The quoted database columns of the model's fields `names` (field names or attnames)."""
    quote = connection.ops.quote_name
    columns = []
    for name in names:
        field = model._meta.get_field(name)
        assert isinstance(field, models.Field) and field.column
        columns.append(quote(field.column))
    return columns


def array_param(model: type[models.Model], name: str) -> str:
    """The placeholder of a list of `name` values as a PostgreSQL array of the column's type."""
    return f"%s::{_column_type(model, name)}[]"


def _by_column(rows: Sequence[Sequence], width: int) -> list[list]:
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


def copy_rows(cursor: Any, sql: str, rows: Iterable[Sequence]) -> None:
    """Run a PostgreSQL `COPY ... FROM STDIN` of `rows` as the statement `sql`, through the connection's execute
    wrappers (connection.execute_wrapper) and, while queries are logged, into its query log."""
    def copy(sql: str, params: Any, many: bool, context: dict[str, Any]) -> None:
        with cursor.cursor.copy(sql) as stream:
            for row in rows:
                stream.write_row(row)

    execute: Any = copy
    for wrapper in reversed(connection.execute_wrappers):  # outermost first, as Django composes them
        execute = functools.partial(wrapper, execute)
    started = time.monotonic()
    execute(sql, None, False, {"connection": connection, "cursor": cursor})
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})


def rows_insert(model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence]) -> None:
    """INSERT `rows` (values in `names` order) into the model's table in one statement."""
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(quoted_columns(model, names))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            copy_rows(cursor, f"COPY {table} ({columns}) FROM STDIN", rows)
        else:
            values = ", ".join(["%s"] * len(names))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({values})", rows)  # noqa: S608


def rows_update(model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence]) -> None:
    """UPDATE the rows whose primary key is the last value of each tuple, setting `names` to the values before it."""
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    columns = quoted_columns(model, names)
    pk = quoted_columns(model, [model._meta.pk.name])[0]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = ", ".join(array_param(model, name) for name in (*names, model._meta.pk.name))
            aliases = ", ".join(f"c{index}" for index in range(len(names) + 1))
            assignments = ", ".join(f"{column} = u.c{index}" for index, column in enumerate(columns))
            cursor.execute(f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS u({aliases}) "  # noqa: S608
                           f"WHERE {table}.{pk} = u.c{len(names)}", _by_column(rows, len(names) + 1))
        else:
            assignments = ", ".join(f"{column} = %s" for column in columns)
            cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {pk} = %s", rows)  # noqa: S608
