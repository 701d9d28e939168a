"""Group commit: the writes of many requests in one transaction, and nobody answered before it commits.

Every decision must be stored, and its read of personal data logged, before
the relying party gets the answer; every pushed record must be stored,
rescored and logged before its source gets the outcome. One transaction per
request would make the chain's lock (:func:`credo.store.audit.append`) and
SQLite's single writer the bottleneck, and requests in threads would wait on
each other's locks. So requests hand their writes to this writer as jobs and
wait; it runs, in a worker thread, everything that queued up while the
previous transaction committed, in the next one:

1. each job's use case (store a decision; store a source's records), each in a
   unit of work of its own (:class:`credo.services.unit_of_work.UnitOfWork`),
   in order;
2. one rescoring of every subject the units changed, and the audit entries
   of every unit appended to the chain
   (:func:`credo.services.unit_of_work.finish_together`: the state's first
   change day is stored rather than scoring days ahead to find the day it does);

then commits, and wakes each request. If the shared transaction fails
because of one of its jobs, each job is run again alone, in a transaction of
its own, so one bad job fails only its own request (an error a job raises,
such as a refusal, reaches its request as raised); if the database itself
failed (busy, unreachable, its disk full: :func:`credo.store.database.database_failure`), every job fails
at once and the API answers 503 (507 for a full disk).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine

from credo.services.unit_of_work import UnitOfWork, finish_together
from credo.store.audit import AuditEntry
from credo.store.database import database_failure

__all__ = ["GroupCommit", "Service", "Units"]

MAX_BATCH = 500  # jobs per transaction at most

Service = Callable[[UnitOfWork], Any]  # a use case: what it returns is its request's answer
Units = Callable[[Connection, dt.datetime], UnitOfWork]  # makes each job's unit in the shared transaction


@dataclass
class _Job:
    service: Service
    done: asyncio.Future[Any] = field(repr=False)


class GroupCommit:
    def __init__(self, engine: Engine, clock: Callable[[], dt.datetime], units: Units) -> None:
        self.engine, self.clock, self.units = engine, clock, units
        self.queue: asyncio.Queue[_Job | None] | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start writing in the running event loop (each lifespan of the app starts its own)."""
        self.queue = asyncio.Queue()
        self.task = asyncio.create_task(self._run(self.queue))

    async def stop(self) -> None:
        if self.task is not None and self.queue is not None:
            await self.queue.put(None)
            await self.task
            self.task = self.queue = None

    async def run(self, service: Service) -> Any:
        """Run ``service`` in the next group transaction; return its value once committed, or raise its error."""
        loop = asyncio.get_running_loop()
        job = _Job(service, loop.create_future())
        if self.task is None or self.queue is None:  # not started (an app used without its lifespan): at once
            await asyncio.to_thread(self._commit_each, [job], loop)
        else:
            self.queue.put_nowait(job)
        return await job.done

    async def write(self, entries: Sequence[AuditEntry]) -> None:
        """Append audit entries (a read of personal data) and return once they are committed."""
        await self.run(lambda uow: uow.audit(*entries))

    async def _run(self, queue: asyncio.Queue[_Job | None]) -> None:
        loop = asyncio.get_running_loop()
        stopping = False
        while not stopping:
            first = await queue.get()
            if first is None:
                return
            batch = [first]
            while not queue.empty() and len(batch) < MAX_BATCH:
                job = queue.get_nowait()
                if job is None:
                    stopping = True
                    break
                batch.append(job)
            await asyncio.to_thread(self._commit_batch, batch, loop)

    def _transaction(self, jobs: Sequence[_Job]) -> list[Any]:
        now = self.clock()
        with self.engine.begin() as connection:
            units = [self.units(connection, now) for _ in jobs]
            values = [job.service(uow) for job, uow in zip(jobs, units, strict=True)]
            # The outbox's events stamped after the jobs ran, by the same clock: a decision stored in this
            # batch was answered from the state before them, and its party must be told of the change.
            finish_together(units, exact_next_change=False, events_at=self.clock)
        return values

    def _commit_batch(self, jobs: Sequence[_Job], loop: asyncio.AbstractEventLoop) -> None:
        try:
            values = self._transaction(jobs)
        except Exception as exc:
            if database_failure(exc) is None:  # one of the jobs: each is run again alone below, and gets its own error
                self._commit_each(jobs, loop)
                return
            for job in jobs:  # the database, not a job: every job fails at once (the API answers 503, or 507)
                loop.call_soon_threadsafe(_settle, job.done, None, exc)
            return
        for job, value in zip(jobs, values, strict=True):
            loop.call_soon_threadsafe(_settle, job.done, value, None)

    def _commit_each(self, jobs: Sequence[_Job], loop: asyncio.AbstractEventLoop) -> None:
        for job in jobs:
            try:
                (value,) = self._transaction([job])
            except Exception as exc:
                loop.call_soon_threadsafe(_settle, job.done, None, exc)
            else:
                loop.call_soon_threadsafe(_settle, job.done, value, None)


def _settle(done: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if done.done():
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(value)
