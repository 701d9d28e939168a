"""Rows computed in DuckDB written into the store in bulk, in the forms the store keeps.

The store says what each column's stored form is (:func:`credo.store.bulk_io.stored_columns`, SQL text) and
takes Arrow in (:func:`credo.store.bulk_io.insert_arrow`); DuckDB, which the store never imports, runs the query
between them here, batch by batch, so a million rows never sit in memory twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb
import sqlalchemy as sa
from sqlalchemy import Connection

from credo.store.bulk_io import FETCH_ROWS, insert_arrow, stored_columns

__all__ = ["insert_select"]


def insert_select(
    connection: Connection,
    con: duckdb.DuckDBPyConnection,
    table: sa.Table,
    query: str,
    *,
    constants: Mapping[str, object] | None = None,
    on_conflict: Sequence[str] | None = None,
) -> int:
    """Insert (or, with ``on_conflict`` columns, upsert) the rows of a DuckDB ``query`` into ``table``; how many.

    The query's columns are named like the table's; ``constants`` adds columns with one value for every row.
    """
    names = [str(row[0]) for row in con.execute(f"DESCRIBE {query}").fetchall()]
    columns, selected = stored_columns(connection, table, names, constants)
    aliased = ", ".join(f'{expr} AS "{name}"' for expr, name in zip(selected, columns, strict=True))
    feed = f"SELECT {aliased} FROM ({query}) q"
    reader = con.sql(feed).to_arrow_reader(FETCH_ROWS)
    return insert_arrow(connection, table, reader, reader.schema, on_conflict=on_conflict)
