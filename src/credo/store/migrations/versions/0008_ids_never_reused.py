"""Ids are never reused on SQLite, and a delivery names its subject (docs/store.md).

SQLite gives a new row max(id) + 1 unless the table is AUTOINCREMENT: once a
purge deletes the newest subject, records or outbox rows, a new person would
take over a purged person's surrogate id, and with it the decisions and audit
entries that name that id; the delivery cursor would skip new rows whose
ids it has passed. PostgreSQL's sequences never go back, so only SQLite's
tables are rebuilt. ``deliveries.subject_id`` lets a purge find every message
about a subject that disappears.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 08:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

REBUILT = ("subjects", "records", "outbox", "consents", "deliveries")


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_id", sa.Integer, nullable=True))
        batch_op.create_index(batch_op.f("ix_deliveries_subject_id"), ["subject_id"])
    if op.get_bind().dialect.name == "sqlite":
        for table in REBUILT:
            with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
                pass


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_subject_id"))
        batch_op.drop_column("subject_id")
