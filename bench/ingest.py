"""Store ingestion benchmark: ``credo ingest`` with real-time rescoring against a plain bulk insert, same process.

    PYTHONPATH=. .venv/bin/python -m bench.ingest                      # about 1M records, SQLite
    PYTHONPATH=. .venv/bin/python -m bench.ingest --records 200000
    PYTHONPATH=. .venv/bin/python -m bench.ingest --db postgresql+psycopg://postgres@127.0.0.1:5432/test

The records are the demo town's (:func:`credo.demo.generate_town`, sized to
about ``--records`` rows, bad rows included). A fresh store is set up: a
temporary SQLite file, or with ``--db`` a new PostgreSQL schema, dropped at the
end. The town's sources are registered for the categories they send, the demo
rulebook is published and activated. Then, in the same process:

(a) the baseline: the same rows (subjects as integers, a content hash) inserted
    with SQLAlchemy's bulk insert into a table like ``records`` (same columns
    and indexes), 50,000 rows per statement, one transaction each;
(b) ``credo ingest`` of the Parquet file: validation, subjects (keyed hash and
    encryption), classification, records, quarantine, and real-time rescoring
    of every subject touched, chunk by chunk (:func:`credo.services.ingest.ingest_path`,
    chunks of ``CHUNK_ROWS``, cut by subject).

It prints the records per second of each, the ratio, and the time spent in rescoring.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import tempfile
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager

import duckdb
import sqlalchemy as sa

from credo.demo import DEMO_AS_OF, demo_rulebook_text, generate_town
from credo.demo.store_load import town_sources
from credo.services.ingest import ingest_path
from credo.services.realtime_scoring import rescore_subjects
from credo.store.bootstrap import Store, init_store, open_store
from credo.store.bulk_reads import FreshSubjects
from credo.store.rulebooks import activate, publish
from credo.store.sources import add_source
from credo.store.tables import TS

NOW = dt.datetime.combine(DEMO_AS_OF, dt.time(12), tzinfo=dt.UTC)
CHUNK = 50_000
RECORDS_PER_PERSON = 10  # first guess; calibrated on a small town


@contextmanager
def fresh_store(url: str | None, folder: str) -> Iterator[Store]:
    """An initialised store: a SQLite file in ``folder``, or a new schema of the PostgreSQL database ``url``."""
    environ = {"CREDO_KEY_FILE": f"{folder}/keys"}
    if url is None:
        store = open_store(f"sqlite:///{folder}/credo.db", environ=environ)
        init_store(store)
        try:
            yield store
        finally:
            store.engine.dispose()
        return
    name = f"credo_bench_{os.getpid()}_{secrets.token_hex(4)}"
    admin = sa.create_engine(url)
    try:
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{name}"'))
        joiner = "&" if "?" in url else "?"
        store = open_store(f"{url}{joiner}options=-csearch_path%3D{name}", environ=environ)
        init_store(store)
        try:
            yield store
        finally:
            store.engine.dispose()
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()


def town(path: str, records: int, seed: int) -> tuple[int, int]:
    """Write a town of about ``records`` rows to ``path``; (rows, subjects)."""
    with tempfile.TemporaryDirectory(prefix="credo-bench-") as tmp:
        sample = generate_town(f"{tmp}/sample.parquet", 20_000, 2_000, seed, DEMO_AS_OF)
    per_person = sample.records / 20_000 if sample.records else RECORDS_PER_PERSON
    people = max(10, round(records / per_person))
    stats = generate_town(path, people, max(1, people // 10), seed, DEMO_AS_OF, bad_rows=16)
    return stats.records, stats.people + stats.organizations


def setup(store: Store) -> None:
    """The town's sources registered for the categories they send; the demo rulebook published and in force."""
    text = demo_rulebook_text()
    with store.begin() as connection:
        for source, categories in town_sources().items():
            add_source(connection, source, categories, NOW)
        published = publish(connection, text, "demo-city.yaml", NOW)
        activate(connection, published.version, NOW)


