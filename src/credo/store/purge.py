"""Retention in the store: purge the records kept past the rulebook's retention period (``credo purge``).

Which records are due is decided by :func:`credo.domain.retention.due`, from
the latest version of every record old enough to be due, the disputes on
them and the rulebooks in force from today on. Purging is ONE transaction
that keeps writers out: every version of each due record is deleted, a
tombstone (source, record_id, versions, category, content hash of the latest
version, the last day it could count, when) takes its place, the decided
disputes on it go, and a subject left with no record and no open dispute
disappears with every row about it (scores, outbox, disputes, consents,
contact, deliveries, the subject). Decisions and the audit trail keep their
surrogate ids: they outlive the purge. The act is appended to the audit
trail in the same transaction, with counts only.

Set-based: the due keys go to a temporary table once, and every delete is
one statement joined to it (docs/store.md, "Retention and purging").
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.domain.retention import Held, due
from credo.domain.rulebook import Rulebook
from credo.store.bulk_io import driver_cursor, insert_dicts, placeholder
from credo.store.chunks import chunks
from credo.store.keys import KeyRing
from credo.store.rulebooks import rulebook_at
from credo.store.tables import (
    consents,
    current_scores,
    deliveries,
    disputes,
    list_members,
    outbox,
    quarantine,
    rulebook_activations,
    subject_contacts,
    subjects,
    tombstones,
)

__all__ = ["ACTION", "PurgeReport", "purge"]

ACTION = "records.purge"
FETCH = 100_000  # rows per fetch of the candidates

Progress = Callable[[str], None]
# What runs first in the purge's transaction, as the daily refresh does (:func:`credo.services.retention.purge`
# passes it: lapse overdue disputes, then refresh stale states).
Before = Callable[[Connection, dt.date], object]

_KEYS = sa.Table(
    "credo_purge_keys",
    sa.MetaData(),
    sa.Column("source_id", sa.String(100), primary_key=True),
    sa.Column("record_id", sa.String(200), primary_key=True),
    sa.Column("sealed_id", sa.String(64), nullable=False),  # the record id as its tombstone keeps it
    prefixes=["TEMPORARY"],
)
# A tombstone keeps the record id only as a keyed hash: in clear it would join the audit trail's record.new
# entries (which name the subject's surrogate id) and tell again whom a purged record was about.
_TOMB = "EXISTS (SELECT 1 FROM credo_purge_keys k WHERE k.source_id = {t}.source_id AND k.sealed_id = {t}.record_id)"
_MATCH = "EXISTS (SELECT 1 FROM credo_purge_keys k WHERE k.source_id = {t}.source_id AND k.record_id = {t}.record_id)"
_CANDIDATES = """SELECT r.source_id, r.record_id, r.version, s.kind, r.category, r.occurred_on, r.amount,
       r.resolved_on, r.status, r.received_at, r.content_hash, r.subject_id
FROM records r JOIN subjects s ON s.id = r.subject_id
WHERE r.is_latest AND r.occurred_on < {mark}"""
# Rows per subject among the records to purge, and in all: a subject whose every row goes is left with nothing.
_TOUCHED = f"SELECT r.subject_id, count(*) FROM records r WHERE {_MATCH.format(t='r')} GROUP BY r.subject_id"
_ROWS = "SELECT subject_id, count(*) FROM records GROUP BY subject_id"
_DISPUTING = "SELECT DISTINCT subject_id FROM disputes WHERE state = 'open'"


@dataclass(frozen=True)
class PurgeReport:
    """What a purge took (or, on a dry run, would take): counts only, never identifiers or content."""

    as_of: dt.date
    rulebook_version: str
    keep_for: int | None  # days; None: the rulebook in force sets no retention period
    dry_run: bool
    records: dict[str, int] = field(default_factory=dict)  # by category
    versions: dict[str, int] = field(default_factory=dict)  # by category
    subjects: int = 0  # subjects left with no record, gone
    seconds: float = 0.0
    quarantined: int = 0  # quarantined rows (raw copies of rows as received) older than the retention period

    @property
    def total_records(self) -> int:
        return sum(self.records.values())

    @property
    def total_versions(self) -> int:
        return sum(self.versions.values())

    def audit_detail(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "rulebook_version": self.rulebook_version,
            "keep_for_days": self.keep_for,
            "records": self.total_records,
            "versions": self.total_versions,
            "subjects": self.subjects,
            "quarantined": self.quarantined,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            **self.audit_detail(),
            "dry_run": self.dry_run,
            "by_category": [
                {"category": c, "records": self.records[c], "versions": self.versions[c]} for c in sorted(self.records)
            ],
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class _Due:
    source: str
    record_id: str
    versions: int
    category: str
    content_hash: bytes
    counted_until: dt.date | None


def sealed_record_id(ring: KeyRing, source: str, record_id: str) -> str:
    """A record id as a tombstone keeps it: HMAC-SHA256 (hex) under the store's key, of its source and id."""
    return ring.subject_key(f"{source}\x1f{record_id}", "tombstone").hex()


