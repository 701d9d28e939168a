"""The group-commit writer: many jobs in one transaction, and a failing job fails only its own request."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from credo.api.app import create_app
from credo.services.group_commit import GroupCommit
from credo.services.unit_of_work import UnitOfWork
from credo.store.audit import AuditEntry, verify
from credo.store.bootstrap import Store, init_store, open_store
from credo.store.database import SERVER_CACHE_MIB
from credo.store.tables import audit_log, store_meta

NOW = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Store:
    store = open_store(f"sqlite:///{tmp_path / 'credo.db'}")
    init_store(store)
    return store


def writer_over(store: Store) -> GroupCommit:
    """A writer whose jobs run in units of work on the tests' day."""
    return GroupCommit(
        store.engine, lambda: NOW, lambda connection, now: UnitOfWork(connection, now, NOW.date(), store.keys)
    )


def entry(n: int) -> AuditEntry:
    return AuditEntry("cli", f"job-{n}", "test", "test")


def test_queued_jobs_share_a_transaction_and_a_bad_one_fails_alone(sqlite_store: Store) -> None:
    writer = writer_over(sqlite_store)
    begun = [0]
    sa.event.listen(sqlite_store.engine, "begin", lambda _conn: begun.__setitem__(0, begun[0] + 1))
    transactions: list[int] = []  # the number of the transaction each good job ran in, attempt by attempt

    def good(n: int):  # type: ignore[no-untyped-def]
        def work(uow: UnitOfWork) -> int:
            transactions.append(begun[0])
            uow.connection.execute(sa.insert(store_meta).values(name=f"job-{n}", value="done"))
            uow.audit(entry(n))
            return n

        return work

    def bad(uow: UnitOfWork) -> None:
        uow.connection.execute(sa.insert(store_meta).values(name="job-bad", value="half"))
        raise ValueError("this job cannot be done")

    async def run() -> list[object]:
        await writer.start()
        try:
            jobs = [writer.run(good(n)) for n in range(5)] + [writer.run(bad)] + [writer.run(good(n)) for n in (5, 6)]
            return await asyncio.gather(*jobs, return_exceptions=True)
        finally:
            await writer.stop()

    results = asyncio.run(run())
    assert results[:5] == [0, 1, 2, 3, 4] and results[6:] == [5, 6]
    assert isinstance(results[5], ValueError)
    with sqlite_store.begin() as connection:
        names = {n for (n,) in connection.execute(sa.select(store_meta.c.name).where(store_meta.c.name.like("job-%")))}
        actors = sorted(a for (a,) in connection.execute(sa.select(audit_log.c.actor)))
        assert verify(connection).intact
    assert names == {f"job-{n}" for n in range(7)}  # the bad job's half-done write is gone
    assert actors == sorted(f"job-{n}" for n in range(7))
    # the first attempt ran the queued jobs in one transaction; then each alone, in one of its own
    assert transactions[:5] == [transactions[0]] * 5
    assert len(set(transactions[5:])) == len(transactions[5:]) == 7


def test_without_its_lifespan_the_writer_writes_at_once(sqlite_store: Store) -> None:
    writer = writer_over(sqlite_store)
    asyncio.run(writer.write([entry(1)]))
    with sqlite_store.begin() as connection:
        assert verify(connection).entries == 1


def test_a_database_error_fails_the_batch_at_once_without_retrying_each_job(sqlite_store: Store) -> None:
    writer = writer_over(sqlite_store)
    calls: list[str] = []

    def fine(uow: UnitOfWork) -> str:
        calls.append("fine")
        uow.audit(entry(1))
        return "ok"

    def busy(uow: UnitOfWork) -> None:
        calls.append("busy")
        raise OperationalError("INSERT ...", {}, Exception("database is locked"))

    async def run() -> list[object]:
        await writer.start()
        try:
            return await asyncio.gather(writer.run(fine), writer.run(busy), writer.run(fine), return_exceptions=True)
        finally:
            await writer.stop()

    results = asyncio.run(run())
    assert all(isinstance(r, OperationalError) for r in results), results
    assert calls == ["fine", "busy"]  # not run again one by one (each would wait for the lock again)


def test_a_servers_sqlite_connections_keep_a_smaller_page_cache(tmp_path: Path) -> None:
    """256 MiB a connection suits a bulk ingest's chunk; a server holds several connections for its life."""
    store = open_store(f"sqlite:///{tmp_path / 'credo.db'}")
    init_store(store)
    try:
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA cache_size").scalar_one() == -262144
        create_app(store)
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA cache_size").scalar_one() == -SERVER_CACHE_MIB * 1024
    finally:
        store.engine.dispose()
