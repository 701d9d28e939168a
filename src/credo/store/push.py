"""Records pushed over the API: the outcomes of file ingestion, for a few records at a time, in Python.

A source's push is small (at most :data:`MAX_RECORDS` records) and must be
answered in milliseconds, so it does not start the DuckDB pipeline of
:mod:`credo.services.ingest_pipeline`. It keeps that pipeline's rules exactly:

* every record is checked by :func:`credo.domain.records.parse_row`, which
  the tests hold equal to the batch SQL checks, then the source rules in the
  same order (the record's source must be the caller's, registered, enabled
  and registered for the category); parse_row also refuses what the
  store's columns cannot hold (over-long ids, control characters, amounts
  and dates out of range), on both paths;
* the same content hash (:data:`credo.services.ingest_pipeline.CONTENT_HASH_SQL`, here
  in Python; a test holds them equal) decides ``new`` / ``version`` /
  ``unchanged``, with the same rule for a record sent in several versions at
  once (:meth:`credo.services.ingest_pipeline.Pipeline._classify`);
* a rejected record is kept in the quarantine with its reason, its place in
  the push (``file`` is ``api:SOURCE:PUSH_ID``) and its content encrypted;
* every subject touched is returned, for the caller to rescore in the same transaction.

A property test pushes the same records through both paths and compares
the stores.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.domain.records import FIELD_ORDER, DuplicateKeys, Reason, Record, has_control, parse_row
from credo.store.bulk_io import placeholder, select_in
from credo.store.errors import ForbiddenError, NotFoundError
from credo.store.keys import KeyRing
from credo.store.moves import close_moved_disputes
from credo.store.quarantine import SOURCE_NOT_CALLER, api_label, raw_json
from credo.store.sources import Source, source_allows
from credo.store.subjects import ensure_subjects
from credo.store.tables import quarantine, records

__all__ = [
    "MAX_RECORDS",
    "NOT_AN_OBJECT",
    "SOURCE_NOT_CALLER",
    "PushResult",
    "content_hash",
    "store_pushed",
    "supersede",
    "withdraw_record",
]

MAX_RECORDS = 1000
NOT_AN_OBJECT = "record is not a JSON object"
_ABSENT = "\x1e"


def content_hash(record: Record, subject_pk: int) -> bytes:
    """:data:`credo.services.ingest_pipeline.CONTENT_HASH_SQL` in Python (printf's %.17g is Python's too)."""
    parts = (
        "credo-record-v1",
        record.source,
        record.record_id,
        str(subject_pk),
        record.category,
        record.occurred_on.isoformat(),
        _ABSENT if record.amount is None else "%.17g" % record.amount,  # noqa: UP031 (C printf semantics)
        _ABSENT if record.resolved_on is None else record.resolved_on.isoformat(),
        record.status,
        _ABSENT if record.reference is None else record.reference,
    )
    return hashlib.sha256("\x1f".join(parts).encode()).digest()


@dataclass
class PushResult:
    """One pushed record's outcome. ``subject_pk`` is internal (for the audit), never sent back."""

    index: int
    outcome: str  # new | version | unchanged | rejected
    source: str | None = None
    record_id: str | None = None
    version: int | None = None
    reason: str | None = None
    subject_pk: int | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"index": self.index, "outcome": self.outcome}
        if self.record_id is not None:
            data["record_id"] = self.record_id
        if self.version is not None:
            data["version"] = self.version
        if self.reason is not None:
            data["reason"] = self.reason
        return data


def _check(row: object, caller: Source) -> Record | str:
    if not isinstance(row, Mapping):
        return NOT_AN_OBJECT
    given: dict[str, object] = DuplicateKeys(row) if isinstance(row, DuplicateKeys) else dict(row)
    if given.get("source") in (None, ""):
        given["source"] = caller.id  # a source may leave out its own id
    parsed = parse_row(given)
    if isinstance(parsed, str):
        return parsed
    if parsed.source != caller.id:
        return SOURCE_NOT_CALLER
    return source_allows(caller, parsed.category) or parsed


def _raw(row: object, caller: Source) -> dict[str, object]:
    """The row as kept in the quarantine: its fields, its source filled in; a non-object as text, with why."""
    if not isinstance(row, Mapping):
        return {"malformed": NOT_AN_OBJECT, "text": raw_json(row)[:10_000]}
    kept = {name: row.get(name) for name in FIELD_ORDER}
    if kept["source"] in (None, ""):
        kept["source"] = caller.id
    if isinstance(row, DuplicateKeys):  # only one value of a repeated key is kept: a retry must not take it
        kept["malformed"] = Reason.DUPLICATE_KEYS
    return kept


