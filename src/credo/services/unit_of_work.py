"""One unit of work: a transaction, the subjects it changed and the audit entries it owes, finished together.

A use case (:mod:`credo.services`) reads and writes through ``uow.connection``, says whose records it changed
(:meth:`UnitOfWork.rescore`) and what it must leave in the audit trail (:meth:`UnitOfWork.audit`). Finishing
is always the same three steps, in this order: rescore those subjects, append the entries to the chain,
commit; so a change and its audit entry are in the store together or not at all.

The command line runs one unit per command (:func:`unit_of_work`). The API's group writer runs the units of
many requests in one transaction (credo.api.context.ApiContext.run_write); a read runs in a unit whose entries
the API hands to that writer once the read is done (``run_read``), so that reads never wait for writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Connection

from credo.domain.rulebook import Rulebook
from credo.services.realtime_scoring import rescore_subjects
from credo.store import clock
from credo.store.audit import AuditEntry, append
from credo.store.bootstrap import Store
from credo.store.keys import KeyRing
from credo.store.relying import RelyingParty, get_relying
from credo.store.rulebooks import rulebook_at
from credo.store.subjects import stored_subjects

__all__ = ["UnitOfWork", "audit_afterwards", "finish_together", "unit_of_work"]


@dataclass
class UnitOfWork:
    """What a use case works in: ``connection`` (its transaction), ``now`` and ``today``, keys and rulebooks.

    ``keys``, ``rulebooks`` and ``parties`` are how this edge finds them (the API caches them; the command line
    reads them from the store); they are asked for only when a use case needs them.
    """

    connection: Connection
    now: dt.datetime
    today: dt.date
    keys: Callable[[Connection], KeyRing]
    rulebooks: Callable[[Connection, dt.date], tuple[str, Rulebook]] = rulebook_at
    environ: Mapping[str, str] | None = None  # the settings this edge runs with (None: the process's)
    finder: Callable[[UnitOfWork, str, str | None], list[tuple[int, str]]] | None = None
    parties: Callable[[Connection, str], RelyingParty | None] = get_relying
    to_rescore: set[int] = field(default_factory=set)
    entries: list[AuditEntry] = field(default_factory=list)
    _ring: KeyRing | None = field(default=None, repr=False)

    @property
    def ring(self) -> KeyRing:
        if self._ring is None:
            self._ring = self.keys(self.connection)
        return self._ring

    def rulebook(self) -> Rulebook:
        """The rulebook in force today (no rulebook in force: ``NoActiveRulebookError``)."""
        return self.rulebooks(self.connection, self.today)[1]

    def subjects(self, identifier: str, kind: str | None = None) -> list[tuple[int, str]]:
        """The stored subjects the identifier names (surrogate id, kind), of ``kind`` or of either kind."""
        if self.finder is not None:
            return self.finder(self, identifier, kind)
        return stored_subjects(self.connection, self.ring, identifier, kind)

    def party(self, relying_id: str) -> RelyingParty | None:
        """A relying party as registered (None: not registered)."""
        return self.parties(self.connection, relying_id)

    def rescore(self, subject_ids: Iterable[int]) -> None:
        """These subjects' records changed: rescore them before the commit."""
        self.to_rescore.update(subject_ids)

    def audit(self, *entries: AuditEntry) -> None:
        """Leave these entries in the audit trail with the commit."""
        self.entries.extend(entries)

    def finish(self, *, exact_next_change: bool = True) -> None:
        """Rescore, then append the audit entries; the caller commits. ``exact_next_change``: see rescore_subjects."""
        finish_together([self], exact_next_change=exact_next_change)


def finish_together(
    units: Sequence[UnitOfWork],
    *,
    exact_next_change: bool = True,
    events_at: Callable[[], dt.datetime] | None = None,
) -> None:
    """Finish units that share one transaction (the API's group commit): rescore every subject any of them
    changed, once, then append all their entries in order; the caller commits.

    ``events_at``: the clock that stamps the outbox's events, read after the units ran (default: the units' now).
    """
    if not units:
        return
    first = units[0]
    touched = sorted({sid for uow in units for sid in uow.to_rescore})
    if touched:
        now = first.now if events_at is None else events_at()
        rescore_subjects(first.connection, touched, first.today, exact_next_change=exact_next_change, now=now)
    append(first.connection, [entry for uow in units for entry in uow.entries], first.now)


@contextmanager
def unit_of_work(store: Store) -> Iterator[UnitOfWork]:
    """One unit in a transaction of its own, finished and committed at the end of the block (the command line)."""
    with store.begin() as connection:
        uow = UnitOfWork(connection, store.clock(), clock.today(store.environ), store.keys, environ=store.environ)
        yield uow
        uow.finish()


def audit_afterwards(store: Store, *entries: AuditEntry) -> None:
    """Append ``entries`` in a unit of their own: what a bulk operation did, once its own transactions committed.

    Bulk operations (ingesting a file, rescoring the store, rotating keys) commit chunk by chunk, so their
    summary is known, and kept, only at the end.
    """
    with unit_of_work(store) as uow:
        uow.audit(*entries)
