"""The store's backends for tests: SQLite in a temporary file, PostgreSQL in a schema or a database of its own.

One suite runs on both (the ``store`` fixture in conftest.py is parametrised
over them). A test that starts from an empty database gets a fresh schema
(:func:`postgres_schema`); one that starts from an initialised store gets a
database copied from a template migrated once per test process
(:func:`postgres_template`, :func:`postgres_database`; ADR 0020). Either is
dropped afterwards, and its name holds the process id and random letters, so
runs and xdist workers cannot collide. When the server cannot be reached the
PostgreSQL tests skip with the reason, except in CI (``CI=true``), where they
fail: there, PostgreSQL is part of what must be shown to work.
"""

from __future__ import annotations

import functools
import os
import secrets
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from credo.store.database import create_store_engine
from credo.store.migrate import upgrade

PG_URL = os.environ.get("CREDO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# Databases this module makes are named PREFIX + the second they were made + pid + random letters; one older
# than STALE_AFTER was left by a run that crashed before it could drop it, and the next run drops it.
DATABASE_PREFIX = "credo_t_"
STALE_AFTER = 6 * 3600


def postgres_unreachable(reason: str, environ: Mapping[str, str]) -> None:
    """Skip locally, fail in CI: the rule for a PostgreSQL server that does not answer."""
    message = f"PostgreSQL at {PG_URL} cannot be reached: {reason}"
    if environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: the PostgreSQL tests are mandatory)")
    pytest.skip(message)


@functools.cache
def postgres_problem() -> str | None:
    """None when the test server answers, else why not (checked once per process)."""
    engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("select 1"))
    except sa.exc.OperationalError as exc:
        return str(exc.orig).strip().splitlines()[0]
    finally:
        engine.dispose()
    return None


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL whose connections use a brand-new schema; the schema is dropped afterwards."""
    if problem := postgres_problem():
        postgres_unreachable(problem, os.environ)
    name = f"credo_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = sa.create_engine(PG_URL)
    try:
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{name}"'))
        yield f"{PG_URL}?options=-csearch_path%3D{name}"
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()


@contextmanager
def postgres_template() -> Iterator[str]:
    """A database migrated to head (no keys yet) for :func:`postgres_database` to copy; dropped afterwards.

    One per test process: CREATE DATABASE ... TEMPLATE needs the template to have no other connection.
    """
    if problem := postgres_problem():
        postgres_unreachable(problem, os.environ)
    drop_stale_databases()
    with _database(None) as url:
        engine = create_store_engine(make_url(url))
        try:
            upgrade(engine)  # what init_store runs first, before it makes keys
        finally:
            engine.dispose()
        yield make_url(url).database or ""


@contextmanager
def postgres_database(template: str) -> Iterator[str]:
    """A URL of a brand-new database copied from ``template``; dropped afterwards, even if a connection is left."""
    with _database(template) as url:
        yield url


@contextmanager
def _database(template: str | None) -> Iterator[str]:
    name = f"{DATABASE_PREFIX}{int(time.time())}_{os.getpid()}_{secrets.token_hex(4)}"
    copy = "" if template is None else f' TEMPLATE "{template}"'
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")  # CREATE DATABASE runs outside a transaction
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"{copy}'))
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def drop_stale_databases(now: float | None = None) -> list[str]:
    """Drop the databases of this module that crashed runs left behind (older than STALE_AFTER); their names."""
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    cutoff = (time.time() if now is None else now) - STALE_AFTER
    try:
        with admin.connect() as connection:
            names = connection.execute(
                sa.text("SELECT datname FROM pg_database WHERE datname LIKE :prefix"),
                {"prefix": DATABASE_PREFIX.replace("_", r"\_") + "%"},
            ).scalars()
            stale = [n for n in names if _made_at(n) < cutoff]
            for name in stale:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
    return stale


def _made_at(name: str) -> float:
    stamp = name.removeprefix(DATABASE_PREFIX).partition("_")[0]
    return float(stamp) if stamp.isdigit() else float("inf")  # not one of ours after all: never dropped
