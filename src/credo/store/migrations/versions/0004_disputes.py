"""Disputes: a subject contests one of its records; while open it may stop counting (docs/due-process.md).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("dispute_id", sa.String(36), nullable=False),
        sa.Column("subject_id", sa.Integer, nullable=False),
        sa.Column("source_id", sa.String(100), nullable=False),
        sa.Column("record_id", sa.String(200), nullable=False),
        sa.Column("statement_enc", sa.LargeBinary, nullable=False),
        sa.Column("suspends", sa.Boolean, nullable=False),
        sa.Column("opened_on", sa.Date, nullable=False),
        sa.Column("deadline", sa.Date, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("reasons", sa.Text, nullable=True),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.Column("decided_on", sa.Date, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["subject_id"], ["subjects.id"], name=op.f("fk_disputes_subject_id_subjects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
        sa.UniqueConstraint("dispute_id", name=op.f("uq_disputes_dispute_id")),
    )
    op.create_index(op.f("ix_disputes_subject_id"), "disputes", ["subject_id"])
    op.create_index("ix_disputes_record", "disputes", ["source_id", "record_id"])


def downgrade() -> None:
    op.drop_index("ix_disputes_record", table_name="disputes")
    op.drop_index(op.f("ix_disputes_subject_id"), table_name="disputes")
    op.drop_table("disputes")
