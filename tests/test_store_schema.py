"""The packaged migrations build the schema the code expects, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from credo.store.bootstrap import Store, init_store, open_store
from credo.store.errors import StoreError
from credo.store.migrate import current_revision, head_revision
from credo.store.tables import metadata, rulebook_activations
from tests.conftest import Backend
from tests.storebackends import (
    PG_URL,
    SCHEMA_PREFIX,
    STALE_AFTER,
    drop_stale_schemas,
    postgres_problem,
    postgres_unreachable,
    schema_name,
)


@pytest.mark.fresh_database  # the migrations themselves, run here, not the template's copy
def test_migrations_create_exactly_the_tables_in_the_code(store: Store) -> None:
    with store.engine.connect() as connection:
        assert current_revision(connection) == head_revision()
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    assert diff == []


@pytest.mark.fresh_database  # init_store the whole way, twice
def test_init_is_safe_to_run_again_and_keeps_the_keys(store: Store) -> None:
    key_file = store.key_file().read_bytes()
    report = init_store(store)
    assert not report.created_keys
    assert store.key_file().read_bytes() == key_file


def test_a_database_without_the_schema_is_a_clear_error(backend: Backend) -> None:
    opened = backend.open()
    with pytest.raises(StoreError, match="run credo init"), opened.begin():
        pass
    opened.engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'credo.db'}", environ={})
    init_store(store)
    with store.engine.connect() as connection:
        assert connection.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as connection:
        connection.execute(
            sa.insert(rulebook_activations).values(
                version="never-published", active_from=dt.date(2026, 1, 1), activated_at=dt.datetime.now(dt.UTC)
            )
        )


def test_postgres_unreachable_skips_locally_and_fails_in_ci() -> None:
    with pytest.raises(pytest.skip.Exception, match="cannot be reached: refused"):
        postgres_unreachable("refused", {})
    with pytest.raises(pytest.skip.Exception):
        postgres_unreachable("refused", {"CI": "false"})
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        postgres_unreachable("refused", {"CI": "true"})


def test_schemas_a_crashed_run_left_are_dropped_once_stale_and_others_kept() -> None:
    if problem := postgres_problem():
        postgres_unreachable(problem, os.environ)
    left = f"{SCHEMA_PREFIX}{int(time.time()) - STALE_AFTER - 60}_1_{secrets.token_hex(4)}"
    running, foreign = schema_name(), f"{SCHEMA_PREFIX}x_{secrets.token_hex(4)}"
    admin = sa.create_engine(PG_URL)
    try:
        with admin.begin() as connection:
            for name in (left, running, foreign):
                connection.execute(sa.text(f'CREATE SCHEMA "{name}"'))
        assert left in drop_stale_schemas()
        with admin.begin() as connection:
            found = set(connection.execute(sa.text("SELECT nspname FROM pg_namespace")).scalars())
        assert (left in found, running in found, foreign in found) == (False, True, True)
    finally:
        with admin.begin() as connection:
            for name in (left, running, foreign):
                connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()
