"""Which database, and an engine set up for it: SQLite (WAL, foreign keys) or PostgreSQL.

The URL comes from ``--db``, else ``CREDO_DB``, else ``sqlite:///credo.db`` in
the working directory. A bare path is taken as a SQLite file.
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from credo.store.errors import StorageFullError, StoreError, UnavailableError

__all__ = [
    "DEFAULT_URL",
    "ENV_DB",
    "SERVER_CACHE_MIB",
    "create_store_engine",
    "database_failure",
    "display_url",
    "limit_sqlite_cache",
    "resolve_url",
    "sqlite_path",
]

ENV_DB = "CREDO_DB"
DEFAULT_URL = "sqlite:///credo.db"
SUPPORTED = ("sqlite", "postgresql")
SQLITE_FULL = 13  # SQLite's result code for "database or disk is full"
PG_DISK_FULL = "53100"  # PostgreSQL's SQLSTATE disk_full


def resolve_url(option: str | None, environ: Mapping[str, str] | None = None) -> URL:
    env = os.environ if environ is None else environ
    text = option or env.get(ENV_DB) or DEFAULT_URL
    if "://" not in text:  # a plain file name or path
        text = f"sqlite:///{text}"
    try:
        url = make_url(text)
    except ArgumentError:
        raise StoreError(
            "the database URL is not valid (expected sqlite:///FILE or postgresql+psycopg://...)"
        ) from None
    backend, _, driver = url.drivername.partition("+")
    if backend == "postgres":  # the short form of libpq, Heroku and many hosts' settings
        url = url.set(drivername=f"postgresql+{driver or 'psycopg'}")
    if url.get_backend_name() not in SUPPORTED:
        raise StoreError(
            f"unsupported database {url.get_backend_name()!r}: use sqlite:///FILE or postgresql+psycopg://..."
        )
    if url.get_backend_name() == "postgresql" and url.get_driver_name() in ("", "psycopg2"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def display_url(url: URL) -> str:
    """The URL without its password, for messages."""
    return url.render_as_string(hide_password=True)


def sqlite_path(url: URL) -> Path | None:
    """The SQLite file, or None for PostgreSQL and in-memory SQLite."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints under WAL; no corruption on crash
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA cache_size=-262144")  # up to 256 MiB: a chunk's index pages stay in memory until commit
    cursor.close()


SERVER_CACHE_MIB = 32  # SQLite's page cache per connection of a server (the operating system caches the file too)


def limit_sqlite_cache(engine: Engine, mib: int = SERVER_CACHE_MIB) -> None:
    """Give each new SQLite connection of ``engine`` a page cache of ``mib`` MiB instead of the bulk paths' 256.

    A server keeps several connections for its life, each filling its cache as the store is read: in the
    10-minute soak its resident memory doubled (188 to 390 MiB) with 256 MiB a connection. The pooled
    connections are closed, so every connection from now on has the smaller cache.
    """
    if engine.dialect.name != "sqlite":
        return

    def smaller(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA cache_size=-{int(mib) * 1024}")
        cursor.close()

    event.listen(engine, "connect", smaller)
    engine.dispose()


def create_store_engine(url: URL) -> Engine:
    """An engine for the store; on PostgreSQL, ``?options=-csearch_path%3DNAME`` in the URL picks a schema.

    A SQLite file is opened, never created (SQLite's ``mode=rw``): only
    ``credo init`` makes one (:func:`credo.store.bootstrap.init_store`), so a
    command run before it, or with a mistyped path, leaves nothing behind.
    """
    if url.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if path is None:
            engine = sa.create_engine(url)
        else:
            target = f"file:{urllib.parse.quote(str(path.absolute()))}?mode=rw"
            engine = sa.create_engine(url, creator=lambda: sqlite3.connect(target, uri=True, check_same_thread=False))
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, connect_args={"connect_timeout": 5}, pool_pre_ping=True)


def database_failure(exc: BaseException) -> UnavailableError | None:
    """A failure of the database itself as a one-line store error; None when ``exc`` is something else.

    A full disk (SQLite's ``SQLITE_FULL``, PostgreSQL's ``disk_full``) is a
    :class:`StorageFullError`; a database busy, unreachable or whose
    connection was lost (an ``OperationalError``, or any driver error that
    cost the connection) an :class:`UnavailableError`. Either way the
    transaction was rolled back. The messages never quote the statement or
    its values (the driver's text may hold both).
    """
    if not isinstance(exc, DBAPIError):
        return None
    orig = exc.orig
    if getattr(orig, "sqlite_errorcode", None) == SQLITE_FULL or getattr(orig, "sqlstate", None) == PG_DISK_FULL:
        return StorageFullError(
            "the disk holding the store is full: what was being written was not stored; free space, then try again"
        )
    if isinstance(exc, OperationalError) or exc.connection_invalidated:
        return UnavailableError("the store is busy or unreachable: what was being written was not stored; try again")
    return None


def _no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


def stop_autocheckpoint(engine: Engine) -> None:
    """A SQLite engine's connections stop checkpointing inside commits: a server checkpoints in the background."""
    event.listen(engine, "connect", _no_autocheckpoint)
    engine.dispose()  # pooled connections made before the listener still checkpoint themselves


def checkpoint_wal(engine: Engine) -> UnavailableError | None:
    """Copy a SQLite database's WAL back into it; the database's failure (a full disk, say), else None.

    A PASSIVE checkpoint from a connection of its own blocks neither readers nor the writer.
    """
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    except DBAPIError as exc:
        if (failure := database_failure(exc)) is None:
            raise
        return failure
    return None
