"""A database copied without its keys does not reveal who is scored; rotation redoes every hash and ciphertext.

The subjects here are made with make_resident_id / make_uscc: nobody real.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from credo.domain.identifiers import make_resident_id, make_uscc
from credo.store import keys as keymod
from credo.store.bootstrap import Store, init_store, open_store
from credo.store.errors import KeyFileError
from credo.store.quarantine import quarantine_row, raw_row
from credo.store.rotate import rotate_keys
from credo.store.subjects import ensure_subject, find_subject, identifier_of
from credo.store.tables import disputes, metadata, subject_contacts, subjects

NOW = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)
PEOPLE = [make_resident_id("110101", dt.date(1980 + i, 1 + i, 10 + i), 100 + i) for i in range(5)]
ORGS = [make_uscc("91110101", f"MA00000{i}") for i in range(3)]
EVERYONE = [(p, "person") for p in PEOPLE] + [(o, "organization") for o in ORGS]


def fill(store: Store) -> None:
    with store.begin() as connection:
        ring = store.keys(connection)
        for identifier, kind in EVERYONE:
            ensure_subject(connection, ring, identifier, kind, NOW)
        for number, (identifier, kind) in enumerate(EVERYONE[:3], start=2):
            raw = {"subject_id": identifier, "subject_kind": kind, "category": "tax.late_payment"}
            quarantine_row(
                connection, ring, file="feed.csv", row_number=number, reason="unregistered source", raw=raw, now=NOW
            )
        first = connection.execute(sa.select(sa.func.min(subjects.c.id))).scalar_one()
        connection.execute(
            sa.insert(disputes).values(
                dispute_id="d-1", kind="dispute", subject_id=first, source_id="court", record_id="J-1",
                statement_enc=ring.encrypt(b"I paid on 2026-04-02"), suspends=True, opened_on=NOW.date(),
                deadline=NOW.date(), state="open", created_at=NOW,
            )
        )  # fmt: skip
        connection.execute(
            sa.insert(subject_contacts).values(subject_id=first, email_enc=ring.encrypt(b"me@example.org"), since=NOW)
        )


def every_stored_byte(store: Store) -> bytes:
    """Every value of every table, as bytes; for SQLite also the database files themselves."""
    chunks = []
    with store.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(sa.select(table)):
                chunks += [v if isinstance(v, bytes) else str(v).encode() for v in row]
    store.engine.dispose()
    path = store.url.database
    if store.url.get_backend_name() == "sqlite" and path:
        chunks += [f.read_bytes() for f in Path(path).parent.glob(Path(path).name + "*") if not f.name.endswith("keys")]
    return b"\n".join(chunks)


def guesses(identifier: str, kind: str) -> list[bytes]:
    """What an attacker without the key could compute from a candidate identifier."""
    texts = [identifier, f"{kind}\x1f{identifier}", f"{kind}:{identifier}", f"{identifier}{kind}"]
    out = []
    for text in texts:
        data = text.encode()
        out += [data, data.hex().encode(), identifier.encode("utf-16-le")]
        for name in ("sha256", "sha1", "md5", "sha512", "blake2b"):
            digest = hashlib.new(name, data).digest()
            out += [digest, digest.hex().encode()]
        for empty_key in (b"", b"\0" * 32):
            digest = hmac.new(empty_key, data, hashlib.sha256).digest()
            out += [digest, digest.hex().encode()]
    return out


def test_a_copied_database_alone_reveals_no_identifier(store: Store) -> None:
    fill(store)
    stored = every_stored_byte(store)
    assert b"unregistered source" in stored and b"organization" in stored  # the walk reads what is stored
    for identifier, kind in EVERYONE:
        assert identifier.encode() not in stored
        assert identifier[:-1].encode() not in stored  # not even the identifier without its check character
        for guess in guesses(identifier, kind):
            assert guess not in stored


def test_hashing_candidates_without_the_key_finds_nobody(store: Store) -> None:
    fill(store)
    with store.engine.connect() as connection:
        stored_keys = set(connection.execute(sa.select(subjects.c.subject_key)).scalars())
    assert len(stored_keys) == len(EVERYONE)
    for identifier, kind in EVERYONE:  # the attacker knows the scheme, even the candidates, but not the key
        assert stored_keys.isdisjoint(guesses(identifier, kind))
        assert keymod.new_keyring().subject_key(identifier, kind) not in stored_keys
    with store.begin() as connection:  # with the key, every subject is found
        ring = store.keys(connection)
        assert all(find_subject(connection, ring, i, k) for i, k in EVERYONE)


def test_rotation_rehashes_and_reencrypts_everything_and_drops_the_old_keys(store: Store) -> None:
    fill(store)
    old_file = store.key_file().read_bytes()
    before = every_stored_byte(store)
    report = rotate_keys(store)
    assert (report.old_version, report.new_version) == (1, 2)
    assert (report.subjects, report.quarantined) == (len(EVERYONE), 3)
    assert store.key_file().stat().st_mode & 0o777 == 0o600
    with store.begin() as connection:
        ring = store.keys(connection)
        assert set(ring.versions) == {2}
        assert set(connection.execute(sa.select(subjects.c.key_version)).scalars()) == {2}
        for identifier, kind in EVERYONE:
            subject = find_subject(connection, ring, identifier, kind)
            assert subject is not None
            assert identifier_of(connection, ring, subject) == (identifier, kind)
        assert raw_row(connection, ring, 1)["subject_id"] == EVERYONE[0][0]
        # Every other ciphertext too: a statement or an address left under the dropped key would be lost.
        statement = connection.execute(sa.select(disputes.c.statement_enc)).scalar_one()
        assert ring.decrypt(statement) == b"I paid on 2026-04-02"
        assert (
            ring.decrypt(connection.execute(sa.select(subject_contacts.c.email_enc)).scalar_one()) == b"me@example.org"
        )
    after = every_stored_byte(store)
    old_ring = keymod.from_json(old_file.decode(), "old")
    for identifier, kind in EVERYONE:
        assert old_ring.subject_key(identifier, kind) in before
        assert old_ring.subject_key(identifier, kind) not in after


def test_a_key_file_from_another_store_is_refused(store: Store, tmp_path: Path) -> None:
    fill(store)
    keymod.save_keys(keymod.new_keyring(), store.key_file())
    with pytest.raises(KeyFileError, match="do not belong to this database"), store.begin() as connection:
        store.keys(connection)


def test_a_rotation_cut_short_before_its_commit_leaves_the_store_on_the_old_keys(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(store)
    from credo.store import rotate

    def crash(*_: object) -> tuple[int, int]:
        raise RuntimeError("power cut")

    monkeypatch.setattr(rotate, "_rewrite", crash)
    with pytest.raises(RuntimeError):
        rotate_keys(store)
    with store.begin() as connection:  # the file holds versions 1 and 2; the database still uses 1
        ring = store.keys(connection)
        assert ring.current == 1 and set(ring.versions) == {1, 2}
        assert all(find_subject(connection, ring, i, k) for i, k in EVERYONE)
    monkeypatch.undo()
    assert rotate_keys(store).new_version == 3
    with store.begin() as connection:
        ring = store.keys(connection)
        assert set(ring.versions) == {3}
        assert all(find_subject(connection, ring, i, k) for i, k in EVERYONE)


def test_rotation_refuses_keys_from_the_environment(store: Store) -> None:
    env = {"CREDO_KEYS": "e30="}
    with pytest.raises(KeyFileError, match="rotation needs a key file"):
        rotate_keys(Store(store.url, store.engine, env))


def test_a_sqlite_file_copied_without_its_keys_is_unusable(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'credo.db'}", environ={})
    init_store(store)
    fill(store)
    store.engine.dispose()
    copy = tmp_path / "stolen" / "credo.db"
    copy.parent.mkdir()
    shutil.copy(str(store.url.database), copy)
    thief = open_store(f"sqlite:///{copy}", environ={})
    with pytest.raises(KeyFileError, match="key file is missing"), thief.begin() as connection:
        thief.keys(connection)
