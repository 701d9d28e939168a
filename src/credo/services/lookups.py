"""What a server looks up on nearly every request, kept for a second: the keys' check, the rulebook in force,
sources and relying parties.

A change made elsewhere (``credo keys rotate``, an activation, a disabled party) shows within
:data:`CACHE_TTL`; one made through this server shows at once (:meth:`Lookups.forget`). Rulebooks are parsed
once per process by the store (:func:`credo.store.rulebooks.rulebook_at`); this only remembers which version
is in force.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import Connection

from credo.domain.rulebook import Rulebook
from credo.services import identify
from credo.services.unit_of_work import UnitOfWork
from credo.store import clock
from credo.store.bootstrap import Store, key_check
from credo.store.keys import KeyRing
from credo.store.relying import RelyingParty, get_relying
from credo.store.rulebooks import rulebook_at
from credo.store.sources import Source, get_source

__all__ = ["CACHE_TTL", "Lookups"]

T = TypeVar("T")

CACHE_TTL = 1.0  # seconds a rulebook in force, a source or a relying party is reused (a change shows within this)
_MOST = 10_000  # principals remembered at most


@dataclass
class Lookups:
    """A serving process's short-lived memory of the store, and the units of work that use it."""

    store: Store
    ring: KeyRing
    _book: tuple[float, dt.date, str, Rulebook] | None = field(default=None, repr=False)
    _parties: dict[str, tuple[float, RelyingParty | None]] = field(default_factory=dict, repr=False)
    _sources: dict[str, tuple[float, Source | None]] = field(default_factory=dict, repr=False)
    _keys_seen: tuple[float, str | None] = field(default=(0.0, None), repr=False)

    def today(self) -> dt.date:
        return clock.today(self.store.environ)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A transaction (the schema was checked at start-up); a failed database answers 503 or 507."""
        with self.store.engine.begin() as connection:
            yield connection

    def ping(self) -> None:
        """Reach the database once (``/healthz``); a failed database raises as any request's would."""
        with self.transaction() as connection:
            connection.exec_driver_sql("SELECT 1")

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reads only: on PostgreSQL in autocommit (no BEGIN and COMMIT round trips).

        Whatever must write (a stale state rescored) uses :meth:`transaction` instead.
        """
        with self.store.engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.execution_options(isolation_level="AUTOCOMMIT")  # this connection, until returned
            yield connection

    def keys(self, connection: Connection | None = None) -> KeyRing:
        """The store's keys, checked at most once a second: a ``credo keys rotate`` while serving takes effect.

        Without this a running server would go on hashing new subjects under a retired key version
        (splitting them from their records) and accept tokens signed under it.
        """
        seen_at, check = self._keys_seen
        if time.monotonic() - seen_at < CACHE_TTL:
            return self.ring
        if connection is None:
            with self.reading() as own:
                return self.keys(own)
        current = key_check(connection)
        if check is not None and current != check:
            self.ring = self.store.keys(connection)
        self._keys_seen = (time.monotonic(), current)
        return self.ring

    def book(self, connection: Connection, day: dt.date) -> tuple[str, Rulebook]:
        """The rulebook in force on ``day``, looked up at most once a second."""
        cached = self._book
        if cached is not None and cached[1] == day and time.monotonic() - cached[0] < CACHE_TTL:
            return cached[2], cached[3]
        version, book = rulebook_at(connection, day)
        self._book = (time.monotonic(), day, version, book)
        return version, book

    def party(self, connection: Connection, relying_id: str) -> RelyingParty | None:
        """A relying party as registered, looked up at most once a second."""
        return _remembered(self._parties, relying_id, lambda: get_relying(connection, relying_id))

    def source(self, connection: Connection, source_id: str) -> Source | None:
        """A source as registered, looked up at most once a second."""
        return _remembered(self._sources, source_id, lambda: get_source(connection, source_id))

    def forget(self, role: str, principal: str) -> None:
        """Drop a cached source or relying party: a change made through this server shows at once."""
        (self._sources if role == "source" else self._parties).pop(principal, None)

    def registered(self, role: str, principal: str) -> Source | RelyingParty | None:
        """A source or relying party (``role``) as registered, from memory when looked up within the second."""
        cached = (self._sources if role == "source" else self._parties).get(principal)
        if cached is not None and time.monotonic() - cached[0] < CACHE_TTL:
            return cached[1]
        with self.reading() as connection:
            return self.source(connection, principal) if role == "source" else self.party(connection, principal)

    def unit(self, connection: Connection, now: dt.datetime) -> UnitOfWork:
        """A unit of work over ``connection`` with these cached keys, rulebook and parties."""
        return UnitOfWork(
            connection,
            now,
            self.today(),
            self.keys,
            self.book,
            self.store.environ,
            finder=identify.subject_ids,
            parties=self.party,
        )


def _remembered(memo: dict[str, tuple[float, T]], key: str, look_up: Callable[[], T]) -> T:
    """``memo[key]`` when looked up within the second, else looked up now and remembered."""
    cached = memo.get(key)
    if cached is not None and time.monotonic() - cached[0] < CACHE_TTL:
        return cached[1]
    found = look_up()
    if len(memo) > _MOST:
        memo.clear()
    memo[key] = (time.monotonic(), found)
    return found
