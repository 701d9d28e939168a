"""Many rows in and out of the store through the database driver, for ingestion and rescoring.

SQLAlchemy Core binds every value of every row in Python (its bind
processors, parameter dictionaries, compiled caches): right for a few rows,
most of the time for a million (measured: docs/performance.md). Here the
rows go through the driver directly, in the forms SQLAlchemy itself would
store, so the rest of the code reads them back through SQLAlchemy unchanged:

* SQLite: one ``executemany`` over tuples; dates as ``YYYY-MM-DD`` text,
  booleans as 0/1, timestamps as SQLAlchemy's own text (its bind processor).
* PostgreSQL: ``COPY ... FROM STDIN`` in CSV, written by Arrow (rows as Arrow
  batches) or by psycopg (rows from Python); ``bytea`` as ``\\x`` hex.

Rows computed in DuckDB arrive as Arrow (:func:`insert_arrow`), already in the stored forms: the query that
makes them selects :func:`stored_columns`, SQL text this module writes and the caller runs
(:func:`credo.services.bulk_writes.insert_select`), so the store never imports DuckDB.

Upserts (``on_conflict``) go to PostgreSQL through a temporary table and one
``INSERT ... ON CONFLICT DO UPDATE``, to SQLite as ``INSERT ... ON CONFLICT``.
Every function runs in the caller's transaction.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from credo.batch.sqltext import lit
from credo.store.chunks import chunks

__all__ = [
    "FETCH_ROWS",
    "dialect_insert",
    "driver_cursor",
    "insert_arrow",
    "insert_dicts",
    "placeholder",
    "select_in",
    "stored_columns",
]

FETCH_ROWS = 100_000  # rows per Arrow batch fed to the store


@contextmanager
def driver_cursor(connection: Connection) -> Iterator[Any]:
    """A cursor of the driver connection under ``connection`` (same transaction), closed afterwards.

    The driver's own errors come out as SQLAlchemy's (an ``OperationalError`` for a lost server, and so on),
    as they would from ``connection.execute``; a connection found dead is invalidated, so the pool drops it
    instead of handing it out again.
    """
    dialect = connection.dialect
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        yield cursor
    except dialect.loaded_dbapi.Error as exc:
        lost = dialect.is_disconnect(exc, connection.connection.dbapi_connection, cursor)
        if lost:
            connection.invalidate(exc)
        raise sa.exc.DBAPIError.instance(
            None, None, exc, dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=dialect
        ) from exc
    finally:
        cursor.close()


def _constant(connection: Connection, column: sa.Column[Any], value: object) -> str:
    """A constant value as a DuckDB literal, in the form the store keeps it."""
    if value is None:
        return "NULL"
    processor = column.type.bind_processor(connection.dialect)
    stored = processor(value) if processor is not None else value
    if isinstance(stored, bool):
        return "TRUE" if stored else "FALSE"
    if isinstance(stored, int | float):
        return repr(stored)
    if hasattr(stored, "isoformat"):
        stored = stored.isoformat()
    return lit(str(stored))


def _as_stored(connection: Connection, column: sa.Column[Any], name: str) -> str:
    """DuckDB SQL turning column ``name`` of a query into what the store's driver takes for ``column``."""
    quoted = f'q."{name}"'
    kind = column.type
    if connection.dialect.name == "sqlite":
        if isinstance(kind, sa.Date) and not isinstance(kind, sa.DateTime):
            return f"strftime({quoted}, '%Y-%m-%d')"
        if isinstance(kind, sa.Boolean):
            return f"CAST({quoted} AS INTEGER)"
        return quoted
    if isinstance(kind, sa.LargeBinary):
        return f"'\\x' || lower(hex({quoted}))"
    return quoted


def _upsert_sql(table: sa.Table, names: Sequence[str], conflict: Sequence[str], source: str) -> str:
    updates = ", ".join(f"{n} = excluded.{n}" for n in names if n not in conflict)
    return (
        f"INSERT INTO {table.name} ({', '.join(names)}) {source} "
        f"ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {updates}"
    )


def stored_columns(
    connection: Connection, table: sa.Table, names: Sequence[str], constants: Mapping[str, object] | None = None
) -> tuple[list[str], list[str]]:
    """The columns to write and, for each, SQL (DuckDB's dialect) over a query aliased ``q`` giving its stored form.

    ``names`` are the query's columns, named like the table's; ``constants`` adds columns with one value
    for every row. The caller selects the expressions from its query and hands the rows to :func:`insert_arrow`.
    """
    columns = list(names)
    selected = [_as_stored(connection, table.c[n], n) for n in names]
    for name, value in (constants or {}).items():
        columns.append(name)
        selected.append(_constant(connection, table.c[name], value))
    return columns, selected