def _date(value: Any) -> dt.date | None:
    """A date as the driver gives it: a date on PostgreSQL, ISO text on SQLite; timestamps to their UTC day."""
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).date() if value.tzinfo is not None else value.date()
    return dt.date.fromisoformat(str(value)[:10])


def _lock(connection: Connection) -> None:
    """Keep writers out until commit: what is purged must be what was judged due."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            "LOCK TABLE records, subjects, current_scores, list_members, disputes, tombstones, consents, "
            "subject_contacts, outbox, deliveries, quarantine IN SHARE ROW EXCLUSIVE MODE"
        )
        return
    raw = connection.connection.driver_connection
    if not raw.in_transaction:  # type: ignore[union-attr]
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _books(connection: Connection, today: dt.date, in_force: Rulebook) -> list[Rulebook]:
    """The rulebook in force and every version already activated for a later day: none may see a purged record."""
    later = connection.execute(
        sa.select(rulebook_activations.c.active_from).where(rulebook_activations.c.active_from > today).distinct()
    ).scalars()
    return [in_force, *(rulebook_at(connection, day)[1] for day in sorted(later))]


def _due_process(connection: Connection) -> tuple[set[tuple[str, str]], dict[tuple[str, str, int], dt.date]]:
    """Records under an open dispute or repair application, and the day each removed or repaired one went.

    A removal holds for the subject that disputed (source, record_id, subject): a record moved to another
    subject counts for that one (:mod:`credo.store.moves`).
    """
    open_, removed = set(), {}
    query = sa.select(
        disputes.c.source_id, disputes.c.record_id, disputes.c.subject_id, disputes.c.state, disputes.c.outcome,
        disputes.c.decided_on,
    )  # fmt: skip
    for source, record_id, subject_id, state, outcome, decided_on in connection.execute(query):
        if state == "open":
            open_.add((source, record_id))
        elif outcome in {"removed", "granted"}:
            removed[(source, record_id, int(subject_id))] = decided_on
    return open_, removed


def _find_due(
    connection: Connection, books: Sequence[Rulebook], keep_for: int, today: dt.date, progress: Progress
) -> list[_Due]:
    """Every record due, read in batches; only records that occurred more than ``keep_for`` days ago can be."""
    open_, removed = _due_process(connection)
    mark = today - dt.timedelta(days=keep_for)
    found: list[_Due] = []
    read = 0
    with driver_cursor(connection) as cursor:
        cursor.execute(_CANDIDATES.format(mark=placeholder(connection)), [mark.isoformat()])
        while rows := cursor.fetchmany(FETCH):
            read += len(rows)
            progress(f"judging records: {read:,} read")
            latest = {(r[0], r[1]): r for r in rows}
            held = (
                Held(
                    r[0], r[1], r[3], r[4], _date(r[5]) or today, r[6], _date(r[7]),
                    withdrawn_on=_date(r[9]) if r[8] != "active" else None,
                    removed_on=removed.get((r[0], r[1], int(r[11]))),
                    open_due_process=(r[0], r[1]) in open_,
                )
                for r in rows
            )  # fmt: skip
            for d in due(books, keep_for, held, today):
                row = latest[(d.source, d.record_id)]
                found.append(_Due(d.source, d.record_id, int(row[2]), d.category, bytes(row[10]), d.counted_until))
    return found


def _left_with_nothing(connection: Connection) -> list[int]:
    """The subjects all of whose record rows are to be purged, unless they have an open dispute."""
    touched = {int(sid): int(n) for sid, n in connection.execute(sa.text(_TOUCHED))}
    if not touched:
        return []
    rows = {int(sid): int(n) for sid, n in connection.execute(sa.text(_ROWS))}
    disputing = {int(sid) for sid in connection.execute(sa.text(_DISPUTING)).scalars()}
    return sorted(s for s, n in touched.items() if rows.get(s) == n and s not in disputing)


@dataclass(frozen=True)
class _Erasure:
    """What one purge erases, found before anything goes: the records due, their sealed ids, the subjects gone."""

    found: Sequence[_Due]
    sealed: Mapping[tuple[str, str], str]  # (source, record_id) -> the id its tombstone keeps
    gone: Sequence[int]  # subjects left with no record


def _erase(connection: Connection, erasure: _Erasure, today: dt.date, now: dt.datetime) -> None:
    """Tombstones in, the records' versions and decided disputes out, then the subjects left with nothing."""
    found, sealed, gone = erasure.found, erasure.sealed, erasure.gone
    rows = connection.execute(
        sa.text(f"SELECT source_id, record_id, versions FROM tombstones t WHERE {_TOMB.format(t='t')}")
    )
    previous = {(source, sealed_id): versions for source, sealed_id, versions in rows}
    connection.execute(sa.text(f"DELETE FROM tombstones WHERE {_TOMB.format(t='tombstones')}"))
    insert_dicts(
        connection,
        tombstones,
        [
            {
                "source_id": d.source,
                "record_id": sealed[(d.source, d.record_id)],
                "versions": d.versions + previous.get((d.source, sealed[(d.source, d.record_id)]), 0),
                "category": d.category,
                "content_hash": d.content_hash,
                "counted_until": d.counted_until,
                "purged_on": today,
                "purged_at": now,
            }
            for d in found
        ],
    )
    # Messages still owed about the purged records and their disputes (a notice, a statement) go with them.
    owed_about = f"""DELETE FROM deliveries WHERE event_key IN (
        SELECT 'record-' || r.id FROM records r WHERE {_MATCH.format(t="r")}
        UNION SELECT 'dispute-' || d.dispute_id || '-opened' FROM disputes d WHERE {_MATCH.format(t="d")}
        UNION SELECT 'dispute-' || d.dispute_id || '-decided' FROM disputes d WHERE {_MATCH.format(t="d")})"""
    connection.execute(sa.text(owed_about))
    connection.execute(sa.text(f"DELETE FROM disputes WHERE state = 'decided' AND {_MATCH.format(t='disputes')}"))
    connection.execute(sa.text(f"DELETE FROM records WHERE {_MATCH.format(t='records')}"))
    for part in chunks(gone):
        # Every message about the subject, to it or to anyone else (a statement to a source, a change to a bank).
        for table in (current_scores, list_members, outbox, disputes, consents, subject_contacts, deliveries):
            connection.execute(sa.delete(table).where(table.c.subject_id.in_(part)))
        connection.execute(sa.delete(subjects).where(subjects.c.id.in_(part)))


