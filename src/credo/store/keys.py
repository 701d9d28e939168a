"""Keys that keep identifiers out of the database: versioned HMAC-SHA256 and AES-256-GCM keys.

Why outside the database: a copied ``credo.db`` alone must not reveal who is
scored. Subjects are looked up by ``subject_key`` (an HMAC of kind and
identifier, useless without the key, so candidates cannot be hashed and
compared), and the identifier itself is kept only encrypted for notices.

The key material comes from, in order: ``CREDO_KEYS`` (base64 of the JSON
below), ``CREDO_KEY_FILE``, or a file beside the SQLite database
(``credo.db`` -> ``credo.db.keys``). A key file must be readable by its owner
alone (mode 0600): a looser file is refused, not silently used.

    {"format": 1, "current": 2, "versions": {"1": {"hmac": "<b64>", "aead": "<b64>"}, "2": {...}}}

Ciphertexts start with the 4-byte key version, then the 12-byte nonce, so any
stored value names the key that opens it and rotation can proceed row by row.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from credo.store.errors import KeyFileError

__all__ = ["KeyRing", "KeyVersion", "load_keys", "new_keyring", "save_keys"]

ENV_KEYS = "CREDO_KEYS"
ENV_KEY_FILE = "CREDO_KEY_FILE"
_NONCE = 12
_PREFIX = 4
_CHECK = b"credo key check v1"


@dataclass(frozen=True)
class KeyVersion:
    """One generation of keys: 32 bytes for HMAC-SHA256, 32 for AES-256-GCM."""

    hmac_key: bytes
    aead_key: bytes

    @staticmethod
    def generate() -> KeyVersion:
        return KeyVersion(secrets.token_bytes(32), secrets.token_bytes(32))


@dataclass(frozen=True)
class KeyRing:
    """Every key version still needed, and the current one that new values use."""

    current: int
    versions: Mapping[int, KeyVersion]
    source: str = field(default="memory", compare=False)  # where it came from, for messages

    def subject_key(self, identifier: str, kind: str, version: int | None = None) -> bytes:
        """The lookup key of a subject: HMAC-SHA256 of ``kind``, a separator, and the identifier."""
        key = self._version(self.current if version is None else version).hmac_key
        return hmac.new(key, f"{kind}\x1f{identifier}".encode(), hashlib.sha256).digest()

    def encrypt(self, plaintext: bytes) -> bytes:
        """AES-256-GCM under the current key: version (4 bytes) + nonce (12) + ciphertext and tag."""
        prefix = self.current.to_bytes(_PREFIX, "big")
        nonce = secrets.token_bytes(_NONCE)
        sealed = AESGCM(self._version(self.current).aead_key).encrypt(nonce, plaintext, prefix)
        return prefix + nonce + sealed

    def decrypt(self, blob: bytes) -> bytes:
        """Open a value from :meth:`encrypt`, with whichever key version it names."""
        if len(blob) < _PREFIX + _NONCE + 16:
            raise KeyFileError("an encrypted value in the store is truncated")
        prefix, nonce, sealed = blob[:_PREFIX], blob[_PREFIX : _PREFIX + _NONCE], blob[_PREFIX + _NONCE :]
        key = self._version(int.from_bytes(prefix, "big")).aead_key
        try:
            return AESGCM(key).decrypt(nonce, sealed, prefix)
        except InvalidTag:
            raise KeyFileError("an encrypted value does not open with these keys: wrong key file?") from None

    @staticmethod
    def key_version_of(blob: bytes) -> int:
        return int.from_bytes(blob[:_PREFIX], "big")

    def check_value(self, version: int | None = None) -> str:
        """A value stored in the database that tells whether these keys belong to it (reveals nothing)."""
        key = self._version(self.current if version is None else version).hmac_key
        return hmac.new(key, _CHECK, hashlib.sha256).hexdigest()

    def with_new_version(self) -> KeyRing:
        number = max(self.versions) + 1
        return KeyRing(number, {**self.versions, number: KeyVersion.generate()}, self.source)

    def only_current(self) -> KeyRing:
        return KeyRing(self.current, {self.current: self.versions[self.current]}, self.source)

    def _version(self, version: int) -> KeyVersion:
        try:
            return self.versions[version]
        except KeyError:
            raise KeyFileError(f"key version {version} is not in {self.source}: wrong or outdated key file?") from None


def new_keyring() -> KeyRing:
    return KeyRing(1, {1: KeyVersion.generate()})


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def to_json(ring: KeyRing) -> str:
    versions = {str(n): {"hmac": _b64(v.hmac_key), "aead": _b64(v.aead_key)} for n, v in sorted(ring.versions.items())}
    return json.dumps({"format": 1, "current": ring.current, "versions": versions}, indent=2) + "\n"


def from_json(text: str, source: str) -> KeyRing:
    bad = KeyFileError(f"{source} is not a Credo key set (expected the JSON written by credo init)")
    try:
        data = json.loads(text)
        versions = {
            int(n): KeyVersion(base64.b64decode(v["hmac"], validate=True), base64.b64decode(v["aead"], validate=True))
            for n, v in data["versions"].items()
        }
        ring = KeyRing(int(data["current"]), versions, source)
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        raise bad from None
    if data.get("format") != 1 or ring.current not in versions:
        raise bad
    if any(len(v.hmac_key) != 32 or len(v.aead_key) != 32 for v in versions.values()):
        raise bad
    return ring


def _check_private(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(
            f"key file {path} is readable or writable by others (mode {mode:04o}); "
            f"make it private with: chmod 600 {path}"
        )


def load_keys(default_file: Path | None, environ: Mapping[str, str] | None = None) -> KeyRing:
    """The keys from ``CREDO_KEYS``, ``CREDO_KEY_FILE`` or ``default_file``, in that order."""
    env = os.environ if environ is None else environ
    if env.get(ENV_KEYS):
        try:
            text = base64.b64decode(env[ENV_KEYS], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise KeyFileError(f"{ENV_KEYS} is not base64 of a Credo key set") from None
        return from_json(text, ENV_KEYS)
    path = key_file_path(default_file, env)
    if not path.exists():
        raise KeyFileError(f"no key file at {path}: run credo init, or set {ENV_KEY_FILE} or {ENV_KEYS}")
    _check_private(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc}") from None
    return from_json(text, str(path))


def key_file_path(default_file: Path | None, environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get(ENV_KEY_FILE):
        return Path(env[ENV_KEY_FILE])
    if default_file is None:
        raise KeyFileError(f"a PostgreSQL store keeps no key file beside it: set {ENV_KEY_FILE} or {ENV_KEYS}")
    return default_file


def save_keys(ring: KeyRing, path: Path) -> None:
    """Write a key file atomically, created private (0600) before any key is written to it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(to_json(ring))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
