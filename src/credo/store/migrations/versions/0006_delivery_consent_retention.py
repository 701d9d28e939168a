"""Due process: contact addresses, consent, webhooks, deliveries and tombstones (docs/due-process.md).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 07:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


# Long: four tables and their indexes in one migration (migrations are never edited afterwards).
def upgrade() -> None:
    op.create_table(
        "subject_contacts",
        sa.Column("subject_id", sa.Integer, nullable=False),
        sa.Column("email_enc", sa.LargeBinary, nullable=False),
        sa.Column("since", TS, nullable=False),
        sa.ForeignKeyConstraint(["subject_id"], ["subjects.id"], name=op.f("fk_subject_contacts_subject_id_subjects")),
        sa.PrimaryKeyConstraint("subject_id", name=op.f("pk_subject_contacts")),
    )
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("subject_id", sa.Integer, nullable=False),
        sa.Column("given", sa.Boolean, nullable=False),
        sa.Column("on", sa.Date, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.ForeignKeyConstraint(["subject_id"], ["subjects.id"], name=op.f("fk_consents_subject_id_subjects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index(op.f("ix_consents_subject_id"), "consents", ["subject_id"])
    op.create_table(
        "webhooks",
        sa.Column("party_kind", sa.String(20), nullable=False),
        sa.Column("party_id", sa.String(100), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("secret_enc", sa.LargeBinary, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("party_kind", "party_id", name=op.f("pk_webhooks")),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("party_kind", sa.String(20), nullable=False),
        sa.Column("party_id", sa.String(100), nullable=False),
        sa.Column("event_key", sa.String(120), nullable=False),
        sa.Column("event_type", sa.String(50), nullable=False),
        sa.Column("payload_enc", sa.LargeBinary, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint(
            "channel",
            "party_kind",
            "party_id",
            "event_key",
            name=op.f("uq_deliveries_channel_party_kind_party_id_event_key"),
        ),
    )
    op.create_index(op.f("ix_deliveries_next_attempt_at"), "deliveries", ["next_attempt_at"])
    op.create_table(
        "tombstones",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("source_id", sa.String(100), nullable=False),
        sa.Column("record_id", sa.String(200), nullable=False),
        sa.Column("versions", sa.Integer, nullable=False),
        sa.Column("category", sa.String(200), nullable=False),
        sa.Column("content_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("counted_until", sa.Date, nullable=True),
        sa.Column("purged_on", sa.Date, nullable=False),
        sa.Column("purged_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tombstones")),
        sa.UniqueConstraint("source_id", "record_id", name=op.f("uq_tombstones_source_id_record_id")),
    )


def downgrade() -> None:
    op.drop_table("tombstones")
    op.drop_index(op.f("ix_deliveries_next_attempt_at"), table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_table("webhooks")
    op.drop_index(op.f("ix_consents_subject_id"), table_name="consents")
    op.drop_table("consents")
    op.drop_table("subject_contacts")
