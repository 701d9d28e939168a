"""A SQLite store on a disk that fills up: a clear error, nothing half-written, and work resumes with space.

The store lives on a small tmpfs mounted by the test (it needs root and
``mount``; where they are not allowed it is skipped, saying why). The disk is
then filled by a file outside the store, and the API and ``credo ingest`` are
asked to write more than any free page SQLite already holds.
"""

from __future__ import annotations

import errno
import logging
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from credo.cli.app import app as cli
from credo.store.audit import verify
from credo.store.bootstrap import Store, init_store, open_store
from credo.store.tables import audit_log, decisions, quarantine, records
from tests.apisupport import BANK, SOURCE, TODAY, Api, api_over, record

PENALTY = "high-consumption-restriction"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs, unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command here: the disk-full test needs a small tmpfs")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip()}): the disk-full test needs it")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


def _fill(disk: Path) -> Path:
    """A file taking every free byte of ``disk``."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    return filler


def _written(store: Store) -> tuple[int, ...]:
    with store.engine.connect() as connection:
        return tuple(
            connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in (records, quarantine, decisions, audit_log)
        )


def _intact(store: Store) -> None:
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA integrity_check").scalars().all() == ["ok"]
        chain = verify(connection)
        assert chain.intact, chain.problem


def _big_push(api: Api, prefix: str) -> dict[str, object]:
    rows = [record(f"{prefix}-{n}", reference="x" * 1000) for n in range(1000)]
    answer = api.client.post("/v1/records", json=rows, headers=api.headers("source", SOURCE))
    return {"status": answer.status_code, **answer.json()}


def test_a_full_disk_is_a_clear_error_leaves_nothing_half_written_and_work_resumes(
    small_disk: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{small_disk / 'credo.db'}"
    environ = {"CREDO_KEY_FILE": str(tmp_path / "credo.keys"), "CREDO_TODAY": TODAY}
    store = open_store(url, environ=environ)
    init_store(store)
    rows = "\n".join(
        f"{SOURCE},F-{n},{record('x')['subject_id']},person,court.judgment_default,2026-03-01" for n in range(2000)
    )
    (tmp_path / "records.csv").write_text("source,record_id,subject_id,subject_kind,category,occurred_on\n" + rows)
    ingest = ["--db", url, "ingest", str(tmp_path / "records.csv")]
    try:
        with api_over(store) as api:
            api.push(record("J-1"))
            with store.engine.connect() as connection:  # the log empty: what comes next needs new pages
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            before = _written(store)
            filler = _fill(small_disk)

            full = _big_push(api, "B")
            assert (full["status"], full["code"]) == (507, "storage-full"), full
            assert "full" in str(full["detail"]) and "not stored" in str(full["detail"])
            refused = CliRunner().invoke(cli, ingest, env=environ)
            assert refused.exit_code == 1 and isinstance(refused.exception, SystemExit), refused.output
            assert refused.output.startswith("error: ") and refused.output.count("\n") == 1, refused.output
            assert "full" in refused.output
            assert _written(store) == before  # nothing half-written
            _intact(store)

            filler.unlink()  # space is back: the same server goes on
            assert _big_push(api, "B")["status"] == 200
            assert api.decide(PENALTY, relying=BANK).status_code == 200
            again = CliRunner().invoke(cli, ingest, env=environ)
            assert again.exit_code == 0, again.output
        _intact(store)
        assert _written(store)[0] == before[0] + 1000 + 2000
    finally:
        store.engine.dispose()


def test_wal_checkpoints_go_on_after_the_disk_was_full(
    small_disk: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A commit can fit in the WAL's free space while the database file cannot grow: its checkpoint then fails.

    The server's checkpoints must survive that (logged), and copy the WAL back once there is space again;
    otherwise the WAL grows for as long as the server runs.
    """
    caplog.set_level(logging.WARNING, logger="credo.api")
    store = open_store(f"sqlite:///{small_disk / 'credo.db'}", environ={"CREDO_KEY_FILE": str(tmp_path / "keys")})
    init_store(store)
    database = small_disk / "credo.db"
    try:
        with api_over(store) as api:
            first = database.stat().st_size
            assert _big_push(api, "A")["status"] == 200  # the WAL grows by about 1.5 MB, then is checkpointed
            _wait_until(lambda: database.stat().st_size > first)
            filler = _fill(small_disk)
            small = api.client.post(
                "/v1/records",
                json=[record(f"S-{n}", reference="y" * 1000) for n in range(200)],
                headers=api.headers("source", SOURCE),
            )
            assert small.status_code == 200, small.text  # it fits in the WAL's free space
            full = database.stat().st_size
            _wait_until(lambda: "WAL checkpoint failed: the disk holding the store is full" in caplog.text)
            filler.unlink()
            _wait_until(lambda: database.stat().st_size > full)  # checkpoints again
            _wait_until(lambda: "WAL checkpoints work again" in caplog.text)
        _intact(store)
    finally:
        store.engine.dispose()


def _wait_until(condition: Callable[[], bool], within: float = 30.0) -> None:
    """Poll ``condition`` until it holds; a bound on waiting, not a speed requirement."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "still not so after the time allowed"
        time.sleep(0.1)
