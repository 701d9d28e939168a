"""The composition root of the store: from a URL to an engine, its keys and a clock.

CLI commands and tests get a :class:`Store` here and pass it to the services
(:mod:`~credo.store.sources`, :mod:`~credo.store.rulebooks`, ...); nothing
else creates engines or reads key files.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from credo.store import keys as keymod
from credo.store.database import (
    ENV_DB,
    create_store_engine,
    database_failure,
    display_url,
    resolve_url,
    sqlite_path,
)
from credo.store.errors import KeyFileError, NotInitialisedError, StorageFullError, StoreError, UnavailableError
from credo.store.keys import KeyRing
from credo.store.migrate import require_head, upgrade
from credo.store.tables import store_meta

__all__ = ["InitReport", "Store", "init_store", "open_store", "utc_now"]

KEY_CHECK = "key_check"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Store:
    """An opened store. ``environ`` is where the key settings are read (os.environ by default)."""

    url: URL
    engine: Engine
    environ: Mapping[str, str] | None = None
    clock: Callable[[], dt.datetime] = field(default=utc_now)

    @property
    def default_key_file(self) -> Path | None:
        path = sqlite_path(self.url)
        return None if path is None else path.with_name(path.name + ".keys")

    def key_file(self) -> Path:
        return keymod.key_file_path(self.default_key_file, self.environ)

    def keys(self, connection: Connection) -> KeyRing:
        """The keys, checked to be this database's (a wrong key file would silently split subjects).

        A database that names its keys (the check value ``credo init`` stored)
        and finds none says to restore them, never to run ``credo init``: new
        keys cannot open what the old ones hashed and encrypted.
        """
        check = key_check(connection)
        if check is not None and not self.has_keys():
            raise KeyFileError(lost_keys(self.key_file()))
        ring = keymod.load_keys(self.default_key_file, self.environ)
        if check is None:
            return ring
        version, _, value = check.partition(":")
        if int(version) not in ring.versions or ring.check_value(int(version)) != value:
            raise KeyFileError(
                f"the keys in {ring.source} do not belong to this database (its identifiers are hashed and "
                "encrypted under other keys): restore this store's own key file"
            )
        # The database names the version its hashes use; a newer one in the file is from an unfinished rotation.
        return KeyRing(int(version), ring.versions, ring.source)

    def require_file(self) -> None:
        """A SQLite store's file must exist: only ``credo init`` creates it (the engine never does)."""
        path = sqlite_path(self.url)
        if path is not None and not path.exists():
            raise NotInitialisedError(
                f"there is no store at {path.absolute()}: run credo init to create it, "
                f"or name another with --db or {ENV_DB}"
            )

    def has_keys(self) -> bool:
        """Whether key material is where the settings say (``CREDO_KEYS``, else the key file); not whether it fits."""
        env = os.environ if self.environ is None else self.environ
        return bool(env.get(keymod.ENV_KEYS)) or self.key_file().exists()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction on a database at the current schema."""
        self.require_file()
        try:
            with self.engine.begin() as connection:
                require_head(connection)
                yield connection
        except OperationalError as exc:
            if isinstance(full := database_failure(exc), StorageFullError):
                raise full from None
            raise UnavailableError(f"cannot use the database {display_url(self.url)}: {first_line(exc)}") from None


def first_line(exc: OperationalError) -> str:
    return str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__


def key_check(connection: Connection) -> str | None:
    """The check value of the keys this database's data is under (``VERSION:HMAC``); None before ``credo init``."""
    value: str | None = connection.execute(sa.select(store_meta.c.value).where(store_meta.c.name == KEY_CHECK)).scalar()
    return value


def lost_keys(path: Path) -> str:
    """The message for a store whose keys are gone: restore them, and where Credo looks."""
    return (
        f"this store's key file is missing: restore it from your backup to {path} (where Credo looks for it), "
        f"or set {keymod.ENV_KEY_FILE} or {keymod.ENV_KEYS} to it; the store's identifiers are hashed and "
        "encrypted under those keys alone, so credo init does not make new ones for it"
    )


def record_key_check(connection: Connection, ring: KeyRing) -> None:
    value = f"{ring.current}:{ring.check_value()}"
    connection.execute(sa.delete(store_meta).where(store_meta.c.name == KEY_CHECK))
    connection.execute(sa.insert(store_meta).values(name=KEY_CHECK, value=value))


def open_store(db: str | None = None, *, environ: Mapping[str, str] | None = None) -> Store:
    url = resolve_url(db, environ)
    return Store(url, create_store_engine(url), environ)


@dataclass(frozen=True)
class InitReport:
    url: str
    key_source: str
    created_keys: bool


def init_store(store: Store) -> InitReport:
    """Create or upgrade the schema, and create the keys unless they exist (then check they fit)."""
    path = sqlite_path(store.url)
    if path is not None and not path.parent.is_dir():
        raise StoreError(f"the directory {path.parent} does not exist")
    if path is not None:
        path.touch(exist_ok=True)  # the engine opens files, never creates them: init alone does (0 bytes: empty)
    try:
        upgrade(store.engine)
    except OperationalError as exc:
        raise StoreError(f"cannot use the database {display_url(store.url)}: {first_line(exc)}") from None
    with store.begin() as connection:
        check = key_check(connection)
        if check is not None or store.has_keys():  # a store with data under keys that are gone is refused
            ring = store.keys(connection)
            created = False
        else:
            ring = keymod.new_keyring()
            keymod.save_keys(ring, store.key_file())
            created = True
        if check is None:
            record_key_check(connection, ring)
        source = keymod.ENV_KEYS if ring.source == keymod.ENV_KEYS else str(store.key_file())
    return InitReport(display_url(store.url), source, created)