def insert_arrow(
    connection: Connection,
    table: sa.Table,
    batches: Iterable[pa.RecordBatch],
    schema: pa.Schema,
    *,
    on_conflict: Sequence[str] | None = None,
) -> int:
    """Insert (or, with ``on_conflict`` columns, upsert) Arrow rows in the stored forms into ``table``; how many.

    ``schema``'s names are the table's columns (:func:`stored_columns`). The batches are read once, in order.
    """
    names = list(schema.names)
    if connection.dialect.name == "postgresql":
        return _copy_postgresql(connection, table, names, batches, schema, on_conflict=on_conflict)
    marks = ", ".join("?" * len(names))
    if on_conflict:
        sql = _upsert_sql(table, names, on_conflict, f"VALUES ({marks})")
    else:
        sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"
    count = 0

    # Through Arrow, column by column: about twice as fast as DuckDB's own tuples (measured: 1M rows of records).
    def rows() -> Iterator[tuple[Any, ...]]:
        nonlocal count
        for batch in batches:
            count += batch.num_rows
            yield from zip(*(column.to_pylist() for column in batch.columns), strict=True)

    with driver_cursor(connection) as cursor:
        cursor.executemany(sql, rows())
    return count


def _copy_postgresql(
    connection: Connection,
    table: sa.Table,
    names: Sequence[str],
    batches: Iterable[pa.RecordBatch],
    schema: pa.Schema,
    *,
    on_conflict: Sequence[str] | None,
) -> int:
    """Arrow writes the rows as CSV (NULL unquoted, text quoted); COPY reads them into the table (or a temporary one,
    to upsert)."""
    with tempfile.TemporaryDirectory(prefix="credo-bulk-") as folder, driver_cursor(connection) as cursor:
        path = os.path.join(folder, "rows.csv")
        count = 0
        with pacsv.CSVWriter(path, schema, write_options=pacsv.WriteOptions(include_header=False)) as writer:
            for batch in batches:
                writer.write_batch(batch)
                count += batch.num_rows
        if count == 0:
            return 0
        target = table.name
        if on_conflict:
            target = "credo_bulk"
            cursor.execute(f"CREATE TEMP TABLE credo_bulk (LIKE {table.name}) ON COMMIT DROP")
        with open(path, "rb") as fh, cursor.copy(f"COPY {target} ({', '.join(names)}) FROM STDIN (FORMAT csv)") as copy:
            while data := fh.read(8 << 20):
                copy.write(data)
        if on_conflict:
            cursor.execute(_upsert_sql(table, names, on_conflict, f"SELECT {', '.join(names)} FROM credo_bulk"))
            cursor.execute("DROP TABLE credo_bulk")  # the same transaction may upsert again
    return count


def insert_dicts(connection: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows given as dicts (all with the same keys), values as SQLAlchemy Core would take them."""
    if not rows:
        return
    names = list(rows[0])
    columns = [table.c[n] for n in names]
    if connection.dialect.name == "postgresql":
        converters = [_json_text if isinstance(c.type, sa.JSON) else None for c in columns]
        with (
            driver_cursor(connection) as cursor,
            cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row([row[n] if f is None else f(row[n]) for n, f in zip(names, converters, strict=True)])
        return
    processors = [c.type.bind_processor(connection.dialect) for c in columns]
    values = [tuple(row[n] if p is None else p(row[n]) for n, p in zip(names, processors, strict=True)) for row in rows]
    marks = ", ".join("?" * len(names))
    with driver_cursor(connection) as cursor:
        cursor.executemany(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})", values)


def _json_text(value: object) -> str:
    return json.dumps(value)


def select_in(
    connection: Connection, head: str, column: str, values: Sequence[Any], params: Sequence[Any] = ()
) -> list[tuple[Any, ...]]:
    """Rows of ``head`` (SQL ending in WHERE ... or without WHERE) with ``column IN values``, in batches.

    ``head`` marks ``params`` with :func:`placeholder`.
    """
    found: list[tuple[Any, ...]] = []
    joiner = " AND " if " WHERE " in head else " WHERE "
    postgresql = connection.dialect.name == "postgresql"
    with driver_cursor(connection) as cursor:
        for chunk in chunks(values):
            part = list(chunk)
            if postgresql:  # one array parameter: PostgreSQL plans a list of thousands of parameters slowly
                cursor.execute(f"{head}{joiner}{column} = ANY(%s)", [*params, part])
            else:
                cursor.execute(f"{head}{joiner}{column} IN ({', '.join('?' * len(part))})", [*params, *part])
            found.extend(tuple(r) for r in cursor.fetchall())
    return found


def dialect_insert(dialect: str, table: sa.Table) -> Any:
    """An INSERT that knows ``ON CONFLICT`` (``on_conflict_do_nothing`` / ``_do_update``) on either backend."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def placeholder(connection: Connection) -> str:
    """The driver's parameter mark for SQL given to :func:`select_in`: "?" on SQLite, "%s" on PostgreSQL."""
    return "?" if connection.dialect.name == "sqlite" else "%s"
