"""The store's backends for tests: SQLite in a temporary file, PostgreSQL in a schema of its own.

One suite runs on both (the ``store`` fixture in conftest.py is parametrised
over them). Each PostgreSQL test gets a fresh schema, dropped afterwards,
whose name holds the time, the process id and random letters, so runs and
xdist workers cannot collide. A test that starts from an initialised store
gets its schema as a copy of a template migrated once per test process
(:func:`postgres_template`, ADR 0020). When the server cannot be reached the
PostgreSQL tests skip with the reason, except in CI (``CI=true``), where they
fail: there, PostgreSQL is part of what must be shown to work.
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from credo.store.database import create_store_engine
from credo.store.migrate import upgrade

PG_URL = os.environ.get("CREDO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# Schemas this module makes are named PREFIX + the second they were made + pid + random letters; one older
# than STALE_AFTER was left by a run that crashed before it could drop it, and the next run drops it.
SCHEMA_PREFIX = "credo_t_"
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
def postgres_schema(template: Template | None = None) -> Iterator[str]:
    """A URL whose connections use a brand-new schema (a copy of ``template``, or empty); dropped afterwards."""
    if problem := postgres_problem():
        postgres_unreachable(problem, os.environ)
    name = schema_name()
    admin = sa.create_engine(PG_URL)
    try:
        with admin.begin() as connection:
            if template is None:
                connection.execute(sa.text(f'CREATE SCHEMA "{name}"'))
            else:
                connection.exec_driver_sql(template.sql.replace(template.name, name))
        yield schema_url(name)
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()


def schema_name() -> str:
    return f"{SCHEMA_PREFIX}{int(time.time())}_{os.getpid()}_{secrets.token_hex(4)}"


def schema_url(name: str) -> str:
    return f"{PG_URL}?options=-csearch_path%3D{name}"


class Template:
    """A schema migrated to head (no keys yet), kept as the SQL that makes a copy of it (``name``: its name)."""

    def __init__(self, name: str, sql: str) -> None:
        self.name = name
        self.sql = sql


def postgres_template() -> Template | None:
    """The migrations run once into a schema, which pg_dump writes out as SQL; the schema is dropped at once.

    Replaying that SQL into a new schema takes a fraction of what running the migrations again does (ADR
    0020). Without a pg_dump that can read the server: None, and each test runs the migrations.
    """
    if problem := postgres_problem():
        postgres_unreachable(problem, os.environ)
    drop_stale_schemas()
    with postgres_schema() as url:
        engine = create_store_engine(make_url(url))
        try:
            upgrade(engine)  # what init_store runs first, before it makes keys
        finally:
            engine.dispose()
        name = url.rpartition("%3D")[2]
        sql = _dump(name)
    return None if sql is None else Template(name, sql)


def _dump(schema: str) -> str | None:
    """The schema's tables, data and sequences as SQL (pg_dump's psql commands left out), or None."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        return None
    url = make_url(PG_URL)
    command = [pg_dump, "--schema", schema, "--no-owner", "--no-privileges", "--inserts"]
    command += ["--host", url.host or "localhost", "--port", str(url.port or 5432), "--dbname", url.database or ""]
    command += ["--username", url.username or "postgres"]
    environ = {**os.environ, "PGPASSWORD": url.password or "", "PGCONNECT_TIMEOUT": "5"}
    done = subprocess.run(command, capture_output=True, text=True, env=environ, check=False)
    if done.returncode != 0:
        return None
    return "\n".join(line for line in done.stdout.splitlines() if not line.startswith("\\"))


def drop_stale_schemas(now: float | None = None) -> list[str]:
    """Drop the schemas of this module that crashed runs left behind (older than STALE_AFTER); their names."""
    admin = sa.create_engine(PG_URL)
    cutoff = (time.time() if now is None else now) - STALE_AFTER
    try:
        with admin.begin() as connection:
            names = connection.execute(
                sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :prefix"),
                {"prefix": SCHEMA_PREFIX.replace("_", r"\_") + "%"},
            ).scalars()
            stale = [n for n in names if _made_at(n) < cutoff]
            for name in stale:
                connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    finally:
        admin.dispose()
    return stale


def _made_at(name: str) -> float:
    stamp = name.removeprefix(SCHEMA_PREFIX).partition("_")[0]
    return float(stamp) if stamp.isdigit() else float("inf")  # not one of ours after all: never dropped
