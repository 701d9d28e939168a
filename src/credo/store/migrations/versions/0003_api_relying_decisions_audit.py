"""Relying parties, stored decisions and the hash-chained audit log (the HTTP API, docs/api.md).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "relying_parties",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("measures", sa.JSON, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relying_parties")),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("decision_id", sa.String(36), nullable=False),
        sa.Column("relying_id", sa.String(100), nullable=False),
        sa.Column("subject_id", sa.Integer, nullable=False),
        sa.Column("measure_id", sa.String(100), nullable=False),
        sa.Column("applies", sa.Boolean, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("rulebook_version", sa.String(100), nullable=False),
        sa.Column("explanation", sa.JSON, nullable=False),
        sa.Column("asked_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["relying_id"], ["relying_parties.id"], name=op.f("fk_decisions_relying_id_relying_parties")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.UniqueConstraint("decision_id", name=op.f("uq_decisions_decision_id")),
    )
    op.create_index(op.f("ix_decisions_subject_id"), "decisions", ["subject_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor_role", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("subject_id", sa.Integer, nullable=True),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_subject_id"), "audit_log", ["subject_id"])
    # The chain's head (credo.store.audit): its row is what appenders lock, so it exists from the start.
    op.execute("INSERT INTO store_meta (name, value) VALUES ('audit_head', '0:' || '" + "0" * 64 + "')")


def downgrade() -> None:
    op.execute("DELETE FROM store_meta WHERE name = 'audit_head'")
    op.drop_index(op.f("ix_audit_log_subject_id"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_decisions_subject_id"), table_name="decisions")
    op.drop_table("decisions")
    op.drop_table("relying_parties")
