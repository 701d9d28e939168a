"""The store's backends for tests: SQLite in a temporary file, PostgreSQL in a schema of its own.

One suite runs on both (the ``store`` fixture in conftest.py is parametrised
over them). Each PostgreSQL test gets a fresh schema, dropped afterwards, so
runs and xdist workers cannot collide. When the server cannot be reached the
PostgreSQL tests skip with the reason, except in CI (``CI=true``), where they
fail: there, PostgreSQL is part of what must be shown to work.
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

PG_URL = os.environ.get("CREDO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


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