def purge(
    connection: Connection,
    ring: KeyRing,
    *,
    day: dt.date,
    before: Before,
    now: Callable[[], dt.datetime],
    dry_run: bool = False,
    progress: Progress | None = None,
) -> PurgeReport:
    """Purge (or with ``dry_run`` only count) the records past retention on ``day``, in the caller's transaction.

    ``before`` runs first (not for a dry run), after the lock: see :data:`Before`. ``now`` stamps the tombstones.
    The caller audits the report (:func:`credo.services.retention.purge`).
    """
    say = progress or (lambda _phase: None)
    started = time.perf_counter()
    if not dry_run:
        _lock(connection)
    version, book = rulebook_at(connection, day)
    if book.retention is None:
        return PurgeReport(day, version, None, dry_run, seconds=time.perf_counter() - started)
    keep_for = book.retention.keep_for
    if not dry_run:
        # As the daily refresh, first: overdue disputes decided for their subjects (their records may then
        # go), and events of stale states dated from the records that are still there.
        before(connection, day)
    found = _find_due(connection, _books(connection, day, book), keep_for, day, say)
    say("finding the subjects left with no record")
    _KEYS.create(connection)
    sealed = {(d.source, d.record_id): sealed_record_id(ring, d.source, d.record_id) for d in found}
    keys = [{"source_id": s, "record_id": r, "sealed_id": h} for (s, r), h in sealed.items()]
    insert_dicts(connection, _KEYS, keys)
    gone = _left_with_nothing(connection)
    # A quarantined row is the raw copy of a row as received (identifier included): kept no longer than records.
    old_rows = quarantine.c.received_at < dt.datetime.combine(day - dt.timedelta(days=keep_for), dt.time(0), dt.UTC)
    quarantined = connection.execute(sa.select(sa.func.count()).where(old_rows)).scalar_one()
    if not dry_run:
        say("purging")
        _erase(connection, _Erasure(found, sealed, gone), day, now())
        connection.execute(sa.delete(quarantine).where(old_rows))
    _KEYS.drop(connection)
    records: Counter[str] = Counter(d.category for d in found)
    versions: Counter[str] = Counter()
    for d in found:
        versions[d.category] += d.versions
    return PurgeReport(
        day, version, keep_for, dry_run, dict(records), dict(versions), len(gone), time.perf_counter() - started,
        int(quarantined),
    )  # fmt: skip
