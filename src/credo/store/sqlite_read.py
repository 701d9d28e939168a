"""Rows of SQLite queries into Arrow, and a whole table read by several processes at once.

Python's sqlite3 makes an object of every value it returns, holding the GIL:
for a million records that, not SQLite, is most of the time (measured:
docs/performance.md, "Whole-store rescoring"). Rows become Arrow through one
struct array (C++ walks the tuples), and a whole-store rescore reads the
records table in id ranges, one worker process per range, each sending its
rows back in Arrow's IPC format. A worker is ``python -m
credo.store.sqlite_read``: it imports only sqlite3 and pyarrow, so it starts
in a fraction of a second.

The workers open their own read-only connections: they see the last
committed state, which is the caller's as long as the caller holds the write
lock and has written nothing yet (``credo rescore`` reads first, under
``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

__all__ = ["FETCH_ROWS", "fetch_arrow", "read_in_parallel"]

FETCH_ROWS = 250_000  # rows per driver fetch
Columns = Sequence[tuple[str, pa.DataType]]


def fetch_arrow(cursor: Any, query: str, columns: Columns, params: Sequence[Any] = ()) -> pa.Table:
    """The rows of ``query`` in large batches, each turned into Arrow as one struct array."""
    struct = pa.struct([pa.field(name, kind) for name, kind in columns])
    cursor.execute(query, params)
    batches = []
    while rows := cursor.fetchmany(FETCH_ROWS):
        batches.append(pa.RecordBatch.from_struct_array(pa.array(rows, type=struct)))
    return pa.Table.from_batches(batches, schema=pa.schema(list(columns)))


def _schema_hex(columns: Columns) -> str:
    return str(pa.schema(list(columns)).serialize().to_pybytes().hex())


def read_in_parallel(path: str, query: str, columns: Columns, ids: tuple[int, int], workers: int) -> pa.Table:
    """``query`` (with two ``?`` bounding an id range) over ``ids`` (``[low, high)``) in worker processes."""
    low, high = ids
    step = max(1, -(-(high - low) // workers))
    schema = _schema_hex(columns)
    started = []
    for start in range(low, high, step):
        bounds = {"low": start, "high": min(high, start + step)}
        job = json.dumps({"path": path, "query": query, "schema": schema, **bounds})
        started.append(
            subprocess.Popen(
                [sys.executable, "-m", "credo.store.sqlite_read", job],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    tables = []
    failed = []
    for process in started:
        data, error = process.communicate()
        if process.returncode != 0:
            failed.append(error.decode(errors="replace").strip().splitlines()[-1:] or ["no message"])
            continue
        tables.append(pa.ipc.open_stream(data).read_all())
    if failed:
        raise RuntimeError(f"a worker reading the store failed: {failed[0][0]}")
    return pa.concat_tables(tables) if tables else pa.schema(list(columns)).empty_table()


def _work() -> None:
    """In a worker: the job (JSON) is the argument; its rows go to stdout as an Arrow IPC stream."""
    import sqlite3

    job = json.loads(sys.argv[1])
    schema = pa.ipc.read_schema(pa.py_buffer(bytes.fromhex(job["schema"])))
    columns = [(field.name, field.type) for field in schema]
    connection = sqlite3.connect(f"file:{job['path']}?mode=ro", uri=True)
    try:
        table = fetch_arrow(connection.cursor(), job["query"], columns, (job["low"], job["high"]))
    finally:
        connection.close()
    with pa.ipc.new_stream(sys.stdout.buffer, table.schema) as writer:
        writer.write_table(table)


if __name__ == "__main__":
    _work()
