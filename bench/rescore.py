"""Whole-store rescoring benchmark: ``credo rescore`` against ``credo batch`` on the same records, same process.

    PYTHONPATH=. .venv/bin/python -m bench.rescore                                    # 1M records, 100k subjects
    PYTHONPATH=. .venv/bin/python -m bench.rescore --records 10000000 --subjects 1000000

The population is the one of bench/run.py (Parquet in bench/data/, reused).
It is loaded into a fresh SQLite store by plain bulk inserts (ingestion is
measured elsewhere; subject keys and ciphertexts are placeholders, which
rescoring never reads). Then it times ``credo batch`` on the Parquet file and
``credo rescore`` on the store, both at the same date under the same rulebook:

- the first rescore, over an empty ``current_scores``: every subject is new,
  so every subject gets its ``first_scored`` events (the worst case);
- the steady state, a rescore over scores that are already current (what
  real-time scoring keeps): every row is still rewritten, no event is due.

It prints each time and the ratio to ``credo batch`` (the target is at most
2), and checks that the rescore's scores equal the batch's for every subject.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import sqlite3
import tempfile
import time
from pathlib import Path

import duckdb

from bench.population import generate_population
from credo.batch.engine import run_batch
from credo.rulebook_file import load_rulebook
from credo.services.bulk_scoring import rescore_store
from credo.store.bootstrap import init_store, open_store
from credo.store.rulebooks import activate, publish

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 6, 30)
NOW = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)


def load_store(db: Path, data: Path) -> tuple[int, int]:
    """Bulk-insert the Parquet population into the store's tables; (subjects, records)."""
    con = duckdb.connect()
    con.execute(f"CREATE TABLE raw AS SELECT *, row_number() OVER () AS n FROM '{data}'")
    con.execute(
        """CREATE TABLE subj AS SELECT row_number() OVER (ORDER BY subject_id, subject_kind) AS id, subject_id,
                  subject_kind FROM (SELECT DISTINCT subject_id, subject_kind FROM raw)"""
    )
    sqlite = sqlite3.connect(db)
    sqlite.execute("PRAGMA synchronous=OFF")
    received = NOW.strftime("%Y-%m-%d %H:%M:%S.%f")
    for (source,) in con.execute("SELECT DISTINCT source FROM raw").fetchall():
        sqlite.execute(
            "INSERT INTO sources (id, title, legal_basis, categories, enabled, created_at) VALUES (?, ?, NULL, ?, 1, ?)",
            (source, source, '["*"]', received),
        )
    placeholder = hashlib.sha256(b"placeholder").digest()
    subjects = con.execute("SELECT id, subject_id, subject_kind FROM subj ORDER BY id").fetchall()
    sqlite.executemany(
        "INSERT INTO subjects (id, subject_key, kind, identifier_enc, key_version, created_at) VALUES (?, ?, ?, ?, 1, ?)",
        ((i, hashlib.sha256(f"{k}\x1f{s}".encode()).digest(), k, placeholder, received) for i, s, k in subjects),
    )
    result = con.execute(
        """SELECT r.source, r.record_id, s.id, r.category, strftime(r.occurred_on, '%Y-%m-%d'), r.amount,
                  strftime(r.resolved_on, '%Y-%m-%d'), r.status
           FROM raw r JOIN subj s USING (subject_id, subject_kind) ORDER BY r.n"""
    )

    def rows():  # type: ignore[no-untyped-def]
        while batch := result.fetchmany(200_000):
            for row in batch:
                yield (*row, placeholder, received)

    sqlite.executemany(
        """INSERT INTO records (source_id, record_id, version, subject_id, category, occurred_on, amount,
                                resolved_on, status, reference, content_hash, received_at, is_latest)
           VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, NULL, ?, ?, 1)""",
        rows(),
    )
    sqlite.commit()
    count = sqlite.execute("SELECT count(*) FROM records").fetchone()[0]
    sqlite.close()
    con.close()
    return len(subjects), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--rulebook", default=str(ROOT / "rulebooks" / "demo-city.yaml"))
    args = parser.parse_args()
    book = load_rulebook(args.rulebook)
    data = ROOT / "bench" / "data" / f"records-{args.records}-{args.subjects}-{book.rulebook}.parquet"
    if not data.exists():
        data.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {data.name} ...", flush=True)
        generate_population(data, book, args.records, args.subjects, AS_OF)
    text = Path(args.rulebook).read_text()
    with tempfile.TemporaryDirectory(prefix="credo-bench-") as tmp:
        environ = {"CREDO_KEY_FILE": f"{tmp}/keys"}
        store = open_store(f"sqlite:///{tmp}/credo.db", environ=environ)
        init_store(store)
        with store.begin() as connection:
            publish(connection, text, args.rulebook, NOW)
            activate(connection, book.version, NOW)
        started = time.perf_counter()
        n_subjects, n_records = load_store(Path(f"{tmp}/credo.db"), data)
        print(f"store loaded: {n_subjects:,} subjects, {n_records:,} records ({time.perf_counter() - started:.1f} s)")

        started = time.perf_counter()
        run_batch(str(data), book, AS_OF, f"{tmp}/batch.parquet", rejects=f"{tmp}/rejects.csv")
        batch = time.perf_counter() - started
        print(f"credo batch:                 {batch:7.2f} s")

        first = rescore_store(store, today=AS_OF)
        print(
            f"credo rescore (first):       {first.seconds:7.2f} s  ratio {first.seconds / batch:.2f}  "
            f"{first.events:,} events  {first.timings}"
        )
        steady = rescore_store(store, today=AS_OF)
        print(
            f"credo rescore (steady):      {steady.seconds:7.2f} s  ratio {steady.seconds / batch:.2f}  "
            f"{steady.events:,} events  {steady.timings}"
        )
        # Same scores as the batch, subject by subject (the batch knows identifiers, the store surrogate ids).
        con = duckdb.connect()
        sqlite = sqlite3.connect(f"{tmp}/credo.db")
        stored = sqlite.execute("SELECT score, grade FROM current_scores").fetchall()
        sqlite.close()
        batch_hist = con.execute(
            f"SELECT score, grade, count(*) FROM '{tmp}/batch.parquet' GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        counts: dict[tuple[int, str], int] = {}
        for score, grade in stored:
            counts[(score, grade)] = counts.get((score, grade), 0) + 1
        same = sorted((s, g, c) for (s, g), c in counts.items()) == batch_hist
        print(f"score/grade histogram equal to the batch's: {same}")
        store.engine.dispose()


if __name__ == "__main__":
    main()
