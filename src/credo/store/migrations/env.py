"""Alembic environment: migrations run on a connection that :mod:`credo.store.migrate` hands over.

There is no alembic.ini: the package carries its migrations so that an
installed Credo can create and upgrade its own database (``credo init``).
"""

from __future__ import annotations

from alembic import context

from credo.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
