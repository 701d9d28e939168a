"""Which database, and an engine set up for it: SQLite (WAL, foreign keys) or PostgreSQL.

The URL comes from ``--db``, else ``CREDO_DB``, else ``sqlite:///credo.db`` in
the working directory. A bare path is taken as a SQLite file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from credo.store.errors import StoreError

__all__ = ["DEFAULT_URL", "ENV_DB", "create_store_engine", "display_url", "resolve_url", "sqlite_path"]

ENV_DB = "CREDO_DB"
DEFAULT_URL = "sqlite:///credo.db"
SUPPORTED = ("sqlite", "postgresql")


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
    if url.get_backend_name() not in SUPPORTED:
        raise StoreError(f"unsupported database {url.get_backend_name()!r}: use SQLite or PostgreSQL")
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


def create_store_engine(url: URL) -> Engine:
    """An engine for the store; on PostgreSQL, ``?options=-csearch_path%3DNAME`` in the URL picks a schema."""
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, connect_args={"connect_timeout": 5}, pool_pre_ping=True)
