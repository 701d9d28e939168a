"""Keys: hashing and encryption, and where the key material may come from (never a file others can read)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from credo.store import keys
from credo.store.errors import KeyFileError
from tests.support import ORG, PERSON


def test_encryption_round_trips_and_names_its_key_version() -> None:
    ring = keys.new_keyring()
    sealed = ring.encrypt(PERSON.encode())
    assert PERSON.encode() not in sealed
    assert keys.KeyRing.key_version_of(sealed) == 1
    assert ring.decrypt(sealed) == PERSON.encode()
    assert ring.encrypt(PERSON.encode()) != sealed  # a fresh nonce each time


def test_a_tampered_or_foreign_ciphertext_does_not_open() -> None:
    ring = keys.new_keyring()
    sealed = bytearray(ring.encrypt(b"x" * 18))
    sealed[-1] ^= 1
    with pytest.raises(KeyFileError, match="does not open"):
        ring.decrypt(bytes(sealed))
    with pytest.raises(KeyFileError, match="does not open"):
        keys.new_keyring().decrypt(ring.encrypt(b"abc"))


def test_subject_keys_depend_on_key_kind_and_identifier() -> None:
    ring, other = keys.new_keyring(), keys.new_keyring()
    assert ring.subject_key(PERSON, "person") == ring.subject_key(PERSON, "person")
    assert ring.subject_key(PERSON, "person") != other.subject_key(PERSON, "person")
    assert ring.subject_key(PERSON, "person") != ring.subject_key(PERSON, "organization")
    assert ring.subject_key(PERSON, "person") != ring.subject_key(ORG, "person")


def test_a_key_file_is_created_private_and_read_back(tmp_path: Path) -> None:
    ring = keys.new_keyring().with_new_version()
    path = tmp_path / "credo.db.keys"
    keys.save_keys(ring, path)
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = keys.load_keys(path, {})
    assert loaded.current == 2 and loaded.versions == ring.versions


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_a_key_file_others_can_read_or_write_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "credo.db.keys"
    keys.save_keys(keys.new_keyring(), path)
    os.chmod(path, mode)
    with pytest.raises(KeyFileError, match=f"mode {mode:04o}.*chmod 600"):
        keys.load_keys(path, {})


def test_keys_from_the_environment_and_from_credo_key_file(tmp_path: Path) -> None:
    ring = keys.new_keyring()
    encoded = base64.b64encode(keys.to_json(ring).encode()).decode()
    assert keys.load_keys(None, {"CREDO_KEYS": encoded}).versions == ring.versions
    elsewhere = tmp_path / "vault" / "credo.keys"
    keys.save_keys(ring, elsewhere)
    assert keys.load_keys(tmp_path / "absent", {"CREDO_KEY_FILE": str(elsewhere)}).versions == ring.versions


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CREDO_KEYS": "not base64!"}, "CREDO_KEYS is not base64"),
        ({"CREDO_KEYS": base64.b64encode(b'{"format": 1}').decode()}, "not a Credo key set"),
        ({}, "set CREDO_KEY_FILE or CREDO_KEYS"),
    ],
)
def test_unusable_key_settings_are_clear_errors(environ: dict[str, str], message: str) -> None:
    with pytest.raises(KeyFileError, match=message):
        keys.load_keys(None, environ)


def test_a_missing_key_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="run credo init"):
        keys.load_keys(tmp_path / "credo.db.keys", {})