@dataclass
class _Row:
    index: int
    record: Record
    subject_pk: int
    digest: bytes


def _latest(connection: Connection, source: str, record_ids: Sequence[str]) -> dict[str, tuple[int, int, bytes, int]]:
    head = f"""SELECT record_id, id, version, content_hash, subject_id FROM records
               WHERE is_latest AND source_id = {placeholder(connection)}"""
    found = select_in(connection, head, "record_id", list(record_ids), (source,))
    return {r[0]: (int(r[1]), int(r[2]), bytes(r[3]), int(r[4])) for r in found}


def _history(connection: Connection, source: str, record_id: str) -> dict[int, bytes]:
    rows = connection.execute(
        sa.select(records.c.version, records.c.content_hash).where(
            records.c.source_id == source, records.c.record_id == record_id
        )
    )
    return {int(v): bytes(h) for v, h in rows}


def _unchanged_prefix(
    connection: Connection, source: str, record_id: str, hashes: list[bytes], old: tuple[int, int, bytes, int] | None
) -> int:
    """How many of ``hashes`` (a record's rows, repeats dropped) equal the last stored versions, in order."""
    if old is None or not hashes:
        return 0
    stored, latest_hash = old[1], old[2]
    if len(hashes) == 1 or stored == 1:
        return int(hashes[0] == latest_hash)
    history = _history(connection, source, record_id)
    best = 0
    for k in range(1, min(len(hashes), stored) + 1):
        if all(history.get(stored - k + 1 + j) == hashes[j] for j in range(k)):
            best = k
    return best


def store_pushed(
    connection: Connection,
    ring: KeyRing,
    caller: Source,
    rows: Sequence[object],
    *,
    today: dt.date,
    now: dt.datetime,
    push_id: str,
) -> tuple[list[PushResult], set[int]]:
    """Store a source's pushed records; one result per row, in order, and the subjects to rescore.

    The caller rescores them in the same transaction (the API rescores the
    subjects of every push its group transaction holds at once). A record
    moved to another subject closes the disputes on it (:mod:`credo.store.moves`).
    """
    results: list[PushResult] = []
    good: list[tuple[int, Record]] = []
    rejected: dict[tuple[str, str], dict[str, Any]] = {}  # by (reason, content): each kept once
    for index, row in enumerate(rows):
        checked = _check(row, caller)
        if isinstance(checked, str):
            record_id = row.get("record_id") if isinstance(row, Mapping) else None
            results.append(PushResult(index, "rejected", reason=checked, record_id=_short_text(record_id)))
            text = raw_json(_raw(row, caller))
            rejected.setdefault(
                (checked, text),
                {
                    "file": api_label(caller.id, push_id),
                    "row_number": index + 1,
                    "reason": checked,
                    "raw_enc": ring.encrypt(text.encode()),
                    "received_at": now,
                    "state": "open",
                },
            )
        else:
            results.append(PushResult(index, "", caller.id, checked.record_id))
            good.append((index, checked))
    if rejected:
        for key in _already_quarantined(connection, ring, caller.id):
            rejected.pop(key, None)
        if rejected:
            connection.execute(sa.insert(quarantine), list(rejected.values()))
    touched, moved = _store(connection, ring, caller.id, good, results, now=now) if good else (set(), [])
    close_moved_disputes(connection, moved, today=today, now=now)
    return results, touched


def _already_quarantined(connection: Connection, ring: KeyRing, source: str) -> set[tuple[str, str]]:
    """(reason, content) of the caller's pushed records still open in the quarantine: a re-send is not kept twice."""
    rows = connection.execute(
        sa.select(quarantine.c.reason, quarantine.c.raw_enc).where(
            quarantine.c.state == "open", quarantine.c.file.startswith(api_label(source, ""), autoescape=True)
        )
    )
    return {(reason, ring.decrypt(sealed).decode()) for reason, sealed in rows}


def _short_text(value: object) -> str | None:
    """A rejected record's id as the answer repeats it: not when it holds what made it rejected (a lone surrogate
    cannot even be sent back as JSON text)."""
    return value[:200] if isinstance(value, str) and not has_control(value) else None


