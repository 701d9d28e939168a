"""Webhook secrets replaced with an overlap, cancelled messages kept, and the time of every decision (ADR 0013).

* ``webhooks.previous_secret_enc`` / ``previous_until``: a replaced secret
  signs beside the new one until then (``credo webhook rotate-secret``).
* ``deliveries``: a message dropped because its webhook or address went is
  kept as ``cancelled``; the one-message-per-event key leaves cancelled rows
  out (a partial unique index), so the event can be owed to a new address.
* ``disputes.decided_at``: when a dispute or repair application was decided,
  so that notices are ordered by when things happened (NULL for decisions
  made before this revision: they sort last in their day, as before).

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-07 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None

OLD_KEY = "uq_deliveries_channel_party_kind_party_id_event_key"
NEW_KEY = "ix_deliveries_channel_party_kind_party_id_event_key"
KEY_COLUMNS = ["channel", "party_kind", "party_id", "event_key"]
NOT_CANCELLED = sa.text("state <> 'cancelled'")


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("previous_secret_enc", sa.LargeBinary, nullable=True))
        batch.add_column(sa.Column("previous_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("disputes") as batch:
        batch.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("deliveries", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_constraint(OLD_KEY, type_="unique")
    op.create_index(
        NEW_KEY, "deliveries", KEY_COLUMNS, unique=True, sqlite_where=NOT_CANCELLED, postgresql_where=NOT_CANCELLED
    )


def downgrade() -> None:
    op.execute("DELETE FROM deliveries WHERE state = 'cancelled'")
    op.drop_index(NEW_KEY, table_name="deliveries")
    with op.batch_alter_table("deliveries", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.create_unique_constraint(OLD_KEY, KEY_COLUMNS)
    with op.batch_alter_table("disputes") as batch:
        batch.drop_column("decided_at")
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("previous_until")
        batch.drop_column("previous_secret_enc")
