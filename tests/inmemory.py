"""Service tests in milliseconds: a real UnitOfWork over an in-memory SQLite copy of a prepared store (ADR 0020).

The copy comes from the template the store tests use (migrated once per test process), into which the API
tests' rulebook, sources and bank were put once (:func:`tests.apisupport.prepare`); each test gets its own copy
through SQLite's backup API and its own keys, held in memory. The use cases run unchanged, on the same SQL
as in production, only with no file, no key file and no server. What this does not test: PostgreSQL, the
edges (parsing, status codes, the group writer) and key files; the store and end-to-end tests do.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from credo.services.unit_of_work import UnitOfWork
from credo.store.bootstrap import Store
from credo.store.keys import KeyRing, new_keyring
from credo.store.push import store_pushed
from credo.store.sources import get_source
from tests.apisupport import NOW, SOURCE, TODAY, prepare

__all__ = ["InMemory", "Prepared"]


DAY = dt.date.fromisoformat(TODAY)


class Prepared:
    """The prepared database in memory, and the one engine over whichever copy of it a test is using.

    One engine for every copy, so that each statement is compiled once per test process: an engine compiles
    anew what another engine has compiled, and that cost more than the use cases themselves.
    """

    def __init__(self, template: Path) -> None:
        self.database = sqlite3.connect(":memory:", check_same_thread=False)
        with closing(sqlite3.connect(template)) as on_disk:
            on_disk.backup(self.database)
        self._current = self.database
        self.engine = sa.create_engine("sqlite://", creator=self._connection, poolclass=StaticPool)
        prepare(Store(make_url("sqlite://"), self.engine, environ={}))  # its begin() checks the schema is at head

    def _connection(self) -> sqlite3.Connection:
        # The store's other pragmas (WAL, synchronous, busy timeout, cache size) concern files and other
        # processes, and mean nothing to a private database in memory.
        self._current.execute("PRAGMA foreign_keys=ON")
        return self._current

    def copy(self) -> InMemory:
        """A private copy of the prepared database, with keys of its own; the engine now works on it alone."""
        copy = sqlite3.connect(":memory:", check_same_thread=False)
        self.database.backup(copy)
        self._let_go()
        self._current = copy
        return InMemory(self.engine, new_keyring())

    def close(self) -> None:
        self._let_go()
        self.database.close()

    def _let_go(self) -> None:
        """The pool lets go of its connection; a test's copy is closed (and gone), the prepared one kept."""
        self.engine.dispose(close=False)
        if self._current is not self.database:
            self._current.close()


@dataclass
class InMemory:
    """An in-memory store: units of work over it on the tests' day, and records pushed as a source pushes them."""

    engine: Engine
    ring: KeyRing
    today: dt.date = DAY
    now: dt.datetime = NOW

    @contextmanager
    def unit(self, today: dt.date | None = None, now: dt.datetime | None = None) -> Iterator[UnitOfWork]:
        """One unit in a transaction of its own, finished and committed at the end of the block (as the CLI's).

        An exception in the block rolls the whole unit back, as in production.
        """
        with self.engine.begin() as connection:
            uow = UnitOfWork(
                connection, now or self.now, today or self.today, keys=lambda _connection: self.ring, environ={}
            )
            yield uow
            uow.finish()

    def push(self, *rows: dict[str, Any], source: str = SOURCE) -> list[str]:
        """Store rows as a source's push does, and rescore their subjects; each row's outcome."""
        with self.unit() as uow:
            caller = get_source(uow.connection, source)
            assert caller is not None, f"source {source} is not registered"
            results, touched = store_pushed(
                uow.connection, self.ring, caller, rows, today=uow.today, now=uow.now, push_id="test"
            )
            uow.rescore(touched)
        return [r.outcome for r in results]

    def subject(self, identifier: str, kind: str = "person") -> int:
        """The surrogate id of the stored subject ``identifier`` names."""
        with self.unit() as uow:
            ((subject_id, _),) = uow.subjects(identifier, kind)
        return subject_id

    def scalar(self, query: sa.Executable) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(query).scalar()

    def rows(self, query: sa.Executable) -> list[Any]:
        with self.engine.connect() as connection:
            return list(connection.execute(query).all())
