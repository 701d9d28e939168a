"""The audit trail: every read of personal data and every write, in one hash-chained log.

Each entry carries the hash of the entry before it, and its own hash covers
its id, its fields and that previous hash, so editing, inserting or deleting
an entry anywhere before the last breaks the chain at that place
(:func:`verify`). The newest entry's id and hash are also kept in
``store_meta`` (``audit_head``), so cutting entries off the end shows as a
head that no entry matches, and entries added after it (even chained
correctly) as entries not appended through the head. A write that finds the
head not naming the newest entry refuses with :class:`AuditChainError`
(:func:`append`) rather than extend a trail that no longer verifies. Whoever can rewrite the whole table and the head
together can forge a consistent chain; publish the head that
``credo audit verify`` prints (or keep it elsewhere) to anchor it.

Entries never hold an identifier: a subject appears as its surrogate id in
this store (``subject_id``), a subject acting on their own data as
``actor = "subject"`` with that id, and ``detail`` holds ids of rules,
measures, sources and counts, never record content.

Appending takes the head row's write lock first (an UPDATE of it), which
serialises writers on SQLite and PostgreSQL alike; append at the END of a
transaction, so the lock is held only until its commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.store.errors import AuditChainError
from credo.store.tables import audit_log, store_meta

__all__ = [
    "GENESIS",
    "AuditEntry",
    "ChainReport",
    "EntryFilter",
    "append",
    "entries_about",
    "entries_after",
    "entries_matching",
    "entry_hash",
    "trail_names",
    "verify",
]

HEAD = "audit_head"
GENESIS = bytes(32)  # the "previous hash" of the first entry


@dataclass(frozen=True)
class AuditEntry:
    """One access or write. ``actor`` is a principal id (never a person's identifier)."""

    actor_role: str
    actor: str
    action: str
    purpose: str
    subject_id: int | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


def _utc_naive(at: dt.datetime) -> dt.datetime:
    """The instant as naive UTC: SQLite gives stored timestamps back without a zone, PostgreSQL with one."""
    return at.astimezone(dt.UTC).replace(tzinfo=None) if at.tzinfo is not None else at


def entry_hash(entry_id: int, at: dt.datetime, entry: AuditEntry, prev_hash: bytes) -> bytes:
    """SHA-256 over a version tag, the previous hash and the entry as canonical JSON (sorted keys, no spaces)."""
    body = {
        "id": entry_id,
        "at": _utc_naive(at).isoformat(timespec="microseconds"),
        "actor_role": entry.actor_role,
        "actor": entry.actor,
        "action": entry.action,
        "subject_id": entry.subject_id,
        "purpose": entry.purpose,
        "detail": entry.detail,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(b"credo-audit-v1\x1f" + prev_hash + text.encode()).digest()


def _lock_head(connection: Connection) -> tuple[int, bytes]:
    """Take the chain's write lock and read its head: (last id, last hash), (0, GENESIS) when empty.

    The head must name the newest entry: entries added or removed behind its
    back (or a garbled head) make every write refuse with :class:`AuditChainError`
    rather than fail on a duplicate id or extend a chain that no longer verifies.
    """
    locked = connection.execute(
        sa.update(store_meta).where(store_meta.c.name == HEAD).values(value=store_meta.c.value)
    ).rowcount
    if not locked:
        connection.execute(sa.insert(store_meta).values(name=HEAD, value=f"0:{GENESIS.hex()}"))
        head: tuple[int, bytes] | None = (0, GENESIS)
    else:
        head = _parse_head(
            connection.execute(sa.select(store_meta.c.value).where(store_meta.c.name == HEAD)).scalar_one()
        )
    newest = connection.execute(sa.select(sa.func.max(audit_log.c.id))).scalar() or 0
    if head is None or head[0] != newest:
        named = "an unreadable head" if head is None else f"its head names entry {head[0]}"
        raise AuditChainError(
            f"the audit trail is inconsistent ({named}, the newest entry is {newest}): "
            "nothing was written; run credo audit verify, and restore the trail before writing again"
        )
    return head


def read_head(connection: Connection) -> tuple[tuple[int, bytes] | None, int]:
    """The chain's head as recorded (None: none yet, or unreadable) and the newest entry's id, without the lock."""
    value = connection.execute(sa.select(store_meta.c.value).where(store_meta.c.name == HEAD)).scalar()
    newest = connection.execute(sa.select(sa.func.max(audit_log.c.id))).scalar() or 0
    return _parse_head(value), int(newest)


def _parse_head(value: str | None) -> tuple[int, bytes] | None:
    """``"ID:HASH"`` as (id, hash); None when it is not of that form."""
    number, _, digest = (value or "").partition(":")
    try:
        hashed = bytes.fromhex(digest)
    except ValueError:
        return None
    return (int(number), hashed) if number.isdigit() and len(hashed) == len(GENESIS) else None


def append(connection: Connection, entries: Sequence[AuditEntry], now: dt.datetime) -> list[int]:
    """Append entries in order, in the caller's transaction; returns their ids. Call it last before commit."""
    if not entries:
        return []
    last_id, prev = _lock_head(connection)
    stored = _utc_naive(now)
    rows, ids = [], []
    for offset, entry in enumerate(entries, start=1):
        entry_id = last_id + offset
        digest = entry_hash(entry_id, stored, entry, prev)
        rows.append(
            {
                "id": entry_id,
                "at": now,
                "actor_role": entry.actor_role,
                "actor": entry.actor,
                "action": entry.action,
                "subject_id": entry.subject_id,
                "purpose": entry.purpose,
                "detail": dict(entry.detail),
                "prev_hash": prev,
                "hash": digest,
            }
        )
        ids.append(entry_id)
        prev = digest
    connection.execute(sa.insert(audit_log), rows)
    connection.execute(sa.update(store_meta).where(store_meta.c.name == HEAD).values(value=f"{ids[-1]}:{prev.hex()}"))
    return ids


@dataclass(frozen=True)
class ChainReport:
    entries: int
    head: bytes  # the hash of the last entry that verified
    broken_at: int | None = None  # the id of the first entry that does not verify
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_at is None and self.problem is None

    def to_json(self) -> dict[str, Any]:
        """The report as ``GET /v1/audit/verify`` answers it (the head as hex)."""
        return {
            "intact": self.intact,
            "entries": self.entries,
            "head": self.head.hex(),
            "broken_at": self.broken_at,
            "problem": self.problem,
        }


def _rows(connection: Connection, after: int = 0, batch: int = 10_000) -> Iterator[Any]:
    """Every entry with an id above ``after``, in id order, read in batches."""
    while True:
        query = sa.select(audit_log).where(audit_log.c.id > after).order_by(audit_log.c.id).limit(batch)
        rows = connection.execute(query).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].id


def verify(connection: Connection) -> ChainReport:
    """Walk every entry from the first; stop at the first that breaks the chain; then compare with the head.

    Every row is read, also those after the head (they were not appended
    through it: inserted behind its back). The head is read after the walk,
    so entries appended while it ran are walked too rather than read as
    tampering (a write commits its entries and the head together).
    """
    expected_id, prev, count = 1, GENESIS, 0
    while True:
        for row in _rows(connection, after=count):
            entry = AuditEntry(row.actor_role, row.actor, row.action, row.purpose, row.subject_id, row.detail)
            if row.id != expected_id:
                return ChainReport(count, prev, expected_id, f"entry {expected_id} is missing (next is {row.id})")
            if bytes(row.prev_hash) != prev:
                return ChainReport(count, prev, row.id, "its previous hash is not the hash of the entry before it")
            if entry_hash(row.id, row.at, entry, prev) != bytes(row.hash):
                return ChainReport(count, prev, row.id, "its content does not match its hash (edited)")
            prev, expected_id, count = bytes(row.hash), expected_id + 1, count + 1
        head = connection.execute(sa.select(store_meta.c.value).where(store_meta.c.name == HEAD)).scalar()
        head_id = _head_id(head)
        if head_id is None or head_id <= count:
            break
        if not _rows_after(connection, count):  # the head names entries that are not there
            break
    if head == f"{count}:{prev.hex()}":
        return ChainReport(count, prev)
    if head_id is None:
        return ChainReport(count, prev, max(count, 1), "the recorded head is missing or unreadable")
    if head_id > count:
        return ChainReport(
            count, prev, count + 1, f"the head names entry {head_id}: entries after {count} were removed"
        )
    if head_id < count:  # those after the head chain on, but were slipped in behind its back: only those before count
        at_head = connection.execute(sa.select(audit_log.c.hash).where(audit_log.c.id == head_id)).scalar()
        last = GENESIS if at_head is None else bytes(at_head)
        return ChainReport(head_id, last, head_id + 1, f"entries after {head_id} were not appended through the head")
    return ChainReport(count, prev, count, "the last entry is not the one the head recorded")


def _rows_after(connection: Connection, after: int) -> bool:
    return connection.execute(sa.select(audit_log.c.id).where(audit_log.c.id > after).limit(1)).first() is not None


def _head_id(head: str | None) -> int | None:
    number = (head or "").partition(":")[0]
    return int(number) if number.isdigit() else None


def entries_about(connection: Connection, subject_id: int, limit: int = 1000) -> list[Any]:
    """The newest entries about one subject, newest first (what a subject sees of who looked at them)."""
    return list(
        connection.execute(
            sa.select(audit_log)
            .where(audit_log.c.subject_id == subject_id)
            .order_by(audit_log.c.id.desc())
            .limit(limit)
        ).all()
    )


def entries_after(connection: Connection, after: int, limit: int) -> list[Any]:
    """Up to ``limit`` entries with ids above ``after``, oldest first (an auditor pages through the trail)."""
    return list(
        connection.execute(
            sa.select(audit_log).where(audit_log.c.id > after).order_by(audit_log.c.id).limit(limit)
        ).all()
    )


@dataclass(frozen=True)
class EntryFilter:
    """Which entries an auditor looks for: by actor (principal), action, and day (UTC); None: any."""

    actor: str | None = None
    action: str | None = None
    day: dt.date | None = None


def entries_matching(
    connection: Connection, where: EntryFilter, *, beyond: int | None, ascending: bool, limit: int
) -> list[Any]:
    """Up to ``limit`` entries matching ``where``, in id order (``ascending`` or not), past the id ``beyond``."""
    query = sa.select(audit_log)
    if where.actor is not None:
        query = query.where(audit_log.c.actor == where.actor)
    if where.action is not None:
        query = query.where(audit_log.c.action == where.action)
    if where.day is not None:
        start = dt.datetime.combine(where.day, dt.time(), tzinfo=dt.UTC)
        query = query.where(audit_log.c.at >= start, audit_log.c.at < start + dt.timedelta(days=1))
    if beyond is not None:
        query = query.where(audit_log.c.id > beyond if ascending else audit_log.c.id < beyond)
    order = audit_log.c.id if ascending else audit_log.c.id.desc()
    return list(connection.execute(query.order_by(order).limit(limit)).all())


def trail_names(connection: Connection, *, newest: int = 100_000) -> tuple[list[str], list[str]]:
    """The actions and the actors (principals) of the ``newest`` entries, sorted: what an auditor filters by.

    Bounded, so that showing the filter costs the same on a trail of billions (the trail grows with every
    decision and has no index on either column); an older action or actor is still matched when asked for.
    """
    recent = sa.select(audit_log.c.action, audit_log.c.actor).order_by(audit_log.c.id.desc()).limit(newest).subquery()
    actions = connection.execute(sa.select(recent.c.action).distinct().order_by(recent.c.action))
    actors = connection.execute(sa.select(recent.c.actor).distinct().order_by(recent.c.actor))
    return list(actions.scalars()), list(actors.scalars())
