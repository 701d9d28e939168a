"""Run the packaged Alembic migrations, and tell whether a database is at their head.

Why programmatic: ``pip install credo`` users get no alembic.ini and no
migrations folder of their own; ``credo init`` (and tests) call :func:`upgrade`.
"""

from __future__ import annotations

import functools

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from credo.store.errors import NotInitialisedError

__all__ = ["alembic_config", "current_revision", "head_revision", "require_head", "upgrade"]


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", "credo.store:migrations")
    config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str:
    """The newest packaged migration. Cached: reading the scripts takes milliseconds, and every transaction asks.

    The migrations are part of the installed package, so their head does not change while a process runs.
    """
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration, in one transaction."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")


def require_head(connection: Connection) -> None:
    current = current_revision(connection)
    if current is None:
        raise NotInitialisedError("the database has no Credo tables: run credo init")
    if current != head_revision():
        raise NotInitialisedError(f"the database schema is at {current}, Credo needs {head_revision()}: run credo init")
