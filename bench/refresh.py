"""A refresh long after the last one: ``credo refresh`` days late against one ``credo rescore`` of the same store.

    PYTHONPATH=. .venv/bin/python -m bench.refresh                      # the demo town, 200 days late
    PYTHONPATH=. .venv/bin/python -m bench.refresh --from out/credo.db   # a copy of the store `credo demo` made
    PYTHONPATH=. .venv/bin/python -m bench.refresh --late 160 --people 20000

The store is the demo's: the synthetic town ingested as of 2026-06-30 under
the Demo City rulebook (``credo demo``'s store; ``--from`` copies one, with its
key file, and leaves it untouched). One dispute is opened that day on a court
record, which suspends it (as ``POST /v1/me/disputes`` does), and the store is
then left alone for ``--late`` days: its deadline passes, decaying records
move scores every day, records end. Two copies of it are then brought up to
date at that day, in this process, one after the other:

- ``credo rescore`` (:func:`credo.services.bulk_scoring.rescore_store`): the baseline,
  every subject scored once, every event dated that day;
- ``credo refresh`` (:func:`credo.services.daily_refresh.lapse_and_refresh`, as the
  command runs it): the overdue dispute decided, every stale subject walked
  through the missed days with each event dated the day it happened.

It prints each time, the ratio of the refresh to the rescore, the peak
resident memory of this process during each (Linux: VmHWM, reset before
each), and checks that the two leave every subject in the same state.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from credo.demo import DEMO_AS_OF, demo_rulebook_text, generate_town
from credo.demo.store_load import load_town
from credo.domain.disputes import Filing
from credo.services.bulk_scoring import rescore_store
from credo.services.daily_refresh import lapse_and_refresh
from credo.services.realtime_scoring import rescore_subjects
from credo.store.bootstrap import Store, open_store
from credo.store.disputes import open_dispute
from credo.store.rulebooks import rulebook_at
from credo.store.tables import records

NOW = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)


def _open(db: Path) -> Store:
    return open_store(f"sqlite:///{db}", environ={"CREDO_KEY_FILE": f"{db}.keys"})


def build(db: Path, people: int, organizations: int, seed: int) -> None:
    """The demo town ingested into a new store at ``db``, as ``credo demo`` does."""
    town = db.parent / "town.parquet"
    generate_town(str(town), people, organizations, seed, DEMO_AS_OF)
    store = _open(db)
    load_town(store, str(town), demo_rulebook_text(), DEMO_AS_OF, NOW, actor="bench")
    store.engine.dispose()


def open_one_dispute(db: Path) -> None:
    """A subject disputes one of its court records on the as-of day; the record is suspended and it is rescored."""
    store = _open(db)
    with store.begin() as connection:
        row = connection.execute(
            sa.select(records.c.subject_id, records.c.source_id, records.c.record_id)
            .where(records.c.is_latest, records.c.status == "active", records.c.category.like("court.%"))
            .order_by(records.c.id)
            .limit(1)
        ).one()
        _, book = rulebook_at(connection, DEMO_AS_OF)
        ring = store.keys(connection)
        sid = int(row.subject_id)
        filing = Filing(row.source_id, row.record_id, "not mine")
        open_dispute(connection, ring, book, sid, filing, today=DEMO_AS_OF, now=NOW)
        rescore_subjects(connection, [sid], DEMO_AS_OF)
    store.engine.dispose()


def _reset_peak() -> None:
    with contextlib.suppress(OSError):  # not Linux: the peak since the process started
        Path("/proc/self/clear_refs").write_text("5")


def _peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(what: Callable[[], Any]) -> tuple[Any, float, float]:
    """``what()``, its seconds and the peak resident memory meanwhile (MiB)."""
    _reset_peak()
    started = time.perf_counter()
    result = what()
    return result, time.perf_counter() - started, _peak_mib()


def states(db: Path) -> dict[int, tuple[Any, ...]]:
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT subject_id, score, grade, dimensions, lists, measures, rulebook_version FROM current_scores"
    ).fetchall()
    con.close()
    return {r[0]: r[1:] for r in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", default=None, help="A demo store to copy (with FILE.keys beside it).")
    parser.add_argument("--late", type=int, default=200, help="Days since the as-of date (the last refresh).")
    parser.add_argument("--people", type=int, default=100_000, help="People in the town, if built here.")
    parser.add_argument("--organizations", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    today = DEMO_AS_OF + dt.timedelta(days=args.late)
    with tempfile.TemporaryDirectory(prefix="credo-bench-refresh-") as tmp:
        base = Path(tmp) / "demo.db"
        started = time.perf_counter()
        if args.source:
            shutil.copy(args.source, base)
            shutil.copy(f"{args.source}.keys", f"{base}.keys")
        else:
            build(base, args.people, args.organizations, args.seed)
        open_one_dispute(base)
        copies = {}
        for name in ("rescore", "refresh"):
            copies[name] = Path(tmp) / f"{name}.db"
            shutil.copy(base, copies[name])
            shutil.copy(f"{base}.keys", f"{copies[name]}.keys")
        print(f"demo store ready, one dispute open ({time.perf_counter() - started:.1f} s); {args.late} days late")

        store = _open(copies["rescore"])
        summary, rescore_s, rescore_mib = measure(lambda: rescore_store(store, today=today))
        store.engine.dispose()
        print(
            f"credo rescore: {rescore_s:7.2f} s  peak {rescore_mib:,.0f} MiB  {summary.subjects:,} subjects, "
            f"{summary.events:,} events (all dated {today})"
        )

        store = _open(copies["refresh"])

        def refresh() -> Any:
            with store.begin() as connection:
                return lapse_and_refresh(connection, today, "bench", NOW)

        daily, refresh_s, refresh_mib = measure(refresh)
        store.engine.dispose()
        outcome = daily.refreshed
        print(
            f"credo refresh: {refresh_s:7.2f} s  peak {refresh_mib:,.0f} MiB  {outcome.subjects:,} subjects, "
            f"{outcome.events:,} events (each dated its day), {len(daily.lapsed)} dispute(s) lapsed"
        )
        print(f"ratio refresh / rescore: {refresh_s / rescore_s:.2f}")
        same = states(copies["rescore"]) == states(copies["refresh"])
        print(f"every subject's state equal to the rescore's: {same}")


if __name__ == "__main__":
    main()
