"""``credo keys rotate``: a new key version, and every hash and ciphertext in the store redone under it.

Order, so that a crash at any point loses nothing:

1. The key file is rewritten with the old versions plus the new one. The
   database still records the old version as its own, so lookups go on using
   the old hashes.
2. One transaction re-hashes every subject, re-encrypts every identifier and
   every other ciphertext (quarantined rows, dispute statements, addresses,
   webhook secrets, deliveries), and records the new version as the
   database's. It commits whole or not at all.
3. The key file is rewritten with the new version alone.

A crash before 2 commits leaves the store on the old keys (run rotate again);
a crash between 2 and 3 leaves an extra old version in the file, which the
next rotation drops. Keys from ``CREDO_KEYS`` cannot be rewritten: rotation
needs a key file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.store import keys as keymod
from credo.store.bootstrap import Store, record_key_check
from credo.store.errors import KeyFileError
from credo.store.keys import KeyRing
from credo.store.list_members import rekey
from credo.store.tables import (
    deliveries,
    disputes,
    quarantine,
    signin_links,
    subject_contacts,
    subjects,
    web_sessions,
    webhooks,
)

__all__ = ["RotationReport", "rotate_keys"]


@dataclass(frozen=True)
class RotationReport:
    old_version: int
    new_version: int
    subjects: int
    quarantined: int


# Every other ciphertext in the store: (table, its key columns, the encrypted column). A new encrypted column
# goes here, or rotation would leave it under a key the file no longer holds.
_SEALED = (
    (quarantine, ("id",), "raw_enc"),
    (disputes, ("id",), "statement_enc"),
    (subject_contacts, ("subject_id",), "email_enc"),
    (webhooks, ("party_kind", "party_id"), "secret_enc"),
    (webhooks, ("party_kind", "party_id"), "previous_secret_enc"),  # NULL unless a replaced secret still signs
    (deliveries, ("id",), "payload_enc"),
    (signin_links, ("id",), "principal_enc"),
    (web_sessions, ("id",), "principal_enc"),
)


def _reseal(connection: Connection, ring: KeyRing, table: sa.Table, keys: tuple[str, ...], column: str) -> int:
    count = 0
    for row in connection.execute(sa.select(*(table.c[k] for k in keys), table.c[column])).all():
        if row._mapping[column] is None:
            continue
        where = [table.c[k] == row._mapping[k] for k in keys]
        sealed = ring.encrypt(ring.decrypt(row._mapping[column]))
        connection.execute(sa.update(table).where(*where).values({column: sealed}))
        count += 1
    return count


def _rewrite(connection: Connection, ring: KeyRing) -> tuple[int, int]:
    if connection.dialect.name == "postgresql":
        names = ", ".join(dict.fromkeys(["subjects", "list_members", *(table.name for table, _, _ in _SEALED)]))
        connection.execute(sa.text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))
    count_subjects = 0
    for row in connection.execute(sa.select(subjects.c.id, subjects.c.kind, subjects.c.identifier_enc)).all():
        identifier = ring.decrypt(row.identifier_enc)
        connection.execute(
            sa.update(subjects)
            .where(subjects.c.id == row.id)
            .values(
                subject_key=ring.subject_key(identifier.decode(), row.kind),
                identifier_enc=ring.encrypt(identifier),
                key_version=ring.current,
            )
        )
        count_subjects += 1
    rekey(connection)  # the list lookup's read model keys subjects by the same keyed hash
    counts = [_reseal(connection, ring, *sealed) for sealed in _SEALED]
    record_key_check(connection, ring)
    return count_subjects, counts[0]


def rotate_keys(store: Store) -> RotationReport:
    env = os.environ if store.environ is None else store.environ
    if env.get(keymod.ENV_KEYS):
        raise KeyFileError(f"keys come from {keymod.ENV_KEYS}, which Credo cannot rewrite: rotation needs a key file")
    path = store.key_file()
    with store.begin() as connection:
        old = store.keys(connection)
    new = old.with_new_version()
    keymod.save_keys(new, path)  # step 1: old and new side by side
    with store.begin() as connection:  # step 2: everything or nothing
        counts = _rewrite(connection, new)
    keymod.save_keys(new.only_current(), path)  # step 3: the old keys go
    return RotationReport(old.current, new.current, *counts)
