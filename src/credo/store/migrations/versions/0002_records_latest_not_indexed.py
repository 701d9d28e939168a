"""Drop the partial unique index on the latest version of each record.

The unique (source_id, record_id, version) index already finds a record's
versions, the latest among them, and keeps two writers from storing the same
version twice; the second index on random keys cost bulk ingestion about a
third of its insert time on SQLite (docs/performance.md, "Ingestion").
Ingestion keeps ``is_latest`` on the highest version, in the transaction that
writes it (docs/store.md, "Ingestion").

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_records_latest", sqlite_where=sa.text("is_latest"), postgresql_where=sa.text("is_latest")
        )


def downgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.create_index(
            "uq_records_latest",
            ["source_id", "record_id"],
            unique=True,
            sqlite_where=sa.text("is_latest"),
            postgresql_where=sa.text("is_latest"),
        )
