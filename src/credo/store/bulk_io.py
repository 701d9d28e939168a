"""Many rows in and out of the store through the database driver, for ingestion and rescoring.

SQLAlchemy Core binds every value of every row in Python (its bind
processors, parameter dictionaries, compiled caches): right for a few rows,
most of the time for a million (measured: docs/performance.md). Here the
rows go through the driver directly, in the forms SQLAlchemy itself would
store, so the rest of the code reads them back through SQLAlchemy unchanged:

* SQLite: one ``executemany`` over tuples; dates as ``YYYY-MM-DD`` text,
  booleans as 0/1, timestamps as SQLAlchemy's own text (its bind processor).
* PostgreSQL: ``COPY ... FROM STDIN`` in CSV, written by DuckDB (rows from a
  DuckDB query) or by psycopg (rows from Python); ``bytea`` as ``\\x`` hex.

Upserts (``on_conflict``) go to PostgreSQL through a temporary table and one
``INSERT ... ON CONFLICT DO UPDATE``, to SQLite as ``INSERT ... ON CONFLICT``.
Every function runs in the caller's transaction.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb
import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from credo.batch.sqltext import lit
from credo.store.chunks import chunks

__all__ = [
    "FETCH_ROWS",
    "dialect_insert",
    "driver_cursor",
    "insert_dicts",
    "insert_select",
    "placeholder",
    "select_in",
]

FETCH_ROWS = 100_000  # rows per fetch from DuckDB when feeding SQLite


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


def insert_select(
    connection: Connection,
    con: duckdb.DuckDBPyConnection,
    table: sa.Table,
    query: str,
    *,
    constants: Mapping[str, object] | None = None,
    on_conflict: Sequence[str] | None = None,
) -> int:
    """Insert (or, with ``on_conflict`` columns, upsert) the rows of a DuckDB ``query`` into ``table``.

    The query's columns are named like the table's; ``constants`` adds
    columns with one value for every row. Returns the number of rows.
    """
    described = con.execute(f"DESCRIBE {query}").fetchall()
    names = [str(row[0]) for row in described]
    selected = [_as_stored(connection, table.c[n], n) for n in names]
    for name, value in (constants or {}).items():
        names.append(name)
        selected.append(_constant(connection, table.c[name], value))
    feed = f"SELECT {', '.join(selected)} FROM ({query}) q"
    if connection.dialect.name == "postgresql":
        return _copy_postgresql(connection, con, table, names, feed, on_conflict=on_conflict)
    marks = ", ".join("?" * len(names))
    if on_conflict:
        sql = _upsert_sql(table, names, on_conflict, f"VALUES ({marks})")
    else:
        sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"
    # Through Arrow, column by column: about twice as fast as DuckDB's own tuples (measured: 1M rows of records).
    arrow = con.sql(feed).to_arrow_table()

    def rows() -> Iterator[tuple[Any, ...]]:
        for batch in arrow.to_batches(FETCH_ROWS):
            yield from zip(*(column.to_pylist() for column in batch.columns), strict=True)

    with driver_cursor(connection) as cursor:
        cursor.executemany(sql, rows())
    return int(arrow.num_rows)


def _copy_postgresql(
    connection: Connection,
    con: duckdb.DuckDBPyConnection,
    table: sa.Table,
    names: Sequence[str],
    feed: str,
    *,
    on_conflict: Sequence[str] | None,
) -> int:
    """DuckDB writes the rows as CSV; COPY reads them into the table (or a temporary one, to upsert)."""
    with tempfile.TemporaryDirectory(prefix="credo-bulk-") as folder, driver_cursor(connection) as cursor:
        path = os.path.join(folder, "rows.csv")
        count = int(con.execute(f"COPY ({feed}) TO '{path}' (FORMAT csv, HEADER false)").fetchall()[0][0])
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
