"""Crash test: ``credo ingest`` killed with SIGKILL at random moments, then run again to completion.

A child process runs the real command line (``credo ingest FILE`` with
``CREDO_DB`` and ``CREDO_TODAY`` set) on a synthetic town and is killed at
seeded random moments (after a random number of committed chunks and a random
pause), once or twice in a row; then the same ingest is run to
completion. The store must then hold every record exactly once (one latest
version per (source, record_id) of the file's accepted rows, and exactly the
versions one uninterrupted run writes), every bad row once in the quarantine,
and every subject's stored score equal to the batch engine's on the file.

The package has no ``__main__`` (``python -m credo`` is not a command), so the
child runs ``credo.cli.app.main`` through ``python -c``. The store is written
in chunks of :data:`CHUNK` rows instead of the command's 50,000 (the child
binds ``chunk_rows`` before calling the command), so that a kill falls between
many committed chunks and inside one, on a file that ingests in a few seconds.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from credo.batch.engine import run_batch
from credo.demo import demo_rulebook_text, generate_town
from credo.demo.rates import CATEGORIES, SOURCES
from credo.rulebook_file import parse_rulebook
from credo.store.bootstrap import Store, init_store, open_store
from credo.store.rulebooks import activate, publish
from credo.store.sources import add_source
from credo.store.tables import quarantine, records
from tests.batchio import read_output
from tests.storebackends import postgres_schema
from tests.test_store_ingest_property import _batch_scores, _stored_scores

TODAY = dt.date(2026, 6, 30)
NOW = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)
CHUNK = 2_500
# The child says "chunk" on stdout each time a chunk has committed, so the parent kills it after a number of
# chunks (and a pause that lands inside the next one) rather than after a time: a fast machine must not finish
# the ingest before the kill.
CHILD = """
import os, sys
import credo.services.ingest as cmd  # the command's service, where ingest_path runs the pipeline
real = cmd.ingest_path
def traced(*args, **kwargs):
    shown = kwargs.pop("progress", None)
    def progress(done, total):
        print("chunk", done, total, flush=True)
        if shown is not None:
            shown(done, total)
    return real(*args, chunk_rows=int(os.environ["CREDO_TEST_CHUNK_ROWS"]), progress=progress, **kwargs)
cmd.ingest_path = traced
from credo.cli.app import main
sys.argv = ["credo", *sys.argv[1:]]
main()
"""


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("town") / "town.parquet"
    generate_town(str(path), people=2_500, organizations=250, seed=11, as_of=TODAY, bad_rows=40, threads=1)
    return path


@pytest.fixture(scope="module")
def expected(town: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What the batch engine gives on the file, and the records one uninterrupted ingest stores."""
    loaded = parse_rulebook(demo_rulebook_text(), "demo-city.yaml")
    assert loaded.rulebook is not None
    book = loaded.rulebook
    out = tmp_path_factory.mktemp("batch")
    summary = run_batch(str(town), book, TODAY, str(out / "scores.csv"), threads=1)
    rejected = {int(r["row"]) for r in read_output(summary.rejects)}
    assert len(rejected) == summary.rejected > 0
    rows = pq.read_table(town).to_pylist()
    keys: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for n, row in enumerate(rows, start=1):
        if n in rejected:
            continue
        content = tuple(row.values())
        versions = keys.setdefault((row["source"], row["record_id"]), [])
        if not versions or versions[-1] != content:  # a row equal to the one before it is a re-send
            versions.append(content)
    return {
        "book": book,
        "scores": _batch_scores(read_output(summary.out), book, book.version),
        "keys": len(keys),
        "versions": sum(len(v) for v in keys.values()),
        "rejected": len(rejected),
    }


@contextmanager
def _url(kind: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'credo.db'}", {}
        return
    with postgres_schema() as url:
        yield url, {"CREDO_KEY_FILE": str(tmp_path / "credo.keys")}


def _prepare(url: str, environ: dict[str, str]) -> Store:
    store = open_store(url, environ=environ)
    init_store(store)
    with store.begin() as connection:
        publish(connection, demo_rulebook_text(), "demo-city.yaml", NOW)
        activate(connection, "2026.1", NOW)
        for source in SOURCES:
            add_source(connection, source, sorted({c.category for c in CATEGORIES if c.source == source}), NOW)
    return store


def _ingest(town: Path, environ: dict[str, str], kill_after: tuple[int, float] | None) -> int | None:
    """Run ``credo ingest``; kill it ``pause`` seconds after its ``chunks``-th committed chunk (None: let it finish).

    Returns its exit code, or None when it was killed.
    """
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, "ingest", str(town)],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if kill_after is not None:
        chunks, pause = kill_after
        assert child.stdout is not None
        seen = 0
        for line in child.stdout:
            seen += line.startswith("chunk ")
            if seen == chunks:
                time.sleep(pause)
                child.send_signal(signal.SIGKILL)
                child.communicate()
                return None
    _, err = child.communicate(timeout=120)
    assert child.returncode == 0, err[-2000:]
    return child.returncode


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_an_ingest_killed_at_random_moments_then_rerun_stores_everything_once(
    kind: str, town: Path, expected: dict[str, Any], tmp_path: Path
) -> None:
    rng = random.Random(f"crash-{kind}")
    # (chunks committed before the kill, then a pause that lands inside or after the next chunk)
    rounds = [[(rng.randint(1, 4), rng.uniform(0, 0.3))], [(rng.randint(1, 3), rng.uniform(0, 0.3)) for _ in range(2)]]
    for n, kills in enumerate(rounds):
        with _url(kind, tmp_path / f"round{n}") as (url, extra):
            (tmp_path / f"round{n}").mkdir(exist_ok=True)
            store = _prepare(url, extra)
            environ = {
                **os.environ,
                **extra,
                "CREDO_DB": url,
                "CREDO_TODAY": TODAY.isoformat(),
                "CREDO_TEST_CHUNK_ROWS": str(CHUNK),
            }
            environ.pop("CREDO_KEYS", None)
            killed = 0
            for kill_after in kills:
                if _ingest(town, environ, kill_after) is None:
                    killed += 1
            _ingest(town, environ, None)
            try:
                _check(store, expected, town)
            finally:
                store.engine.dispose()
            assert killed, "the ingest finished before any kill: kill earlier"


def _check(store: Store, expected: dict[str, Any], town: Path) -> None:
    with store.begin() as connection:
        latest = connection.execute(
            sa.select(sa.func.count()).select_from(records).where(records.c.is_latest)
        ).scalar_one()
        keys = connection.execute(
            sa.select(sa.func.count()).select_from(
                sa.select(records.c.source_id, records.c.record_id).distinct().subquery()
            )
        ).scalar_one()
        doubled = connection.execute(
            sa.select(records.c.source_id, records.c.record_id, records.c.version)
            .group_by(records.c.source_id, records.c.record_id, records.c.version)
            .having(sa.func.count() > 1)
        ).all()
        versions = connection.execute(sa.select(sa.func.count()).select_from(records)).scalar_one()
        quarantined = connection.execute(
            sa.select(quarantine.c.file, quarantine.c.row_number, sa.func.count()).group_by(
                quarantine.c.file, quarantine.c.row_number
            )
        ).all()
    assert latest == keys == expected["keys"]
    assert doubled == []
    assert versions == expected["versions"]
    assert len(quarantined) == expected["rejected"]
    assert {(f, c) for f, _, c in quarantined} == {(str(town), 1)}
    assert _stored_scores(store) == expected["scores"]