def _store(
    connection: Connection,
    ring: KeyRing,
    source: str,
    good: list[tuple[int, Record]],
    results: list[PushResult],
    *,
    now: dt.datetime,
) -> tuple[set[int], list[tuple[str, str, int]]]:
    """Store the good rows; the subjects touched and the records moved to another subject (new holder)."""
    pairs = list(dict.fromkeys((r.subject_id, r.subject_kind) for _, r in good))
    ids, _created = ensure_subjects(connection, ring, pairs, now)
    pk_of = dict(zip(pairs, ids, strict=True))
    by_key: dict[str, list[_Row]] = {}
    for index, record in good:
        pk = pk_of[(record.subject_id, record.subject_kind)]
        by_key.setdefault(record.record_id, []).append(_Row(index, record, pk, content_hash(record, pk)))
    latest = _latest(connection, source, list(by_key))
    written: list[dict[str, Any]] = []
    superseded: list[int] = []
    touched: set[int] = set()
    moved: list[tuple[str, str, int]] = []
    for record_id, rows in by_key.items():
        old = latest.get(record_id)
        fresh: list[_Row] = []
        for position, row in enumerate(rows):
            if position and row.digest == rows[position - 1].digest:  # a re-send within the push
                results[row.index].outcome = "unchanged"
            else:
                fresh.append(row)
        stored = 0 if old is None else old[1]
        keep = _unchanged_prefix(connection, source, record_id, [r.digest for r in fresh], old)
        version = stored
        for j, row in enumerate(fresh):
            result = results[row.index]
            result.subject_pk = row.subject_pk
            if j < keep:
                result.outcome, result.version = "unchanged", stored - keep + j + 1
                continue
            version += 1
            result.outcome, result.version = ("new" if old is None and j == 0 else "version"), version
            written.append(_values(row, version, now))
            touched.add(row.subject_pk)
        for row in rows:
            results[row.index].subject_pk = row.subject_pk
            if results[row.index].version is None and results[row.index].outcome == "unchanged":
                results[row.index].version = version
        if version > stored:
            written[-1]["is_latest"] = True
            if old is not None:
                superseded.append(old[0])
                touched.add(old[3])
                if written[-1]["subject_id"] != old[3]:
                    moved.append((source, record_id, written[-1]["subject_id"]))
    if superseded:
        connection.execute(sa.update(records).where(records.c.id.in_(superseded)).values(is_latest=False))
    if written:
        connection.execute(sa.insert(records), written)
    return touched, moved


def _values(row: _Row, version: int, now: dt.datetime) -> dict[str, Any]:
    r = row.record
    return {
        "source_id": r.source,
        "record_id": r.record_id,
        "version": version,
        "subject_id": row.subject_pk,
        "category": r.category,
        "occurred_on": r.occurred_on,
        "amount": r.amount,
        "resolved_on": r.resolved_on,
        "status": r.status,
        "reference": r.reference,
        "content_hash": row.digest,
        "received_at": now,
        "is_latest": False,
    }


def withdraw_record(connection: Connection, caller: Source, record_id: str, now: dt.datetime) -> PushResult:
    """Withdraw one of the caller's records: a new version with status ``withdrawn`` (unchanged if it already is).

    The caller rescores the result's subject in the same transaction.
    """
    if not caller.enabled:
        raise ForbiddenError(f"source {caller.id} is disabled")
    row = connection.execute(
        sa.select(records).where(
            records.c.source_id == caller.id, records.c.record_id == record_id, records.c.is_latest
        )
    ).first()
    if row is None:
        raise NotFoundError(f"source {caller.id} has no record with this record_id")
    if row.status == "withdrawn":
        return PushResult(0, "unchanged", caller.id, record_id, int(row.version), subject_pk=int(row.subject_id))
    record = Record(
        source=caller.id,
        record_id=record_id,
        subject_id="",
        subject_kind="",
        category=row.category,
        occurred_on=row.occurred_on,
        amount=row.amount,
        resolved_on=row.resolved_on,
        status="withdrawn",
        reference=row.reference,
    )
    version = supersede(connection, row, record, now)
    return PushResult(0, "version", caller.id, record_id, version, subject_pk=int(row.subject_id))


def supersede(connection: Connection, latest: Any, record: Record, now: dt.datetime) -> int:
    """Store ``record`` as the next version after the stored row ``latest``, which stops being the latest.

    For changes made in the store itself (a withdrawal, a reviewer's correction), one record at a time; returns
    the new version number.
    """
    pk, version = int(latest.subject_id), int(latest.version) + 1
    connection.execute(sa.update(records).where(records.c.id == latest.id).values(is_latest=False))
    values = _values(_Row(0, record, pk, content_hash(record, pk)), version, now)
    values["is_latest"] = True
    connection.execute(sa.insert(records).values(values))
    return version