def plain_table(metadata: sa.MetaData) -> sa.Table:
    """A table like ``records``: the same columns and indexes, no foreign keys."""
    return sa.Table(
        "bench_plain_records",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source_id", sa.String(100), nullable=False),
        sa.Column("record_id", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("subject_id", sa.Integer, nullable=False, index=True),
        sa.Column("category", sa.String(200), nullable=False),
        sa.Column("occurred_on", sa.Date, nullable=False),
        sa.Column("amount", sa.Float, nullable=True),
        sa.Column("resolved_on", sa.Date, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reference", sa.Text, nullable=True),
        sa.Column("content_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("is_latest", sa.Boolean, nullable=False),
        sa.UniqueConstraint("source_id", "record_id", "version"),
    )


def baseline(store: Store, path: str) -> tuple[int, float]:
    """Plain bulk insert of the file's rows into a table like ``records``; (rows, seconds)."""
    table = plain_table(sa.MetaData())
    table.create(store.engine)
    con = duckdb.connect()
    try:
        con.execute(f"""CREATE TABLE plain AS
            SELECT coalesce(source, '') AS source_id, coalesce(record_id, '') AS record_id,
                   CAST(row_number() OVER (PARTITION BY source, record_id ORDER BY file_row_number) AS INTEGER) AS version,
                   CAST(dense_rank() OVER (ORDER BY subject_id, subject_kind) AS INTEGER) AS subject_id,
                   coalesce(category, '') AS category,
                   coalesce(TRY_CAST(occurred_on AS DATE), DATE '2000-01-01') AS occurred_on,
                   TRY_CAST(amount AS DOUBLE) AS amount, TRY_CAST(resolved_on AS DATE) AS resolved_on,
                   coalesce(CAST(status AS VARCHAR), 'active') AS status, CAST(reference AS VARCHAR) AS reference,
                   unhex(sha256(concat_ws('|', source, record_id, subject_id, category))) AS content_hash
            FROM read_parquet('{path}', file_row_number = true)""").fetchall()
        started = time.perf_counter()
        result = con.execute("SELECT * FROM plain")
        rows = 0
        names = [d[0] for d in result.description or ()]
        while batch := result.fetchmany(CHUNK):
            values = [dict(zip(names, row, strict=True), received_at=NOW, is_latest=True) for row in batch]
            with store.begin() as connection:
                connection.execute(sa.insert(table), values)
            rows += len(values)
        seconds = time.perf_counter() - started
    finally:
        con.close()
    return rows, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000, help="About this many record rows.")
    parser.add_argument("--db", default=None, help="A PostgreSQL URL (a new schema is made and dropped).")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="credo-bench-") as tmp:
        path = f"{tmp}/town.parquet"
        started = time.perf_counter()
        n_rows, n_subjects = town(path, args.records, args.seed)
        print(f"town: {n_rows:,} record rows, {n_subjects:,} subjects ({time.perf_counter() - started:.1f} s)")
        with fresh_store(args.db, tmp) as store:
            backend = store.engine.dialect.name
            setup(store)
            plain_rows, plain_seconds = baseline(store, path)
            plain_rate = plain_rows / plain_seconds
            print(
                f"{backend} plain bulk insert:  {plain_rows:,} rows in {plain_seconds:6.1f} s = {plain_rate:9,.0f} rows/s"
            )

            rescoring = [0.0]

            def timed(
                connection: sa.Connection, ids: Collection[int], today: dt.date, *, fresh: FreshSubjects | None
            ) -> object:
                begun = time.perf_counter()
                outcome = rescore_subjects(connection, ids, today, fresh=fresh)
                rescoring[0] += time.perf_counter() - begun
                return outcome

            summary = ingest_path(store, path, today=DEMO_AS_OF, rescore=timed)
            rate = summary.read / summary.seconds
            print(
                f"{backend} credo ingest:       {summary.read:,} rows in {summary.seconds:6.1f} s = {rate:9,.0f} rows/s"
                f"  (ratio to plain {plain_seconds / summary.seconds:.2f}; rescoring {rescoring[0]:.1f} s, "
                f"{summary.subjects_rescored:,} subjects in {summary.chunks} chunks)"
            )
            print(
                f"  new {summary.new:,}  versions {summary.versions:,}  unchanged {summary.unchanged:,}  "
                f"quarantined {summary.quarantined:,}"
            )


if __name__ == "__main__":
    main()
