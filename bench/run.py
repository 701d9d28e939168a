"""Batch scoring benchmark: Credo's plan against the straightforward query, same process.

    .venv/bin/python bench/run.py                 # 10 million records, 1 million subjects
    .venv/bin/python bench/run.py --records 1000000 --subjects 100000

Prints records per second, peak memory (resident set, sampled) and the
ratio of Credo's time to the baseline's. The input is generated once into
bench/data/ and reused.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from bench.baseline import baseline_sql
from bench.population import generate_population
from credo.batch.engine import run_batch
from credo.rulebook_file import load_rulebook

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 6, 30)


class PeakMemory:
    """Samples this process's resident set every 20 ms; the peak above the starting level."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()

    @staticmethod
    def rss() -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(0.02)

    def __enter__(self) -> PeakMemory:
        self.peak = self.rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def timed(fn: Callable[[], object]) -> tuple[float, int]:
    with PeakMemory() as mem:
        start = time.perf_counter()
        fn()
        seconds = time.perf_counter() - start
    return seconds, mem.peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--rulebook", default=str(ROOT / "rulebooks" / "demo-city.yaml"))
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; the best of each is reported")
    args = parser.parse_args()

    book = load_rulebook(args.rulebook)
    data = ROOT / "bench" / "data" / f"records-{args.records}-{args.subjects}-{book.rulebook}.parquet"
    if not data.exists():
        data.parent.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        generate_population(data, book, args.records, args.subjects, AS_OF)
        print(f"generated {data.name} in {time.perf_counter() - start:.1f} s")

    with tempfile.TemporaryDirectory() as tmp:

        def baseline() -> None:
            con = duckdb.connect()
            con.execute(
                f"COPY ({baseline_sql(str(data), book, AS_OF)}) TO '{tmp}/baseline.parquet' (FORMAT parquet)"
            ).fetchall()
            con.close()

        def credo() -> None:
            run_batch(str(data), book, AS_OF, f"{tmp}/credo.parquet", rejects=f"{tmp}/rejects.csv")

        results: dict[str, list[tuple[float, int]]] = {"baseline": [], "credo": []}
        for _ in range(args.rounds):
            results["baseline"].append(timed(baseline))
            results["credo"].append(timed(credo))
        check = (
            duckdb.connect()
            .execute(
                f"SELECT count(*) FROM '{tmp}/credo.parquet' c FULL JOIN '{tmp}/baseline.parquet' b "
                "USING (subject_id, subject_kind) WHERE c.score IS DISTINCT FROM b.score OR c.grade IS DISTINCT FROM b.grade"
            )
            .fetchall()[0][0]
        )

    print(f"{args.records:,} records, {args.subjects:,} subjects, {os.cpu_count()} cores, rulebook {book.rulebook}")
    for name, runs in results.items():
        seconds = min(s for s, _ in runs)
        peak = max(m for _, m in runs)
        print(f"  {name:9s} {seconds:7.2f} s  {args.records / seconds:12,.0f} records/s  peak {peak / 2**30:5.2f} GiB")
    ratio = min(s for s, _ in results["credo"]) / min(s for s, _ in results["baseline"])
    print(f"  ratio credo/baseline: {ratio:.2f}  (below 1 is faster)")
    print(f"  subjects whose score or grade differ between the two: {check}")


if __name__ == "__main__":
    main()
