"""Subjects in the store: found by keyed hash, identifier kept only encrypted.

Pushes and ingestion create subjects with :func:`ensure_subjects` (in bulk); notices call
:func:`identifier_of`. Neither ever writes the identifier in the clear.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.domain.identifiers import problem_with_identifier
from credo.domain.records import KINDS
from credo.store.bulk_io import insert_dicts, select_in
from credo.store.keys import KeyRing
from credo.store.tables import records, subjects

__all__ = ["ensure_subject", "ensure_subjects", "find_subject", "has_records", "identifier_of", "stored_subjects"]


def find_subject(connection: Connection, ring: KeyRing, identifier: str, kind: str) -> int | None:
    key = ring.subject_key(identifier, kind)
    return connection.execute(sa.select(subjects.c.id).where(subjects.c.subject_key == key)).scalar()


def stored_subjects(
    connection: Connection, ring: KeyRing, identifier: str, kind: str | None = None
) -> list[tuple[int, str]]:
    """(surrogate id, kind) of each stored subject the identifier names, as ``kind`` or as each kind it is valid for."""
    valid = [k for k in ((kind,) if kind else KINDS) if problem_with_identifier(identifier, k) is None]
    return [(sid, k) for k in valid if (sid := find_subject(connection, ring, identifier, k)) is not None]


def ensure_subject(connection: Connection, ring: KeyRing, identifier: str, kind: str, now: dt.datetime) -> int:
    """The subject's surrogate id, creating the subject on first sight."""
    found = find_subject(connection, ring, identifier, kind)
    if found is not None:
        return found
    values = {
        "subject_key": ring.subject_key(identifier, kind),
        "kind": kind,
        "identifier_enc": ring.encrypt(identifier.encode()),
        "key_version": ring.current,
        "created_at": now,
    }
    return int(connection.execute(sa.insert(subjects).values(values).returning(subjects.c.id)).scalar_one())


def identifier_of(connection: Connection, ring: KeyRing, subject_id: int) -> tuple[str, str]:
    """(identifier, kind) of a stored subject: for notices to the subject, never for logs."""
    row = connection.execute(
        sa.select(subjects.c.identifier_enc, subjects.c.kind).where(subjects.c.id == subject_id)
    ).one()
    return ring.decrypt(row.identifier_enc).decode(), row.kind


def has_records(connection: Connection, subject_id: int) -> bool:
    """Whether any record names the subject (a person may give consent before its first record)."""
    found = connection.execute(sa.select(records.c.id).where(records.c.subject_id == subject_id).limit(1)).first()
    return found is not None


def _lookup_subjects(connection: Connection, keys: Sequence[bytes]) -> dict[bytes, int]:
    rows = select_in(connection, "SELECT subject_key, id FROM subjects", "subject_key", keys)
    return {bytes(k): int(i) for k, i in rows}


def ensure_subjects(
    connection: Connection, ring: KeyRing, pairs: Sequence[tuple[str, str]], now: dt.datetime
) -> tuple[list[int], frozenset[int]]:
    """The surrogate ids of (identifier, kind) pairs, creating the missing subjects in bulk; and those created.

    The bulk twin of :func:`credo.store.subjects.ensure_subject`: the same
    keyed hash and encryption, one lookup per :data:`~credo.store.chunks.IN_LIST` keys and one
    multi-row insert for the new subjects.
    """
    keys = [ring.subject_key(identifier, kind) for identifier, kind in pairs]
    found = _lookup_subjects(connection, keys)
    new: dict[bytes, dict[str, Any]] = {}
    for key, (identifier, kind) in zip(keys, pairs, strict=True):
        if key not in found and key not in new:
            new[key] = {
                "subject_key": key,
                "kind": kind,
                "identifier_enc": ring.encrypt(identifier.encode()),
                "key_version": ring.current,
                "created_at": now,
            }
    created: frozenset[int] = frozenset()
    if new:
        insert_dicts(connection, subjects, list(new.values()))
        made = _lookup_subjects(connection, list(new))
        found.update(made)
        created = frozenset(made.values())
    return [found[key] for key in keys], created
